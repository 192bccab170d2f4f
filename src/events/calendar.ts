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

/**
 * A regex source for an RFC 3339 date-time with an offset in the years `from`..`to`, whose date
 * part admits only days on the calendar (29 February only in leap years). Published as the
 * `pattern` of the OpenAPI document, so it is plain: years and leap years are listed, and
 * `seconds: 'optional'` also admits `20:00+02:00`.
 */
export function instantPattern(from: number, to: number, seconds: 'required' | 'optional'): string {
  const years: number[] = [];
  for (let year = from; year <= to; year++) years.push(year);
  const leapYears = years.filter((y) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0);
  const day =
    `(?:${years.join('|')})-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|02-(?:0[1-9]|1\\d|2[0-8]))` +
    (leapYears.length > 0 ? `|(?:${leapYears.join('|')})-02-29` : '');
  const secs = ':[0-5]\\d(?:\\.\\d{1,9})?';
  const time = `(?:[01]\\d|2[0-3]):[0-5]\\d${seconds === 'required' ? secs : `(?:${secs})?`}`;
  return `^(?:${day})[Tt]${time}(?:[Zz]|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)$`;
}
