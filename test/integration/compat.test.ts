import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as submailFn } from '../../functions/compat-submail.js';
import { handler as zywxFn } from '../../functions/compat-zywx.js';
import { handler as scFn } from '../../functions/compat-sendcloud.js';
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
    const bad: Record<string, string> = { ...p, project: 'nope' };
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

describe('SendCloud sendContactListTask, queryContactListTask and contact lists', () => {
  /** SendCloud's rule: every parameter but signature, sorted, raw; SMS_KEY&…&SMS_KEY; SHA-256 (or the 2017 docs' MD5). */
  const scSign = (p: Record<string, string>, key: string, algo: 'sha256' | 'md5' = 'sha256') => {
    const joined = Object.keys(p).filter((k) => k !== 'signature' && k !== 'smsKey').sort().map((k) => `${k}=${p[k]}`).join('&');
    return createHash(algo).update(`${key}&${joined}&${key}`, 'utf8').digest('hex');
  };
  const sc = async (api: string, p: Record<string, string>, method: 'GET' | 'POST' = 'POST') => {
    const event = apiEvent({ method, path: `/smsapi/${api}`, ...(method === 'POST' ? { body: form(p), contentType: 'application/x-www-form-urlencoded' } : {}) });
    return (await call(scFn, method === 'GET' ? { ...event, queryStringParameters: p } : event)).body;
  };
  const signed = (account: { accountId: string; compatKey?: string }, p: Record<string, string>, algo: 'sha256' | 'md5' = 'sha256') => {
    const all = { smsUser: account.accountId, ...p };
    return { ...all, signature: scSign(all, account.compatKey as string, algo) };
  };

  it('lists and members the SendCloud way, then a task to two lists, answered field by field like the seed, and queried to 执行成功', async () => {
    const { account, apiKey } = await createAccount({ balance: 100, route: ['zywx'] });
    await call(templatesFn, apiEvent({ method: 'POST', path: '/v1/templates', apiKey, body: JSON.stringify({ templateId: 'shipped', name: 'shipped', text: '【示例】您的订单已发货', vendorTemplateIds: { sendcloud: '999' } }) }));
    expect(await sc('smsContactList/save', signed(account, { contactListName: 'test', description: 'seed' }))).toMatchObject({ result: true, statusCode: 200, info: { contactList: { contactListName: 'test', memberCount: 0 } } });
    await sc('smsContactList/save', signed(account, { contactListName: 'test2' }));
    expect((await sc('smsContactListMember/saveOrUpdate', signed(account, { contactListName: 'test', phone: '13800138000;13800138001;13800138002', userName: '张三', vars: '{"%name%":"张三"}' }))).info).toMatchObject({ addCount: 3 });
    await sc('smsContactListMember/saveOrUpdate', signed(account, { contactListName: 'test2', phone: '13800138002;13800138003' }));
    const members = await sc('smsContactListMember/list', signed(account, { contactListName: 'test', start: '1', limit: '1' }), 'GET');
    expect(members.info).toEqual({ count: 3, dataList: [{ phone: '13800138001', userName: '张三', vars: { name: '张三' } }] });

    // Exactly the seed's request: GET with everything in the query string, MD5 as in the 2017 docs.
    const sent = await sc('sendContactListTask', signed(account, { contactListName: 'test;test2', taskName: 'test', senderName: 'sendcloud', templateId: '999', labelId: '11' }, 'md5'), 'GET');
    expect(sent).toMatchObject({ result: true, statusCode: 200, message: '联系人列表任务保存成功' });
    const t = sent.info.smsTask;
    expect(Object.keys(t).sort()).toEqual(['contactListName', 'createTime', 'endTime', 'memberCount', 'senderName', 'status', 'taskId', 'taskName', 'templateId']);
    expect(t).toMatchObject({ contactListName: 'test;test2', endTime: '', memberCount: 5, senderName: 'sendcloud', status: '等待执行', taskName: 'test', templateId: 999 });
    expect(typeof t.taskId).toBe('number');
    expect(t.createTime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

    await runLists(await findTaskIdWhere(account.accountId, 'sendcloud'));
    const q = await sc('queryContactListTask', signed(account, { taskId: String(t.taskId) }));
    expect(q).toMatchObject({ result: true, statusCode: 200, message: '查询成功' });
    expect(Object.keys(q.info.smsTask).sort()).toEqual(['contactListName', 'createTime', 'endTime', 'labelId', 'memberCount', 'senderName', 'status', 'taskId', 'taskName', 'templateId']);
    expect(q.info.smsTask).toMatchObject({ status: '执行成功', memberCount: 4, labelId: '11', taskId: t.taskId });
    expect(q.info.smsTask.endTime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

    // Another account cannot query it.
    const other = await createAccount();
    expect(await sc('queryContactListTask', signed(other.account, { taskId: String(t.taskId) }))).toMatchObject({ result: false });
  });

  it("executeTime schedules (China time); refusals carry SendCloud's codes and store nothing", async () => {
    const { account, apiKey } = await createAccount({ balance: 1, route: ['zywx'] });
    await call(templatesFn, apiEvent({ method: 'POST', path: '/v1/templates', apiKey, body: JSON.stringify({ templateId: 't', name: 't', text: '【示例】通知', vendorTemplateIds: { sendcloud: '1' } }) }));
    await sc('smsContactList/save', signed(account, { contactListName: 'one' }));
    await sc('smsContactListMember/saveOrUpdate', signed(account, { contactListName: 'one', phone: '13800138000' }));
    const china = (ms: number) => new Date(Date.now() + ms + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
    const base = { contactListName: 'one', taskName: 'n', senderName: 's', templateId: '1' };
    const code = async (p: Record<string, string>) => (await sc('sendContactListTask', p)).statusCode;
    expect(await code(signed(account, { ...base, executeTime: 'tomorrow' }))).toBe(451);
    expect(await code(signed(account, { ...base, executeTime: china(-3_600_000) }))).toBe(452);
    expect(await code(signed(account, { ...base, templateId: '404' }))).toBe(431);
    expect(await code(signed(account, { ...base, templateId: '' }))).toBe(433);
    expect(await code({ ...signed(account, base), signature: 'f'.repeat(64) })).toBe(422);
    expect(await code({ smsUser: account.accountId, ...base })).toBe(421);
    expect(await code(signed({ accountId: 'nobody', compatKey: 'x' }, base))).toBe(471);
    expect(await code({ ...base, signature: 'x' })).toBe(472);
    expect(await code(signed(account, { ...base, timestamp: String(Date.now() - 120_000) }))).toBe(461);
    expect(await taskItemsOf(account.accountId)).toBe(0);
    const later = await sc('sendContactListTask', signed(account, { ...base, executeTime: china(3_600_000), timestamp: String(Date.now()) }));
    expect(later).toMatchObject({ result: true, info: { smsTask: { status: '等待执行', memberCount: 1 } } });
    await sc('smsContactListMember/saveOrUpdate', signed(account, { contactListName: 'one', phone: '13800138001' }));
    expect(await code(signed(account, base))).toBe(499);
  });
});

async function runLists(taskId: string): Promise<void> {
  const { contactStore } = await import('../../lib/stores/contacts.js');
  const { suppressionStore } = await import('../../lib/stores/replies.js');
  const { ledgerStore } = await import('../../lib/stores/ledger.js');
  const refs: ChunkRef[] = [];
  let again = true;
  while (again) {
    again = false;
    await fanOutTask(taskId, { tasks, contacts: contactStore(), suppressions: suppressionStore(), ledger: ledgerStore(), enqueueChunks: async (r) => void refs.push(...r), enqueueFanOut: async () => void (again = true) });
  }
  for (const ref of refs) await dispatchChunk(ref, testDispatchDeps(Date.now));
}

describe('compat credentials and list renames', () => {
  it('rotate-key --compat: the old compat key stops working at once, the new one works', async () => {
    const { account } = await createAccount({ balance: 10, route: ['zywx'] });
    const { rotateCompatKey } = await import('../../lib/accounts.js');
    const { adminDeps } = await import('../support/fixtures.js');
    const { compatKey } = await rotateCompatKey(account.accountId, adminDeps());
    expect(compatKey).not.toBe(account.compatKey);
    expect((await zywx('/smsApi/group/getBalance', { appId: account.accountId, appKey: account.compatKey as string })).body.message).toBe('账号或密码错误');
    expect((await zywx('/smsApi/group/getBalance', { appId: account.accountId, appKey: compatKey })).body).toMatchObject({ returnStatus: '1 ', remainPoint: '10' });
  });

  it('smsContactList/update renames a list; its members go with it; a taken name is refused', async () => {
    const { account } = await createAccount();
    const key = account.compatKey as string;
    const scSigned = (q: Record<string, string>) => {
      const all: Record<string, string> = { smsUser: account.accountId, ...q };
      const joined = Object.keys(all).sort().map((k) => `${k}=${all[k]}`).join('&');
      return { ...all, signature: createHash('sha256').update(`${key}&${joined}&${key}`).digest('hex') };
    };
    const sc = async (api: string, q: Record<string, string>) => (await call(scFn, apiEvent({ method: 'POST', path: `/smsapi/${api}`, body: form(scSigned(q)), contentType: 'application/x-www-form-urlencoded' }))).body;
    await sc('smsContactList/save', { contactListName: 'old' });
    await sc('smsContactList/save', { contactListName: 'taken' });
    await sc('smsContactListMember/saveOrUpdate', { contactListName: 'old', phone: '13800138009' });
    expect(await sc('smsContactList/update', { contactListName: 'old', newContactListName: 'taken' })).toMatchObject({ result: false });
    expect(await sc('smsContactList/update', { contactListName: 'old', newContactListName: 'new' })).toMatchObject({ result: true, info: { contactList: { contactListName: 'new', memberCount: 1 } } });
    const lists = await sc('smsContactList/list', {});
    expect(lists.info.dataList.map((l: { contactListName: string }) => l.contactListName).sort()).toEqual(['new', 'taken']);
    expect((await sc('smsContactListMember/list', { contactListName: 'new' })).info.dataList).toEqual([{ phone: '13800138009', userName: '', vars: {} }]);
  });
});

describe('receipts of compat tasks in the vendor’s own push format', () => {
  it('SUBHOOK, SMSHook and 10658 fields, each verifiable with the compat key; without the flag, qunfa’s own format', async () => {
    const { startReceiver } = await import('../support/receiver.js');
    const { planCallbacks, deliverCallback } = await import('../../lib/callbacks.js');
    const { accountStore } = await import('../../lib/stores/accounts.js');
    const { createHmac } = await import('node:crypto');
    const receiver = await startReceiver();
    try {
      const { account, apiKey } = await createAccount({ balance: 100, route: ['submail'], callbackUrl: receiver.url, vendorPushes: true });
      const key = account.compatKey as string;
      const deps = { tasks, accounts: accountStore() };
      const receipt = (taskId: string, phone: string, status = 'delivered') => ({ type: 'receipt' as const, id: `${taskId}:${phone}`, taskId, phone, status, code: status === 'delivered' ? 'DELIVRD' : 'UNDELIV', provider: 'submail', time: new Date().toISOString() });
      const deliver = async (events: Parameters<typeof planCallbacks>[0]) => {
        for (const b of await planCallbacks(events, deps)) await deliverCallback(b, { accounts: deps.accounts });
      };

      // SUBMAIL: the send_id the batchsend answer gave, signed md5(token + key).
      const p: Record<string, string> = { appid: account.accountId, to: '13800138000', content: '【示例】回执格式', timestamp: now(), sign_type: 'md5' };
      p.signature = sign(p, account.accountId, key, 'md5');
      const sm = (await submail('/sms/batchsend', form(p))).body;
      await deliver([receipt(sm.batchlist, '13800138000', 'undelivered')]);
      const subhook = receiver.received.at(-1)?.fields ?? {};
      expect(subhook).toMatchObject({ events: 'dropped', address: '13800138000', app: account.accountId, send_id: sm.responses[0].send_id, report: 'UNDELIV' });
      expect(subhook.signature).toBe(createHash('md5').update(`${subhook.token}${key}`).digest('hex'));

      // 10658: form fields mobile, taskid, status, code, receivetime.
      const z = (await zywx('/smsApi/group', { appId: account.accountId, appKey: key, phone: '13800138001', content: '【示例】回执格式' })).body;
      await deliver([receipt(z.taskId, '13800138001')]);
      expect(receiver.received.at(-1)?.fields).toMatchObject({ mobile: '13800138001', taskid: z.taskId, status: '1', code: 'DELIVRD' });
      expect(receiver.received.at(-1)?.fields.receivetime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

      // SendCloud: SMSHook JSON, HMAC-SHA256(key, timestamp + token).
      await call(templatesFn, apiEvent({ method: 'POST', path: '/v1/templates', apiKey, body: JSON.stringify({ templateId: 'n', name: 'n', text: '【示例】通知', vendorTemplateIds: { sendcloud: '7' } }) }));
      const scSigned = (q: Record<string, string>) => {
        const all = { smsUser: account.accountId, ...q };
        const joined = Object.keys(all).sort().map((k) => `${k}=${all[k as keyof typeof all]}`).join('&');
        return { ...all, signature: createHash('sha256').update(`${key}&${joined}&${key}`).digest('hex') };
      };
      const scCall = async (api: string, q: Record<string, string>) => (await call(scFn, apiEvent({ method: 'POST', path: `/smsapi/${api}`, body: form(scSigned(q)), contentType: 'application/x-www-form-urlencoded' }))).body;
      await scCall('smsContactList/save', { contactListName: 'hook' });
      await scCall('smsContactListMember/saveOrUpdate', { contactListName: 'hook', phone: '13800138002' });
      await scCall('sendContactListTask', { contactListName: 'hook', taskName: 't', senderName: 's', templateId: '7' });
      const scTask = await findTaskIdWhere(account.accountId, 'sendcloud');
      await deliver([receipt(scTask, '13800138002')]);
      const hook = JSON.parse(receiver.received.at(-1)?.body ?? '{}') as Record<string, string>;
      expect(hook).toMatchObject({ event: 'deliver', eventType: 2, smsUser: account.accountId, phone: '13800138002' });
      expect(hook.signature).toBe(createHmac('sha256', key).update(`${hook.timestamp}${hook.token}`).digest('hex'));

      // The same account's own /v1 tasks keep qunfa's format.
      const plain = await createAccount({ balance: 10, callbackUrl: receiver.url });
      const pk = plain.account.compatKey as string;
      const q: Record<string, string> = { appid: plain.account.accountId, to: '13800138003', content: '【示例】原格式', timestamp: now(), sign_type: 'md5' };
      q.signature = sign(q, plain.account.accountId, pk, 'md5');
      const pt = (await submail('/sms/batchsend', form(q))).body;
      await deliver([receipt(pt.batchlist, '13800138003')]);
      expect(JSON.parse(receiver.received.at(-1)?.body ?? '{}')).toMatchObject({ events: [{ type: 'receipt', taskId: pt.batchlist, phone: '13800138003' }] });
    } finally {
      await receiver.stop();
    }
  });
});

async function findTaskIdWhere(accountId: string, vendor: string): Promise<string> {
  const { dynamo } = await import('../../lib/aws.js');
  const { ScanCommand } = await import('@aws-sdk/lib-dynamodb');
  const { config } = await import('../../lib/config.js');
  const r = await dynamo().send(new ScanCommand({ TableName: config.tasksTable, FilterExpression: 'accountId = :a AND sk = :t AND compat.vendor = :v', ExpressionAttributeValues: { ':a': accountId, ':t': 'task', ':v': vendor } }));
  return String(r.Items?.[0]?.taskId);
}
