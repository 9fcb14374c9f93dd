import { timingSafeEqual } from 'node:crypto';

/** Compares secrets in constant time, so a wrong key's answer time says nothing about the right one. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
