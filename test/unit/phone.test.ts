import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAllocatedMobile, normalizePhone, parseRecipients, splitRecipientInput } from '../../lib/phone.js';

describe('normalizePhone', () => {
  it.each([
    ['13800138000', '13800138000'],
    ['+8613800138000', '13800138000'],
    ['+86 139-0013-9000', '13900139000'],
    ['008613800138000', '13800138000'],
    ['8613800138000', '13800138000'],
    [' 138 0013 8000 ', '13800138000'],
    ['(+86) 199-0000-1111', '19900001111'],
    ['16200000000', '16200000000'],
  ])('%s → %s', (raw, want) => expect(normalizePhone(raw)).toBe(want));

  it.each(['123', '', '12800138000', '1380013800', '138001380001', '+1 415 555 0100', '+85212345678', '861380013800', 'abc13800138000'])(
    'rejects %s',
    (raw) => expect(normalizePhone(raw)).toBeUndefined(),
  );
});

describe('parseRecipients', () => {
  it('counts invalid and duplicate entries and keeps first-seen order', () => {
    const r = parseRecipients(['13800138000', '+86 139-0013-9000', '123', '8613800138000', '', 'x']);
    expect(r.phones).toEqual(['13800138000', '13900139000']);
    expect(r.invalidCount).toBe(2);
    expect(r.invalidSamples).toEqual(['123', 'x']);
    expect(r.duplicateCount).toBe(1);
  });

  it('keeps at most 20 invalid samples', () => {
    const r = parseRecipients(Array.from({ length: 50 }, (_, i) => `bad${i}`));
    expect(r.invalidCount).toBe(50);
    expect(r.invalidSamples).toHaveLength(20);
  });

  it('splits a comma-separated string as SUBMAIL does', () => {
    expect(splitRecipientInput('13800138000,13900139000')).toEqual(['13800138000', '13900139000']);
    expect(splitRecipientInput([13800138000, '139'])).toEqual(['13800138000', '139']);
  });

  const mobile = fc
    .tuple(fc.constantFrom('13', '14', '15', '16', '17', '18', '19'), fc.stringMatching(/^\d{9}$/))
    .map(([a, b]) => a + b);
  const decorated = fc
    .tuple(mobile, fc.constantFrom('', '+86', '0086', '86', '+86 '), fc.boolean())
    .map(([m, prefix, dashed]) => prefix + (dashed ? `${m.slice(0, 3)}-${m.slice(3, 7)}-${m.slice(7)}` : m));

  it('property: every decorated mobile normalises to its 11 digits', () => {
    fc.assert(
      fc.property(mobile, fc.constantFrom('', '+86', '0086', '86', '+86 '), (m, prefix) => {
        expect(normalizePhone(prefix + m)).toBe(m);
      }),
    );
  });

  it('property: valid + invalid + duplicates account for every non-empty input, phones are unique', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(decorated, fc.string({ maxLength: 14 })), { maxLength: 300 }), (inputs) => {
        const r = parseRecipients(inputs);
        const nonEmpty = inputs.filter((s) => s.trim() !== '' || normalizePhone(s) !== undefined).length;
        expect(r.phones.length + r.invalidCount + r.duplicateCount).toBe(nonEmpty);
        expect(new Set(r.phones).size).toBe(r.phones.length);
        for (const p of r.phones) expect(p).toMatch(/^1[3-9]\d{9}$/);
      }),
    );
  });
});

describe('isAllocatedMobile (the simulators’ strict MIIT ranges)', () => {
  it.each(['13800138000', '14500000000', '16200000000', '17800000000', '19000000000', '19900000000'])('%s is allocated', (p) =>
    expect(isAllocatedMobile(p)).toBe(true));
  it.each(['14000000000', '15400000000', '16000000000', '17900000000', '19400000000'])('%s is not', (p) => expect(isAllocatedMobile(p)).toBe(false));
});
