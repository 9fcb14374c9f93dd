import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { ServiceDefinition } from './resources.js';

/**
 * The local stand-in for Lambda's SQS event source mapping: long-polls each
 * queue, hands a batch to its function, and deletes every record except those
 * the function names in `batchItemFailures`. When the invocation itself fails,
 * nothing is deleted: the batch reappears after the visibility timeout and,
 * after maxReceiveCount, lands in the DLQ, as on AWS.
 */
export type Invoke = (functionName: string, handler: string, event: SQSEvent) => Promise<SQSBatchResponse | void>;

export interface PollerOptions {
  sqs: SQSClient;
  def: ServiceDefinition;
  queueUrls: Map<string, string>;
  invoke: Invoke;
  /** Parallel pollers per queue (Lambda's concurrency). */
  concurrency?: number;
  waitSeconds?: number;
  /** Overrides the queue's visibility timeout on receive (tests use seconds, not minutes). */
  visibilityTimeout?: number;
  onError?: (functionName: string, error: unknown) => void;
}

export interface Poller {
  stop(): Promise<void>;
}

export function startPoller(opts: PollerOptions): Poller {
  let running = true;
  const loops: Promise<void>[] = [];
  for (const trigger of opts.def.queueTriggers) {
    const url = opts.queueUrls.get(trigger.queueName);
    if (!url) throw new Error(`queue ${trigger.queueName} was not created`);
    const arn = `arn:aws:sqs:${opts.def.region}:000000000000:${trigger.queueName}`;
    for (let i = 0; i < (opts.concurrency ?? 4); i++) {
      loops.push(
        (async () => {
          while (running) {
            try {
              await pollOnce(opts, trigger, url, arn);
            } catch (e) {
              if (running) {
                opts.onError?.(trigger.functionName, e);
                await new Promise((r) => setTimeout(r, 200));
              }
            }
          }
        })(),
      );
    }
  }
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function pollOnce(
  opts: PollerOptions,
  trigger: ServiceDefinition['queueTriggers'][number],
  url: string,
  arn: string,
): Promise<void> {
  const receive = (wait: number) =>
    opts.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: Math.min(trigger.batchSize - messages.length, 10),
        WaitTimeSeconds: wait,
        MessageSystemAttributeNames: ['All'],
        ...(opts.visibilityTimeout !== undefined ? { VisibilityTimeout: opts.visibilityTimeout } : {}),
      }),
    );
  const messages: Message[] = [];
  messages.push(...((await receive(opts.waitSeconds ?? 1)).Messages ?? []));
  if (messages.length === 0) return;
  // Like Lambda's MaximumBatchingWindowInSeconds: gather up to batchSize for that long.
  const until = Date.now() + trigger.batchingWindowSeconds * 1000;
  while (messages.length < trigger.batchSize && Date.now() < until) {
    const more = (await receive(0)).Messages ?? [];
    if (more.length === 0) await new Promise((r) => setTimeout(r, 50));
    messages.push(...more);
  }
  const records = messages.map((m) => toRecord(m, arn, opts.def.region));
  let failed: Set<string>;
  try {
    const result = await opts.invoke(trigger.functionName, trigger.handler, { Records: records });
    failed = new Set((result?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
  } catch (e) {
    opts.onError?.(trigger.functionName, e);
    return; // the whole batch comes back after its visibility timeout
  }
  const done = messages.filter((m) => !failed.has(m.MessageId ?? ''));
  if (done.length === 0) return;
  for (let i = 0; i < done.length; i += 10) {
    await opts.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: done.slice(i, i + 10).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  }
}

function toRecord(m: Message, arn: string, region: string): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: arn,
    awsRegion: region,
  };
}

/** Calls the handler module in this process (tests, benchmark). */
export function inProcessInvoke(): Invoke {
  const cache = new Map<string, Promise<(e: unknown, c: unknown) => Promise<unknown>>>();
  return async (functionName, handler, event) => {
    let fn = cache.get(handler);
    if (!fn) {
      const [file, exportName = 'handler'] = splitHandler(handler);
      fn = import(new URL(`../${file}.ts`, import.meta.url).href).then(
        (m: Record<string, unknown>) => m[exportName] as (e: unknown, c: unknown) => Promise<unknown>,
      );
      cache.set(handler, fn);
    }
    const context = { functionName, awsRequestId: crypto.randomUUID(), getRemainingTimeInMillis: () => 60_000 };
    return (await (await fn)(event, context)) as SQSBatchResponse | void;
  };
}

/** Calls the function through serverless-offline's Lambda Invoke API (`npm start`). */
export function offlineInvoke(lambdaPort: number, service: string, stage: string): Invoke {
  return async (functionName, _handler, event) => {
    const res = await fetch(`http://127.0.0.1:${lambdaPort}/2015-03-31/functions/${service}-${stage}-${functionName}/invocations`, {
      method: 'POST',
      body: JSON.stringify(event),
    });
    const text = await res.text();
    if (!res.ok || res.headers.get('x-amz-function-error')) {
      throw new Error(`${functionName} failed: HTTP ${res.status} ${text.slice(0, 300)}`);
    }
    return text ? (JSON.parse(text) as SQSBatchResponse) : undefined;
  };
}

function splitHandler(handler: string): [string, string] {
  const i = handler.lastIndexOf('.');
  return [handler.slice(0, i), handler.slice(i + 1)];
}
