/**
 * Keeps the dedup horizon bounded (migrations/clickhouse/0011_constant_cost_dedup.sql): near
 * the end of each slot, empties the Set that the next slot will fill, which holds the ids of
 * four slots ago; and drops daily partitions of the tables that only need recent rows. On a
 * cluster it does both on every server (src/dedup/horizon-placement.ts), since each server
 * dedups its shard's stream with sets of its own.
 * Nothing is lost when this job is late or down: a set that was not emptied keeps its old ids
 * as well, and dedup stays exact; only memory grows until the next run.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { str } from '../sql/literals.js';
import { repeat } from '../lifecycle/repeat.js';
import { horizonPlacement } from './horizon-placement.js';
import { DEDUP_SETS, DEDUP_STREAMS, readSlotSeconds } from './set-ring.js';

export { DEDUP_SETS, DEDUP_STREAMS };

/**
 * Tables whose daily partitions are dropped once older than `keepDays`.
 * `ticket_sales_ids`: the fraud rules read only sales ingested since their last run (a day
 * back at most, on a first run). `sales_by_user`: the history the rules look back on (a day).
 */
export const RETAINED_TABLES = [
  { table: 'ticket_sales_ids', keepDays: 2 },
  { table: 'sales_by_user', keepDays: 2 },
] as const;

export interface DedupHorizonOptions {
  clickhouse: ClickHouseClient;
  /** The analysts' database (CLICKHOUSE_DATABASE). */
  database: string;
  /**
   * The cluster in remote_servers (CLICKHOUSE_CLUSTER); empty or absent on one server. With a
   * cluster the job works on `<database>_shard` of every server, ON CLUSTER `serversCluster`.
   */
  cluster?: string;
  /** Every server as a shard of its own (CLICKHOUSE_SERVERS_CLUSTER); needed with `cluster`. */
  serversCluster?: string;
  logger: Logger;
  /** How often to check; must be well under the lead below. */
  checkIntervalMs: number;
  /**
   * How long before a slot ends the next slot's set may be emptied (default: a quarter slot,
   * at most 10 minutes). An id is remembered at least 3 slots minus this.
   */
  leadSeconds?: number;
  /** No set is emptied this close to the slot's end (default: half the lead, at most 60 s). */
  marginSeconds?: number;
}

export interface HorizonCheck {
  /** The slot the server's clock is in. */
  slot: number;
  /** Sets emptied by this check (`<stream>_seen_<k>`). */
  emptied: string[];
  /** Partitions dropped by this check (`<table>:<partition id>`). */
  droppedPartitions: string[];
}

export function createDedupHorizon(options: DedupHorizonOptions) {
  const { clickhouse, logger } = options;
  const placement = horizonPlacement(options.database, options.cluster ?? '', options.serversCluster ?? '');
  const { database, settings } = placement;
  let slotSeconds: number | undefined;
  let emptiedFor = -1;

  async function rows<T>(query: string): Promise<T[]> {
    return (
      await clickhouse.query({ query, format: 'JSONEachRow', clickhouse_settings: settings })
    ).json<T>();
  }

  async function run(query: string): Promise<void> {
    await clickhouse.command({ query, clickhouse_settings: settings });
  }

  /** The slot length the dedup views were created with (read once), and the server's clock. */
  async function clock(): Promise<{ slotSeconds: number; now: number }> {
    slotSeconds ??= await readSlotSeconds(clickhouse, database);
    const [row] = await rows<{ now: number }>(`SELECT toUInt32(now()) AS now`);
    return { slotSeconds, now: Number(row?.now) };
  }

  /**
   * Drops whole daily partitions older than each table's `keepDays` (partition ids are
   * YYYYMMDD), on every server that holds the table.
   */
  async function dropOldPartitions(): Promise<string[]> {
    const dropped: string[] = [];
    for (const { table, keepDays } of RETAINED_TABLES) {
      const old = await rows<{ partition_id: string }>(
        `SELECT DISTINCT partition_id FROM ${placement.parts}
         WHERE database = ${str(database).text} AND table = ${str(table).text} AND active
           AND length(partition_id) = 8 AND partition_id < toString(toYYYYMMDD(today() - ${keepDays}))
         ORDER BY partition_id`,
      );
      for (const { partition_id } of old) {
        await run(placement.dropPartition(table, partition_id));
        dropped.push(`${table}:${partition_id}`);
      }
    }
    return dropped;
  }

  /** Empties the next slot's sets when the clock is inside the lead window, then drops old partitions. */
  async function checkOnce(): Promise<HorizonCheck> {
    const { slotSeconds: s, now } = await clock();
    const lead = options.leadSeconds ?? Math.min(600, Math.floor(s / 4));
    const margin = options.marginSeconds ?? Math.min(60, Math.floor(lead / 2));
    const slot = Math.floor(now / s);
    const end = (slot + 1) * s;
    const emptied: string[] = [];
    if (now >= end - lead && now < end - margin && emptiedFor !== slot + 1) {
      const next = (slot + 1) % DEDUP_SETS;
      if (placement.everyServerAnswers) await rows(placement.everyServerAnswers);
      for (const stream of DEDUP_STREAMS) {
        await run(placement.truncate(`${stream}_seen_${next}`));
        emptied.push(`${stream}_seen_${next}`);
      }
      emptiedFor = slot + 1;
      logger.info({ emptied, slot, on: placement.where }, 'dedup sets of the next slot emptied');
    }
    const droppedPartitions = await dropOldPartitions();
    if (droppedPartitions.length > 0)
      logger.info({ droppedPartitions, on: placement.where }, 'old partitions dropped');
    return { slot, emptied, droppedPartitions };
  }

  return {
    checkOnce,
    /** Checks now, then every `checkIntervalMs` until close(); a failed check is logged and retried. */
    ...repeat({
      run: checkOnce,
      intervalMs: options.checkIntervalMs,
      firstDelayMs: 0,
      onError: (err) => logger.warn({ err, on: placement.where }, 'dedup horizon check failed; retrying'),
    }),
  };
}
