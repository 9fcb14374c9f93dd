import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as submailFn } from '../../functions/compat-submail.js';
import { handler as zywxFn } from '../../functions/compat-zywx.js';
import { handler as templatesFn } from '../../functions/templates.js';
import type { ProviderName } from '../../lib/providers/index.js';
import { taskStore } from '../../lib/stores/tasks.js';
import { dispatchChunk, type ChunkRef } from '../../lib/tasks/dispatch.js';
import { fanOutTask } from '../../lib/tasks/fanout.js';
import type { Simulator } from '../../local/simulators/harness.js';
import { apiEvent, call, createAccount, startAllSimulators, taskItemsOf, testDispatchDeps } from '../support/fixtures.js';

/**
 * The vendor-compatible routes, driven by requests built the way each vendor
 * documents them: signatures computed here from reference/providers.md §1.2
 * with node:crypto, not with qunfa's helpers.
 */
let sims: Record<ProviderName, Simulator>;
const tasks = taskStore();
beforeAll(async () => {
  sims = await startAllSimulators();
});
afterAll(async () => Promise.all(Object.values(sims).map((s) => s.stop())));

const form = (p: Record<string, string>) => new URLSearchParams(p).toString();
const submail = (path: string, body: string, contentType = 'application/x-www-form-urlencoded') =>
  call(submailFn, apiEvent({ method: 'POST', path, body, contentType }));
const zywx = (path: string, p: Record<string, string>) => call(zywxFn, apiEvent({ method: 'POST', path, body: form(p), contentType: 'application/x-www-form-urlencoded;charset=utf-8' }));

/** SUBMAIL's rule: sort every parameter but signature and tag (and, with sign_version 2, the bulky one), join raw, wrap in appid+appkey. */
function sign(p: Record<string, string>, appid: string, appkey: string, algo: 'md5' | 'sha1', leaveOut: string[] = []): string {
  const joined = Object.keys(p)
    .filter((k) => !['signature', 'tag', ...leaveOut].includes(k))
    .sort()
    .map((k) => `${k}=${p[k]}`)
    .join('&');
  return createHash(algo).update(appid + appkey + joined + appid + appkey, 'utf8').digest('hex');
}
const now = () => String(Math.floor(Date.now() / 1000));

async function run(taskId: string): Promise<void> {
  const refs: ChunkRef[] = [];
  await fanOutTask(taskId, { tasks, enqueueChunks: async (r) => void refs.push(...r) });
  for (const ref of refs) await dispatchChunk(ref, testDispatchDeps(Date.now));
}

describe('SUBMAIL sms/batchsend, sms/batchxsend, balance/sms', () => {
  it('md5 with sign_version 2, as a form: the seed response shape, one entry per number, and the task is sent', async () => {
    const { account } = await createAccount({ balance: 100 });
    const appkey = account.compatKey as string;
    const p: Record<string, string> = { appid: account.accountId, to: '13800138000,13900139000,12345', content: '【示例】您的订单已发货', timestamp: now(), sign_type: 'md5', sign_version: '2', tag: 'order-1' };
    p.signature = sign(p, account.accountId, appkey, 'md5', ['content']);
    const res = await submail('/sms/batchsend', form(p));
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['batchlist', 'responses', 'status', 'total_fee']);
    expect(res.body).toMatchObject({ status: 'success', total_fee: 2 });
    expect(res.body.responses).toHaveLength(3);
    expect(Object.keys(res.body.responses[0]).sort()).toEqual(['fee', 'send_id', 'status', 'to']);
    expect(res.body.responses[0]).toMatchObject({ status: 'success', to: '13800138000', fee: 1 });
    expect(res.body.responses[0].send_id).toMatch(/^[0-9a-f]{32}$/);
    expect(res.body.responses[2]).toEqual({ status: 'error', to: '12345', code: '252', msg: 'Invalid recipient number' });
    const before = sims.submail.stats().recipients;
    await run(res.body.batchlist);
    expect(sims.submail.stats().recipients - before).toBe(2);
    expect(await tasks.get(res.body.batchlist)).toMatchObject({ status: 'succeeded', tag: 'order-1', accountId: account.accountId });
  });

  it('sha1 over every parameter (v1, content signed), as JSON to batchsend.json; normal sends the key itself', async () => {
    const { account } = await createAccount({ balance: 100 });
    const appkey = account.compatKey as string;
    const p: Record<string, string> = { appid: account.accountId, to: '13800138001', content: '【示例】中文内容签名', timestamp: now(), sign_type: 'sha1' };
    p.signature = sign(p, account.accountId, appkey, 'sha1');
    expect((await submail('/sms/batchsend.json', JSON.stringify(p), 'application/json')).body.status).toBe('success');
    const normal = { appid: account.accountId, to: '13800138002', content: '【示例】明文', signature: appkey };
    expect((await submail('/sms/batchsend', form(normal))).body.status).toBe('success');
  });

  it('batchxsend: project is a qunfa template id, vars a JSON string', async () => {
    const { account, apiKey } = await createAccount({ balance: 100 });
    await call(templatesFn, apiEvent({ method: 'POST', path: '/v1/templates', apiKey, body: JSON.stringify({ templateId: 'ThJBE4', name: 'code', text: '【示例】您的验证码是@var(code)' }) }));
    const p: Record<string, string> = { appid: account.accountId, to: '13800138003', project: 'ThJBE4', vars: '{"code":"4438"}', timestamp: now(), sign_type: 'md5', sign_version: '2' };
    p.signature = sign(p, account.accountId, account.compatKey as string, 'md5', ['vars']);
    const res = await submail('/sms/batchxsend', form(p));
    expect(res.body).toMatchObject({ status: 'success', total_fee: 1 });
    expect((await tasks.get(res.body.batchlist))?.content).toBe('【示例】您的验证码是4438');
    const bad = { ...p, project: 'nope' };
    bad.signature = sign(bad, account.accountId, account.compatKey as string, 'md5', ['vars']);
    expect((await submail('/sms/batchxsend', form(bad))).body).toMatchObject({ status: 'error', code: '306' });
  });

  it("refuses in SUBMAIL's codes and stores nothing", async () => {
    const { account } = await createAccount({ balance: 3 });
    const appkey = account.compatKey as string;
    const signed = (extra: Record<string, string>, key = appkey) => {
      const p: Record<string, string> = { appid: account.accountId, to: '13800138000', content: '【示例】内容', timestamp: now(), sign_type: 'md5', ...extra };
      p.signature = sign(p, account.accountId, key, 'md5');
      return form(p);
    };
    const code = async (body: string, contentType?: string) => (await submail('/sms/batchsend', body, contentType)).body.code;
    expect(await code(signed({}, 'wrong-key'))).toBe('108');
    expect(await code(signed({ timestamp: String(Math.floor(Date.now() / 1000) - 10) }))).toBe('152');
    expect(await code(signed({ timestamp: 'soon' }))).toBe('151');
    expect(await code(signed({ sign_type: 'sha256' }))).toBe('107');
    expect(await code(form({ appid: 'no-such-account', to: '13800138000', content: '【示例】x', signature: 'x' }))).toBe('101');
    expect(await code(form({ appid: account.accountId, to: '13800138000', content: '【示例】x' }))).toBe('111');
    expect((await call(submailFn, { ...apiEvent({ method: 'POST', path: '/sms/batchsend', body: signed({}) }), headers: {} })).body.code).toBe('101');
    expect(await code(signed({ content: '没有签名的内容' }))).toBe('411');
    expect(await code(signed({ content: '' }))).toBe('403');
    expect(await code(signed({ to: Array.from({ length: 10_001 }, (_, i) => String(13_800_000_000 + i)).join(',') }))).toBe('252');
    expect(await code(signed({ to: '13800138000,13800138001,13800138002,13800138003' }))).toBe('903');
    expect(await code(signed({ tag: 'x'.repeat(33) }))).toBe('310');
    expect(await taskItemsOf(account.accountId)).toBe(0);
  });

  it('balance/sms answers the account points as SUBMAIL does (strings)', async () => {
    const { account } = await createAccount({ balance: 9410 });
    const p: Record<string, string> = { appid: account.accountId, timestamp: now(), sign_type: 'md5' };
    p.signature = sign(p, account.accountId, account.compatKey as string, 'md5');
    expect((await submail('/balance/sms', form(p))).body).toEqual({ status: 'success', balance: '9410', transactional_balance: '0' });
  });
});

describe('10658 smsApi/group and smsApi/group/getBalance', () => {
  it('sends with the seed response shape, "1 " and all; sendTime schedules the task (China time)', async () => {
    const { account } = await createAccount({ balance: 100, route: ['zywx'] });
    const auth = { appId: account.accountId, appKey: account.compatKey as string };
    const res = await zywx('/smsApi/group', { ...auth, phone: '13800138000,13900139000', content: '【示例】您的订单已发货' });
    expect(Object.keys(res.body).sort()).toEqual(['message', 'remainPoint', 'returnStatus', 'successCounts', 'taskId']);
    expect(res.body).toMatchObject({ returnStatus: '1 ', message: '成功', remainPoint: '98', successCounts: '2' });
    await run(res.body.taskId);
    expect(await tasks.get(res.body.taskId)).toMatchObject({ status: 'succeeded', counts: { submitted: 2 } });

    const at = new Date(Date.now() + 3_600_000);
    const china = new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
    const later = await zywx('/smsApi/group', { ...auth, phone: '13800138001', content: '【示例】定时', sendTime: china });
    expect(await tasks.get(later.body.taskId)).toMatchObject({ status: 'scheduled', sendAt: new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString() });
    expect((await zywx('/smsApi/group/getBalance', auth)).body).toEqual({ returnStatus: '1 ', message: '成功', remainPoint: '97', taskId: null, successCounts: null });
  });

  it("refuses with the seed's messages and stores nothing", async () => {
    const { account } = await createAccount({ balance: 1, route: ['zywx'] });
    const auth = { appId: account.accountId, appKey: account.compatKey as string };
    const msg = async (p: Record<string, string>) => {
      const r = (await zywx('/smsApi/group', p)).body;
      expect(r).toMatchObject({ returnStatus: '0', remainPoint: null, taskId: null, successCounts: null });
      return r.message;
    };
    expect(await msg({ ...auth, appKey: 'wrong', phone: '13800138000', content: '【示例】x' })).toBe('账号或密码错误');
    expect(await msg({ appId: account.accountId, phone: '13800138000', content: '【示例】x' })).toBe('缺少参数');
    expect(await msg({ ...auth, content: '【示例】x' })).toBe('缺少参数');
    expect(await msg({ ...auth, phone: '12345', content: '【示例】x' })).toBe('手机号码格式不正确');
    expect(await msg({ ...auth, phone: '13800138000,13800138001', content: '【示例】x' })).toBe('余额不足');
    expect(await msg({ ...auth, phone: '13800138000', content: '【示例】x', sendTime: '明天' })).toBe('参数错误');
    expect(await msg({ ...auth, phone: '13800138000', content: '【示例】😀' })).toBe('参数错误');
    expect(await taskItemsOf(account.accountId)).toBe(0);
  });
});
