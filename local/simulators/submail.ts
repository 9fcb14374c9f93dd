import { randomBytes } from 'node:crypto';
import { segmentsFor, smsLength } from '../../lib/content.js';
import { isAllocatedMobile } from '../../lib/phone.js';
import { submailAuthRefusal, subhookSignature } from '../../lib/providers/submail-sign.js';
import { form, randomToken, startSimulator, type Accepted, type PushFormat, type SimContext, type SimResponse, type Simulator, type SimulatorOptions } from './harness.js';

/**
 * SUBMAIL simulator: `sms/batchsend` and `sms/batchxsend` (with or without
 * `.json`), `balance/sms` and `service/timestamp`, as seed 003 and
 * reference/providers.md §1 describe them. It checks appid and the
 * normal/md5/sha1 signature (sign_version 2 leaves `content`/`vars` out), the
 * 6-second timestamp window, the 【签名】, the 10,000-number cap, the balance
 * (903), templates (`project`), and pushes SUBHOOK events signed
 * md5(token + subhook_key), form-encoded.
 */
export interface SubmailSimOptions extends SimulatorOptions {
  appid: string;
  appkey: string;
  subhookKey?: string;
  /** Approved templates by project id; text uses @var(name). */
  projects?: Record<string, string>;
}

const err = (code: string, msg: string): SimResponse => ({ status: 200, body: { status: 'error', code, msg } });
const api = (path: string) => path.replace(/^\//, '').replace(/\.json$/, '');

export function startSubmailSimulator(opts: SubmailSimOptions): Promise<Simulator> {
  const subhookKey = opts.subhookKey ?? 'local-subhook-key';
  const signedPush = (fields: Record<string, string>) => {
    const token = randomToken(32);
    return form({ ...fields, token, signature: subhookSignature(token, subhookKey) });
  };
  const format: PushFormat = {
    receipt: (m: Accepted, delivered: boolean, at: Date) =>
      signedPush({
        events: delivered ? 'delivered' : 'dropped',
        address: m.phone,
        app: opts.appid,
        send_id: m.messageId,
        timestamp: String(Math.floor(at.getTime() / 1000)),
        tag: m.extra?.tag ?? '',
        ...(delivered ? { operator: '中国移动', location: '上海 上海' } : { report: 'UNDELIV' }),
      }),
    reply: (phone, content, at) =>
      signedPush({ events: 'mo', address: phone, app: opts.appid, content, timestamp: String(Math.floor(at.getTime() / 1000)) }),
  };

  return startSimulator(async (req, ctx) => {
    const name = api(req.path);
    if (name === 'service/timestamp') return { status: 200, body: { timestamp: Math.floor(Date.now() / 1000) } };
    if (!['sms/batchsend', 'sms/batchxsend', 'sms/multisend', 'balance/sms'].includes(name)) return undefined;
    if (req.method !== 'POST' || !req.contentType) return err('101', 'Incorrect APP ID'); // FAQ #4: no Content-Type gives 101

    const p = req.params;
    if (p.appid !== opts.appid) return err('101', 'Incorrect APP ID');
    const refused = submailAuthRefusal(name, p, opts.appid, opts.appkey, Date.now() / 1000);
    if (refused) return err(refused.code, refused.msg);

    if (name === 'balance/sms') {
      return { status: 200, body: { status: 'success', balance: String(ctx.balance()), transactional_balance: '0' } };
    }
    if (ctx.errorFault) return err(ctx.errorFault.code ?? '903', 'Injected error');
    if (p.tag && p.tag.length > 32) return err('310', 'Tag too long');

    if (name === 'sms/multisend') return multisend(ctx, p.content ?? '', p.multi ?? '', p.tag ?? '');
    let content = p.content ?? '';
    if (name === 'sms/batchxsend') {
      if (!p.project) return err('305', 'Empty project');
      const template = opts.projects?.[p.project];
      if (template === undefined) return err('306', 'Invalid project');
      let vars: Record<string, unknown> = {};
      try {
        vars = JSON.parse(p.vars ?? '{}') as Record<string, unknown>;
      } catch {
        return err('307', 'Invalid JSON vars (json_decoding_error 4)');
      }
      content = template.replace(/@var\(([^)]+)\)/g, (_m, key: string) => String(vars[key] ?? ''));
    }
    return batch(ctx, p.to ?? '', content, p.tag ?? '');
  }, format, opts);
}

/** sms/multisend: `content` with @var(key), `multi` = [{to, vars}]; one answer item per entry, in order. */
function multisend(ctx: SimContext, content: string, multiParam: string, tag: string): SimResponse {
  let multi: { to?: unknown; vars?: Record<string, unknown> }[];
  try {
    multi = JSON.parse(multiParam) as typeof multi;
    if (!Array.isArray(multi) || multi.length === 0) return err('410', 'Invalid multi');
  } catch {
    return err('410', 'Invalid multi');
  }
  if (multi.length > 200) return err('410', 'Too many items in multi');
  const accepted: Accepted[] = [];
  const sent: string[] = [];
  const items = multi.map((entry) => {
    const to = String(entry.to ?? '');
    const text = content.replace(/@var\(([^)]+)\)/g, (_m, key: string) => String(entry.vars?.[key] ?? ''));
    const checked = batchCheck(text);
    if (checked) return { status: 'error', to, code: checked.code, msg: checked.msg };
    if (!isAllocatedMobile(to)) return { status: 'error', to, code: '252', msg: 'Invalid recipient number' };
    const fee = segmentsFor(smsLength(text));
    if (!ctx.charge(fee)) return { status: 'error', to, code: '903', msg: 'SMS credits insufficient' };
    const sendId = randomBytes(16).toString('hex');
    accepted.push({ phone: to, messageId: sendId, extra: { tag } });
    sent.push(to);
    ctx.recordSend([to], text);
    return { status: 'success', to, send_id: sendId, fee };
  });
  ctx.deliver(accepted);
  return { status: 200, body: items };
}

/** The content rules of every send API; undefined when the text is acceptable. */
function batchCheck(content: string): { code: string; msg: string } | undefined {
  if (content.trim() === '') return { code: '403', msg: 'Empty content' };
  const sig = /^【([^【】]*)】/.exec(content);
  if (!sig || smsLength(sig[1] ?? '') < 2 || smsLength(sig[1] ?? '') > 10) return { code: '411', msg: 'Invalid SMS signature' };
  if (content.slice(sig[0].length).trim() === '') return { code: '414', msg: 'Empty content' };
  if (smsLength(content) > 1000) return { code: '415', msg: 'Content too long' };
  return undefined;
}

function batch(ctx: SimContext, toParam: string, content: string, tag: string): SimResponse {
  if (content.trim() === '') return err('403', 'Empty content');
  const sig = /^【([^【】]*)】/.exec(content);
  if (!sig || smsLength(sig[1] ?? '') < 2 || smsLength(sig[1] ?? '') > 10) return err('411', 'Invalid SMS signature');
  if (content.slice(sig[0].length).trim() === '') return err('414', 'Empty content');
  const length = smsLength(content);
  if (length > 1000) return err('415', 'Content too long');
  const to = toParam.split(',').map((s) => s.trim()).filter(Boolean);
  if (to.length === 0) return err('251', 'Empty recipient');
  if (to.length > 10_000) return err('252', 'Too many recipients: at most 10000 per request');

  const fee = segmentsFor(length);
  const valid = to.filter((n) => isAllocatedMobile(n));
  if (!ctx.charge(fee * valid.length)) return err('903', 'SMS credits insufficient');
  const accepted: Accepted[] = [];
  const responses = to.map((number) => {
    if (!isAllocatedMobile(number)) return { status: 'error', to: number, code: '252', msg: 'Invalid recipient number' };
    const sendId = randomBytes(16).toString('hex');
    accepted.push({ phone: number, messageId: sendId, extra: { tag } });
    return { status: 'success', to: number, send_id: sendId, fee };
  });
  ctx.recordSend(valid, content);
  ctx.deliver(accepted);
  return { status: 200, body: { status: 'success', batchlist: randomBytes(16).toString('hex'), total_fee: fee * valid.length, responses } };
}
