// The coalescing a slow /v1/live client gets: per subscription, one entry per row key (the
// latest upsert or delete wins), the latest cursor, and a byte count that a replacement does
// not grow, so that the bound closes a client for what it holds, not for how often it changed.
import { describe, expect, it } from 'vitest';
import { keyText, type Delta, type Row } from '../../src/push/feed-poller.js';
import { PendingDeltas } from '../../src/push/pending-deltas.js';

const KEY = ['event_id', 'category'];

function delta(upserts: Row[], deletes: Row[] = [], cursor = 'c'): Delta {
  const byKey = (rows: Row[]) => new Map(rows.map((r) => [keyText(KEY, r), r]));
  return { upserts: byKey(upserts), deletes: byKey(deletes), cursor, watermark: `w-${cursor}` };
}

const row = (category: string, sold: number): Row => ({ event_id: 'show-1', category, sold });

describe('pending deltas', () => {
  it('keeps the latest value per key and the latest cursor, per subscription', () => {
    const pending = new PendingDeltas(1024 * 1024);
    pending.add('s', KEY, delta([row('GA', 1), row('VIP', 1)], [], 'c1'));
    pending.add('s', KEY, delta([row('GA', 2)], [], 'c2'));
    pending.add('t', KEY, delta([row('GA', 7)], [], 't1'));
    pending.add('s', KEY, delta([row('GA', 3)], [], 'c3'));
    expect(pending.has('s')).toBe(true);
    expect(pending.take()).toEqual([
      ['s', { upserts: [row('GA', 3), row('VIP', 1)], deletes: [], cursor: 'c3', watermark: 'w-c3' }],
      ['t', { upserts: [row('GA', 7)], deletes: [], cursor: 't1', watermark: 'w-t1' }],
    ]);
    expect(pending.has('s')).toBe(false);
    expect(pending.bytes).toBe(0);
    expect(pending.take()).toEqual([]);
  });

  it('lets a delete replace an earlier upsert of the key, and an upsert a delete', () => {
    const pending = new PendingDeltas(1024 * 1024);
    pending.add('s', KEY, delta([row('GA', 1), row('VIP', 1)]));
    pending.add('s', KEY, delta([], [{ event_id: 'show-1', category: 'GA' }]));
    pending.add('s', KEY, delta([], [{ event_id: 'show-1', category: 'VIP' }]));
    pending.add('s', KEY, delta([row('VIP', 4)]));
    expect(pending.take()).toEqual([
      [
        's',
        {
          upserts: [row('VIP', 4)],
          deletes: [{ event_id: 'show-1', category: 'GA' }],
          cursor: 'c',
          watermark: 'w-c',
        },
      ],
    ]);
  });

  it('counts bytes by what waits: replacing a row of the same size adds nothing, dropping a sub frees its bytes', () => {
    const pending = new PendingDeltas(1024 * 1024);
    pending.add('s', KEY, delta([row('GA', 1)], [], 'c1'));
    const once = pending.bytes;
    expect(once).toBe(JSON.stringify(row('GA', 1)).length + 1 + 'c1'.length);
    for (let sold = 2; sold < 10; sold++) pending.add('s', KEY, delta([row('GA', sold)], [], `c${sold}`));
    expect(pending.bytes).toBe(once);
    pending.add('t', KEY, delta([row('GA', 1)], [], 't1'));
    expect(pending.bytes).toBe(2 * once);
    pending.drop('s');
    expect(pending.bytes).toBe(once);
    expect(pending.take().map(([sub]) => sub)).toEqual(['t']);
  });

  it('reports the bound passed only when what waits exceeds it', () => {
    const size = JSON.stringify(row('C0', 0)).length + 1;
    const pending = new PendingDeltas(3 * size + 1);
    expect(pending.add('s', KEY, delta([row('C0', 0)], [], 'x'))).toBe(true);
    expect(pending.add('s', KEY, delta([row('C1', 0)], [], 'x'))).toBe(true);
    expect(pending.add('s', KEY, delta([row('C1', 5)], [], 'x'))).toBe(true); // replaced: same size
    expect(pending.add('s', KEY, delta([row('C2', 0)], [], 'x'))).toBe(true); // 3 rows + cursor: at the bound
    expect(pending.add('s', KEY, delta([row('C3', 0)], [], 'x'))).toBe(false);
  });
});
