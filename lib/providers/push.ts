import { timingSafeEqual } from 'node:crypto';
import type { PushResult } from './types.js';

/** Reads a push body as the vendor sends it: form-urlencoded, multipart or JSON; values as strings. */
export function pushFields(contentType: string, body: string): Record<string, string> | undefined {
  try {
    if (contentType.includes('json')) {
      const parsed = JSON.parse(body) as unknown;
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
      return Object.fromEntries(
        Object.entries(parsed as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
      );
    }
    return Object.fromEntries(new URLSearchParams(body));
  } catch {
    return undefined;
  }
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export const refuse = (status: 400 | 401 | 403 | 404, code: string, message: string): PushResult => ({ ok: false, status, code, message });
