/**
 * The deltas a slow client has not been sent yet, coalesced per subscription by row key: a
 * later upsert or delete of a key replaces the earlier one, so what waits is at most one entry
 * per row plus the latest cursor. Its size is counted in bytes of JSON (rows as sent, deletes
 * by key text), so that a connection can be closed past a bound instead of holding memory
 * without limit (src/push/live-connection.ts).
 */
import { keyText, type Delta, type Row } from './feed-poller.js';

/** One subscription's waiting delta, as it will go out. */
export interface PendingDelta {
  upserts: Row[];
  deletes: Row[];
  cursor: string;
  watermark: string | null;
}

interface Pending {
  upserts: Map<string, Row>;
  deletes: Map<string, Row>;
  /** Bytes counted per key, so a replacement counts the difference. */
  sizes: Map<string, number>;
  bytes: number;
  cursor: string;
  watermark: string | null;
}

export class PendingDeltas {
  private readonly pending = new Map<string, Pending>();
  private total = 0;

  constructor(
    /** Bytes past which `add` reports the bound passed. */
    private readonly maxBytes: number,
  ) {}

  /** Bytes waiting over every subscription. */
  get bytes(): number {
    return this.total;
  }

  /** Whether this subscription has something waiting (its next delta must wait behind it). */
  has(sub: string): boolean {
    return this.pending.has(sub);
  }

  /**
   * Adds a delta of `sub` (a feed keyed by `key`); false when the waiting bytes have passed the
   * bound (the caller closes the connection).
   */
  add(sub: string, key: readonly string[], delta: Delta): boolean {
    let p = this.pending.get(sub);
    if (!p) {
      p = { upserts: new Map(), deletes: new Map(), sizes: new Map(), bytes: 0, cursor: '', watermark: null };
      this.pending.set(sub, p);
    }
    const entry = p;
    const resize = (rowKey: string, size: number) => {
      this.grow(entry, size - (entry.sizes.get(rowKey) ?? 0));
      entry.sizes.set(rowKey, size);
    };
    for (const [rowKey, row] of delta.upserts) {
      p.deletes.delete(rowKey);
      p.upserts.set(rowKey, row);
      resize(rowKey, JSON.stringify(row).length + 1);
    }
    for (const [rowKey, row] of delta.deletes) {
      p.upserts.delete(rowKey);
      p.deletes.set(rowKey, row);
      resize(rowKey, keyText(key, row).length + 1);
    }
    this.grow(p, delta.cursor.length - p.cursor.length);
    p.cursor = delta.cursor;
    p.watermark = delta.watermark;
    return this.total <= this.maxBytes;
  }

  /** Forgets what waits for `sub` (unsubscribed). */
  drop(sub: string): void {
    const p = this.pending.get(sub);
    if (!p) return;
    this.total -= p.bytes;
    this.pending.delete(sub);
  }

  /** Everything waiting, by subscription, and empties the buffer. */
  take(): [sub: string, delta: PendingDelta][] {
    const out = [...this.pending].map(([sub, p]): [string, PendingDelta] => [
      sub,
      {
        upserts: [...p.upserts.values()],
        deletes: [...p.deletes.values()],
        cursor: p.cursor,
        watermark: p.watermark,
      },
    ]);
    this.pending.clear();
    this.total = 0;
    return out;
  }

  private grow(p: Pending, bytes: number): void {
    p.bytes += bytes;
    this.total += bytes;
  }
}
