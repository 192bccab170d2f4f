// The dedup horizon on the real stack, with 10-second slots: ids live in a ring of four Set
// tables; the horizon job empties the next slot's set near the end of each slot. A retry of an
// id accepted just before that is still counted once, through three slots; at the fourth its
// set is emptied (memory is bounded). Old partitions of the by-time tables are dropped.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDedupHorizon, DEDUP_SETS } from '../../src/dedup/horizon-rotation.js';
import { uuid } from '../../src/sql/literals.js';
import { ticketSale } from '../fixtures/events.js';
import { eventually } from './helpers.js';
import { createTestPipeline, type TestPipeline } from './pipeline.js';

// Long enough that a retry (post, consume, check) fits in a slot while the rest of the suite runs.
const SLOT_SECONDS = 10;

describe('dedup horizon', () => {
  let p: TestPipeline;
  let job: ReturnType<typeof createDedupHorizon>;
  beforeAll(async () => {
    p = await createTestPipeline('tp_horizon', { env: { DEDUP_SLOT_SECONDS: String(SLOT_SECONDS) } });
    job = createDedupHorizon({
      clickhouse: p.clickhouse,
      database: p.database,
      logger: pino({ level: 'silent' }),
      checkIntervalMs: 60_000,
      leadSeconds: 3,
      marginSeconds: 1,
    });
  });
  afterAll(() => p?.close());

  /** Which of the stream's sets hold this id. */
  async function setsHolding(id: string): Promise<number[]> {
    const columns = Array.from(
      { length: DEDUP_SETS },
      (_, i) => `${uuid(id).text} IN ${p.database}.ticket_sales_seen_${i} AS s${i}`,
    );
    const [row] = await p.query<Record<string, number>>(`SELECT ${columns.join(', ')}`);
    return Array.from({ length: DEDUP_SETS }, (_, i) => i).filter((i) => Number(row?.[`s${i}`]) === 1);
  }

  async function serverSlot(): Promise<number> {
    const [row] = await p.query<{ now: number }>(`SELECT toUInt32(now()) AS now`);
    return Math.floor(Number(row?.now) / SLOT_SECONDS);
  }

  async function postAndSettle(events: unknown[]): Promise<void> {
    const res = await p.post(events);
    expect(res.status).toBe(202);
    await p.waitConsumed('ticket_sale', 60_000);
  }

  it('a retry of an id accepted just before a rotation is still counted once, for three slots; then its set is emptied', async () => {
    const sale = ticketSale({}, { event_id: 'show-horizon' });
    await postAndSettle([sale]);
    await p.waitForSales([sale.id]);
    const held = await setsHolding(sale.id);
    expect(held).toHaveLength(1);
    const home = held[0]!;
    // The sale was ingested in this slot or the one before (its set is that slot's).
    const seenSlot = await serverSlot();

    let rotations = 0;
    let lastSlot = -1;
    for (;;) {
      // Wait for the job to empty the next slot's set (the last seconds of the current slot).
      const check = await eventually(
        () => job.checkOnce(),
        (c) => c.emptied.length > 0,
        3 * SLOT_SECONDS * 1000,
        250,
      );
      expect(check.emptied).toContain(`ticket_sales_seen_${(check.slot + 1) % DEDUP_SETS}`);
      rotations += 1;
      lastSlot = check.slot;
      if ((check.slot + 1) % DEDUP_SETS === home) break;
      expect(await setsHolding(sale.id)).toEqual([home]);

      // The client retries just after the rotation, beside a new sale.
      await eventually(serverSlot, (s) => s > check.slot, 3 * SLOT_SECONDS * 1000, 100);
      const fresh = ticketSale({}, { event_id: 'show-horizon' });
      await postAndSettle([sale, fresh]);
      await p.waitForSales([fresh.id]);
      expect(await p.count('ticket_sales', `id = ${uuid(sale.id).text}`)).toBe(1);
      expect(await p.count('ticket_sales', `event_id = 'show-horizon'`)).toBe(1 + rotations);
    }
    // Three slots remembered, emptied at the fourth: the slot whose next set is home is the
    // ingest slot + 3. (A job run that misses a lead window under load empties nothing in that
    // slot, so the number of rotations seen can be smaller; the slots cannot.)
    const ingestSlot = seenSlot % DEDUP_SETS === home ? seenSlot : seenSlot - 1;
    expect(lastSlot - ingestSlot).toBe(DEDUP_SETS - 1);
    expect(await setsHolding(sale.id)).toEqual([]);
  }, 180_000);

  it('drops partitions of ticket_sales_ids older than two days and keeps the recent ones', async () => {
    const recent = await p.count('ticket_sales_ids');
    expect(recent).toBeGreaterThan(0);
    await p.clickhouse.command({
      query: `INSERT INTO ${p.database}.ticket_sales_ids (id, ingested_at, event_id)
              SELECT generateUUIDv4(), now() - 5 * 86400, 'old' FROM system.numbers LIMIT 10`,
    });
    expect(await p.count('ticket_sales_ids', `event_id = 'old'`)).toBe(10);
    const check = await job.checkOnce();
    expect(check.droppedPartitions.some((d) => d.startsWith('ticket_sales_ids:'))).toBe(true);
    expect(await p.count('ticket_sales_ids', `event_id = 'old'`)).toBe(0);
    expect(await p.count('ticket_sales_ids')).toBe(recent);
  });
});
