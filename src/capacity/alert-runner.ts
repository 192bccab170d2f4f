/**
 * Runs the capacity threshold transitions (src/capacity/transitions/*.sql): re-arms thresholds
 * a raised capacity put out of reach, and fires the armed ones that tickets sold reached, into
 * `capacity_threshold_events`, which `capacity_alerts` reads. See
 * migrations/clickhouse/0014_show_dimensions_capacity_pricing.sql for the states and why a
 * repeated or concurrent run writes nothing new.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { repeat } from '../lifecycle/repeat.js';
import { loadNamedQueries, renderNamedQuery, type NamedQuery } from '../sql/named-queries.js';

const TRANSITIONS_DIR = new URL('./transitions/', import.meta.url).pathname;

export interface CapacityAlertRunnerOptions {
  clickhouse: ClickHouseClient;
  /** Database holding migration 0014's tables and views. */
  database: string;
  /** Failed runs are logged here (warn) and retried on the next tick. */
  logger: Logger;
  /** Milliseconds between runs (suggested setting: CAPACITY_ALERTS_INTERVAL_MS, 250). */
  intervalMs: number;
}

/** What one run found waiting: thresholds to re-arm and thresholds that were reached. */
export interface CapacityRun {
  rearm: number;
  due: number;
}

/**
 * The capacity alert runner: `runOnce()` for one pass, `start()` to pass every `intervalMs`,
 * `close()` to stop (waits for a pass in progress).
 *
 * @example
 * const capacityAlerts = createCapacityAlertRunner({ clickhouse, database, logger, intervalMs: 250 });
 * capacityAlerts.start();
 * // ...
 * await capacityAlerts.close();
 */
export function createCapacityAlertRunner(options: CapacityAlertRunnerOptions) {
  const { clickhouse, database, logger } = options;
  const transitions = loadNamedQueries(TRANSITIONS_DIR);

  function transition(name: string): NamedQuery {
    const query = transitions.get(name);
    if (!query) throw new Error(`missing ${TRANSITIONS_DIR}${name}.sql`);
    return query;
  }
  const pending = transition('pending');
  const rearm = transition('rearm');
  const cross = transition('cross');

  /**
   * One pass: a read of capacity_thresholds (cost per show and category), then only the writes
   * it calls for. A threshold reached before its sales are all visible in ticket_sales waits for
   * a later pass.
   */
  async function runOnce(): Promise<CapacityRun> {
    const result = await clickhouse.query({
      query: renderNamedQuery(pending, database, {}),
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ due: number | string; rearm: number | string }>();
    const run = { rearm: Number(row?.rearm ?? 0), due: Number(row?.due ?? 0) };
    if (run.rearm > 0) await clickhouse.command({ query: renderNamedQuery(rearm, database, {}) });
    if (run.due > 0) await clickhouse.command({ query: renderNamedQuery(cross, database, {}) });
    return run;
  }

  return {
    runOnce,
    /** Runs every `intervalMs` until close(); a failed run is logged and retried next time. */
    ...repeat({
      run: runOnce,
      intervalMs: options.intervalMs,
      onError: (err) => logger.warn({ err }, 'capacity alert run failed; retrying'),
    }),
  };
}

export type CapacityAlertRunner = ReturnType<typeof createCapacityAlertRunner>;
