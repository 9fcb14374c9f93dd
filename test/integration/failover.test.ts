import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as templatesFn } from '../../functions/templates.js';
import { handler as sendBatch } from '../../functions/send-batch.js';
import { messageStore } from '../../lib/stores/messages.js';
import { taskStore } from '../../lib/stores/tasks.js';
import { templateStore } from '../../lib/stores/templates.js';
import type { ProviderName } from '../../lib/providers/index.js';
import { dispatchChunk, type CrashPoint, type DispatchDeps } from '../../lib/tasks/dispatch.js';
import { fanOutTask } from '../../lib/tasks/fanout.js';
import type { ChunkRef } from '../../lib/tasks/dispatch.js';
import { SIMULATORS } from '../../local/simulators/index.js';
import { freePort } from '../../local/stack.js';
import type { Simulator } from '../../local/simulators/harness.js';
import { apiEvent, call, createAccount, phones, testDispatchDeps } from '../support/fixtures.js';

/**
 * Routes through the pipeline: chunking by the route's smallest batch,
 * failover on a definitive rejection only, templates per vendor, and
 * SendCloud's sendRequestId making a resend after a crash safe.
 */
const sims = {} as Record<ProviderName, Simulator>;
const tasks = taskStore();
const messages = messageStore();
let clock = Date.now();

const deps = (crash?: CrashPoint): DispatchDeps => testDispatchDeps(() => clock, crash);

async function account(route: ProviderName[]) {
  const a = await createAccount({ route });
  const acct = a.account;
  await templateStore().create({
    accountId: acct.accountId,
    templateId: 'verify',
    name: 'verify',
    text: '【示例】您的验证码是%code%，10分钟内有效',
    variables: ['code'],
    vendorTemplateIds: { sendcloud: '10001', submail: 'ThJBE4' },
    createTime: new Date().toISOString(),
  });
  return { ...a, account: acct };
}

async function submit(apiKey: string, body: Record<string, unknown>) {
  return call(sendBatch, apiEvent({ method: 'POST', path: '/v1/tasks', apiKey, body: JSON.stringify(body) }));
}

/** Runs a submitted task's chunks through dispatch directly, as the queue would. */
async function runAll(taskId: string, d: DispatchDeps = deps()): Promise<ChunkRef[]> {
  const refs: ChunkRef[] = [];
  await fanOutTask(taskId, { tasks, enqueueChunks: async (r) => void refs.push(...r) });
  for (const ref of refs) await dispatchChunk(ref, d);
  return refs;
}

beforeAll(async () => {
  const config: Record<string, unknown> = {};
  for (const name of Object.keys(SIMULATORS) as ProviderName[]) {
    const started = await SIMULATORS[name]({});
    sims[name] = started.sim;
    config[name] = started.config;
  }
  process.env.QUNFA_PROVIDERS_JSON = JSON.stringify(config);
});
afterAll(async () => {
  await Promise.all(Object.values(sims).map((s) => s.stop()));
});
beforeEach(() => {
  for (const s of Object.values(sims)) s.reset();
  clock = Date.now();
});

describe('routes and failover', () => {
  it('chunks by the smallest batch of the route: 4,500 recipients over [submail, zywx] are 3 chunks, 1 request each', async () => {
    const { apiKey } = await account(['submail', 'zywx']);
    const res = await submit(apiKey, { to: phones(4_500, 13_400_000_000), content: '【示例】分块' });
    expect(res.status).toBe(202);
    const refs = await runAll(res.body.taskId);
    expect(refs).toHaveLength(3);
    expect(sims.submail.stats()).toMatchObject({ requests: 3, recipients: 4_500, duplicateRecipients: 0 });
    expect(sims.zywx.stats().requests).toBe(0);
    expect(await tasks.get(res.body.taskId)).toMatchObject({ status: 'succeeded', byProvider: { submail: { submitted: 4_500 } } });
  });

  it('a definitive rejection (余额不足 903) moves the chunk to the next provider; the task shows who sent it', async () => {
    const { apiKey } = await account(['submail', 'zywx']);
    sims.submail.setFault({ mode: 'error', code: '903' });
    const res = await submit(apiKey, { to: phones(3, 13_400_010_000), content: '【示例】失败转移' });
    await runAll(res.body.taskId);
    expect(sims.submail.stats()).toMatchObject({ requests: 1, recipients: 0 });
    expect(sims.zywx.stats()).toMatchObject({ requests: 1, recipients: 3 });
    const task = await tasks.get(res.body.taskId);
    expect(task).toMatchObject({ status: 'succeeded', counts: { submitted: 3 }, byProvider: { zywx: { submitted: 3 } } });
    const recorded = await messages.getMany(res.body.taskId, phones(3, 13_400_010_000));
    expect(recorded.every((m) => m.provider === 'zywx' && /^\d+:1340001000\d$/.test(m.providerMessageId ?? ''))).toBe(true);
  });

  it('a refused connection also fails over: nothing was written', async () => {
    const { apiKey } = await account(['submail', 'zywx']);
    const saved = process.env.QUNFA_PROVIDERS_JSON ?? '{}';
    const cfg = JSON.parse(saved);
    process.env.QUNFA_PROVIDERS_JSON = JSON.stringify({ ...cfg, submail: { ...cfg.submail, baseUrl: `http://127.0.0.1:${await freePort()}` } }); // nothing listens there
    try {
      const res = await submit(apiKey, { to: phones(2, 13_400_020_000), content: '【示例】拒绝连接' });
      await runAll(res.body.taskId);
      const [m] = await messages.getMany(res.body.taskId, ['13400020000']);
      expect(m).toMatchObject({ provider: 'zywx', status: 'submitted' });
      expect(await tasks.get(res.body.taskId)).toMatchObject({ byProvider: { zywx: { submitted: 2 } } });
    } finally {
      process.env.QUNFA_PROVIDERS_JSON = saved;
    }
  });

  it('a timeout never fails over: the chunk is unknown and the next provider gets nothing', async () => {
    process.env.QUNFA_PROVIDER_TIMEOUT_MS = '300';
    try {
      const { apiKey } = await account(['submail', 'zywx']);
      sims.submail.setFault({ mode: 'timeout' });
      const res = await submit(apiKey, { to: phones(2, 13_400_030_000), content: '【示例】超时' });
      await runAll(res.body.taskId);
      expect(sims.submail.stats()).toMatchObject({ requests: 1, recipients: 2 });
      expect(sims.zywx.stats().requests).toBe(0);
      expect(await tasks.get(res.body.taskId)).toMatchObject({ status: 'failed', counts: { unknown: 2 }, byProvider: { submail: { unknown: 2 } } });
    } finally {
      delete process.env.QUNFA_PROVIDER_TIMEOUT_MS;
    }
  });

  it('per-recipient rejections stay rejected: no failover for them', async () => {
    const { apiKey } = await account(['sendcloud', 'submail']);
    // 140 passes qunfa's loose check but is no allocated mobile range: the vendor refuses that number alone.
    const res = await submit(apiKey, { to: ['13400040000', '14000000000'], templateId: 'verify', vars: { code: '1' } });
    expect(res.body.memberCount).toBe(2);
    await runAll(res.body.taskId);
    expect(sims.sendcloud.stats()).toMatchObject({ requests: 1, recipients: 1 });
    expect(sims.submail.stats().requests).toBe(0);
    expect(await tasks.get(res.body.taskId)).toMatchObject({ counts: { submitted: 1, rejected: 1 }, byProvider: { sendcloud: { submitted: 1, rejected: 1 } } });
  });

  it('when every provider refuses, the recipients are rejected with every refusal named', async () => {
    const { apiKey } = await account(['submail', 'zywx']);
    sims.submail.setFault({ mode: 'error', code: '903' });
    sims.zywx.setFault({ mode: 'error', code: '余额不足' });
    const res = await submit(apiKey, { to: phones(2, 13_400_050_000), content: '【示例】全部拒绝' });
    await runAll(res.body.taskId);
    const [m] = await messages.getMany(res.body.taskId, ['13400050000']);
    expect(m).toMatchObject({ status: 'rejected', provider: 'zywx', code: 'PROVIDER_BALANCE_INSUFFICIENT' });
    expect(m?.detail).toContain('submail: PROVIDER_BALANCE_INSUFFICIENT');
    expect(await tasks.get(res.body.taskId)).toMatchObject({ status: 'failed', counts: { rejected: 2 } });
  });
});

describe('templates and vendors', () => {
  it('a template task goes to SendCloud by its template id, rendered for the others', async () => {
    const { apiKey } = await account(['sendcloud', 'submail']);
    const res = await submit(apiKey, { to: phones(2, 13_400_060_000), templateId: 'verify', vars: { code: '4438' } });
    expect(res).toMatchObject({ status: 202, body: { segments: 1 } });
    await runAll(res.body.taskId);
    expect(sims.sendcloud.stats()).toMatchObject({ requests: 1, recipients: 2 });
    const task = await tasks.get(res.body.taskId);
    expect(task).toMatchObject({ content: '【示例】您的验证码是4438，10分钟内有效', byProvider: { sendcloud: { submitted: 2 } } });
  });

  it('content-only tasks skip SendCloud in the route, and are refused when it is all that is left', async () => {
    const both = await account(['sendcloud', 'zywx']);
    const ok = await submit(both.apiKey, { to: ['13400070000'], content: '【示例】自由文本' });
    expect((await tasks.get(ok.body.taskId))?.route).toEqual(['zywx']);
    const explicit = await submit(both.apiKey, { to: ['13400070000'], content: '【示例】自由文本', route: ['sendcloud'] });
    expect(explicit).toMatchObject({ status: 400, body: { error: { code: 'TEMPLATE_REQUIRED', field: 'route' } } });
    const only = await account(['sendcloud']);
    expect(await submit(only.apiKey, { to: ['13400070000'], content: '【示例】自由文本' })).toMatchObject({
      status: 400,
      body: { error: { code: 'TEMPLATE_REQUIRED' } },
    });
  });

  it('a task may narrow the route but not widen it', async () => {
    const { apiKey } = await account(['submail', 'zywx']);
    const narrowed = await submit(apiKey, { to: ['13400080000'], content: '【示例】x', route: ['zywx'] });
    expect((await tasks.get(narrowed.body.taskId))?.route).toEqual(['zywx']);
    const wider = await submit(apiKey, { to: ['13400080000'], content: '【示例】x', route: ['sendcloud'] });
    expect(wider).toMatchObject({ status: 400, body: { error: { code: 'ROUTE_NOT_ALLOWED', field: 'route' } } });
  });

  it('missing template variables and unknown templates are refused at submission', async () => {
    const { apiKey } = await account(['submail']);
    expect(await submit(apiKey, { to: ['13400090000'], templateId: 'verify' })).toMatchObject({ status: 400, body: { error: { code: 'TEMPLATE_VARS_MISSING', field: 'vars' } } });
    expect(await submit(apiKey, { to: ['13400090000'], templateId: 'nope' })).toMatchObject({ status: 400, body: { error: { code: 'TEMPLATE_NOT_FOUND' } } });
  });

  it("POST/GET /v1/templates create and read an account's template; another account gets 404", async () => {
    const { apiKey } = await account(['submail']);
    const body = JSON.stringify({ templateId: 'notice', name: 'n', text: '【示例】@var(name)您好', vendorTemplateIds: { submail: 'P1' } });
    const created = await call(templatesFn, apiEvent({ method: 'POST', path: '/v1/templates', apiKey, body }));
    expect(created).toMatchObject({ status: 201, body: { templateId: 'notice', variables: ['name'], vendorTemplateIds: { submail: 'P1' } } });
    expect((await call(templatesFn, apiEvent({ method: 'POST', path: '/v1/templates', apiKey, body }))).status).toBe(409);
    const read = (key: string) => call(templatesFn, apiEvent({ method: 'GET', path: '/v1/templates/notice', apiKey: key, pathParameters: { templateId: 'notice' } }));
    expect((await read(apiKey)).status).toBe(200);
    expect((await read((await createAccount()).apiKey)).status).toBe(404);
  });
});

describe('SendCloud sendRequestId: a resend after a crash is safe', () => {
  it('a chunk interrupted after the request is resent under the same sendRequestId; SendCloud sends nothing twice', async () => {
    const { apiKey } = await account(['sendcloud']);
    const res = await submit(apiKey, { to: phones(5, 13_400_100_000), templateId: 'verify', vars: { code: '9' } });
    const refs: ChunkRef[] = [];
    await fanOutTask(res.body.taskId, { tasks, enqueueChunks: async (r) => void refs.push(...r) });
    const ref = refs[0] as ChunkRef;
    await expect(dispatchChunk(ref, deps('after-send'))).rejects.toThrow('injected crash');
    clock += 6_000; // the lease expired; SendCloud's one-hour window has not
    expect(await dispatchChunk(ref, deps())).toBe('sent');
    expect(sims.sendcloud.stats()).toMatchObject({ requests: 2, recipients: 5, duplicateRecipients: 0 });
    const task = await tasks.get(res.body.taskId);
    expect(task).toMatchObject({ status: 'succeeded', chunksSettled: 1, counts: { submitted: 5, unknown: 0 } });
  });

  it('outside the window the chunk is not resent: its recipients are unknown', async () => {
    const { apiKey } = await account(['sendcloud']);
    const res = await submit(apiKey, { to: phones(2, 13_400_110_000), templateId: 'verify', vars: { code: '9' } });
    const refs: ChunkRef[] = [];
    await fanOutTask(res.body.taskId, { tasks, enqueueChunks: async (r) => void refs.push(...r) });
    const ref = refs[0] as ChunkRef;
    await expect(dispatchChunk(ref, deps('after-send'))).rejects.toThrow('injected crash');
    clock += 3_600_000;
    expect(await dispatchChunk(ref, deps())).toBe('recovered');
    expect(sims.sendcloud.stats().requests).toBe(1);
    expect(await tasks.get(res.body.taskId)).toMatchObject({ counts: { unknown: 2 } });
  });
});
