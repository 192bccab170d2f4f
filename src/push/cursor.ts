/**
 * The resume cursor of a live subscription: opaque to clients, derived from data so that any
 * push process can resume any client after a restart.
 *
 * - `w`: a watermark in epoch seconds. For a `changes` feed, ClickHouse's clock at the poll that
 *   last saw a change; for a `query` feed, the newest value of its watermark column.
 * - `s`: short hashes of the rows the client already holds whose watermark is within the
 *   overlap of `w`, so a resume can re-read that overlap without sending any of them twice.
 * - `d`: for a `refresh` feed, a digest of the whole table (resumable only if nothing changed).
 * - `f`: a hash of the feed and its params, so a cursor is only used where it was issued.
 */
import { createHash } from 'node:crypto';

export interface Cursor {
  v: 1;
  f: string;
  w?: number;
  s?: string[];
  d?: string;
}

export function shortHash(text: string, length = 12): string {
  return createHash('sha1').update(text).digest('base64url').slice(0, length);
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

/** The cursor, or undefined when it is not one of ours. */
export function decodeCursor(text: string): Cursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const c = value as Partial<Cursor>;
    if (c.v !== 1 || typeof c.f !== 'string') return undefined;
    if (c.w !== undefined && typeof c.w !== 'number') return undefined;
    if (c.s !== undefined && !(Array.isArray(c.s) && c.s.every((h) => typeof h === 'string')))
      return undefined;
    if (c.d !== undefined && typeof c.d !== 'string') return undefined;
    return c as Cursor;
  } catch {
    return undefined;
  }
}
