/**
 * Reads the server's numeric code from ClickHouse errors, so callers classify by code, never
 * by message text.
 * 18.16 answers `Code: 47, e.displayText() = DB::Exception: ...`, current versions
 * `Code: 47. DB::Exception: ... (UNKNOWN_IDENTIFIER)`; the client parses only the latter,
 * so the code is read from either form here.
 */

/** The server's error code carried by an error from @clickhouse/client, if any. */
export function clickHouseErrorCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
  const message = (err as { message?: unknown }).message;
  if (typeof message !== 'string') return undefined;
  const match = /^Code: (\d+)[.,]/.exec(message);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** The first line of the server's message, without the client's decorations. */
export function clickHouseErrorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const firstLine = message.split('\n')[0] ?? message;
  return firstLine.replace(/, e\.what\(\) = .*$/, '').trim();
}
