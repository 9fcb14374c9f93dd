import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as addSuppressionsFn } from '../../functions/add-suppressions.js';
import { handler as cancelTaskFn } from '../../functions/cancel-task.js';
import { handler as templatesFn } from '../../functions/templates.js';
import { handler as getBalanceFn } from '../../functions/get-balance.js';
import { handler as listMessagesFn } from '../../functions/list-messages.js';
import { handler as listRepliesFn } from '../../functions/list-replies.js';
import { handler as listSuppressionsFn } from '../../functions/list-suppressions.js';
import { handler as queryTaskFn } from '../../functions/query-task.js';
import { handler as removeSuppressionFn } from '../../functions/remove-suppression.js';
import { handler as sendBatchFn } from '../../functions/send-batch.js';
import { revokeKey, rotateKey } from '../../lib/accounts.js';
import type { ProviderName } from '../../lib/providers/index.js';
import { ledgerStore } from '../../lib/stores/ledger.js';
import { replyStore, suppressionStore } from '../../lib/stores/replies.js';
import { taskStore } from '../../lib/stores/tasks.js';
import { dispatchChunk, type ChunkRef } from '../../lib/tasks/dispatch.js';
import { fanOutTask } from '../../lib/tasks/fanout.js';
import type { Simulator } from '../../local/simulators/harness.js';
import { adminDeps, apiEvent, call, createAccount, phones, startAllSimulators, testDispatchDeps } from '../support/fixtures.js';

/**
 * Invariant 5, route by route: another account's task, messages, replies,
 * suppressions, templates and points are out of reach; and a key works only
 * while it is live.
 */
let sims: Record<ProviderName, Simulator>;
const tasks = taskStore();
beforeAll(async () => {
  sims = await startAllSimulators();
});
afterAll(async () => Promise.all(Object.values(sims).map((s) => s.stop())));

type Handler = Parameters<typeof call>[0];
interface Route {
  name: string;
  fn: Handler;
  method: string;
  path: string;
  pathParameters?: Record<string, string>;
  body?: unknown;
}

/** Every authenticated /v1 route, with the ids of the account that owns the data. */
function routes(taskId: string, templateId: string, phone: string): Route[] {
  return [
    { name: 'POST /v1/tasks', fn: sendBatchFn, method: 'POST', path: '/v1/tasks', body: { to: ['13700000001'], content: '【测试】隔离' } },
    { name: 'GET /v1/tasks/{taskId}', fn: queryTaskFn, method: 'GET', path: `/v1/tasks/${taskId}`, pathParameters: { taskId } },
    { name: 'DELETE /v1/tasks/{taskId}', fn: cancelTaskFn, method: 'DELETE', path: `/v1/tasks/${taskId}`, pathParameters: { taskId } },
    { name: 'GET /v1/tasks/{taskId}/messages', fn: listMessagesFn, method: 'GET', path: `/v1/tasks/${taskId}/messages`, pathParameters: { taskId } },
    { name: 'GET /v1/balance', fn: getBalanceFn, method: 'GET', path: '/v1/balance' },
    { name: 'GET /v1/replies', fn: listRepliesFn, method: 'GET', path: '/v1/replies' },
    { name: 'GET /v1/suppressions', fn: listSuppressionsFn, method: 'GET', path: '/v1/suppressions' },
    { name: 'POST /v1/suppressions', fn: addSuppressionsFn, method: 'POST', path: '/v1/suppressions', body: { phones: ['13700000002'] } },
    { name: 'DELETE /v1/suppressions/{phone}', fn: removeSuppressionFn, method: 'DELETE', path: `/v1/suppressions/${phone}`, pathParameters: { phone } },
    { name: 'POST /v1/templates', fn: templatesFn, method: 'POST', path: '/v1/templates', body: { name: 't', text: '【测试】%x%' } },
    { name: 'GET /v1/templates/{templateId}', fn: templatesFn, method: 'GET', path: `/v1/templates/${templateId}`, pathParameters: { templateId } },
  ];
}
const request = (r: Route, apiKey?: string) =>
  call(r.fn, apiEvent({ method: r.method, path: r.path, ...(apiKey ? { apiKey } : {}), ...(r.pathParameters ? { pathParameters: r.pathParameters } : {}), ...(r.body ? { body: JSON.stringify(r.body) } : {}) }));

/** Account A with one of everything: a sent task, a scheduled task, a template, a suppression, a reply. */
async function owner() {
  const a = await createAccount({ balance: 1_000 });
  const sent = await call(sendBatchFn, apiEvent({ method: 'POST', path: '/v1/tasks', apiKey: a.apiKey, body: JSON.stringify({ to: phones(3, 13_700_100_000), content: '【测试】甲' }) }));
  const refs: ChunkRef[] = [];
  await fanOutTask(sent.body.taskId, { tasks, enqueueChunks: async (r) => void refs.push(...r) });
  for (const ref of refs) await dispatchChunk(ref, testDispatchDeps(Date.now));
  const scheduled = await call(sendBatchFn, apiEvent({ method: 'POST', path: '/v1/tasks', apiKey: a.apiKey, body: JSON.stringify({ to: phones(2, 13_700_200_000), content: '【测试】甲', sendAt: new Date(Date.now() + 3_600_000).toISOString() }) }));
  const template = await call(templatesFn, apiEvent({ method: 'POST', path: '/v1/templates', apiKey: a.apiKey, body: JSON.stringify({ templateId: 'secret', name: 's', text: '【甲方】%code%' }) }));
  expect(template.status).toBe(201);
  await suppressionStore().add(a.account.accountId, [{ phone: '13700300000', reason: 'manual', time: new Date().toISOString() }]);
  await replyStore().put({ accountId: a.account.accountId, phone: '13700100000', content: 'TD', time: new Date().toISOString(), provider: 'submail', taskId: sent.body.taskId });
  return { ...a, sentTaskId: sent.body.taskId as string, scheduledTaskId: scheduled.body.taskId as string, templateId: template.body.templateId as string };
}

describe('tenant isolation on every route', () => {
  it("another account can neither read, change nor be charged for the owner's data", async () => {
    const a = await owner();
    const b = await createAccount({ balance: 1_000 });
    const aBalance = (await call(getBalanceFn, apiEvent({ method: 'GET', path: '/v1/balance', apiKey: a.apiKey }))).body.balance;
    const ledgerBefore = (await ledgerStore().entries(a.account.accountId)).length;
    const byName = Object.fromEntries(routes(a.sentTaskId, a.templateId, '13700300000').map((r) => [r.name, r]));
    const as = (name: string, extra: Partial<Route> = {}) => request({ ...(byName[name] as Route), ...extra }, b.apiKey);

    for (const taskId of [a.sentTaskId, a.scheduledTaskId]) {
      const p = { path: `/v1/tasks/${taskId}`, pathParameters: { taskId } };
      expect(await as('GET /v1/tasks/{taskId}', p)).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
      expect(await as('DELETE /v1/tasks/{taskId}', p)).toMatchObject({ status: 404 });
      expect(await as('GET /v1/tasks/{taskId}/messages', { ...p, path: `${p.path}/messages` })).toMatchObject({ status: 404 });
    }
    expect((await tasks.get(a.scheduledTaskId))?.status).toBe('scheduled');

    expect((await as('GET /v1/replies')).body.replies).toEqual([]);
    expect((await as('GET /v1/suppressions')).body.suppressions).toEqual([]);
    expect(await as('DELETE /v1/suppressions/{phone}')).toMatchObject({ status: 404 });
    expect(await suppressionStore().all(a.account.accountId)).toEqual(new Set(['13700300000']));
    expect((await as('POST /v1/suppressions')).status).toBeLessThan(300);
    expect(await suppressionStore().all(a.account.accountId)).toEqual(new Set(['13700300000']));

    expect(await as('GET /v1/templates/{templateId}')).toMatchObject({ status: 404 });
    const viaTemplate = await as('POST /v1/tasks', { body: { to: ['13700000003'], templateId: a.templateId, vars: { code: '1' } } });
    expect(viaTemplate).toMatchObject({ status: 400, body: { error: { code: 'TEMPLATE_NOT_FOUND' } } });
    // B's own template of the same id is B's, not A's.
    expect((await as('POST /v1/templates', { body: { templateId: a.templateId, name: 'b', text: '【乙方】%code%' } })).status).toBe(201);
    expect((await request(byName['GET /v1/templates/{templateId}'] as Route, a.apiKey)).body.text).toBe('【甲方】%code%');

    // B's task is B's: charged to B, invisible to A.
    const bTask = await as('POST /v1/tasks');
    expect(bTask.status).toBe(202);
    expect((await tasks.get(bTask.body.taskId))?.accountId).toBe(b.account.accountId);
    expect((await request({ ...(byName['GET /v1/tasks/{taskId}'] as Route), path: `/v1/tasks/${bTask.body.taskId}`, pathParameters: { taskId: bTask.body.taskId } }, a.apiKey)).status).toBe(404);
    expect((await as('GET /v1/balance')).body).toMatchObject({ accountId: b.account.accountId, balance: 999 });
    expect((await call(getBalanceFn, apiEvent({ method: 'GET', path: '/v1/balance', apiKey: a.apiKey }))).body.balance).toBe(aBalance);
    expect(await ledgerStore().entries(a.account.accountId)).toHaveLength(ledgerBefore);
  });
});

describe('API keys', () => {
  it('no key, an unknown key and a revoked key get 401 on every route', async () => {
    const a = await owner();
    const list = routes(a.sentTaskId, a.templateId, '13700300000');
    const second = await rotateKey(a.account.accountId, adminDeps(), { keepOld: true });
    await revokeKey(a.account.accountId, a.keyId, adminDeps());
    for (const r of list) {
      for (const key of [undefined, 'qf_not_a_key_0000000000000000', a.apiKey]) {
        const res = await request(r, key);
        expect({ route: r.name, status: res.status, code: res.body.error?.code }).toEqual({ route: r.name, status: 401, code: 'UNAUTHORIZED' });
      }
    }
    // The second key still works everywhere it should.
    expect((await request(list[1] as Route, second.apiKey)).status).toBe(200);
  });

  it('an account may hold several live keys; rotating revokes the others unless asked to keep them', async () => {
    const a = await createAccount();
    const balance = (key: string) => call(getBalanceFn, apiEvent({ method: 'GET', path: '/v1/balance', apiKey: key }));
    const kept = await rotateKey(a.account.accountId, adminDeps(), { keepOld: true });
    expect(kept.revoked).toEqual([]);
    expect((await balance(a.apiKey)).status).toBe(200);
    expect((await balance(kept.apiKey)).status).toBe(200);
    const rotated = await rotateKey(a.account.accountId, adminDeps());
    expect(rotated.revoked.sort()).toEqual([a.keyId, kept.keyId].sort());
    expect((await balance(a.apiKey)).status).toBe(401);
    expect((await balance(kept.apiKey)).status).toBe(401);
    expect((await balance(rotated.apiKey)).status).toBe(200);
    await expect(revokeKey(a.account.accountId, a.keyId, adminDeps())).rejects.toMatchObject({ code: 'KEY_ALREADY_REVOKED' });
    await expect(revokeKey(a.account.accountId, 'key_nope', adminDeps())).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
  });
});
