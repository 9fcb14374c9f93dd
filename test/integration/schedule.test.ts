import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as cancelTaskFn } from '../../functions/cancel-task.js';
import { handler as queryTask } from '../../functions/query-task.js';
import { type ProviderName } from '../../lib/providers/index.js';
import { handler as getBalanceFn } from '../../functions/get-balance.js';
import { suppressionStore } from '../../lib/stores/replies.js';
import { messageStore } from '../../lib/stores/messages.js';
import { taskStore } from '../../lib/stores/tasks.js';
import { dispatchChunk, type ChunkRef } from '../../lib/tasks/dispatch.js';
import { fanOutTask } from '../../lib/tasks/fanout.js';
import { releaseDueTasks } from '../../lib/tasks/schedule.js';
import { toChinaTime } from '../../lib/time.js';
import type { Simulator } from '../../local/simulators/harness.js';
import { apiEvent, call, createAccount, phones, startAllSimulators, taskItemsOf, testDispatchDeps, postTask as post } from '../support/fixtures.js';

/** Scheduled tasks (sendAt) and cancel, with the scheduler driven by an injected clock. */
let sims: Record<ProviderName, Simulator>;
const tasks = taskStore();
const messages = messageStore();

beforeAll(async () => {
  sims = await startAllSimulators();
});
afterAll(async () => {
  await Promise.all(Object.values(sims).map((s) => s.stop()));
});

async function account(route: ProviderName[] = ['zywx']) {
  return createAccount({ route });
}
const cancel = (apiKey: string, taskId: string) =>
  call(cancelTaskFn, apiEvent({ method: 'DELETE', path: `/v1/tasks/${taskId}`, apiKey, pathParameters: { taskId } }));

/** What the fan-out and dispatch functions would do with a released task. */
async function run(taskIds: string[]): Promise<void> {
  for (const taskId of taskIds) {
    const refs: ChunkRef[] = [];
    await fanOutTask(taskId, { tasks, enqueueChunks: async (r) => void refs.push(...r) });
    for (const ref of refs) await dispatchChunk(ref, { ...testDispatchDeps(Date.now), leaseMs: 30_000 });
  }
}
const inMinutes = (m: number) => new Date(Date.now() + m * 60_000);

describe('sendAt', () => {
  it('accepts ISO-8601 with an offset and the vendors’ China-time format; the task answers `scheduled`', async () => {
    const { apiKey } = await account();
    const at = inMinutes(30);
    const iso = await post(apiKey, { to: ['13900000001'], content: '【示例】定时', sendAt: at.toISOString().replace('Z', '+00:00') });
    expect(iso).toMatchObject({ status: 202, body: { status: 'scheduled', sendAt: at.toISOString() } });
    const china = await post(apiKey, { to: ['13900000001'], content: '【示例】定时', sendAt: toChinaTime(at) });
    expect(china.body.sendAt).toBe(new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString());
    const q = await call(queryTask, apiEvent({ method: 'GET', path: '/x', apiKey, pathParameters: { taskId: china.body.taskId } }));
    expect(q.body).toMatchObject({ status: 'scheduled', sendAt: china.body.sendAt, startTime: null });
  });

  it.each([
    ['in the past', () => new Date(Date.now() - 5 * 60_000).toISOString(), 'SEND_AT_IN_PAST'],
    ['more than 35 days ahead', () => inMinutes(36 * 24 * 60).toISOString(), 'SEND_AT_TOO_FAR'],
    ['not a time', () => 'tomorrow at nine', 'INVALID_SEND_AT'],
    ['without an offset', () => '2030-01-01T09:00:00', 'INVALID_SEND_AT'],
  ])('400 for a sendAt %s, and nothing stored', async (_n, sendAt, code) => {
    const { apiKey, account: a } = await account();
    expect(await post(apiKey, { to: ['13900000001'], content: '【示例】x', sendAt: sendAt() })).toMatchObject({ status: 400, body: { error: { code, field: 'sendAt' } } });
    expect(await taskItemsOf(a.accountId)).toBe(0);
  });
});

describe('the scheduler', () => {
  it('never starts a task early, starts it once when due even with two overlapping runs, and it is sent', async () => {
    const { apiKey } = await account();
    sims.zywx.reset();
    const sendAt = inMinutes(10);
    const { body } = await post(apiKey, { to: phones(3, 13_900_001_000), content: '【示例】准时', sendAt: sendAt.toISOString() });
    const noEnqueue = async () => {};
    expect(await releaseDueTasks({ tasks, enqueueFanOut: noEnqueue, now: () => new Date(sendAt.getTime() - 1_000) })).not.toContain(body.taskId);
    expect(await fanOutTask(body.taskId, { tasks, enqueueChunks: async () => { throw new Error('must not enqueue'); } })).toBe('nothing-to-do');
    expect(sims.zywx.stats().requests).toBe(0);

    const released: string[][] = await Promise.all(
      [1, 2].map(() => releaseDueTasks({ tasks, enqueueFanOut: noEnqueue, now: () => new Date(sendAt.getTime() + 5_000) })),
    );
    expect(released.flat().filter((id) => id === body.taskId)).toHaveLength(1);
    await run([body.taskId, body.taskId]);
    expect(sims.zywx.stats()).toMatchObject({ requests: 1, recipients: 3, duplicateRecipients: 0 });
    expect(await tasks.get(body.taskId)).toMatchObject({ status: 'succeeded', counts: { submitted: 3 } });
  });

  it('a task that fell due while the scheduler was down starts on the next run', async () => {
    const { apiKey } = await account();
    const { body } = await post(apiKey, { to: ['13900002000'], content: '【示例】补发', sendAt: inMinutes(5).toISOString() });
    const released = await releaseDueTasks({ tasks, enqueueFanOut: async () => {}, now: () => inMinutes(180) });
    expect(released).toContain(body.taskId);
  });

  it('a run that dies after claiming a task, before handing it to fan-out, is retried by a later run', async () => {
    const { apiKey } = await account();
    const sendAt = inMinutes(5);
    const { body } = await post(apiKey, { to: ['13900003000'], content: '【示例】重试', sendAt: sendAt.toISOString() });
    await expect(releaseDueTasks({ tasks, enqueueFanOut: async () => { throw new Error('SQS down'); }, now: () => new Date(sendAt.getTime() + 1_000) })).rejects.toThrow();
    expect((await tasks.get(body.taskId))?.status).toBe('running');
    const later = await releaseDueTasks({ tasks, enqueueFanOut: async () => {}, now: () => new Date(Date.now() + 10 * 60_000) });
    expect(later).toContain(body.taskId);
    await run([body.taskId]);
    expect((await tasks.get(body.taskId))?.status).toBe('succeeded');
  });
});

describe('DELETE /v1/tasks/{taskId}', () => {
  it('cancels a scheduled task: nothing is ever sent; a second cancel is 409; another account gets 404', async () => {
    const { apiKey } = await account();
    const sendAt = inMinutes(5);
    const { body } = await post(apiKey, { to: ['13900004000'], content: '【示例】取消', sendAt: sendAt.toISOString() });
    expect((await cancel((await createAccount()).apiKey, body.taskId)).status).toBe(404);
    const res = await cancel(apiKey, body.taskId);
    expect(res).toMatchObject({ status: 200, body: { status: 'canceled' } });
    expect(res.body.endTime).not.toBeNull();
    expect(await releaseDueTasks({ tasks, enqueueFanOut: async () => {}, now: () => inMinutes(60) })).not.toContain(body.taskId);
    expect(await cancel(apiKey, body.taskId)).toMatchObject({ status: 409, body: { error: { code: 'TASK_FINISHED' } } });
  });

  it('stops a running task from dispatching further chunks; chunks already sent stay sent', async () => {
    const { apiKey } = await account(['zywx']);
    sims.zywx.reset();
    const { body } = await post(apiKey, { to: phones(4_500, 13_900_100_000), content: '【示例】中途取消' });
    const refs: ChunkRef[] = [];
    await fanOutTask(body.taskId, { tasks, enqueueChunks: async (r) => void refs.push(...r) });
    expect(refs).toHaveLength(3);
    const deps = { ...testDispatchDeps(Date.now), leaseMs: 30_000 };
    expect(await dispatchChunk(refs[0] as ChunkRef, deps)).toBe('sent');
    expect((await cancel(apiKey, body.taskId)).body.status).toBe('canceled');
    expect(await dispatchChunk(refs[1] as ChunkRef, deps)).toBe('canceled');
    expect(await dispatchChunk(refs[2] as ChunkRef, deps)).toBe('canceled');
    expect(sims.zywx.stats()).toMatchObject({ requests: 1, recipients: 2_000 });
    const task = await tasks.get(body.taskId);
    expect(task).toMatchObject({ status: 'canceled', chunksSettled: 3, counts: { submitted: 2_000, canceled: 2_500 } });
    expect(await cancel(apiKey, body.taskId)).toMatchObject({ status: 409 });
  });

  it('a finished task cannot be canceled', async () => {
    const { apiKey } = await account(['zywx']);
    const { body } = await post(apiKey, { to: ['13900005000'], content: '【示例】已完成' });
    await run([body.taskId]);
    expect(await cancel(apiKey, body.taskId)).toMatchObject({ status: 409, body: { error: { code: 'TASK_FINISHED' } } });
  });
});

describe('between acceptance and sending', () => {
  it('a number that opts out while a scheduled task waits is not sent to, and its points come back', async () => {
    const { apiKey, account: a } = await account(['zywx']);
    const sendAt = inMinutes(5);
    const [keep, optOut] = phones(2, 13_900_500_000) as [string, string];
    const { body } = await post(apiKey, { to: [keep, optOut], content: '【示例】退订后', sendAt: sendAt.toISOString() });
    await suppressionStore().add(a.accountId, [{ phone: optOut, reason: 'reply', time: new Date().toISOString() }]);
    const released = await releaseDueTasks({ tasks, enqueueFanOut: async () => {}, now: () => new Date(sendAt.getTime() + 1_000) });
    expect(released).toContain(body.taskId);
    const before = sims.zywx.stats().recipients;
    await run([body.taskId]);
    expect(sims.zywx.stats().recipients - before).toBe(1);
    expect((await messages.getMany(body.taskId, [optOut]))[0]).toMatchObject({ status: 'rejected', code: 'SUPPRESSED' });
    expect(await tasks.get(body.taskId)).toMatchObject({ status: 'succeeded', counts: { submitted: 1, rejected: 1 } });
    expect((await call(getBalanceFn, apiEvent({ method: 'GET', path: '/v1/balance', apiKey }))).body.balance).toBe(1_000_000 - 1);
  });

  it('a task canceled after it started but before its fan-out finished: the scheduler hands its chunks to dispatch, which refunds them', async () => {
    const { apiKey } = await account(['zywx']);
    const { body } = await post(apiKey, { to: phones(4_500, 13_900_600_000), content: '【示例】未分发' });
    // Fan-out started the task and died before enqueueing anything.
    expect(await tasks.start(body.taskId, new Date().toISOString())).toBe(true);
    expect((await cancel(apiKey, body.taskId)).body.status).toBe('canceled');
    const released = await releaseDueTasks({ tasks, enqueueFanOut: async () => {}, now: () => inMinutes(5) });
    expect(released).toContain(body.taskId);
    const before = sims.zywx.stats().requests;
    await run([body.taskId]);
    expect(sims.zywx.stats().requests).toBe(before);
    expect(await tasks.get(body.taskId)).toMatchObject({ status: 'canceled', chunksSettled: 3, counts: { canceled: 4_500 } });
    expect((await call(getBalanceFn, apiEvent({ method: 'GET', path: '/v1/balance', apiKey }))).body.balance).toBe(1_000_000);
    expect(await releaseDueTasks({ tasks, enqueueFanOut: async () => {}, now: () => inMinutes(10) })).not.toContain(body.taskId);
  });
});
