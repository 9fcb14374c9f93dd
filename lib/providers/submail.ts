import { postForm } from './http.js';
import { SUBMAIL_V2_EXCLUDED, submailSignature, type SubmailSignType } from './submail-sign.js';
import type { Provider, RecipientResult, SendOutcome, SendRequest } from './types.js';

/**
 * SUBMAIL (赛邮) `sms/batchsend`: free content with a 【签名】, up to 10,000
 * comma-separated numbers per request (seed 003, reference/providers.md §1).
 */
export const SUBMAIL_BATCH_LIMIT = 10_000;

export interface SubmailConfig {
  baseUrl: string;
  appid: string;
  appkey: string;
  signType?: SubmailSignType;
}

/** SUBMAIL error codes → qunfa's stable codes (reference §1.7). */
const CODES: Record<string, [code: string, message: string]> = {
  '101': ['PROVIDER_AUTH_FAILED', 'SUBMAIL: incorrect APP ID'],
  '102': ['PROVIDER_AUTH_FAILED', 'SUBMAIL: app disabled'],
  '103': ['PROVIDER_AUTH_FAILED', 'SUBMAIL: developer not verified'],
  '104': ['PROVIDER_AUTH_FAILED', 'SUBMAIL: developer not verified'],
  '105': ['PROVIDER_AUTH_FAILED', 'SUBMAIL: account expired'],
  '106': ['PROVIDER_AUTH_FAILED', 'SUBMAIL: account disabled'],
  '107': ['PROVIDER_AUTH_FAILED', 'SUBMAIL: invalid sign_type'],
  '108': ['PROVIDER_AUTH_FAILED', 'SUBMAIL: invalid signature'],
  '109': ['PROVIDER_AUTH_FAILED', 'SUBMAIL: invalid appkey'],
  '110': ['PROVIDER_AUTH_FAILED', 'SUBMAIL: invalid sign_type'],
  '111': ['PROVIDER_AUTH_FAILED', 'SUBMAIL: empty signature'],
  '113': ['PROVIDER_AUTH_FAILED', 'SUBMAIL: caller IP not in whitelist'],
  '151': ['PROVIDER_AUTH_FAILED', 'SUBMAIL: bad timestamp'],
  '152': ['PROVIDER_AUTH_FAILED', 'SUBMAIL: timestamp expired'],
  '114': ['RECIPIENT_BLOCKED', 'SUBMAIL: number is on the account blocklist'],
  '115': ['RATE_LIMITED_NUMBER', 'SUBMAIL: number request frequency limit'],
  '251': ['INVALID_NUMBER', 'SUBMAIL: bad recipient number'],
  '252': ['INVALID_NUMBER', 'SUBMAIL: bad recipient number'],
  '253': ['RECIPIENT_UNSUBSCRIBED', 'SUBMAIL: recipient unsubscribed'],
  '401': ['SIGNATURE_INVALID', 'SUBMAIL: empty SMS signature'],
  '402': ['SIGNATURE_INVALID', 'SUBMAIL: SMS signature too long'],
  '411': ['SIGNATURE_INVALID', 'SUBMAIL: missing or invalid 【】 signature'],
  '412': ['SIGNATURE_INVALID', 'SUBMAIL: SMS signature length'],
  '413': ['SIGNATURE_INVALID', 'SUBMAIL: SMS signature length'],
  '403': ['CONTENT_REQUIRED', 'SUBMAIL: empty content'],
  '414': ['CONTENT_REQUIRED', 'SUBMAIL: empty content'],
  '419': ['CONTENT_REQUIRED', 'SUBMAIL: empty content'],
  '404': ['CONTENT_TOO_LONG', 'SUBMAIL: content plus signature over 1000 characters'],
  '415': ['CONTENT_TOO_LONG', 'SUBMAIL: content over 1000 characters'],
  '405': ['CONTENT_BANNED_WORD', 'SUBMAIL: content contains a banned word'],
  '408': ['DUPLICATE_CONTENT', 'SUBMAIL: identical message already sent to this contact'],
  '409': ['TEMPLATE_UNDER_REVIEW', 'SUBMAIL: template under review'],
  '420': ['TEMPLATE_REJECTED', 'SUBMAIL: no approved template matches the content'],
  '901': ['PROVIDER_DAILY_QUOTA', 'SUBMAIL: daily quota reached'],
  '903': ['PROVIDER_BALANCE_INSUFFICIENT', 'SUBMAIL: SMS credits insufficient'],
  '904': ['PROVIDER_BALANCE_INSUFFICIENT', 'SUBMAIL: money balance insufficient'],
  '905': ['PROVIDER_BALANCE_INSUFFICIENT', 'SUBMAIL: transactional credits insufficient'],
};

export function submailError(vendorCode: string, vendorMsg?: string): { code: string; message: string } {
  const known = CODES[vendorCode];
  if (known) return { code: known[0], message: known[1] };
  return { code: 'PROVIDER_BAD_REQUEST', message: `SUBMAIL error ${vendorCode}${vendorMsg ? `: ${vendorMsg}` : ''}` };
}

interface SubmailItem { status?: string; to?: string; send_id?: string; fee?: number; code?: string | number; msg?: string }
interface SubmailBody extends SubmailItem { batchlist?: string; total_fee?: number; responses?: SubmailItem[] }

export function submail(cfg: SubmailConfig, timeoutMs: number): Provider {
  const signType = cfg.signType ?? 'md5';
  return {
    name: 'submail',
    batchLimit: SUBMAIL_BATCH_LIMIT,
    async send(req: SendRequest): Promise<SendOutcome> {
      const params: Record<string, string> = {
        appid: cfg.appid,
        to: req.phones.join(','),
        content: req.content,
        tag: req.tag.slice(0, 32),
      };
      if (signType !== 'normal') {
        params.timestamp = String(Math.floor(Date.now() / 1000));
        params.sign_type = signType;
        params.sign_version = '2';
      }
      params.signature = submailSignature(params, cfg.appid, cfg.appkey, signType, SUBMAIL_V2_EXCLUDED['sms/batchsend']);

      const http = await postForm(`${cfg.baseUrl.replace(/\/$/, '')}/sms/batchsend.json`, params, timeoutMs);
      if (http.kind === 'not-sent') return { kind: 'rejected', code: 'PROVIDER_UNREACHABLE', message: `SUBMAIL unreachable: ${http.reason}` };
      if (http.kind === 'maybe-sent') return { kind: 'unknown', code: 'PROVIDER_NO_ANSWER', message: `SUBMAIL did not answer: ${http.reason}` };
      return classify(http.status, http.body, req.phones);
    },
  };
}

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
