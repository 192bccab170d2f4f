/**
 * Postgres → ClickHouse dimensions (the dim_* tables of migration 0014). Every change a trigger
 * announces on the change feed is re-read from Postgres and written to ClickHouse as a new
 * version of the row (or a `deleted` row), so ClickHouse converges to Postgres whatever the
 * order of notifications. A full resync runs at start and after the feed reconnects, because
 * notifications sent while it was down are lost; it also marks rows deleted that Postgres no
 * longer has.
 *
 * `version` is Postgres's updated_at in microseconds (a trigger sets it from clock_timestamp on
 * every update); a deletion gets Postgres's clock at the time it was seen.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { EntityChange, PgChanges } from '../clients/pg-changes.js';
import type { Db } from '../db/schema.js';
import { DIMENSIONS, type Dimension } from './dimensions.js';

export interface DimensionSyncOptions {
  db: Db;
  changes: PgChanges;
  clickhouse: ClickHouseClient;
  database: string;
  logger: Logger;
  /** Rows per INSERT during a full resync. */
  batchRows?: number;
}

export interface DimensionSync {
  /** Runs a full resync, then follows changes. */
  start(): Promise<void>;
  /** Copies every row of every dimension and marks vanished keys deleted. */
  resync(): Promise<void>;
  /** Resolves when every change received so far is in ClickHouse (for tests and shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export function createDimensionSync(options: DimensionSyncOptions): DimensionSync {
  const { db, changes, clickhouse, database, logger } = options;
  const batchRows = options.batchRows ?? 10_000;
  const byTable = new Map(DIMENSIONS.map((d) => [d.pgTable, d]));
  // One chain: changes are applied in the order they arrived, and a resync never interleaves.
  let chain: Promise<void> = Promise.resolve();
  let closed = false;

  function enqueue(what: string, work: () => Promise<void>): Promise<void> {
    chain = chain.then(work).catch(function onSyncError(err: unknown) {
      logger.error({ err, what }, 'dimension sync failed; a full resync follows');
      scheduleRetry();
    });
    return chain;
  }

  let retryTimer: NodeJS.Timeout | undefined;
  function scheduleRetry(): void {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void enqueue('resync', resyncAll);
    }, 1000);
  }

  async function insert(dimension: Dimension, lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    await clickhouse.command({
      query: `INSERT INTO ${database}.${dimension.chTable} FORMAT JSONEachRow\n${lines.join('\n')}`,
    });
  }

  /** Postgres's clock in microseconds: a deletion's version, on the same clock as updated_at. */
  async function postgresNowMicros(): Promise<number> {
    const query = sql<{
      now: string;
    }>`SELECT (extract(epoch from clock_timestamp()) * 1000000)::bigint AS now`;
    return Number((await query.execute(db)).rows[0]!.now);
  }

  async function applyChange(change: EntityChange): Promise<void> {
    const dimension = byTable.get(change.table);
    if (!dimension) return;
    const rows = await dimension.read(db, change.key);
    if (rows.length > 0) return insert(dimension, rows.map(dimension.line));
    await insert(dimension, [dimension.deletedLine(change.key, await postgresNowMicros())]);
  }

  async function resyncAll(): Promise<void> {
    const started = Date.now();
    const counts: Record<string, number> = {};
    for (const dimension of DIMENSIONS) {
      const rows = await dimension.read(db, undefined);
      for (let i = 0; i < rows.length; i += batchRows) {
        await insert(dimension, rows.slice(i, i + batchRows).map(dimension.line));
      }
      const present = new Set(rows.map(dimension.keyOf));
      const result = await clickhouse.query({
        query: `SELECT ${dimension.chKey.join(', ')} FROM ${database}.${dimension.chTable}
                GROUP BY ${dimension.chKey.join(', ')} HAVING argMax(deleted, version) = 0`,
        format: 'JSONEachRow',
      });
      const inClickHouse = await result.json<Record<string, string>>();
      const vanished = inClickHouse.filter(
        (k) => !present.has(dimension.chKey.map((c) => k[c]).join('\u0000')),
      );
      if (vanished.length > 0) {
        const now = await postgresNowMicros();
        await insert(
          dimension,
          vanished.map((k) => dimension.deletedLine(dimension.pgKey(k), now)),
        );
      }
      counts[dimension.chTable] = rows.length;
    }
    logger.info({ counts, ms: Date.now() - started }, 'dimensions resynced from Postgres');
  }

  const stopChanges = changes.onChange(function onEntityChange(change) {
    if (byTable.has(change.table)) void enqueue(`${change.table} change`, () => applyChange(change));
  });
  const stopResync = changes.onResync(function onFeedBack() {
    void enqueue('resync', resyncAll);
  });

  return {
    async start() {
      await enqueue('resync', resyncAll);
    },
    resync() {
      return enqueue('resync', resyncAll);
    },
    idle() {
      return chain;
    },
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      stopChanges();
      stopResync();
      await chain;
    },
  };
}
