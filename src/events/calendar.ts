/**
 * Whether the date part of an ISO 8601 / RFC 3339 text exists on the calendar. `Date.parse`
 * rolls 2026-02-30 over to 2 March instead of refusing it; events and shows must not.
 */
export function hasRealCalendarDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
