import { z } from 'zod';
import { postForm } from './http.js';
import { pushFields, refuse, safeEqual } from './push.js';
import { SUBMAIL_V2_EXCLUDED, submailSignature, subhookSignature } from './submail-sign.js';
import { transportOutcome, type BalanceResult, type InboundEvent, type ProviderDescriptor, type PushResult, type RecipientResult, type SendOutcome, type SendRequest } from './types.js';

/**
 * SUBMAIL (赛邮): `sms/batchsend` for free content with a 【签名】 and
 * `sms/batchxsend` for a template (`project` + `vars`), up to 10,000
 * comma-separated numbers per request (seed 003, reference/providers.md §1);
 * `balance/sms` for the balance.
 */
const configSchema = z.object({
  baseUrl: z.string().url(),
  appid: z.string().min(1),
  appkey: z.string().min(1),
  signType: z.enum(['normal', 'md5', 'sha1']).default('md5'),
  /** SUBHOOK key: pushes carry md5(token + key). */
  subhookKey: z.string().min(1).optional(),
});
export type SubmailConfig = z.infer<typeof configSchema>;

/** SUBMAIL error codes → qunfa's stable codes (reference §1.7). */
const CODES: Record<string, [code: string, message: string]> = {
  '101': ['PROVIDER_AUTH_FAILED', 'incorrect APP ID'],
  '102': ['PROVIDER_AUTH_FAILED', 'app disabled'],
  '103': ['PROVIDER_AUTH_FAILED', 'developer not verified'],
  '104': ['PROVIDER_AUTH_FAILED', 'developer not verified'],
  '105': ['PROVIDER_AUTH_FAILED', 'account expired'],
  '106': ['PROVIDER_AUTH_FAILED', 'account disabled'],
  '107': ['PROVIDER_AUTH_FAILED', 'invalid sign_type'],
  '108': ['PROVIDER_AUTH_FAILED', 'invalid signature'],
  '109': ['PROVIDER_AUTH_FAILED', 'invalid appkey'],
  '110': ['PROVIDER_AUTH_FAILED', 'invalid sign_type'],
  '111': ['PROVIDER_AUTH_FAILED', 'empty signature'],
  '112': ['PROVIDER_AUTH_FAILED', 'subscription disabled'],
  '113': ['PROVIDER_AUTH_FAILED', 'caller IP not in whitelist'],
  '119': ['PROVIDER_AUTH_FAILED', 'permission denied'],
  '151': ['PROVIDER_AUTH_FAILED', 'bad timestamp'],
  '152': ['PROVIDER_AUTH_FAILED', 'timestamp more than 6 s old'],
  '114': ['RECIPIENT_BLOCKED', 'number is on the account blocklist'],
  '115': ['RATE_LIMITED_NUMBER', 'number request frequency limit'],
  '116': ['SIGNATURE_INVALID', 'SMS signature already used by another app'],
  '117': ['TEMPLATE_INVALID', 'template invalid'],
  '118': ['TEMPLATE_INVALID', 'template invalid'],
  '120': ['TEMPLATE_INVALID', 'template invalid'],
  '201': ['INVALID_NUMBER', 'bad address book recipient'],
  '202': ['INVALID_NUMBER', 'bad address book recipient'],
  '203': ['INVALID_NUMBER', 'bad address book recipient'],
  '251': ['INVALID_NUMBER', 'bad recipient number'],
  '252': ['INVALID_NUMBER', 'bad recipient number'],
  '253': ['RECIPIENT_UNSUBSCRIBED', 'recipient unsubscribed'],
  '305': ['TEMPLATE_ID_MISSING', 'project ID empty'],
  '306': ['TEMPLATE_NOT_FOUND', 'project ID invalid'],
  '307': ['TEMPLATE_VARS_INVALID', 'bad JSON in vars'],
  '310': ['PROVIDER_BAD_REQUEST', 'tag longer than 32 characters'],
  '401': ['SIGNATURE_INVALID', 'empty SMS signature'],
  '402': ['SIGNATURE_INVALID', 'SMS signature over 40 characters'],
  '411': ['SIGNATURE_INVALID', 'missing or invalid 【】 signature'],
  '412': ['SIGNATURE_INVALID', 'SMS signature length'],
  '413': ['SIGNATURE_INVALID', 'SMS signature length'],
  '403': ['CONTENT_REQUIRED', 'empty content'],
  '414': ['CONTENT_REQUIRED', 'empty content'],
  '419': ['CONTENT_REQUIRED', 'empty content'],
  '404': ['CONTENT_TOO_LONG', 'content plus signature over 1000 characters'],
  '415': ['CONTENT_TOO_LONG', 'content over 1000 characters'],
  '416': ['PROVIDER_BAD_REQUEST', 'title over 64 characters'],
  '405': ['CONTENT_BANNED_WORD', 'content contains a banned word'],
  '406': ['TEMPLATE_ID_MISSING', 'project empty'],
  '407': ['TEMPLATE_NOT_FOUND', 'project invalid'],
  '408': ['DUPLICATE_CONTENT', 'identical message already sent to this contact'],
  '409': ['TEMPLATE_UNDER_REVIEW', 'template under review'],
  '410': ['PROVIDER_BAD_REQUEST', 'bad multi parameter'],
  '417': ['TEMPLATE_ID_MISSING', 'template ID missing'],
  '418': ['TEMPLATE_NOT_FOUND', 'template not found'],
  '420': ['TEMPLATE_REJECTED', 'no approved template matches the content'],
  '422': ['TEMPLATE_INVALID', 'template over 255 characters'],
  '501': ['PROVIDER_BAD_REQUEST', 'bad address book'],
  '901': ['PROVIDER_DAILY_QUOTA', 'daily quota reached'],
  '903': ['PROVIDER_BALANCE_INSUFFICIENT', 'SMS credits insufficient'],
  '904': ['PROVIDER_BALANCE_INSUFFICIENT', 'money balance insufficient'],
  '905': ['PROVIDER_BALANCE_INSUFFICIENT', 'transactional credits insufficient'],
};

export function submailError(vendorCode: string, vendorMsg?: string): { code: string; message: string } {
  const known = CODES[vendorCode];
  if (known) return { code: known[0], message: `SUBMAIL ${vendorCode}: ${known[1]}` };
  return { code: 'PROVIDER_BAD_REQUEST', message: `SUBMAIL error ${vendorCode}${vendorMsg ? `: ${vendorMsg}` : ''}` };
}

interface SubmailItem { status?: string; to?: string; send_id?: string; fee?: number; code?: string | number; msg?: string }
interface SubmailBody extends SubmailItem { batchlist?: string; total_fee?: number; responses?: SubmailItem[]; balance?: string; transactional_balance?: string }

export const submail: ProviderDescriptor<SubmailConfig> = {
  batchLimit: 10_000,
  // multisend: 50 per request is SUBMAIL's recommendation; its hard cap is undocumented.
  multiLimit: 50,
  requiresTemplate: false,
  parseConfig: (raw) => configSchema.parse(raw),
  parsePush: parseSubhook,
  create(cfg, timeoutMs) {
    const base = cfg.baseUrl.replace(/\/$/, '');
    const signed = (api: string, params: Record<string, string>) => {
      const p: Record<string, string> = { appid: cfg.appid, ...params };
      if (cfg.signType !== 'normal') {
        p.timestamp = String(Math.floor(Date.now() / 1000));
        p.sign_type = cfg.signType;
        p.sign_version = '2';
      }
      p.signature = submailSignature(p, cfg.appid, cfg.appkey, cfg.signType, SUBMAIL_V2_EXCLUDED[api] ?? []);
      return postForm(`${base}/${api}.json`, p, timeoutMs);
    };
    return {
      name: 'submail',
      async send(req: SendRequest): Promise<SendOutcome> {
        if (req.perRecipient) {
          const multi = req.phones.map((to) => ({ to, vars: req.perRecipient?.vars[to] ?? {} }));
          const http = await signed('sms/multisend', { content: req.perRecipient.text, multi: JSON.stringify(multi), tag: req.tag.slice(0, 32) });
          if (http.kind !== 'response') return transportOutcome('SUBMAIL', http);
          return classifyMulti(http.status, http.body, req.phones);
        }
        const project = req.template?.vendorTemplateId;
        const http = project
          ? await signed('sms/batchxsend', { to: req.phones.join(','), project, vars: JSON.stringify(req.template?.vars ?? {}), tag: req.tag.slice(0, 32) })
          : await signed('sms/batchsend', { to: req.phones.join(','), content: req.content, tag: req.tag.slice(0, 32) });
        if (http.kind !== 'response') return transportOutcome('SUBMAIL', http);
        return classify(http.status, http.body, req.phones);
      },
      async balance(): Promise<BalanceResult> {
        const http = await signed('balance/sms', {});
        if (http.kind !== 'response') return { kind: 'error', code: 'PROVIDER_NO_ANSWER', message: `SUBMAIL balance: ${http.reason}` };
        try {
          const body = JSON.parse(http.body) as SubmailBody;
          if (body.status !== 'success') return { kind: 'error', ...submailError(String(body.code ?? ''), body.msg) };
          const general = Number(body.balance ?? 0);
          const transactional = Number(body.transactional_balance ?? 0);
          return { kind: 'balance', points: general + transactional, detail: { balance: general, transactional_balance: transactional } };
        } catch {
          return { kind: 'error', code: 'PROVIDER_BAD_ANSWER', message: `SUBMAIL balance answered HTTP ${http.status} with an unreadable body` };
        }
      },
    };
  },
};

/** Exported for unit tests: the body decides, whatever the HTTP status (reference §1.1). */
export function classify(status: number, body: string, phones: readonly string[]): SendOutcome {
  let parsed: SubmailBody;
  try {
    parsed = JSON.parse(body) as SubmailBody;
  } catch {
    return { kind: 'unknown', code: 'PROVIDER_BAD_ANSWER', message: `SUBMAIL answered HTTP ${status} with an unreadable body` };
  }
  if (parsed.status === 'error') {
    const vendorCode = String(parsed.code ?? '');
    return { kind: 'rejected', vendorCode, ...submailError(vendorCode, parsed.msg) };
  }
  if (parsed.status !== 'success' || !Array.isArray(parsed.responses)) {
    return { kind: 'unknown', code: 'PROVIDER_BAD_ANSWER', message: `SUBMAIL answered HTTP ${status} without a result` };
  }
  const byPhone = new Map<string, SubmailItem>();
  for (const item of parsed.responses) if (item.to) byPhone.set(item.to, item);
  const results: RecipientResult[] = phones.map((phone) => {
    const item = byPhone.get(phone);
    if (item?.status === 'success' && item.send_id) {
      return { phone, accepted: true, providerMessageId: item.send_id, ...(item.fee !== undefined ? { fee: item.fee } : {}) };
    }
    if (!item) {
      return { phone, accepted: false, code: 'PROVIDER_NO_RESULT', vendorCode: '', message: 'SUBMAIL answered without this number' };
    }
    const vendorCode = String(item.code ?? '');
    return { phone, accepted: false, vendorCode, ...submailError(vendorCode, item.msg) };
  });
  return { kind: 'answered', ...(parsed.batchlist ? { batchId: parsed.batchlist } : {}), results };
}

/**
 * multisend answers an array, one item per recipient in request order (`to`
 * on failed items is unconfirmed, so order is the fallback); a whole-request
 * failure is a single error object (reference §1.3).
 */
export function classifyMulti(status: number, body: string, phones: readonly string[]): SendOutcome {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { kind: 'unknown', code: 'PROVIDER_BAD_ANSWER', message: `SUBMAIL answered HTTP ${status} with an unreadable body` };
  }
  if (!Array.isArray(parsed)) {
    const one = parsed as SubmailBody;
    if (one.status === 'error') {
      const vendorCode = String(one.code ?? '');
      return { kind: 'rejected', vendorCode, ...submailError(vendorCode, one.msg) };
    }
    return { kind: 'unknown', code: 'PROVIDER_BAD_ANSWER', message: `SUBMAIL answered HTTP ${status} without a result` };
  }
  const items = parsed as SubmailItem[];
  const results: RecipientResult[] = phones.map((phone, i) => {
    const item = items.find((it) => it.to === phone) ?? (items[i]?.to === undefined ? items[i] : undefined);
    if (item?.status === 'success' && item.send_id) return { phone, accepted: true, providerMessageId: item.send_id, ...(item.fee !== undefined ? { fee: item.fee } : {}) };
    if (!item) return { phone, accepted: false, code: 'PROVIDER_NO_RESULT', vendorCode: '', message: 'SUBMAIL answered without this number' };
    const vendorCode = String(item.code ?? '');
    return { phone, accepted: false, vendorCode, ...submailError(vendorCode, item.msg) };
  });
  return { kind: 'answered', results };
}

/**
 * SUBHOOK (reference §1.6): `signature = md5(token + subhook_key)`; the
 * payload itself is not signed. `tag` carries the qunfa task id we sent.
 */
function parseSubhook(cfg: SubmailConfig, req: { contentType: string; body: string }): PushResult {
  if (!cfg.subhookKey) return refuse(404, 'HOOK_NOT_CONFIGURED', 'SUBHOOK key is not configured');
  const f = pushFields(req.contentType, req.body);
  if (!f?.events || !f.token || !f.signature) return refuse(400, 'MALFORMED_PUSH', 'SUBHOOK push needs events, token and signature');
  if (!safeEqual(f.signature.toLowerCase(), subhookSignature(f.token, cfg.subhookKey))) {
    return refuse(401, 'BAD_SIGNATURE', 'SUBHOOK signature does not match');
  }
  const time = new Date(Number(f.timestamp) * 1000 || Date.now()).toISOString();
  const base = { provider: 'submail' as const, phone: f.address ?? '', time, ...(f.tag ? { taskId: f.tag } : {}) };
  const receipt = (status: 'delivered' | 'undelivered' | 'pending', code?: string): InboundEvent[] => {
    if (!f.address || !f.send_id) return [];
    return [{ type: 'receipt', ...base, providerMessageId: f.send_id, status, ...(code ? { code } : {}) }];
  };
  switch (f.events) {
    case 'delivered':
      return { ok: true, events: receipt('delivered', 'DELIVRD') };
    case 'dropped':
      return { ok: true, events: receipt('undelivered', f.report || 'DROPPED') };
    case 'sending':
    case 'unknown':
    case 'unkown':
      return { ok: true, events: receipt('pending', f.events) };
    case 'mo':
      return f.address ? { ok: true, events: [{ type: 'reply', ...base, content: f.content ?? '' }] } : refuse(400, 'MALFORMED_PUSH', 'mo without address');
    default:
      return { ok: true, events: [] }; // request, template_accept, template_reject: nothing to record
  }
}
