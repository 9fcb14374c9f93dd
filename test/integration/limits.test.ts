import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamo } from '../../lib/aws.js';
import { config } from '../../lib/config.js';
import type { ProviderName } from '../../lib/providers/index.js';
import { messageStore } from '../../lib/stores/messages.js';
import { taskStore } from '../../lib/stores/tasks.js';
import { templateStore } from '../../lib/stores/templates.js';
import { dispatchChunk, type ChunkRef } from '../../lib/tasks/dispatch.js';
import { fanOutTask } from '../../lib/tasks/fanout.js';
import { chinaDay } from '../../lib/time.js';
import type { Simulator } from '../../local/simulators/harness.js';
import { apiEvent, call, createAccount, phones, startAllSimulators, taskItemsOf, testDispatchDeps, postTask as post, balanceOf } from '../support/fixtures.js';

/** Per-number limits (at dispatch) and the per-account daily cap (at submission). */
let sims: Record<ProviderName, Simulator>;
const tasks = taskStore();
const messages = messageStore();

beforeAll(async () => {
  sims = await startAllSimulators();
});
afterAll(async () => Promise.all(Object.values(sims).map((s) => s.stop())));


async function refsOf(taskId: string): Promise<ChunkRef[]> {
  const refs: ChunkRef[] = [];
  await fanOutTask(taskId, { tasks, enqueueChunks: async (r) => void refs.push(...r) });
  return refs;
}
/** Submits and dispatches a task at the given clock; returns its id. */
async function sendAt(apiKey: string, to: string[], clock: number, content = '【测试】频率'): Promise<string> {
  const res = await post(apiKey, { to, content });
  expect(res.status).toBe(202);
  for (const ref of await refsOf(res.body.taskId)) await dispatchChunk(ref, testDispatchDeps(() => clock));
  return res.body.taskId as string;
}
const statusOf = async (taskId: string, phone: string) => (await messages.getMany(taskId, [phone]))[0];

describe('per-number limits', () => {
  it('a second message to a number within the interval is rejected RATE_LIMITED_NUMBER and refunded; after it, it is sent', async () => {
    const { apiKey } = await createAccount({ balance: 100, limits: { perNumberIntervalSeconds: 60, perNumberDaily: 10 } });
    const [a, b, c] = phones(3, 13_900_100_000) as [string, string, string];
    const t0 = Date.now();
    const first = await sendAt(apiKey, [a, b], t0);
    const second = await sendAt(apiKey, [a, c], t0 + 30_000);
    expect(await statusOf(first, a)).toMatchObject({ status: 'submitted' });
    expect(await statusOf(second, a)).toMatchObject({ status: 'rejected', code: 'RATE_LIMITED_NUMBER' });
    expect((await statusOf(second, a))?.detail).toContain('60 s');
    expect(await statusOf(second, c)).toMatchObject({ status: 'submitted' });
    expect((await tasks.get(second))?.counts).toMatchObject({ submitted: 1, rejected: 1 });
    // 4 points charged, 1 refunded.
    expect((await balanceOf(apiKey)).balance).toBe(97);
    const third = await sendAt(apiKey, [a], t0 + 61_000);
    expect(await statusOf(third, a)).toMatchObject({ status: 'submitted' });
  });

  it('a number over its daily count is rejected until the next China day; the provider is not asked when every recipient is held back', async () => {
    const { apiKey } = await createAccount({ balance: 100, limits: { perNumberIntervalSeconds: 0, perNumberDaily: 3 } });
    const phone = '13900200000';
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) expect(await statusOf(await sendAt(apiKey, [phone], t0 + i * 1000), phone)).toMatchObject({ status: 'submitted' });
    const before = sims.submail.stats().requests;
    const fourth = await sendAt(apiKey, [phone], t0 + 5_000);
    expect(await statusOf(fourth, phone)).toMatchObject({ status: 'rejected', code: 'RATE_LIMITED_NUMBER' });
    expect((await statusOf(fourth, phone))?.detail).toContain('今日');
    expect(sims.submail.stats().requests).toBe(before);
    expect(await tasks.get(fourth)).toMatchObject({ status: 'failed', counts: { rejected: 1 } });
    const tomorrow = t0 + 86_400_000;
    expect(chinaDay(new Date(tomorrow))).not.toBe(chinaDay(new Date(t0)));
    expect(await statusOf(await sendAt(apiKey, [phone], tomorrow), phone)).toMatchObject({ status: 'submitted' });
  });

  it('concurrent chunks of different tasks to one number: exactly one is sent', async () => {
    const { apiKey } = await createAccount({ balance: 100, limits: { perNumberIntervalSeconds: 60, perNumberDaily: 10 } });
    const phone = '13900300000';
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await post(apiKey, { to: [phone], content: `【测试】并发${i}` })).body.taskId);
    const refs = (await Promise.all(ids.map(refsOf))).flat();
    const now = Date.now();
    await Promise.all(refs.map((ref) => dispatchChunk(ref, testDispatchDeps(() => now))));
    const statuses = await Promise.all(ids.map((id) => statusOf(id, phone)));
    expect(statuses.filter((m) => m?.status === 'submitted')).toHaveLength(1);
    expect(statuses.filter((m) => m?.code === 'RATE_LIMITED_NUMBER')).toHaveLength(7);
    expect((await balanceOf(apiKey)).balance).toBe(99);
  });

  it('a SendCloud chunk resent after a crash (same sendRequestId) is not refused by its own count', async () => {
    const { apiKey, account } = await createAccount({ balance: 100, route: ['sendcloud'], limits: { perNumberIntervalSeconds: 60, perNumberDaily: 10 } });
    await templateStore().create({ accountId: account.accountId, templateId: 'verify', name: 'v', text: '【示例】您的验证码是%code%，10分钟内有效', variables: ['code'], vendorTemplateIds: { sendcloud: '10001' }, createTime: new Date().toISOString() });
    const res = await post(apiKey, { to: phones(3, 13_900_400_000), templateId: 'verify', vars: { code: '1' } });
    const [ref] = await refsOf(res.body.taskId);
    let clock = Date.now();
    await expect(dispatchChunk(ref as ChunkRef, testDispatchDeps(() => clock, 'after-send'))).rejects.toThrow(/injected crash/);
    clock += 6_000; // past the 5 s test lease, well inside SendCloud's dedupe window
    expect(await dispatchChunk(ref as ChunkRef, testDispatchDeps(() => clock))).toBe('sent');
    expect((await tasks.get(res.body.taskId))?.counts).toMatchObject({ submitted: 3, rejected: 0 });
  });

  it('costs one conditional write per recipient, and nothing when the limits are off', async () => {
    const count = async (accountId: string) => {
      const r = await dynamo().send(new ScanCommand({ TableName: config.limitsTable, FilterExpression: 'begins_with(pk, :p)', ExpressionAttributeValues: { ':p': `number#${accountId}#` }, Select: 'COUNT' }));
      return r.Count ?? 0;
    };
    const on = await createAccount({ balance: 1_000, limits: { perNumberIntervalSeconds: 60, perNumberDaily: 10 } });
    await sendAt(on.apiKey, phones(50, 13_900_500_000), Date.now());
    expect(await count(on.account.accountId)).toBe(50);
    const off = await createAccount({ balance: 1_000, limits: { perNumberIntervalSeconds: 0, perNumberDaily: 0 } });
    await sendAt(off.apiKey, phones(50, 13_900_500_000), Date.now());
    expect(await count(off.account.accountId)).toBe(0);
  });
});

describe('daily cap', () => {
  it('a task that would go over the daily cap is refused DAILY_LIMIT_EXCEEDED and nothing is created; GET /v1/balance shows the limits and today', async () => {
    const { apiKey, account } = await createAccount({ balance: 100, limits: { dailyMessages: 10, perNumberIntervalSeconds: 0, perNumberDaily: 0 } });
    expect((await post(apiKey, { to: phones(6, 13_900_600_000), content: '【测试】日限' })).status).toBe(202);
    const over = await post(apiKey, { to: phones(5, 13_900_610_000), content: '【测试】日限' });
    expect(over.status).toBe(429);
    expect(over.body.error).toMatchObject({ code: 'DAILY_LIMIT_EXCEEDED' });
    expect(over.body.error.message).toContain('4 of its 10');
    expect(await taskItemsOf(account.accountId)).toBe(1);
    expect((await post(apiKey, { to: phones(11, 13_900_620_000), content: '【测试】日限' })).body.error.code).toBe('DAILY_LIMIT_EXCEEDED');
    expect((await post(apiKey, { to: phones(4, 13_900_630_000), content: '【测试】日限' })).status).toBe(202);
    const view = await balanceOf(apiKey);
    expect(view).toMatchObject({
      balance: 90,
      limits: { dailyMessages: 10, perNumberIntervalSeconds: 0, perNumberDaily: 0 },
      today: { day: chinaDay(new Date()), messages: 10, remaining: 0 },
    });
    // A task for tomorrow counts against tomorrow.
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    expect((await post(apiKey, { to: phones(10, 13_900_640_000), content: '【测试】明天', sendAt: tomorrow })).status).toBe(202);
  });

  it('concurrent submissions cannot pass the daily cap together', async () => {
    const { apiKey } = await createAccount({ balance: 1_000, limits: { dailyMessages: 20, perNumberIntervalSeconds: 0, perNumberDaily: 0 } });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => post(apiKey, { to: phones(3, 13_900_700_000 + i * 10), content: '【测试】并发日限' })));
    expect(results.filter((r) => r.status === 202)).toHaveLength(6);
    expect(results.filter((r) => r.status === 429)).toHaveLength(6);
    expect((await balanceOf(apiKey)).today).toMatchObject({ messages: 18, remaining: 2 });
  });

  it('refunded recipients give their place in the day back', async () => {
    const { apiKey } = await createAccount({ balance: 100, limits: { dailyMessages: 5, perNumberIntervalSeconds: 0, perNumberDaily: 0 } });
    // 140… numbers are refused by the provider one by one.
    const taskId = await sendAt(apiKey, [...phones(2, 13_900_800_000), ...phones(3, 14_000_800_000)], Date.now());
    expect((await tasks.get(taskId))?.counts).toMatchObject({ submitted: 2, rejected: 3 });
    expect((await balanceOf(apiKey)).today).toMatchObject({ messages: 2, remaining: 3 });
  });
});
