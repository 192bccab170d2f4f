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

/**
 * ClickHouse errors a retry can fix: no connection, or the server refusing for load. Codes:
 * 159 TIMEOUT_EXCEEDED, 202 TOO_MANY_SIMULTANEOUS_QUERIES, 209 SOCKET_TIMEOUT,
 * 210 NETWORK_ERROR, 241 MEMORY_LIMIT_EXCEEDED.
 */
const RETRYABLE_CODES = new Set([159, 202, 209, 210, 241]);
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);

export function isClickHouseUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && SOCKET_CODES.has(code)) return true;
  if (err instanceof Error && /^Timeout error\.?$/.test(err.message)) return true;
  const serverCode = clickHouseErrorCode(err);
  return serverCode !== undefined && RETRYABLE_CODES.has(serverCode);
}
