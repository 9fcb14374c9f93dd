import { z } from 'zod';
import { fromChinaTime } from '../time.js';
import { postForm } from './http.js';
import { pushFields, refuse, safeEqual } from './push.js';
import { transportOutcome, type BalanceResult, type ProviderDescriptor, type PushRequest, type PushResult, type SendOutcome, type SendRequest } from './types.js';

/**
 * 中昱维信 / Veesing (10658) `smsApi/group`: free content with a 【签名】 to a
 * comma list, appId/appKey in plain text (seed 002). The answer carries one
 * `taskId` for the batch, so a message's vendor id is `<taskId>:<phone>`,
 * which is also how its receipts (`taskid`, `mobile`) name it.
 */
const configSchema = z.object({
  baseUrl: z.string().url(),
  appId: z.string().min(1),
  appKey: z.string().min(1),
  /** 10658 signs nothing: its push URL ends in this secret (/v1/hooks/zywx/<secret>). */
  hookSecret: z.string().min(16).optional(),
  /** Optional allow-list of the platform's push source addresses. */
  hookAllowIps: z.array(z.string()).optional(),
});
export type ZywxConfig = z.infer<typeof configSchema>;

/** The seed's status table: every failure is returnStatus "0"; the message says which. */
const MESSAGES: [text: string, code: string][] = [
  ['账号或密码错误', 'PROVIDER_AUTH_FAILED'],
  ['缺少参数', 'PROVIDER_BAD_REQUEST'],
  ['参数错误', 'PROVIDER_BAD_REQUEST'],
  ['模板不存在或者未通过', 'TEMPLATE_NOT_FOUND'],
  ['模板id格式不正确', 'TEMPLATE_INVALID'],
  ['账户已被锁定', 'PROVIDER_AUTH_FAILED'],
  ['余额不足', 'PROVIDER_BALANCE_INSUFFICIENT'],
  ['手机号码格式不正确', 'INVALID_NUMBER'],
  ['该号码今日发送次数已达上限', 'RATE_LIMITED_NUMBER'],
  ['相同手机号码一分钟之内只可发送一次', 'RATE_LIMITED_NUMBER'],
  ['当日发送量已超出最大发送限制', 'PROVIDER_DAILY_QUOTA'],
  ['IP受限', 'PROVIDER_AUTH_FAILED'],
  ['未知原因', 'PROVIDER_ERROR'],
];

export function zywxError(message: string): { code: string; message: string } {
  const hit = MESSAGES.find(([text]) => message.includes(text));
  return { code: hit?.[1] ?? 'PROVIDER_BAD_REQUEST', message: `10658: ${message || 'failed'}` };
}

interface ZywxBody { returnStatus?: string | number; message?: string; remainPoint?: string | null; taskId?: string | null; successCounts?: string | null }

const parse = (body: string): ZywxBody | undefined => {
  try {
    return JSON.parse(body) as ZywxBody;
  } catch {
    return undefined;
  }
};

export const zywx: ProviderDescriptor<ZywxConfig> = {
  // The seed names no maximum for the comma list; 2,000 keeps a form body near 24 KB.
  batchLimit: 2_000,
  requiresTemplate: false,
  parseConfig: (raw) => configSchema.parse(raw),
  parsePush: parseZywxPush,
  create(cfg, timeoutMs) {
    const base = cfg.baseUrl.replace(/\/$/, '');
    return {
      name: 'zywx',
      async send(req: SendRequest): Promise<SendOutcome> {
        const http = await postForm(`${base}/smsApi/group`, { appId: cfg.appId, appKey: cfg.appKey, phone: req.phones.join(','), content: req.content }, timeoutMs);
        if (http.kind !== 'response') return transportOutcome('10658', http);
        return classify(http.status, http.body, req.phones);
      },
      async balance(): Promise<BalanceResult> {
        const http = await postForm(`${base}/smsApi/group/getBalance`, { appId: cfg.appId, appKey: cfg.appKey }, timeoutMs);
        if (http.kind !== 'response') return { kind: 'error', code: 'PROVIDER_NO_ANSWER', message: `10658 balance: ${http.reason}` };
        const body = parse(http.body);
        if (!body) return { kind: 'error', code: 'PROVIDER_BAD_ANSWER', message: `10658 balance answered HTTP ${http.status} with an unreadable body` };
        if (String(body.returnStatus).trim() !== '1') return { kind: 'error', ...zywxError(body.message ?? '') };
        return { kind: 'balance', points: Number(body.remainPoint ?? 0) };
      },
    };
  },
};

export function classify(status: number, body: string, phones: readonly string[]): SendOutcome {
  const parsed = parse(body);
  if (!parsed || parsed.returnStatus === undefined) {
    return { kind: 'unknown', code: 'PROVIDER_BAD_ANSWER', message: `10658 answered HTTP ${status} with an unreadable body` };
  }
  // The seed's own example answers "1 " with a trailing space.
  const returnStatus = String(parsed.returnStatus).trim();
  if (returnStatus === '0') return { kind: 'rejected', vendorCode: '0', ...zywxError(parsed.message ?? '') };
  if (returnStatus !== '1' || !parsed.taskId) {
    return { kind: 'unknown', code: 'PROVIDER_BAD_ANSWER', message: `10658 answered returnStatus ${returnStatus} without a taskId` };
  }
  // One batch id for all: numbers the platform dropped (successCounts below the
  // count) come back as failed receipts, the only per-number answer it gives.
  const taskId = parsed.taskId;
  return { kind: 'answered', batchId: taskId, results: phones.map((phone) => ({ phone, accepted: true, providerMessageId: `${taskId}:${phone}` })) };
}

/**
 * Receipts (mobile, taskid, status, code, receivetime) and replies (mobile,
 * taskid, content, receivetime) as form fields (seed 002). No signature: the
 * secret path segment, compared in constant time, and an optional IP list.
 */
function parseZywxPush(cfg: ZywxConfig, req: PushRequest): PushResult {
  if (!cfg.hookSecret) return refuse(404, 'HOOK_NOT_CONFIGURED', '10658 hook secret is not configured');
  if (!req.secret || !safeEqual(req.secret, cfg.hookSecret)) return refuse(403, 'BAD_SECRET', 'unknown hook URL');
  if (cfg.hookAllowIps && !cfg.hookAllowIps.includes(req.sourceIp ?? '')) return refuse(403, 'IP_NOT_ALLOWED', 'push from an address not on the allow-list');
  const f = pushFields(req.contentType, req.body);
  if (!f?.mobile || !f.taskid || !f.receivetime) return refuse(400, 'MALFORMED_PUSH', '10658 push needs mobile, taskid and receivetime');
  const time = fromChinaTime(f.receivetime);
  if (!time) return refuse(400, 'MALFORMED_PUSH', 'receivetime is not yyyy-MM-dd HH:mm:ss');
  const base = { provider: 'zywx' as const, phone: f.mobile, vendorBatchId: f.taskid, time: time.toISOString() };
  if (f.content !== undefined && f.status === undefined) return { ok: true, events: [{ type: 'reply', ...base, content: f.content }] };
  if (f.status !== '1' && f.status !== '0') return refuse(400, 'MALFORMED_PUSH', 'status must be 1 or 0');
  return {
    ok: true,
    events: [{ type: 'receipt', ...base, providerMessageId: `${f.taskid}:${f.mobile}`, status: f.status === '1' ? 'delivered' : 'undelivered', ...(f.code ? { code: f.code } : {}) }],
  };
}
