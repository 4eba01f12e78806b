// Expiry days are calendar days in UTC, as the API counts them: a token is
// valid until 23:59:59 UTC on its expiry day, which must lie between
// tomorrow and the account's max_expiry_days from today (365 is one year to
// the day).

/** A day written YYYY-MM-DD. */
export type Day = string;

function fmt(d: Date): Day {
  return d.toISOString().slice(0, 10);
}

function parse(day: Day): Date {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d));
}

export function today(now: Date = new Date()): Day {
  return fmt(now);
}

export function addDays(day: Day, n: number): Day {
  const d = parse(day);
  d.setUTCDate(d.getUTCDate() + n);
  return fmt(d);
}

/** addYears overflows Feb 29 into Mar 1, as Go's AddDate does. */
export function addYears(day: Day, n: number): Day {
  const [y, m, d] = day.split('-').map(Number);
  return fmt(new Date(Date.UTC(y + n, m - 1, d)));
}

export interface Bounds {
  min: Day;
  max: Day;
}

/** The most days ahead any policy allows: one year to the day. */
export const MAX_EXPIRY_DAYS = 365;

/** The day n days after t, where 365 or more means one year to the day, as the API counts it. */
export function daysAhead(t: Day, n: number): Day {
  return n >= MAX_EXPIRY_DAYS ? addYears(t, 1) : addDays(t, n);
}

/** The days an expiry may take, from tomorrow to maxDays ahead (UTC). */
export function expiryBounds(maxDays: number = MAX_EXPIRY_DAYS, now: Date = new Date()): Bounds {
  const t = today(now);
  return { min: addDays(t, 1), max: daysAhead(t, maxDays) };
}

/** "30 days", "1 day", "1 year". */
export function daysLabel(n: number): string {
  if (n >= MAX_EXPIRY_DAYS) return '1 year';
  return n === 1 ? '1 day' : `${n} days`;
}

export function validDay(s: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(s) && fmt(parse(s)) === s;
}

export function inBounds(day: Day, b: Bounds): boolean {
  return validDay(day) && day >= b.min && day <= b.max;
}

/** "2026-03-10 15:04 UTC" from an RFC 3339 time. */
export function instant(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The expiry day of an expires_at (always 23:59:59 UTC). */
export function expiryDay(iso: string | null): string {
  return iso ? iso.slice(0, 10) : 'Never';
}
