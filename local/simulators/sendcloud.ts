import { randomBytes } from 'node:crypto';
import { segmentsFor, smsLength } from '../../lib/content.js';
import { isAllocatedMobile } from '../../lib/phone.js';
import { sendcloudSignature, smshookSignature } from '../../lib/providers/sendcloud-sign.js';
import { toChinaTime } from '../../lib/time.js';
import { form, randomToken, startSimulator, type Accepted, type Push, type PushFormat, type SimResponse, type Simulator, type SimulatorOptions } from './harness.js';

/**
 * SendCloud SMS simulator: `smsapi/send` (reference/providers.md §2). Checks
 * smsUser and the SHA-256 or MD5 signature (told apart by length), the
 * timestamp, that the template exists and is approved, the 2,000-number cap,
 * vars; deduplicates `sendRequestId` for an hour (a repeat gets the first
 * answer and sends nothing); spends its balance (499 when short); pushes
 * SMSHook events signed HMAC-SHA256(appKey, timestamp + token), as JSON (the
 * 2022 docs) or form fields (2017).
 */
export interface SendcloudSimOptions extends SimulatorOptions {
  smsUser: string;
  smsKey: string;
  /** The SMSHook settings page's key. */
  hookKey?: string;
  hookFormat?: 'json' | 'form';
  /** Templates by id: text with %name% variables and whether it is approved. */
  templates?: Record<string, { text: string; approved?: boolean }>;
}

const fail = (statusCode: number, message: string, info: Record<string, unknown> = {}): SimResponse => ({
  status: 200,
  body: { result: false, statusCode, message, info },
});

export function startSendcloudSimulator(opts: SendcloudSimOptions): Promise<Simulator> {
  const hookKey = opts.hookKey ?? 'local-smshook-key';
  const seenRequests = new Map<string, { at: number; body: unknown }>();
  const push = (fields: Record<string, string | number | undefined>): Push => {
    const timestamp = String(Date.now());
    const token = randomToken(50);
    const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    const all: Record<string, unknown> = { ...defined, userId: '1', smsUser: opts.smsUser, timestamp, token, signature: smshookSignature(hookKey, timestamp, token) };
    // customArgs echoes the `tag` of the send (2022 docs): an object in JSON, a JSON string in a form.
    if (typeof all.customArgs === 'string') all.customArgs = JSON.parse(all.customArgs as string) as unknown;
    if (opts.hookFormat === 'form') return form(Object.fromEntries(Object.entries(all).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])));
    return { contentType: 'application/json', body: JSON.stringify(all) };
  };
  const format: PushFormat = {
    receipt: (m: Accepted, delivered: boolean, at: Date) =>
      delivered
        ? push({ event: 'deliver', eventType: 2, message: 'Successfully delivered', customArgs: m.extra?.tag, smsId: m.messageId, phone: m.phone, templateId: m.extra?.templateId ?? '', outboundTime: toChinaTime(at), receiptTime: toChinaTime(new Date()) })
        : push({ event: 'delivererror', eventType: 5, customArgs: m.extra?.tag, message: 'REJECTD(其他)', encodeMessage: Buffer.from('REJECTD(其他)').toString('base64'), statusCode: 590, smsId: m.messageId, phone: m.phone, templateId: m.extra?.templateId ?? '', outboundTime: toChinaTime(at), receiptTime: toChinaTime(new Date()) }),
    reply: (phone, content, at) =>
      push({ event: 'reply', eventType: 6, phone, replyContent: content, encodeReplyContent: Buffer.from(content).toString('base64'), replyTime: toChinaTime(at) }),
  };

  return startSimulator(async (req, ctx) => {
    if (req.path !== '/smsapi/send') return undefined;
    const p = req.params;
    if (!p.smsUser) return fail(472, 'smsUser不能为空');
    if (p.smsUser !== opts.smsUser) return fail(471, 'smsUser不存在');
    if (!p.signature) return fail(421, '签名参数错误');
    const digest = p.signature.length === 32 ? 'md5' : 'sha256';
    if (p.signature.toLowerCase() !== sendcloudSignature(p, opts.smsKey, digest)) return fail(422, '签名错误');
    if (p.timestamp && Math.abs(Date.now() - Number(p.timestamp)) > 60_000) return fail(461, '时间戳无效');
    if (ctx.errorFault) return fail(Number(ctx.errorFault.code ?? 499), '注入的错误');

    const previous = p.sendRequestId ? seenRequests.get(p.sendRequestId) : undefined;
    if (previous && Date.now() - previous.at < 3_600_000) return { status: 200, body: previous.body };

    if (!p.templateId) return fail(433, 'templateId不能为空');
    const template = opts.templates?.[p.templateId];
    if (!template) return fail(431, '模板不存在');
    if (template.approved === false) return fail(432, '模板未提交审核或者未审核通过');
    let vars: Record<string, unknown> = {};
    try {
      vars = p.vars ? (JSON.parse(p.vars) as Record<string, unknown>) : {};
    } catch {
      return fail(441, 'vars格式错误');
    }
    const values = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k.replace(/^%|%$/g, ''), String(v)]));
    if (Object.values(values).some((v) => smsLength(v) > 32)) return fail(483, '变量值长度超过32');
    const missing = [...template.text.matchAll(/%([A-Za-z0-9_-]+)%/g)].map((m) => m[1] ?? '').filter((k) => values[k] === undefined);
    if (missing.length > 0) return fail(441, `vars缺少变量: ${missing.join(',')}`);
    const content = template.text.replace(/%([A-Za-z0-9_-]+)%/g, (_m, k: string) => values[k] ?? '');

    const phones = (p.phone ?? '').split(/[,;]/).map((s) => s.trim()).filter(Boolean);
    if (phones.length === 0) return fail(411, '手机号不能为空');
    if (phones.length > 2_000) return fail(412, '手机号数量超过2000');
    const valid = phones.filter((n) => isAllocatedMobile(n));
    const invalid = phones.filter((n) => !isAllocatedMobile(n));
    const items = invalid.map((phone) => ({ phone, vars: p.vars ?? '', message: '手机号格式错误' }));
    if (valid.length === 0) return fail(312, '全部失败', { successCount: 0, failedCount: invalid.length, items });
    if (!ctx.charge(segmentsFor(smsLength(content)) * valid.length)) return fail(499, '短信余额不足');

    const now = Date.now();
    const smsIds = valid.map((phone, i) => `${now}_${i % 100}_${(now >> 10) % 100}_0_${randomBytes(3).toString('hex')}$${phone}`);
    ctx.recordSend(valid, content);
    ctx.deliver(valid.map((phone, i) => ({ phone, messageId: smsIds[i] ?? '', extra: { templateId: p.templateId ?? '', ...(p.tag ? { tag: p.tag } : {}) } })));
    const body =
      invalid.length === 0
        ? { result: true, statusCode: 200, message: '请求成功', info: { successCount: valid.length, smsIds } }
        : { result: true, statusCode: 311, message: '部分成功', info: { successCount: valid.length, failedCount: invalid.length, items, smsIds } };
    if (p.sendRequestId) seenRequests.set(p.sendRequestId, { at: now, body });
    return { status: 200, body };
  }, format, opts, () => seenRequests.clear());
}
