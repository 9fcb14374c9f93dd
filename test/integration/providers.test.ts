import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendcloud } from '../../lib/providers/sendcloud.js';
import { smshookSignature } from '../../lib/providers/sendcloud-sign.js';
import { submail } from '../../lib/providers/submail.js';
import { subhookSignature } from '../../lib/providers/submail-sign.js';
import { zywx } from '../../lib/providers/zywx.js';
import type { Provider, SendRequest } from '../../lib/providers/types.js';
import type { Simulator } from '../../local/simulators/harness.js';
import { startSendcloudSimulator } from '../../local/simulators/sendcloud.js';
import { startSubmailSimulator } from '../../local/simulators/submail.js';
import { startZywxSimulator } from '../../local/simulators/zywx.js';
import { startReceiver } from '../support/receiver.js';

/**
 * Each adapter against its simulator over HTTP: success, partial success and
 * error answers, signatures, limits, balances, templates, deduplication and
 * the vendors' push formats.
 */
type Receiver = Awaited<ReturnType<typeof startReceiver>>;
let hook: Receiver;
let sub: Simulator;
let sc: Simulator;
let zy: Simulator;

const req = (phones: string[], extra: Partial<SendRequest> = {}): SendRequest => ({
  phones,
  content: '【示例】您的订单已发货',
  tag: '01TASKTAG',
  idempotencyKey: `key-${phones[0]}-${Math.random()}`,
  ...extra,
});

const SUB = { appid: 'sub-app', appkey: 'sub-key-0123456789abcdef' };
const SC = { smsUser: 'sc_user', smsKey: 'sc-key-ABCDEFGHIJ' };
const ZY = { appId: '6VCME4WQVW16', appKey: '95HV86WP22263HWD' };
const subP = (over: Partial<{ appkey: string; signType: 'normal' | 'md5' | 'sha1' }> = {}): Provider =>
  submail.create({ baseUrl: sub.url, appid: SUB.appid, appkey: over.appkey ?? SUB.appkey, signType: over.signType ?? 'md5' }, 2_000);
const scP = (over: Partial<{ smsKey: string; digest: 'sha256' | 'md5' }> = {}): Provider =>
  sendcloud.create({ baseUrl: sc.url, smsUser: SC.smsUser, smsKey: over.smsKey ?? SC.smsKey, digest: over.digest ?? 'sha256' }, 2_000);
const zyP = (appKey = ZY.appKey): Provider => zywx.create({ baseUrl: zy.url, appId: ZY.appId, appKey }, 2_000);

beforeAll(async () => {
  hook = await startReceiver();
  sub = await startSubmailSimulator({ ...SUB, subhookKey: 'my_subhook_key', projects: { ThJBE4: '【示例】验证码@var(code)' } });
  sc = await startSendcloudSimulator({ ...SC, hookKey: 'my_smshook_appkey', templates: { '1': { text: '【示例】验证码%code%' }, '2': { text: '【示例】x', approved: false } } });
  zy = await startZywxSimulator({ ...ZY });
});
afterAll(async () => {
  await Promise.all([sub, sc, zy].map((s) => s?.stop()));
  await hook?.stop();
});
beforeEach(() => {
  for (const s of [sub, sc, zy]) {
    s.reset();
    s.setPush({ url: hook.url, delayMs: 10, loss: 0, duplicate: 0, reorder: false, undelivered: 0 });
  }
  hook.received.length = 0;
});

describe('SUBMAIL over HTTP', () => {
  it.each(['md5', 'sha1', 'normal'] as const)('batchsend with sign_type %s: per-recipient send_id; a bad number is rejected alone', async (signType) => {
    const out = await subP({ signType }).send(req(['13800138000', '12345678901']));
    expect(out.kind).toBe('answered');
    if (out.kind !== 'answered') return;
    expect(out.results[0]).toMatchObject({ accepted: true, providerMessageId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(out.results[1]).toMatchObject({ accepted: false, vendorCode: '252', code: 'INVALID_NUMBER' });
  });

  it.each([
    ['wrong appkey → 108', () => subP({ appkey: 'wrong' }), undefined, 'PROVIDER_AUTH_FAILED', '108'],
    ['no signature → 411', () => subP(), { content: '没有签名' }, 'SIGNATURE_INVALID', '411'],
    ['over 1000 characters → 415', () => subP(), { content: '【示例】' + 'x'.repeat(1000) }, 'CONTENT_TOO_LONG', '415'],
    ['unknown project → 306', () => subP(), { template: { vendorTemplateId: 'nope', vars: {} } }, 'TEMPLATE_NOT_FOUND', '306'],
  ])('%s is a definitive rejection', async (_n, make, extra, code, vendorCode) => {
    const out = await make().send(req(['13800138000'], extra as Partial<SendRequest>));
    expect(out).toMatchObject({ kind: 'rejected', code, vendorCode });
    expect(sub.stats().recipients).toBe(0);
  });

  it('more than 10,000 numbers is refused', async () => {
    const phones = Array.from({ length: 10_001 }, (_, i) => String(13_000_000_000 + i));
    expect(await subP().send(req(phones))).toMatchObject({ kind: 'rejected', code: 'INVALID_NUMBER', vendorCode: '252' });
  });

  it('balance: spent by sends, 903 余额不足 when short, reported by balance/sms', async () => {
    sub.setBalance(3);
    expect(await subP().balance()).toMatchObject({ kind: 'balance', points: 3 });
    await subP().send(req(['13800138000', '13800138001']));
    expect(await subP().balance()).toMatchObject({ kind: 'balance', points: 1 });
    expect(await subP().send(req(['13800138002', '13800138003']))).toMatchObject({ kind: 'rejected', code: 'PROVIDER_BALANCE_INSUFFICIENT', vendorCode: '903' });
  });

  it('batchxsend fills the project template with vars', async () => {
    const out = await subP().send(req(['13800138000'], { template: { vendorTemplateId: 'ThJBE4', vars: { code: '4438' } } }));
    expect(out.kind).toBe('answered');
    expect(sub.stats().recipients).toBe(1);
  });

  it('pushes SUBHOOK delivered/dropped and mo events signed md5(token + key), echoing tag', async () => {
    sub.setPush({ undelivered: 0.5 });
    const out = await subP().send(req(Array.from({ length: 20 }, (_, i) => String(13_900_000_000 + i))));
    sub.reply('13900000000', 'TD');
    await sub.drainPushes();
    const receipts = hook.received.filter((r) => r.fields.events !== 'mo');
    expect(receipts).toHaveLength(20);
    const events = new Set(receipts.map((r) => r.fields.events));
    expect([...events].sort()).toEqual(['delivered', 'dropped']);
    for (const r of hook.received) {
      expect(r.contentType).toContain('application/x-www-form-urlencoded');
      expect(r.fields.token).toHaveLength(32);
      expect(r.fields.signature).toBe(subhookSignature(r.fields.token ?? '', 'my_subhook_key'));
    }
    const ids = out.kind === 'answered' ? out.results.map((x) => (x.accepted ? x.providerMessageId : '')) : [];
    expect(receipts.every((r) => ids.includes(r.fields.send_id ?? '') && r.fields.tag === '01TASKTAG')).toBe(true);
    expect(receipts.find((r) => r.fields.events === 'dropped')?.fields.report).toBe('UNDELIV');
    expect(hook.received.find((r) => r.fields.events === 'mo')).toMatchObject({ fields: { address: '13900000000', content: 'TD' } });
  });

  it('push loss, duplication and reordering are applied as configured', async () => {
    const phones = Array.from({ length: 40 }, (_, i) => String(13_910_000_000 + i));
    sub.setPush({ loss: 0.25, duplicate: 0.25, reorder: true });
    await subP().send(req(phones));
    await sub.drainPushes();
    const s = sub.stats();
    expect(s.pushesLost).toBeGreaterThan(0);
    expect(s.pushesDuplicated).toBeGreaterThan(0);
    expect(hook.received.length).toBe(40 - s.pushesLost + s.pushesDuplicated);
    const order = hook.received.map((r) => r.fields.address);
    const sorted = [...order].sort();
    expect(order).not.toEqual(sorted);
  });
});

describe('SendCloud over HTTP', () => {
  const tpl = { vendorTemplateId: '1', vars: { code: '1234' } };

  it.each(['sha256', 'md5'] as const)('send (%s signature): smsIds mapped to phones by their $ suffix', async (digest) => {
    const out = await scP({ digest }).send(req(['13800138000', '13800138001'], { template: tpl }));
    expect(out.kind).toBe('answered');
    if (out.kind !== 'answered') return;
    expect(out.results.map((r) => r.accepted && r.providerMessageId.endsWith(`$${r.phone}`))).toEqual([true, true]);
  });

  it('311 partial success: the bad number alone is rejected', async () => {
    const out = await scP().send(req(['13800138000', '1234'], { template: tpl }));
    expect(out).toMatchObject({ kind: 'answered', results: [{ accepted: true }, { accepted: false, vendorCode: '311', code: 'PROVIDER_REJECTED_RECIPIENT' }] });
  });

  it('312 all failed: every recipient rejected, none sent', async () => {
    const out = await scP().send(req(['1234', '5678'], { template: tpl }));
    expect(out).toMatchObject({ kind: 'answered', results: [{ accepted: false }, { accepted: false }] });
    expect(sc.stats().recipients).toBe(0);
  });

  it('a template without a SendCloud id is refused before any request', async () => {
    expect(await scP().send(req(['13800138000'], { template: { vars: {} } }))).toMatchObject({ kind: 'rejected', code: 'TEMPLATE_ID_MISSING' });
    expect(await scP().send(req(['13800138000']))).toMatchObject({ kind: 'rejected', code: 'TEMPLATE_ID_MISSING' });
    expect(sc.stats().requests).toBe(0);
  });

  it.each([
    ['wrong key → 422', () => scP({ smsKey: 'wrong' }), tpl, 'PROVIDER_AUTH_FAILED', '422'],
    ['unknown template → 431', () => scP(), { vendorTemplateId: '99', vars: {} }, 'TEMPLATE_NOT_FOUND', '431'],
    ['unapproved template → 432', () => scP(), { vendorTemplateId: '2', vars: {} }, 'TEMPLATE_UNDER_REVIEW', '432'],
    ['missing variable → 441', () => scP(), { vendorTemplateId: '1', vars: {} }, 'TEMPLATE_VARS_INVALID', '441'],
  ])('%s', async (_n, make, template, code, vendorCode) => {
    expect(await make().send(req(['13800138000'], { template }))).toMatchObject({ kind: 'rejected', code, vendorCode });
  });

  it('more than 2,000 numbers is refused', async () => {
    const phones = Array.from({ length: 2_001 }, (_, i) => String(13_000_000_000 + i));
    expect(await scP().send(req(phones, { template: tpl }))).toMatchObject({ kind: 'rejected', vendorCode: '412' });
  });

  it('499 when the balance is short; no balance API is documented, and the result says so', async () => {
    sc.setBalance(1);
    expect(await scP().send(req(['13800138000', '13800138001'], { template: tpl }))).toMatchObject({ kind: 'rejected', code: 'PROVIDER_BALANCE_INSUFFICIENT', vendorCode: '499' });
    expect(await scP().balance()).toEqual({ kind: 'unsupported', message: 'SendCloud documents no SMS balance API' });
  });

  it('a repeated sendRequestId gets the first answer and sends nothing again', async () => {
    const r = req(['13800138000', '13800138001'], { template: tpl, idempotencyKey: 'TASK-7' });
    const first = await scP().send(r);
    const second = await scP().send(r);
    expect(second).toEqual(first);
    expect(sc.stats()).toMatchObject({ requests: 2, recipients: 2, duplicateRecipients: 0 });
  });

  it('pushes SMSHook deliver/delivererror and reply events signed HMAC-SHA256(key, timestamp + token)', async () => {
    sc.setPush({ undelivered: 0.5 });
    await scP().send(req(Array.from({ length: 10 }, (_, i) => String(13_920_000_000 + i)), { template: tpl }));
    sc.reply('13920000000', '退订');
    await sc.drainPushes();
    expect(hook.received).toHaveLength(11);
    for (const r of hook.received) {
      expect(r.contentType).toBe('application/json');
      expect(r.fields.token).toHaveLength(50);
      expect(r.fields.timestamp).toMatch(/^\d{13}$/);
      expect(r.fields.signature).toBe(smshookSignature('my_smshook_appkey', r.fields.timestamp ?? '', r.fields.token ?? ''));
    }
    const events = hook.received.map((r) => `${r.fields.event}/${r.fields.eventType}`);
    expect(events).toContain('deliver/2');
    expect(events).toContain('delivererror/5');
    const reply = hook.received.find((r) => r.fields.event === 'reply');
    expect(reply?.fields).toMatchObject({ phone: '13920000000', replyContent: '退订', eventType: '6' });
    expect(reply?.fields.replyTime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  });
});

describe('10658 over HTTP', () => {
  it('smsApi/group: one taskId, messages named <taskId>:<phone>, remainPoint spent', async () => {
    zy.setBalance(10);
    const out = await zyP().send(req(['13800138000', '13800138001']));
    expect(out.kind).toBe('answered');
    if (out.kind !== 'answered') return;
    expect(out.batchId).toMatch(/^\d+$/);
    expect(out.results.map((r) => r.accepted && r.providerMessageId)).toEqual([`${out.batchId}:13800138000`, `${out.batchId}:13800138001`]);
    expect(await zyP().balance()).toEqual({ kind: 'balance', points: 8 });
  });

  it.each([
    ['wrong appKey', () => zyP('wrong'), {}, 'PROVIDER_AUTH_FAILED', '账号或密码错误'],
    ['no signature', () => zyP(), { content: '没有签名的内容' }, 'PROVIDER_BAD_REQUEST', '参数错误'],
    ['emoji', () => zyP(), { content: '【示例】你好😀' }, 'PROVIDER_BAD_REQUEST', '参数错误'],
  ])('%s → returnStatus 0, %s', async (_n, make, extra, code, text) => {
    const out = await make().send(req(['13800138000'], extra));
    expect(out).toMatchObject({ kind: 'rejected', code, vendorCode: '0' });
    expect(out.kind === 'rejected' && out.message).toContain(text);
  });

  it('余额不足 when short; getBalance reports errors as errors', async () => {
    zy.setBalance(1);
    expect(await zyP().send(req(['13800138000', '13800138001']))).toMatchObject({ kind: 'rejected', code: 'PROVIDER_BALANCE_INSUFFICIENT' });
    expect(await zyP('wrong').balance()).toMatchObject({ kind: 'error', code: 'PROVIDER_AUTH_FAILED' });
  });

  it('the same number twice within a minute: refused when it is the only one, dropped with a failed receipt otherwise', async () => {
    await zyP().send(req(['13800138010']));
    expect(await zyP().send(req(['13800138010']))).toMatchObject({ kind: 'rejected', code: 'RATE_LIMITED_NUMBER' });
    const out = await zyP().send(req(['13800138010', '13800138011']));
    expect(out.kind).toBe('answered');
    await zy.drainPushes();
    const failed = hook.received.find((r) => r.fields.mobile === '13800138010' && r.fields.status === '0');
    expect(failed?.fields).toMatchObject({ taskid: out.kind === 'answered' ? out.batchId : '', code: 'BEYONDM' });
  });

  it('pushes receipts and replies as form fields mobile, taskid, status, code, receivetime / content', async () => {
    const out = await zyP().send(req(['13930000000']));
    zy.reply('13930000000', '收到');
    await zy.drainPushes();
    const taskid = out.kind === 'answered' ? out.batchId : '';
    const receipt = hook.received.find((r) => r.fields.status !== undefined);
    expect(receipt?.contentType).toContain('application/x-www-form-urlencoded');
    expect(receipt?.fields).toMatchObject({ mobile: '13930000000', taskid, status: '1', code: 'DELIVRD' });
    expect(receipt?.fields.receivetime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(hook.received.find((r) => r.fields.content === '收到')?.fields).toMatchObject({ mobile: '13930000000', taskid });
  });
});
