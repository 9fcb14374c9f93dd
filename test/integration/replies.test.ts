import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as addSuppressionsFn } from '../../functions/add-suppressions.js';
import { handler as listRepliesFn } from '../../functions/list-replies.js';
import { handler as listSuppressionsFn } from '../../functions/list-suppressions.js';
import { handler as webhook } from '../../functions/receipt-webhook.js';
import { handler as removeSuppressionFn } from '../../functions/remove-suppression.js';
import { handler as sendBatch } from '../../functions/send-batch.js';
import type { ProviderName } from '../../lib/providers/index.js';
import { taskStore } from '../../lib/stores/tasks.js';
import { inProcessInvoke, startPoller, type Poller } from '../../local/poller.js';
import { loadServiceDefinition } from '../../local/resources.js';
import type { Simulator } from '../../local/simulators/harness.js';
import { apiEvent, call, createAccount, startAllSimulators, waitFor } from '../support/fixtures.js';
import { startHookServer } from '../support/hook-server.js';
import { queueUrlsByName } from '../support/queues.js';

/** Replies pushed by the simulators: stored per account, 退订 suppresses later sends, the list is managed by hand. */
const sims = {} as Record<ProviderName, Simulator>;
const tasks = taskStore();
let hooks: Awaited<ReturnType<typeof startHookServer>>;
let poller: Poller;

beforeAll(async () => {
  hooks = await startHookServer(webhook);
  Object.assign(sims, await startAllSimulators(hooks.base));
  const def = loadServiceDefinition('local');
  poller = startPoller({ sqs: new SQSClient({ useQueueUrlAsEndpoint: false }), def, queueUrls: await queueUrlsByName(def), invoke: inProcessInvoke(), visibilityTimeout: 2, waitSeconds: 1 });
});
afterAll(async () => {
  await poller?.stop();
  await Promise.all(Object.values(sims).map((s) => s.stop()));
  await hooks?.stop();
});

async function accountWith(route: ProviderName[]) {
  return createAccount({ route });
}
const api = (handler: unknown, method: string, path: string, apiKey: string, extra: { body?: unknown; qs?: Record<string, string>; params?: Record<string, string> } = {}) =>
  call(handler, {
    ...apiEvent({ method, path, apiKey, ...(extra.body !== undefined ? { body: JSON.stringify(extra.body) } : {}), ...(extra.params ? { pathParameters: extra.params } : {}) }),
    ...(extra.qs ? { queryStringParameters: extra.qs } : {}),
  });

async function send(apiKey: string, to: string[]): Promise<{ taskId: string; suppressedCount: number; memberCount: number }> {
  const res = await api(sendBatch, 'POST', '/v1/tasks', apiKey, { body: { to, content: '【示例】回复测试' } });
  if (res.status !== 202) throw new Error(JSON.stringify(res.body));
  // The poller runs the real pipeline: fan-out, dispatch, receipts.
  await waitFor(async () => ['succeeded', 'failed'].includes((await tasks.get(res.body.taskId))?.status ?? ''), 15_000, 'task sent');
  return res.body as never;
}
const repliesOf = async (apiKey: string) => (await api(listRepliesFn, 'GET', '/v1/replies', apiKey, { qs: {} })).body.replies as { phone: string; content: string; taskId: string | null }[];

describe('replies and opt-outs', () => {
  it('a SUBMAIL 退订 (naming no task) is matched to the task that messaged the number, and suppresses it for that account only', async () => {
    const a = await accountWith(['submail']);
    const b = await accountWith(['submail']);
    const first = await send(a.apiKey, ['13700000001', '13700000002']);
    await send(b.apiKey, ['13700000009']); // b messaged someone else
    sims.submail.reply('13700000001', ' 退订 ');
    const replies = await waitFor(async () => {
      const r = await repliesOf(a.apiKey);
      return r.length > 0 && r;
    }, 15_000, 'reply stored');
    expect(replies[0]).toMatchObject({ phone: '13700000001', content: ' 退订 ', taskId: first.taskId });
    expect(await repliesOf(b.apiKey)).toEqual([]);

    const again = await send(a.apiKey, ['13700000001', '13700000002']);
    expect(again).toMatchObject({ memberCount: 1, suppressedCount: 1 });
    expect((await tasks.get(again.taskId))?.suppressedCount).toBe(1);
    expect((await send(b.apiKey, ['13700000001'])).suppressedCount).toBe(0);
  });

  it('a 10658 reply names its batch: stored under the account, and 收到 suppresses nothing', async () => {
    const a = await accountWith(['zywx']);
    const sent = await send(a.apiKey, ['13700000101']);
    sims.zywx.reply('13700000101', '收到');
    const replies = await waitFor(async () => {
      const r = await repliesOf(a.apiKey);
      return r.length > 0 && r;
    }, 15_000, '10658 reply');
    expect(replies[0]).toMatchObject({ phone: '13700000101', content: '收到', taskId: sent.taskId });
    expect((await send(a.apiKey, ['13700000101'])).suppressedCount).toBe(0);
  });

  it('a SendCloud reply TD suppresses; a duplicated push stores one reply', async () => {
    const a = await accountWith(['sendcloud', 'zywx']);
    await send(a.apiKey, ['13700000201']); // content-only: goes through zywx
    sims.sendcloud.setPush({ duplicate: 1 });
    sims.sendcloud.reply('13700000201', 'TD');
    await sims.sendcloud.drainPushes();
    await waitFor(async () => (await repliesOf(a.apiKey)).length > 0, 15_000, 'SendCloud reply');
    await new Promise((r) => setTimeout(r, 500));
    expect(await repliesOf(a.apiKey)).toHaveLength(1);
    const res = await api(sendBatch, 'POST', '/v1/tasks', a.apiKey, { body: { to: ['13700000201'], content: '【示例】x' } });
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'NO_VALID_RECIPIENT' } } });
    expect(res.body.error.message).toContain('1 suppressed');
  });
});

describe('/v1/suppressions', () => {
  it('adds (normalised), lists, removes; each account sees only its own', async () => {
    const a = await accountWith(['submail']);
    const b = await accountWith(['submail']);
    const added = await api(addSuppressionsFn, 'POST', '/v1/suppressions', a.apiKey, { body: { phones: ['+86 137-0000-0301', '123'] } });
    expect(added).toMatchObject({ status: 200, body: { added: 1, invalidCount: 1 } });
    const list = await api(listSuppressionsFn, 'GET', '/v1/suppressions', a.apiKey, { qs: {} });
    expect(list.body.suppressions).toEqual([expect.objectContaining({ phone: '13700000301', reason: 'manual' })]);
    expect((await api(listSuppressionsFn, 'GET', '/v1/suppressions', b.apiKey, { qs: {} })).body.suppressions).toEqual([]);
    expect((await send(a.apiKey, ['13700000301', '13700000302'])).suppressedCount).toBe(1);

    expect((await api(removeSuppressionFn, 'DELETE', '/v1/suppressions/13700000301', b.apiKey, { params: { phone: '13700000301' } })).status).toBe(404);
    expect((await api(removeSuppressionFn, 'DELETE', '/v1/suppressions/13700000301', a.apiKey, { params: { phone: '13700000301' } })).status).toBe(204);
    expect((await send(a.apiKey, ['13700000301'])).suppressedCount).toBe(0);
    expect((await api(addSuppressionsFn, 'POST', '/v1/suppressions', a.apiKey, { body: { phones: [] } })).status).toBe(400);
  });
});
