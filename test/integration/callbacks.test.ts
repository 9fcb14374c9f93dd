import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as webhook } from '../../functions/receipt-webhook.js';
import { handler as sendBatch } from '../../functions/send-batch.js';
import { signCallback } from '../../lib/callbacks.js';
import type { ProviderName } from '../../lib/providers/index.js';
import { taskStore } from '../../lib/stores/tasks.js';
import { inProcessInvoke, startPoller, type Poller } from '../../local/poller.js';
import { loadServiceDefinition } from '../../local/resources.js';
import type { Simulator } from '../../local/simulators/harness.js';
import { apiEvent, call, createAccount, startAllSimulators, phones, waitFor } from '../support/fixtures.js';
import { startHookServer } from '../support/hook-server.js';
import { queueUrlsByName } from '../support/queues.js';
import { startReceiver, type Received } from '../support/receiver.js';

/** Receipts and replies reach the customer's URL, signed, batched, retried, and parked in a DLQ when it never answers. */
const sims = {} as Record<ProviderName, Simulator>;
const tasks = taskStore();
const def = loadServiceDefinition('local');
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
let hooks: Awaited<ReturnType<typeof startHookServer>>;
let poller: Poller;
let urls: Map<string, string>;

beforeAll(async () => {
  process.env.QUNFA_RETRY_BASE_SECONDS = '0';
  hooks = await startHookServer(webhook);
  Object.assign(sims, await startAllSimulators(hooks.base));
  urls = await queueUrlsByName(def);
  poller = startPoller({ sqs, def, queueUrls: urls, invoke: inProcessInvoke(), visibilityTimeout: 5, waitSeconds: 1 });
});
afterAll(async () => {
  await poller?.stop();
  await Promise.all(Object.values(sims).map((s) => s.stop()));
  await hooks?.stop();
  delete process.env.QUNFA_RETRY_BASE_SECONDS;
});

const send = async (apiKey: string, body: Record<string, unknown>) => {
  const res = await call(sendBatch, apiEvent({ method: 'POST', path: '/v1/tasks', apiKey, body: JSON.stringify(body) }));
  expect(res.status).toBe(202);
  return res.body.taskId as string;
};
const events = (received: Received[]) => received.flatMap((r) => (JSON.parse(r.body) as { events: Record<string, unknown>[] }).events);

describe('callbacks to the customer', () => {
  it('every receipt is POSTed as JSON, several per POST, signed with the account secret', async () => {
    const hook = await startReceiver();
    try {
      const { account, apiKey } = await createAccount({ callbackUrl: hook.url });
      const taskId = await send(apiKey, { to: phones(40, 13_800_000_000), content: '【示例】回调' });
      await waitFor(async () => events(hook.received).length >= 40, 20_000, 'callbacks');
      const all = events(hook.received);
      expect(hook.received.length).toBeLessThan(40);
      expect(new Set(all.map((e) => e.phone)).size).toBe(40);
      expect(all[0]).toMatchObject({ type: 'receipt', taskId, status: 'delivered', code: 'DELIVRD', provider: 'submail' });
      expect(typeof all[0]?.time).toBe('string');
      for (const r of hook.received) {
        const ts = String(r.headers['x-qunfa-timestamp']);
        expect(r.headers['x-qunfa-signature']).toBe(signCallback(account.callbackSecret ?? '', ts, r.body));
        expect(r.contentType).toContain('application/json');
      }
      expect((await tasks.get(taskId))?.counts.delivered).toBe(40);
    } finally {
      await hook.stop();
    }
  });

  it("a task's callbackUrl wins over the account's; replies are called back too", async () => {
    const accountHook = await startReceiver();
    const taskHook = await startReceiver();
    try {
      const { apiKey } = await createAccount({ callbackUrl: accountHook.url, route: ['zywx'] });
      const taskId = await send(apiKey, { to: ['13800100000'], content: '【示例】任务回调', callbackUrl: taskHook.url });
      await waitFor(async () => events(taskHook.received).some((e) => e.type === 'receipt'), 20_000, 'receipt callback');
      sims.zywx.reply('13800100000', '好的');
      await waitFor(async () => events(taskHook.received).some((e) => e.type === 'reply'), 20_000, 'reply callback');
      expect(events(taskHook.received).find((e) => e.type === 'reply')).toMatchObject({ taskId, phone: '13800100000', content: '好的', provider: 'zywx' });
      expect(accountHook.received).toHaveLength(0);
    } finally {
      await accountHook.stop();
      await taskHook.stop();
    }
  });

  it('a failing customer URL is retried until it answers 2xx, without holding up receipts', async () => {
    const hook = await startReceiver({ status: (n) => (n <= 2 ? 500 : 200) });
    try {
      const { apiKey } = await createAccount({ callbackUrl: hook.url });
      const taskId = await send(apiKey, { to: ['13800200000'], content: '【示例】重试' });
      await waitFor(async () => (await tasks.get(taskId))?.counts.delivered === 1, 20_000, 'receipt processed');
      await waitFor(async () => hook.received.length === 1, 30_000, 'callback after retries');
      expect(hook.attempts()).toBe(3);
    } finally {
      await hook.stop();
    }
  });

  it('a URL that never recovers sends the callback to the DLQ', async () => {
    const hook = await startReceiver({ status: () => 503 });
    const dlq = urls.get(`${def.service}-local-callbacks-dlq`);
    try {
      const { apiKey } = await createAccount({ callbackUrl: hook.url });
      await send(apiKey, { to: ['13800300000'], content: '【示例】死信' });
      const parked = await waitFor(async () => {
        const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }));
        return r.Messages?.find((m) => JSON.parse(m.Body ?? '{}').url === hook.url);
      }, 40_000, 'callback in DLQ');
      expect(JSON.parse(parked.Body ?? '{}').events[0]).toMatchObject({ type: 'receipt', phone: '13800300000', status: 'delivered' });
      expect(hook.attempts()).toBe(7); // maxReceiveCount in serverless.yml
    } finally {
      await hook.stop();
    }
  }, 60_000);
});
