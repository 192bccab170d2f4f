/** What decides `npm run stack -- up|status`'s exit status. */

/**
 * The services asked for that do not answer; all of them when none was named. `up kafka
 * clickhouse postgres` (npm run demo's first step) must not fail because InfluxDB, started
 * after it and on a fresh machine still to be built, is down.
 */
export function downAmong(
  results: readonly { name: string; status: 'up' | 'down' }[],
  asked: readonly string[],
): string[] {
  return results
    .filter((r) => r.status === 'down' && (asked.length === 0 || asked.includes(r.name)))
    .map((r) => r.name);
}
