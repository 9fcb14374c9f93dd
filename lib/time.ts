/**
 * The vendors' `yyyy-MM-dd HH:mm:ss` fields are China time (UTC+8, no DST);
 * qunfa stores UTC ISO-8601 (DESIGN.md invariant 7).
 */
const CHINA_OFFSET_MS = 8 * 3600_000;

export function toChinaTime(date: Date): string {
  return new Date(date.getTime() + CHINA_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

/** Parses `yyyy-MM-dd HH:mm:ss` as China time; undefined when malformed. */
export function fromChinaTime(text: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const ms = Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s) - CHINA_OFFSET_MS;
  const date = new Date(ms);
  return toChinaTime(date) === text.trim() ? date : undefined;
}

/** The China calendar day (yyyy-MM-dd) of an instant: the day vendors' daily limits count. */
export const chinaDay = (date: Date): string => toChinaTime(date).slice(0, 10);
