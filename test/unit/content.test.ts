import { describe, expect, it } from 'vitest';
import { inspectContent, segmentsFor, smsLength } from '../../lib/content.js';
import { QunfaError } from '../../lib/errors.js';

const withLength = (n: number) => '【示例】' + '字'.repeat(n - 4);

describe('segments (70/67 rule, signature counted)', () => {
  it.each([
    [1, 1], [70, 1], [71, 2], [134, 2], [135, 3], [160, 3], [210, 4], [1000, 15],
  ])('%i characters → %i segments', (n, want) => expect(segmentsFor(n)).toBe(want));

  it('counts the signature and its brackets', () => {
    expect(inspectContent(withLength(70))).toMatchObject({ length: 70, segments: 1 });
    expect(inspectContent(withLength(71))).toMatchObject({ length: 71, segments: 2 });
  });

  it('counts an emoji as one character, not two UTF-16 units', () => {
    expect(smsLength('【示例】😀')).toBe(5);
  });
});

describe('content validation', () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return (e as QunfaError).code;
    }
    return 'none';
  };
  it('accepts a 【签名】 of 2 to 10 characters', () => {
    expect(inspectContent('【示例】您的订单已发货').signature).toBe('示例');
    expect(inspectContent('【一二三四五六七八九十】正文').signature).toBe('一二三四五六七八九十');
  });
  it.each([
    ['', 'CONTENT_REQUIRED'],
    ['   ', 'CONTENT_REQUIRED'],
    ['您的订单已发货', 'SIGNATURE_REQUIRED'],
    ['【示】正文', 'SIGNATURE_REQUIRED'],
    ['【一二三四五六七八九十一】正文', 'SIGNATURE_REQUIRED'],
    ['正文【示例】', 'SIGNATURE_REQUIRED'],
    ['【示例】', 'CONTENT_REQUIRED'],
    [withLength(1001), 'CONTENT_TOO_LONG'],
  ])('%j → %s', (content, want) => expect(code(() => inspectContent(content))).toBe(want));

  it('1000 characters is still accepted', () => {
    expect(inspectContent(withLength(1000)).segments).toBe(15);
  });
});
