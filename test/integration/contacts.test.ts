import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as contactListsFn } from '../../functions/contact-lists.js';
import { handler as getBalanceFn } from '../../functions/get-balance.js';
import { handler as queryTaskFn } from '../../functions/query-task.js';
import { purgeListStep } from '../../lib/contacts.js';
import type { ProviderName } from '../../lib/providers/index.js';
import { contactStore } from '../../lib/stores/contacts.js';
import { ledgerStore } from '../../lib/stores/ledger.js';
import { suppressionStore } from '../../lib/stores/replies.js';
import { taskStore } from '../../lib/stores/tasks.js';
import { dispatchChunk, type ChunkRef } from '../../lib/tasks/dispatch.js';
import { fanOutTask, type FanOutDeps } from '../../lib/tasks/fanout.js';
import type { Simulator } from '../../local/simulators/harness.js';
import { apiEvent, call, createAccount, phones, startAllSimulators, testDispatchDeps, postTask as post } from '../support/fixtures.js';

/** Contact lists, their import, and tasks that send to them (fan-out in steps, resumable). */
let sims: Record<ProviderName, Simulator>;
const tasks = taskStore();
const contacts = contactStore();
beforeAll(async () => {
  sims = await startAllSimulators();
});
afterAll(async () => Promise.all(Object.values(sims).map((s) => s.stop())));

const api = (apiKey: string, method: string, path: string, body?: unknown, contentType?: string, query?: Record<string, string>) => {
  const m = /^\/v1\/contact-lists(?:\/([^/]+))?/.exec(path);
  const event = apiEvent({
    method,
    path,
    apiKey,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    ...(contentType ? { contentType } : {}),
    ...(m?.[1] ? { pathParameters: { name: m[1] } } : {}),
  });
  return call(contactListsFn, query ? { ...event, queryStringParameters: query } : event);
};

/** Fan-out's dependencies against the local stack, collecting the chunks it enqueues in `refs`. */
const fanOutDeps = (refs: ChunkRef[], extra: Partial<FanOutDeps> = {}): FanOutDeps => ({
  tasks,
  contacts,
  suppressions: suppressionStore(),
  ledger: ledgerStore(),
  enqueueChunks: async (r) => void refs.push(...r),
  enqueueFanOut: async () => {},
  chunksPerRun: 2,
  ...extra,
});

/** Runs fan-out to the end as the queue would, then dispatches every chunk; returns the chunk refs. */
async function runTask(taskId: string, extra: Partial<FanOutDeps> = {}): Promise<ChunkRef[]> {
  const refs: ChunkRef[] = [];
  let again = true;
  const deps = fanOutDeps(refs, { enqueueFanOut: async () => void (again = true), ...extra });
  for (let runs = 0; again && runs < 200; runs++) {
    again = false;
    await fanOutTask(taskId, deps);
  }
  for (const ref of refs) await dispatchChunk(ref, testDispatchDeps(Date.now));
  return refs;
}

describe('contact lists', () => {
  it('create, list, get, 409 on a duplicate name, delete (members purged in the background)', async () => {
    const { apiKey, account } = await createAccount();
    expect(await api(apiKey, 'POST', '/v1/contact-lists', { name: 'vip', description: '大客户' })).toMatchObject({ status: 201, body: { name: 'vip', memberCount: 0 } });
    expect(await api(apiKey, 'POST', '/v1/contact-lists', { name: 'vip' })).toMatchObject({ status: 409, body: { error: { code: 'CONTACT_LIST_EXISTS' } } });
    expect(await api(apiKey, 'POST', '/v1/contact-lists', { name: 'a;b' })).toMatchObject({ status: 400, body: { error: { field: 'name' } } });
    await api(apiKey, 'POST', '/v1/contact-lists/vip/members', phones(30, 13_600_000_000).map((phone) => ({ phone })));
    expect((await api(apiKey, 'GET', '/v1/contact-lists')).body.lists).toEqual([expect.objectContaining({ name: 'vip', description: '大客户', memberCount: 30 })]);
    const list = await contacts.getList(account.accountId, 'vip');
    expect((await api(apiKey, 'DELETE', '/v1/contact-lists/vip')).status).toBe(204);
    expect(await api(apiKey, 'GET', '/v1/contact-lists/vip')).toMatchObject({ status: 404, body: { error: { code: 'CONTACT_LIST_NOT_FOUND' } } });
    // The name is free again at once; the old members are gone once the purge has run.
    expect((await api(apiKey, 'POST', '/v1/contact-lists', { name: 'vip' })).body.memberCount).toBe(0);
    let purges = 0;
    while ((await purgeListStep(account.accountId, list?.listId ?? '', { contacts, enqueuePurge: async () => void purges++ })) !== 'purged');
    expect((await contacts.page(account.accountId, list?.listId ?? '', { limit: 10 })).members).toEqual([]);
  });

  it('imports JSON: normalised numbers, invalid ones reported with their index, duplicates counted, re-import updates', async () => {
    const { apiKey } = await createAccount();
    await api(apiKey, 'POST', '/v1/contact-lists', { name: 'json' });
    const res = await api(apiKey, 'POST', '/v1/contact-lists/json/members', {
      members: [
        { phone: '+86 136-0000-0001', name: '张三', vars: { code: 1234 } },
        { phone: '13600000002' },
        { phone: '12345' },
        { phone: '0086 13600000001', name: '张三丰' },
      ],
    });
    expect(res).toMatchObject({ status: 200, body: { added: 2, updated: 0, invalid: 1, duplicate: 1, memberCount: 2 } });
    expect(res.body.invalidSamples).toEqual([{ line: 3, value: '12345', reason: 'not a mainland mobile number' }]);
    const again = await api(apiKey, 'POST', '/v1/contact-lists/json/members', [{ phone: '13600000002', vars: { code: '9' } }, { phone: '13600000003' }]);
    expect(again.body).toMatchObject({ added: 1, updated: 1, memberCount: 3 });
    const page = await api(apiKey, 'GET', '/v1/contact-lists/json/members', undefined, undefined, { limit: '2' });
    expect(page.body.members.map((m: { phone: string }) => m.phone)).toEqual(['13600000001', '13600000002']);
    expect(page.body.members[0]).toMatchObject({ name: '张三丰' });
    const rest = await api(apiKey, 'GET', '/v1/contact-lists/json/members', undefined, undefined, { limit: '2', cursor: page.body.cursor });
    expect(rest.body.members.map((m: { phone: string }) => m.phone)).toEqual(['13600000003']);
    expect(await api(apiKey, 'DELETE', '/v1/contact-lists/json/members', { phones: ['13600000003', '13600000009'] })).toMatchObject({ body: { removed: 1, memberCount: 2 } });
  });

  it('imports CSV with a header, quotes, a BOM and CRLF; bad rows are reported by line', async () => {
    const { apiKey } = await createAccount();
    await api(apiKey, 'POST', '/v1/contact-lists', { name: 'csv' });
    const csv = '\ufeffphone,name,city\r\n13600000011,"Li, Lei",北京\r\n"136 0000 0012","He said ""hi""",\r\nnot-a-phone,x,y\r\n13600000011,dup,上海\r\n';
    const res = await api(apiKey, 'POST', '/v1/contact-lists/csv/members', csv, 'text/csv');
    expect(res).toMatchObject({ status: 200, body: { added: 2, invalid: 1, duplicate: 1, memberCount: 2 } });
    expect(res.body.invalidSamples).toEqual([{ line: 4, value: 'not-a-phone', reason: 'not a mainland mobile number' }]);
    const page = await api(apiKey, 'GET', '/v1/contact-lists/csv/members');
    expect(page.body.members).toEqual([
      expect.objectContaining({ phone: '13600000011', name: 'dup', vars: { city: '上海' } }),
      expect.objectContaining({ phone: '13600000012', name: 'He said "hi"' }),
    ]);
    expect(await api(apiKey, 'POST', '/v1/contact-lists/csv/members', 'name,city\nx,y\n', 'text/csv')).toMatchObject({ status: 400, body: { error: { code: 'CSV_NO_PHONE_COLUMN' } } });
  });

  it("another account's lists are out of reach, by name or by task", async () => {
    const a = await createAccount();
    const b = await createAccount();
    await api(a.apiKey, 'POST', '/v1/contact-lists', { name: 'mine' });
    await api(a.apiKey, 'POST', '/v1/contact-lists/mine/members', [{ phone: '13600000021' }]);
    expect((await api(b.apiKey, 'GET', '/v1/contact-lists')).body.lists).toEqual([]);
    expect((await api(b.apiKey, 'GET', '/v1/contact-lists/mine/members')).status).toBe(404);
    expect((await api(b.apiKey, 'POST', '/v1/contact-lists/mine/members', [{ phone: '13600000022' }])).status).toBe(404);
    expect((await api(b.apiKey, 'DELETE', '/v1/contact-lists/mine')).status).toBe(404);
    expect(await post(b.apiKey, { contactLists: ['mine'], content: '【测试】别人的' })).toMatchObject({ status: 400, body: { error: { code: 'CONTACT_LIST_NOT_FOUND' } } });
    expect((await api(a.apiKey, 'GET', '/v1/contact-lists/mine')).body.memberCount).toBe(1);
  });
});

describe('tasks to contact lists', () => {
  it('sends once to the union of the lists and `to`, minus suppressions and later members; the fee follows the exact count', async () => {
    const { apiKey, account } = await createAccount({ balance: 10_000, route: ['zywx'] });
    await api(apiKey, 'POST', '/v1/contact-lists', { name: 'a' });
    await api(apiKey, 'POST', '/v1/contact-lists', { name: 'b' });
    const listA = phones(3_000, 13_610_000_000);
    const listB = phones(2_000, 13_610_002_000); // overlaps A by 1,000
    await api(apiKey, 'POST', '/v1/contact-lists/a/members', listA.map((phone) => ({ phone })));
    await api(apiKey, 'POST', '/v1/contact-lists/b/members', listB.map((phone) => ({ phone })));
    await suppressionStore().add(account.accountId, [{ phone: listB[1_999] as string, reason: 'reply', time: new Date().toISOString() }]);
    const inline = [listA[0] as string, '13610009999'];
    const res = await post(apiKey, { to: inline, contactLists: ['a', 'b'], content: '【测试】列表' });
    // Estimate: inline 2 + lists 3,000 + 2,000.
    expect(res).toMatchObject({ status: 202, body: { memberCount: 5_002, fee: 5_002 } });
    // Joins after acceptance: not part of this task.
    await api(apiKey, 'POST', '/v1/contact-lists/a/members', [{ phone: '13610008888' }]);
    sims.zywx.reset();
    const refs = await runTask(res.body.taskId);

    // Union: 4,000 list numbers + 1 inline-only number; minus 1 suppressed.
    const expected = new Set([...listA, ...listB, ...inline]);
    expected.delete(listB[1_999] as string);
    expect(sims.zywx.stats()).toMatchObject({ recipients: expected.size, duplicateRecipients: 0 });
    const sent = new Set<string>();
    for (const ref of refs) for (const p of (await tasks.getChunk(ref.taskId, ref.chunkNo))?.phones ?? []) {
      expect(sent.has(p)).toBe(false);
      sent.add(p);
    }
    expect(sent).toEqual(expected);
    const view = (await call(queryTaskFn, apiEvent({ method: 'GET', path: `/v1/tasks/${res.body.taskId}`, apiKey, pathParameters: { taskId: res.body.taskId } }))).body;
    expect(view).toMatchObject({ status: 'succeeded', memberCount: 4_000, counts: { queued: 0, submitted: 4_000 } });
    expect(view.suppressedCount).toBe(1);
    expect((await call(getBalanceFn, apiEvent({ method: 'GET', path: '/v1/balance', apiKey }))).body.balance).toBe(10_000 - 4_000);
    const entries = await ledgerStore().entries(account.accountId);
    expect(entries.filter((e) => e.taskId === res.body.taskId).map((e) => [e.kind, e.delta])).toEqual([['charge', -5_002], ['refund', 1_002]]);
  });

  it('a fan-out that crashes after any chunk resumes without losing or repeating a member', async () => {
    const { apiKey } = await createAccount({ balance: 100_000, route: ['zywx'] });
    await api(apiKey, 'POST', '/v1/contact-lists', { name: 'big' });
    const members = phones(13_500, 13_620_000_000);
    await api(apiKey, 'POST', '/v1/contact-lists/big/members', members.map((phone) => ({ phone })));
    const res = await post(apiKey, { contactLists: ['big'], content: '【测试】续传' });
    let n = 0;
    const refs: ChunkRef[] = [];
    const deps = fanOutDeps(refs, {
      // Every third chunk written kills the run before the task's cursor is saved.
      crash: () => {
        if (++n % 3 === 0) throw new Error('injected crash after-chunk');
      },
    });
    let crashes = 0;
    // As the queue would: a crashed run's message comes back, a continued one is new.
    for (let i = 0; i < 100 && !(await tasks.get(res.body.taskId))?.fannedOut; i++) {
      await fanOutTask(res.body.taskId, deps).catch(() => void crashes++);
    }
    expect(crashes).toBeGreaterThan(0);
    for (const ref of refs) await dispatchChunk(ref, testDispatchDeps(Date.now));
    const task = await tasks.get(res.body.taskId);
    expect(task).toMatchObject({ status: 'succeeded', fannedOut: true, chunkCount: 7, memberCount: 13_500 });
    const seen = new Set<string>();
    for (let c = 0; c < (task?.chunkCount ?? 0); c++) {
      for (const p of (await tasks.getChunk(res.body.taskId, c))?.phones ?? []) {
        expect(seen.has(p)).toBe(false);
        seen.add(p);
      }
    }
    expect(seen.size).toBe(13_500);
    expect(task?.counts.submitted).toBe(13_500);
  });

  it("members' own vars fill the template per recipient (SUBMAIL multisend); a member lacking one is rejected, not sent with a hole", async () => {
    const { apiKey, account } = await createAccount({ balance: 10_000, route: ['zywx', 'submail'] });
    const templates = await import('../../functions/templates.js');
    await call(templates.handler, apiEvent({ method: 'POST', path: '/v1/templates', apiKey, body: JSON.stringify({ templateId: 'hello', name: 'h', text: '【示例】%name%您好，您的验证码是%code%' }) }));
    await api(apiKey, 'POST', '/v1/contact-lists', { name: 'people' });
    const members = phones(120, 13_630_000_000).map((phone, i) => ({ phone, ...(i === 7 ? {} : { vars: { name: i === 3 ? '很长'.repeat(40) : `用户${i}` } }) }));
    await api(apiKey, 'POST', '/v1/contact-lists/people/members', members);

    expect((await post(apiKey, { to: ['13630009999'], contactLists: ['people'], templateId: 'hello', vars: { code: '88' } })).body.error.code).toBe('RECIPIENTS_FROM_LISTS_ONLY');
    const narrow = await post(apiKey, { contactLists: ['people'], templateId: 'hello', vars: { code: '88' }, route: ['zywx'] });
    expect(narrow.body.error.code).toBe('PER_RECIPIENT_VARS_UNSUPPORTED');
    const res = await post(apiKey, { contactLists: ['people'], templateId: 'hello', vars: { code: '88' } });
    expect(res).toMatchObject({ status: 202, body: { memberCount: 120, segments: 1 } });
    sims.submail.reset();
    const refs = await runTask(res.body.taskId);
    // Route narrowed to the vendor with a per-recipient API, chunks of its 50.
    expect(refs).toHaveLength(3);
    expect(sims.submail.stats()).toMatchObject({ requests: 3, recipients: 119, duplicateRecipients: 0 });
    const all = phones(120, 13_630_000_000);
    expect(sims.submail.lastText(all[0] as string)).toBe('【示例】用户0您好，您的验证码是88');
    expect(sims.submail.lastText(all[7] as string)).toBeUndefined();
    const task = await tasks.get(res.body.taskId);
    expect(task).toMatchObject({ status: 'succeeded', route: ['submail'], counts: { submitted: 119, rejected: 1 } });
    const { messageStore } = await import('../../lib/stores/messages.js');
    expect((await messageStore().getMany(res.body.taskId, [all[7] as string]))[0]).toMatchObject({ status: 'rejected', code: 'TEMPLATE_VARS_MISSING' });
    // 118 one-segment texts, one of 2 segments (the long name), the lacking member refunded.
    const segs = 118 + Math.ceil((6 + 80 + 10) / 67);
    expect(task?.fee).toBe(segs + 1);
    expect((await call(getBalanceFn, apiEvent({ method: 'GET', path: '/v1/balance', apiKey }))).body.balance).toBe(10_000 - segs);
    const sum = (await ledgerStore().entries(account.accountId)).reduce((n, e) => n + e.delta, 0);
    expect(sum).toBe(10_000 - segs);
  });
});
