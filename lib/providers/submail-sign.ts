import { createHash } from 'node:crypto';
import { safeEqual } from './push.js';

/**
 * SUBMAIL request signature (reference/providers.md §1.2). Every submitted
 * parameter except `signature` and `tag` is sorted by key and joined raw as
 * k=v&k=v; with sign_version=2 the bulky field of the API is left out too.
 * signature = hex(digest(appid + appkey + joined + appid + appkey)).
 */
export type SubmailSignType = 'normal' | 'md5' | 'sha1';

export function submailSignature(
  params: Record<string, string>,
  appid: string,
  appkey: string,
  signType: SubmailSignType,
  excluded: readonly string[] = [],
): string {
  if (signType === 'normal') return appkey;
  const skip = new Set(['signature', 'tag', ...excluded]);
  const joined = Object.keys(params)
    .filter((k) => !skip.has(k))
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
  return createHash(signType).update(`${appid}${appkey}${joined}${appid}${appkey}`, 'utf8').digest('hex');
}

/** Parameters left out of the signature under sign_version=2, per API. */
export const SUBMAIL_V2_EXCLUDED: Record<string, readonly string[]> = {
  'sms/send': ['content'],
  'sms/batchsend': ['content'],
  'sms/xsend': ['vars'],
  'sms/multisend': ['multi', 'content'],
  'sms/multixsend': ['multi'],
  'sms/batchxsend': ['vars'],
};

/** SUBHOOK push signature: md5(token + subhook_key) (§1.6). */
export function subhookSignature(token: string, key: string): string {
  return createHash('md5').update(`${token}${key}`, 'utf8').digest('hex');
}

/**
 * The server side of §1.2, shared by the simulator and qunfa's SUBMAIL-compatible
 * routes: the refusal (code, message) for a request's signature fields, or
 * undefined when they hold for `appkey`.
 */
export function submailAuthRefusal(api: string, p: Record<string, string>, appid: string, appkey: string, nowSeconds: number): { code: string; msg: string } | undefined {
  if (!p.signature) return { code: '111', msg: 'Empty signature' };
  const signType = (p.sign_type ?? 'normal') as SubmailSignType;
  if (!['normal', 'md5', 'sha1'].includes(signType)) return { code: '107', msg: 'Invalid sign type' };
  if (signType !== 'normal') {
    const ts = Number(p.timestamp);
    if (!p.timestamp || !Number.isFinite(ts)) return { code: '151', msg: 'Invalid timestamp' };
    if (Math.abs(nowSeconds - ts) > 6) return { code: '152', msg: 'Timestamp expired' };
  }
  const excluded = p.sign_version === '2' ? (SUBMAIL_V2_EXCLUDED[api] ?? []) : [];
  const expected = submailSignature(p, appid, appkey, signType, excluded).toLowerCase();
  return safeEqual(p.signature.toLowerCase(), expected) ? undefined : { code: '108', msg: 'Invalid signature' };
}
