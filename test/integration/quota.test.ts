import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as cancelTaskFn } from '../../functions/cancel-task.js';
import { topUp } from '../../lib/accounts.js';
import type { ProviderName } from '../../lib/providers/index.js';
import { ledgerStore } from '../../lib/stores/ledger.js';
import { taskStore } from '../../lib/stores/tasks.js';
import { dispatchChunk, type ChunkRef } from '../../lib/tasks/dispatch.js';
import { fanOutTask } from '../../lib/tasks/fanout.js';
import type { Simulator } from '../../local/simulators/harness.js';
import { adminDeps, apiEvent, call, createAccount, phones, startAllSimulators, taskItemsOf, testDispatchDeps, postTask as post, balanceOf } from '../support/fixtures.js';

/**
 * Points: reserved with the task in one transaction, refunded for rejected,
 * canceled and never-started recipients, every movement in the ledger.
 */
let sims: Record<ProviderName, Simulator>;
const tasks = taskStore();
const ledger = ledgerStore();

beforeAll(async () => {
  sims = await startAllSimulators();
});
afterAll(async () => Promise.all(Object.values(sims).map((s) => s.stop())));

const cancel = (apiKey: string, taskId: string) =>
  call(cancelTaskFn, apiEvent({ method: 'DELETE', path: `/v1/tasks/${taskId}`, apiKey, pathParameters: { taskId } }));

async function fanOut(taskId: string): Promise<ChunkRef[]> {
  const refs: ChunkRef[] = [];
  await fanOutTask(taskId, { tasks, enqueueChunks: async (r) => void refs.push(...r) });
  return refs;
}
async function run(taskId: string): Promise<void> {
  for (const ref of await fanOut(taskId)) await dispatchChunk(ref, testDispatchDeps(Date.now));
}
const ledgerSum = async (accountId: string) => (await ledger.entries(accountId)).reduce((n, e) => n + e.delta, 0);

describe('reservation', () => {
  it('accepting a task takes its fee from the balance and records the charge', async () => {
    const { apiKey, account } = await createAccount({ balance: 100 });
    const res = await post(apiKey, { to: phones(10, 13_800_100_000), content: '【测试】扣费' });
    expect(res).toMatchObject({ status: 202, body: { fee: 10 } });
    expect((await balanceOf(apiKey)).balance).toBe(90);
    const entries = await ledger.entries(account.accountId);
    expect(entries.map((e) => [e.kind, e.delta, e.taskId])).toEqual([
      ['topup', 100, undefined],
      ['charge', -10, res.body.taskId],
    ]);
  });

  it('a task that costs more than the balance gets 402 INSUFFICIENT_BALANCE, and nothing is created or charged', async () => {
    const { apiKey, account } = await createAccount({ balance: 15 });
    // 2 segments × 8 recipients = 16 points.
    const res = await post(apiKey, { to: phones(8, 13_800_200_000), content: `【测试】${'长'.repeat(80)}` });
    expect(res.status).toBe(402);
    expect(res.body.error).toMatchObject({ code: 'INSUFFICIENT_BALANCE' });
    expect(res.body.error.message).toContain('16');
    expect(await taskItemsOf(account.accountId)).toBe(0);
    expect((await balanceOf(apiKey)).balance).toBe(15);
    expect(await ledger.entries(account.accountId)).toHaveLength(1);
  });

  it('concurrent submissions against a small balance never overdraw it', async () => {
    const { apiKey, account } = await createAccount({ balance: 10 });
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => post(apiKey, { to: [String(13_800_300_000 + i)], content: '【测试】并发' })),
    );
    const accepted = results.filter((r) => r.status === 202);
    const refused = results.filter((r) => r.status === 402);
    expect(accepted).toHaveLength(10);
    expect(refused).toHaveLength(14);
    for (const r of refused) expect(r.body.error.code).toBe('INSUFFICIENT_BALANCE');
    expect((await balanceOf(apiKey)).balance).toBe(0);
    expect(await ledgerSum(account.accountId)).toBe(0);
    const charged = (await ledger.entries(account.accountId)).filter((e) => e.kind === 'charge').map((e) => e.taskId).sort();
    expect(charged).toEqual(accepted.map((r) => r.body.taskId as string).sort());
  });
});

describe('refunds and the balance equation', () => {
  it('after a mixed run the balance equals top-ups − charges + refunds, and each task paid only for what was sent', async () => {
    const { apiKey, account } = await createAccount({ balance: 20_000, route: ['submail', 'zywx'] });
    const accountId = account.accountId;
    const taskIds: string[] = [];
    const submit = async (body: Record<string, unknown>) => {
      const res = await post(apiKey, body);
      expect(res.status).toBe(202);
      taskIds.push(res.body.taskId as string);
      return res.body.taskId as string;
    };

    // 1. Delivered, with a few numbers the provider refuses one by one (140… is not a mobile range it accepts).
    const mixed = await submit({ to: [...phones(6, 13_800_400_000), ...phones(3, 14_000_000_000)], content: '【测试】混合' });
    await run(mixed);
    // 2. Two segments, every recipient accepted.
    const long = await submit({ to: phones(5, 13_800_500_000), content: `【测试】${'长'.repeat(80)}` });
    await run(long);
    // 3. Every provider of the route refuses the whole request: all rejected, all refunded.
    sims.submail.setFault({ mode: 'error', code: '903' });
    sims.zywx.setFault({ mode: 'error', code: '余额不足' });
    const refused = await submit({ to: phones(4, 13_800_600_000), content: '【测试】拒绝' });
    await run(refused);
    // 4. Scheduled, then canceled before it starts: the whole fee comes back.
    const later = await submit({ to: phones(7, 13_800_700_000), content: '【测试】定时', sendAt: new Date(Date.now() + 3_600_000).toISOString() });
    expect((await cancel(apiKey, later)).body).toMatchObject({ status: 'canceled', counts: { canceled: 7, queued: 0 } });
    // 5. Canceled while running: the chunk already sent is paid for, the other two are refunded.
    const big = await submit({ to: phones(4_500, 13_810_000_000), content: '【测试】取消', route: ['zywx'] });
    const refs = await fanOut(big);
    expect(refs).toHaveLength(3);
    await dispatchChunk(refs[0] as ChunkRef, testDispatchDeps(Date.now));
    expect((await cancel(apiKey, big)).status).toBe(200);
    for (const ref of refs.slice(1)) expect(await dispatchChunk(ref, testDispatchDeps(Date.now))).toBe('canceled');
    // 6. A top-up in between.
    await topUp(accountId, 500, adminDeps(), 'test top-up');

    const entries = await ledger.entries(accountId);
    const total = (kind: string) => entries.filter((e) => e.kind === kind).reduce((n, e) => n + e.points, 0);
    const balance = (await balanceOf(apiKey)).balance as number;
    expect(balance).toBe(total('topup') - total('charge') + total('refund'));
    expect(total('topup')).toBe(20_500);

    // What each task ends up paying is exactly its recipients that may have been sent.
    let paid = 0;
    for (const taskId of taskIds) {
      const t = await tasks.get(taskId);
      if (!t) throw new Error(taskId);
      const charge = entries.filter((e) => e.taskId === taskId && e.kind === 'charge').reduce((n, e) => n + e.points, 0);
      const refund = entries.filter((e) => e.taskId === taskId && e.kind === 'refund').reduce((n, e) => n + e.points, 0);
      expect(charge).toBe(t.fee);
      expect(refund).toBe((t.counts.rejected + t.counts.canceled) * t.segments);
      paid += charge - refund;
    }
    expect((await tasks.get(mixed))?.counts).toMatchObject({ submitted: 6, rejected: 3 });
    expect((await tasks.get(refused))?.counts).toMatchObject({ rejected: 4 });
    expect((await tasks.get(big))?.counts).toMatchObject({ submitted: 2_000, canceled: 2_500 });
    expect(paid).toBe(6 + 10 + 0 + 0 + 2_000);
    expect(balance).toBe(20_500 - paid);
  });

  it('a refund is made once, however often the chunk that earns it is dispatched again', async () => {
    const { apiKey, account } = await createAccount({ balance: 100 });
    const res = await post(apiKey, { to: phones(4, 14_000_100_000), content: '【测试】重复' });
    const refs = await fanOut(res.body.taskId);
    for (let i = 0; i < 3; i++) for (const ref of refs) await dispatchChunk(ref, testDispatchDeps(Date.now));
    expect((await balanceOf(apiKey)).balance).toBe(100);
    expect((await ledger.entries(account.accountId)).filter((e) => e.kind === 'refund')).toHaveLength(1);
  });
});
