import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../lib/config.js';
import { taskStore } from '../../lib/stores/tasks.js';
import { releaseDueTasks } from '../../lib/tasks/schedule.js';
import { submitTask } from '../../lib/tasks/submit.js';
import { handler as scheduler } from '../../functions/scheduler.js';
import { inProcessInvoke, startPoller, type Poller } from '../../local/poller.js';
import { loadServiceDefinition } from '../../local/resources.js';
import type { Simulator } from '../../local/simulators/harness.js';
import { createAccount, phones, startSubmail, testSubmitDeps, waitFor } from '../support/fixtures.js';
import { queueUrlsByName } from '../support/queues.js';

/** Nothing is lost: poison messages end in a DLQ, stranded tasks are released by the scheduler. */
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
const def = loadServiceDefinition('local');
const tasks = taskStore();
let urls: Map<string, string>;
let sim: Simulator;
let poller: Poller;

beforeAll(async () => {
  sim = await startSubmail();
  urls = await queueUrlsByName(def);
  // 1-second visibility so a failing record is retried quickly, as it would be after the deployed 6 minutes.
  poller = startPoller({ sqs, def, queueUrls: urls, invoke: inProcessInvoke(), visibilityTimeout: 1, waitSeconds: 1 });
});
afterAll(async () => {
  await poller?.stop();
  await sim?.stop();
});

const visible = async (name: string) => {
  const r = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: urls.get(name), AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(r.Attributes?.ApproximateNumberOfMessages ?? 0);
};

describe('dead-letter queues', () => {
  it.each([
    ['dispatch', () => config.dispatchQueue, `${def.service}-local-dispatch-dlq`],
    ['fan-out', () => config.fanOutQueue, `${def.service}-local-fanout-dlq`],
  ])('a %s message that keeps failing ends in its DLQ after maxReceiveCount, where it can be read', async (_n, queue, dlq) => {
    const body = JSON.stringify({ taskId: 42, poison: true }); // wrong type: the handler's parse fails every time
    await sqs.send(new SendMessageCommand({ QueueUrl: urls.get(queue()), MessageBody: body }));
    await waitFor(async () => (await visible(dlq)) > 0, 30_000, `message in ${dlq}`);
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: urls.get(dlq), MessageSystemAttributeNames: ['All'] }));
    const msg = r.Messages?.[0];
    expect(msg?.Body).toBe(body);
    expect(Number(msg?.Attributes?.ApproximateReceiveCount)).toBeGreaterThanOrEqual(1);
  });

  it('the redrive policy in serverless.yml names the DLQ with maxReceiveCount 5', async () => {
    const r = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: urls.get(config.dispatchQueue), AttributeNames: ['RedrivePolicy'] }));
    expect(JSON.parse(r.Attributes?.RedrivePolicy ?? '{}')).toMatchObject({ maxReceiveCount: 5 });
  });
});

describe('scheduler', () => {
  it('releases a task whose fan-out message was lost, and it completes; a fresh task is left to send-batch', async () => {
    const { account } = await createAccount();
    const lost = await submitTask(account, { to: phones(5, 13_300_000_000), content: '【测试】stranded' }, testSubmitDeps(async () => {
      throw new Error('send-batch died before enqueueing fan-out');
    })).catch(() => undefined);
    expect(lost).toBeUndefined();
    const stranded = (await tasks.listDue(new Date().toISOString(), 500)).filter((t) => t.accountId === account.accountId);
    expect(stranded).toHaveLength(1);
    const taskId = stranded[0]?.taskId ?? '';

    // Within the grace period the scheduler leaves it alone (send-batch normally enqueues it itself).
    const early = await releaseDueTasks({ tasks, enqueueFanOut: async () => {} });
    expect(early).not.toContain(taskId);

    // A minute later the deployed scheduler function releases it.
    const released = await releaseDueTasks({ tasks, enqueueFanOut: async (ids) => {
      const { wiring } = await import('../../lib/wiring.js');
      await wiring.enqueueFanOut(ids);
    }, now: () => new Date(Date.now() + 61_000) });
    expect(released).toContain(taskId);
    const done = await waitFor(async () => {
      const t = await tasks.get(taskId);
      return t?.status === 'succeeded' && t;
    }, 20_000, 'released task');
    expect(done.counts.submitted).toBe(5);
    expect((await tasks.listDue(new Date(Date.now() + 61_000).toISOString(), 500)).map((t) => t.taskId)).not.toContain(taskId);
  });

  it('the scheduler handler runs on its own (the EventBridge rule calls it with no input)', async () => {
    const out = (await (scheduler as unknown as (e: unknown, c: unknown) => Promise<{ released: number }>)({}, {}));
    expect(typeof out.released).toBe('number');
  });
});
