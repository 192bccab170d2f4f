/**
 * Classifies Postgres errors by SQLSTATE (and Node's socket error codes), never by message
 * text, into what a caller can do about them.
 *
 * | class / code                              | meaning                              | outcome     |
 * | ----------------------------------------- | ------------------------------------ | ----------- |
 * | 08xxx                                     | connection exception                 | unavailable |
 * | 53xxx                                     | insufficient resources               | unavailable |
 * | 57P01 57P02 57P03                         | shutdown / cannot connect now        | unavailable |
 * | 40001 40P01                               | serialization failure / deadlock     | unavailable |
 * | ECONNREFUSED ECONNRESET ETIMEDOUT EPIPE    | no server / connection dropped       | unavailable |
 * | 23505                                     | unique violation                     | conflict    |
 * | 23503                                     | foreign key violation                | missing     |
 * | 23514 23502 22xxx                         | check / not null / data exception    | invalid     |
 * | anything else                             | a bug                                | undefined   |
 */
export type PostgresErrorKind = 'unavailable' | 'conflict' | 'missing' | 'invalid';

const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '40001', '40P01']);
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);

export function classifyPostgresError(err: unknown): PostgresErrorKind | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') {
    // pg reports a connection closed under a query without a code.
    const message = (err as { message?: unknown }).message;
    return typeof message === 'string' && /^Connection terminated/.test(message) ? 'unavailable' : undefined;
  }
  if (SOCKET_CODES.has(code) || UNAVAILABLE_CODES.has(code)) return 'unavailable';
  if (/^(08|53)/.test(code)) return 'unavailable';
  if (code === '23505') return 'conflict';
  if (code === '23503') return 'missing';
  if (code === '23514' || code === '23502' || code.startsWith('22')) return 'invalid';
  return undefined;
}
