import { describe, expect, it } from 'vitest';
import { fromChinaTime, toChinaTime } from '../../lib/time.js';

describe('China time (UTC+8)', () => {
  it('formats UTC as the vendors do', () => {
    expect(toChinaTime(new Date('2019-07-23T09:00:00Z'))).toBe('2019-07-23 17:00:00');
    expect(toChinaTime(new Date('2024-12-31T16:30:05Z'))).toBe('2025-01-01 00:30:05');
  });
  it('parses vendor times back to UTC and rejects malformed ones', () => {
    expect(fromChinaTime('2019-07-23 17:00:00')?.toISOString()).toBe('2019-07-23T09:00:00.000Z');
    expect(fromChinaTime('2019-02-30 17:00:00')).toBeUndefined();
    expect(fromChinaTime('2019-07-23T17:00:00')).toBeUndefined();
  });
});
