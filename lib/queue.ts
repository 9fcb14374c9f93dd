import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { queueUrl, sqsClient } from './aws.js';

/**
 * Sends bodies in SendMessageBatch calls of 10 (the SQS maximum), retrying the
 * entries SQS reports as failed, so one request carries up to ten chunks.
 */
export async function enqueueAll(queueName: string, bodies: readonly unknown[]): Promise<void> {
  const url = await queueUrl(queueName);
  const calls: Promise<void>[] = [];
  for (let i = 0; i < bodies.length; i += 10) {
    const slice = bodies.slice(i, i + 10);
    calls.push(sendBatch(url, slice.map((b, j) => ({ Id: String(j), MessageBody: JSON.stringify(b) }))));
  }
  await Promise.all(calls);
}

async function sendBatch(url: string, entries: { Id: string; MessageBody: string }[], attempt = 0): Promise<void> {
  const out = await sqsClient().send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
  const failed = out.Failed ?? [];
  if (failed.length === 0) return;
  if (attempt >= 3) throw new Error(`SQS refused ${failed.length} messages: ${failed[0]?.Message ?? ''}`);
  const ids = new Set(failed.map((f) => f.Id));
  await sendBatch(url, entries.filter((e) => ids.has(e.Id)), attempt + 1);
}
