import { badRequest } from './errors.js';

/**
 * SMS content rules (reference/providers.md §4, DESIGN.md "SMS rules"):
 * a 【签名】 of 2–10 characters in front, every character counted as one
 * (signature and brackets included), ≤70 characters is one segment, longer
 * messages are billed at 67 characters per segment.
 */

export const MAX_CONTENT_LENGTH = 1000; // SUBMAIL's cap; the widest of our vendors
const SIGNATURE = /^【([^【】]{2,10})】/;

export interface ContentInfo {
  signature: string;
  length: number;
  segments: number;
}

/** Length in characters as carriers count them: code points, not UTF-16 units. */
export function smsLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

export function segmentsFor(length: number): number {
  if (length <= 70) return 1;
  return Math.ceil(length / 67);
}

export function inspectContent(content: string): ContentInfo {
  if (content.trim() === '') throw badRequest('CONTENT_REQUIRED', 'content is empty', 'content');
  const match = SIGNATURE.exec(content);
  if (!match) {
    throw badRequest(
      'SIGNATURE_REQUIRED',
      'content must start with a signature 【签名】 of 2–10 characters, e.g. 【示例】您的订单已发货',
      'content',
    );
  }
  if (content.slice(match[0].length).trim() === "") {
    throw badRequest('CONTENT_REQUIRED', 'content has a signature but no text after it', 'content');
  }
  const length = smsLength(content);
  if (length > MAX_CONTENT_LENGTH) {
    throw badRequest(
      'CONTENT_TOO_LONG',
      `content is ${length} characters; the limit is ${MAX_CONTENT_LENGTH} including the signature`,
      'content',
    );
  }
  return { signature: match[1] ?? '', length, segments: segmentsFor(length) };
}
