import { z } from 'zod';
import { postForm } from './http.js';
import { fromChinaTime } from '../time.js';
import { pushFields, refuse, safeEqual } from './push.js';
import { sendcloudSignature, smshookSignature } from './sendcloud-sign.js';
import { transportOutcome, type BalanceResult, type ProviderDescriptor, type PushRequest, type PushResult, type RecipientResult, type SendOutcome, type SendRequest } from './types.js';

/**
 * SendCloud SMS `smsapi/send`: one approved template to up to 2,000 numbers,
 * signed with SHA-256 (MD5 selectable), and `sendRequestId` derived from task
 * and chunk so SendCloud itself drops a resend within its one-hour window
 * (reference/providers.md §2).
 */
const configSchema = z.object({
  baseUrl: z.string().url(),
  smsUser: z.string().min(1),
  smsKey: z.string().min(1),
  digest: z.enum(['sha256', 'md5']).default('sha256'),
  /** The SMSHook settings page's key: pushes carry HMAC-SHA256(key, timestamp + token). */
  hookKey: z.string().min(1).optional(),
});

/** SMSHook pushes older (or newer) than this are refused as replays. */
const HOOK_MAX_SKEW_MS = 10 * 60_000;
export type SendcloudConfig = z.infer<typeof configSchema>;

/** SendCloud return codes → qunfa's stable codes (reference §2.4). */
const CODES: Record<number, [code: string, message: string]> = {
  411: ['INVALID_NUMBER', 'phone empty'],
  412: ['INVALID_NUMBER', 'bad phone format'],
  413: ['PROVIDER_BAD_REQUEST', 'duplicate phone'],
  421: ['PROVIDER_AUTH_FAILED', 'signature parameter error'],
  422: ['PROVIDER_AUTH_FAILED', 'signature wrong'],
  431: ['TEMPLATE_NOT_FOUND', 'template not found'],
  432: ['TEMPLATE_UNDER_REVIEW', 'template not submitted or not approved'],
  433: ['TEMPLATE_ID_MISSING', 'templateId empty'],
  441: ['TEMPLATE_VARS_INVALID', 'bad vars'],
  451: ['PROVIDER_BAD_REQUEST', 'bad schedule time format'],
  452: ['PROVIDER_BAD_REQUEST', 'schedule time in the past'],
  461: ['PROVIDER_AUTH_FAILED', 'timestamp invalid'],
  471: ['PROVIDER_AUTH_FAILED', 'smsUser does not exist'],
  472: ['PROVIDER_AUTH_FAILED', 'smsUser empty'],
  473: ['PROVIDER_AUTH_FAILED', 'free users cannot send'],
  474: ['PROVIDER_AUTH_FAILED', 'user does not exist'],
  481: ['TEMPLATE_VARS_INVALID', 'phone and vars empty'],
  482: ['TEMPLATE_VARS_INVALID', 'phone/vars format wrong'],
  483: ['TEMPLATE_VARS_INVALID', 'var value over 32 characters'],
  496: ['RATE_LIMITED_NUMBER', 'too many messages to this phone in one minute'],
  498: ['RATE_LIMITED_NUMBER', 'too many messages to this phone in one day'],
  499: ['PROVIDER_BALANCE_INSUFFICIENT', 'insufficient quota'],
  501: ['PROVIDER_ERROR', 'server error'],
  601: ['PROVIDER_AUTH_FAILED', 'no permission'],
};

export function sendcloudError(statusCode: number, message?: string): { code: string; message: string } {
  const known = CODES[statusCode];
  if (known) return { code: known[0], message: `SendCloud ${statusCode}: ${known[1]}` };
  return { code: 'PROVIDER_BAD_REQUEST', message: `SendCloud ${statusCode}${message ? `: ${message}` : ''}` };
}

interface SendcloudBody {
  result?: boolean;
  statusCode?: number;
  message?: string;
  info?: { successCount?: number; failedCount?: number; smsIds?: string[]; items?: { phone?: string; message?: string }[] };
}

export const sendcloud: ProviderDescriptor<SendcloudConfig> = {
  batchLimit: 2_000,
  requiresTemplate: true,
  dedupeWindowMs: 3_600_000,
  parseConfig: (raw) => configSchema.parse(raw),
  parsePush: parseSmshook,
  create(cfg, timeoutMs) {
    const base = cfg.baseUrl.replace(/\/$/, '');
    return {
      name: 'sendcloud',
      async send(req: SendRequest): Promise<SendOutcome> {
        const templateId = req.template?.vendorTemplateId;
        if (!templateId) {
          return { kind: 'rejected', code: 'TEMPLATE_ID_MISSING', message: 'SendCloud sends only approved templates; this template has no SendCloud templateId' };
        }
        const params: Record<string, string> = {
          smsUser: cfg.smsUser,
          templateId,
          msgType: '0',
          phone: req.phones.join(','),
          sendRequestId: req.idempotencyKey.slice(0, 128),
          timestamp: String(Date.now()),
          // Echoed in SMSHook pushes as customArgs (2022 docs): how a receipt finds its task.
          tag: JSON.stringify({ taskId: req.tag }),
        };
        if (req.template && Object.keys(req.template.vars).length > 0) params.vars = JSON.stringify(req.template.vars);
        params.signature = sendcloudSignature(params, cfg.smsKey, cfg.digest);
        const http = await postForm(`${base}/smsapi/send`, params, timeoutMs);
        if (http.kind !== 'response') return transportOutcome('SendCloud', http);
        return classify(http.status, http.body, req.phones);
      },
      async balance(): Promise<BalanceResult> {
        return { kind: 'unsupported', message: 'SendCloud documents no SMS balance API' };
      },
    };
  },
};

/** smsIds look like `<ms>_<n>_<n>_<n>_<6 random>$<phone>`: the phone is after the `$`. */
export function classify(status: number, body: string, phones: readonly string[]): SendOutcome {
  let parsed: SendcloudBody;
  try {
    parsed = JSON.parse(body) as SendcloudBody;
  } catch {
    return { kind: 'unknown', code: 'PROVIDER_BAD_ANSWER', message: `SendCloud answered HTTP ${status} with an unreadable body` };
  }
  const code = Number(parsed.statusCode);
  const smsIds = parsed.info?.smsIds ?? [];
  if (code === 200 || code === 311 || (code === 312 && parsed.info?.items)) {
    const idByPhone = new Map(smsIds.map((id) => [id.slice(id.lastIndexOf('$') + 1), id]));
    const failedByPhone = new Map((parsed.info?.items ?? []).map((i) => [i.phone ?? '', i.message ?? '']));
    const results: RecipientResult[] = phones.map((phone) => {
      const id = idByPhone.get(phone);
      if (id) return { phone, accepted: true, providerMessageId: id };
      const reason = failedByPhone.get(phone);
      return {
        phone,
        accepted: false,
        code: reason === undefined ? 'PROVIDER_NO_RESULT' : 'PROVIDER_REJECTED_RECIPIENT',
        vendorCode: String(code),
        message: `SendCloud: ${reason ?? 'answered without this number'}`,
      };
    });
    return { kind: 'answered', results };
  }
  if (code === 501 || !Number.isFinite(code)) {
    // A server error may have happened after some numbers were queued.
    return { kind: 'unknown', code: 'PROVIDER_ERROR', message: `SendCloud answered HTTP ${status}, statusCode ${parsed.statusCode ?? 'none'}` };
  }
  return { kind: 'rejected', vendorCode: String(code), ...sendcloudError(code, parsed.message) };
}

/**
 * SMSHook (reference §2.5): `signature = hex(HMAC-SHA256(key, timestamp + token))`,
 * timestamp in ms; stale ones are refused. The task comes from `customArgs`,
 * which echoes the `tag` we sent.
 */
function parseSmshook(cfg: SendcloudConfig, req: PushRequest, now: Date): PushResult {
  if (!cfg.hookKey) return refuse(404, 'HOOK_NOT_CONFIGURED', 'SMSHook key is not configured');
  const f = pushFields(req.contentType, req.body);
  if (!f?.event || !f.token || !f.signature || !f.timestamp) return refuse(400, 'MALFORMED_PUSH', 'SMSHook push needs event, token, timestamp and signature');
  if (!safeEqual(f.signature.toLowerCase(), smshookSignature(cfg.hookKey, f.timestamp, f.token))) {
    return refuse(401, 'BAD_SIGNATURE', 'SMSHook signature does not match');
  }
  if (Math.abs(now.getTime() - Number(f.timestamp)) > HOOK_MAX_SKEW_MS) return refuse(401, 'STALE_PUSH', 'SMSHook timestamp is too old');
  let taskId: string | undefined;
  try {
    const args = f.customArgs ? (JSON.parse(f.customArgs) as { taskId?: unknown }) : {};
    if (typeof args.taskId === 'string') taskId = args.taskId;
  } catch {
    /* customArgs is optional */
  }
  const at = (text?: string) => (text ? fromChinaTime(text) : undefined)?.toISOString() ?? new Date(Number(f.timestamp)).toISOString();
  const base = { provider: 'sendcloud' as const, phone: f.phone ?? '', ...(taskId ? { taskId } : {}) };
  switch (f.event) {
    case 'deliver':
      return { ok: true, events: f.phone && f.smsId ? [{ type: 'receipt', ...base, providerMessageId: f.smsId, status: 'delivered', code: '200', time: at(f.receiptTime) }] : [] };
    case 'workererror':
    case 'delivererror':
      return {
        ok: true,
        events: f.phone && f.smsId
          ? [{ type: 'receipt', ...base, providerMessageId: f.smsId, status: 'undelivered', code: `${f.statusCode ?? ''} ${f.message ?? ''}`.trim(), time: at(f.receiptTime ?? f.outboundTime) }]
          : [],
      };
    case 'reply':
      return f.phone ? { ok: true, events: [{ type: 'reply', ...base, content: f.replyContent ?? '', time: at(f.replyTime) }] } : refuse(400, 'MALFORMED_PUSH', 'reply without phone');
    default:
      return { ok: true, events: [] }; // request, templateVerify
  }
}
