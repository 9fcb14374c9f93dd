/**
 * Mainland China mobile numbers: normalisation, validation and de-duplication.
 * Providers document bare 11-digit numbers, so that is the only form qunfa
 * stores and sends (reference/providers.md §5).
 */

// Loose form on purpose: the MIIT allocation table grows, any-rule's strict
// patterns already missed 162/190/192/193/195-197, and a vendor rejecting an
// unallocated prefix is reported per recipient anyway.
const MAINLAND_MOBILE = /^1[3-9]\d{9}$/;
const SEPARATORS = /[\s\-()（）]/g;

/** Returns the 11-digit form, or undefined when the input is not a mainland mobile. */
export function normalizePhone(raw: string): string | undefined {
  let s = raw.replace(SEPARATORS, '');
  if (s.startsWith('+86')) s = s.slice(3);
  else if (s.startsWith('0086')) s = s.slice(4);
  else if (s.length === 13 && s.startsWith('861')) s = s.slice(2);
  return MAINLAND_MOBILE.test(s) ? s : undefined;
}

export interface RecipientList {
  /** Valid, unique, normalised numbers in first-seen order. */
  phones: string[];
  invalidCount: number;
  /** Up to `sampleLimit` invalid inputs exactly as given, so the caller can find them. */
  invalidSamples: string[];
  /** Valid entries dropped because an equal number came earlier. */
  duplicateCount: number;
}

export function parseRecipients(inputs: readonly string[], sampleLimit = 20): RecipientList {
  const seen = new Set<string>();
  const phones: string[] = [];
  const invalidSamples: string[] = [];
  let invalidCount = 0;
  let duplicateCount = 0;
  for (const raw of inputs) {
    const phone = normalizePhone(raw);
    if (phone === undefined) {
      // An empty slot from "a,,b" is not a recipient someone meant to type.
      if (raw.trim() === '') continue;
      invalidCount++;
      if (invalidSamples.length < sampleLimit) invalidSamples.push(raw);
    } else if (seen.has(phone)) {
      duplicateCount++;
    } else {
      seen.add(phone);
      phones.push(phone);
    }
  }
  return { phones, invalidCount, invalidSamples, duplicateCount };
}

/** `to` may be an array of numbers/strings or one comma-separated string (SUBMAIL's form). */
export function splitRecipientInput(to: string | readonly (string | number)[]): string[] {
  if (typeof to === 'string') return to.split(/[,，;；\n]/);
  return to.map((x) => String(x));
}

/**
 * The MIIT allocation as of 2023-03 (reference/providers.md §5). Vendors know
 * their ranges; the simulators use this to refuse numbers qunfa's loose check lets through.
 */
const ALLOCATED_MOBILE = /^1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])\d{8}$/;
export const isAllocatedMobile = (phone: string): boolean => ALLOCATED_MOBILE.test(phone);
