import { createHash, createHmac } from 'node:crypto';

/**
 * SendCloud SMS request signature (reference/providers.md §2.2): every
 * parameter except `smsKey` and `signature`, sorted by key, joined raw as
 * k=v&k=v, wrapped as SMS_KEY&…&SMS_KEY and digested. Current SDKs use
 * SHA-256; the 2017 docs MD5.
 */
export type SendcloudDigest = 'sha256' | 'md5';

export function sendcloudSignature(params: Record<string, string>, smsKey: string, digest: SendcloudDigest = 'sha256'): string {
  const joined = Object.keys(params)
    .filter((k) => k !== 'smsKey' && k !== 'signature')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
  return createHash(digest).update(`${smsKey}&${joined}&${smsKey}`, 'utf8').digest('hex');
}

/** SMSHook push signature: hex(HMAC-SHA256(appKey, timestamp + token)) (§2.5). */
export function smshookSignature(appKey: string, timestamp: string, token: string): string {
  return createHmac('sha256', appKey).update(`${timestamp}${token}`, 'utf8').digest('hex');
}
