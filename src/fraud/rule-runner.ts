/**
 * Runs the fraud rules (src/fraud/rules/*.sql) over the sales ClickHouse ingested since each
 * rule's last run, and records how far it got in `fraud_rule_runs`. The rules are plain SQL
 * (INSERT ... SELECT into `fraud_alerts_log`); see migrations/clickhouse/0010_fraud_alerts.sql
 * for why they are not materialized views.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { loadNamedQueries, renderNamedQuery } from '../sql/named-queries.js';
import { dateTime, str } from '../sql/literals.js';
import { repeat } from '../lifecycle/repeat.js';

const RULES_DIR = new URL('./rules/', import.meta.url).pathname;

/**
 * On a cluster `ticket_sales_ids` and `sales_by_user` are Distributed tables, and the velocity and
 * unusual_location rules read one inside an IN or JOIN subquery of a query over another: 18.16
 * refuses that by default (Code 288, "Double-distributed IN/JOIN subqueries is denied"), and the
 * run stopped there, before its watermark moved. `global` runs each such subquery once, on the
 * server the runner talks to, over all shards, and sends its result to the shards: right whatever
 * key the shards are split by. One server has no Distributed table, and the setting changes
 * nothing there.
 */
const DISTRIBUTED_SUBQUERIES = { distributed_product_mode: 'global' } as const;

export interface FraudRuleRunnerOptions {
  clickhouse: ClickHouseClient;
  database: string;
  logger: Logger;
  /** Milliseconds between runs. */
  intervalMs: number;
  /**
   * When no newer sale shows that a second is complete, sales are evaluated once they were
   * ingested at least this long ago (a block ClickHouse is still writing is never half-seen).
   */
  lagMs: number;
}

export interface RuleRun {
  rule: string;
  from: Date;
  to: Date;
}

export function createFraudRuleRunner(options: FraudRuleRunnerOptions) {
  const { clickhouse, database, logger } = options;
  const rules = [...loadNamedQueries(RULES_DIR).values()];

  const watermarks = new Map<string, Date>();

  /** Where a rule's last run stopped: kept in memory after the first read of `fraud_rule_runs`. */
  async function watermark(rule: string): Promise<Date | undefined> {
    const known = watermarks.get(rule);
    if (known) return known;
    const result = await clickhouse.query({
      query: `SELECT toUInt32(max(evaluated_to)) AS to FROM ${database}.fraud_rule_runs WHERE rule = ${str(rule).text}`,
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ to: number | string }>();
    const seconds = Number(row?.to ?? 0);
    return seconds > 0 ? new Date(seconds * 1000) : undefined;
  }

  let lastSeen = '';

  /** The newest ingest second at or after `since`, and how many sales are there. */
  async function newestSince(since: Date): Promise<{ newest: number; count: number }> {
    const result = await clickhouse.query({
      query: `SELECT toUInt32(max(ingested_at)) AS newest, count() AS n FROM ${database}.ticket_sales_ids
              WHERE ingested_at >= ${dateTime(since).text}`,
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ newest: number | string; n: number | string }>();
    // Never past this process's clock: a row stamped in the future (a clock step on the server)
    // would otherwise move the watermark past seconds whose rows have not arrived yet.
    const newest = Math.min(Number(row?.newest ?? 0) * 1000, Math.floor(Date.now() / 1000) * 1000);
    return { newest, count: Number(row?.n ?? 0) };
  }

  /**
   * Evaluates every rule over the sales ingested since its watermark, and moves the watermark.
   *
   * With `until`, the window is [watermark, until) and the watermark moves to `until`: the
   * caller knows everything before it is in ClickHouse.
   *
   * Without it, the window reaches to the end of the newest second that holds a sale, and the
   * watermark only to the newest second known complete. `ticket_sales_ids` is written by one
   * Kafka table whose passes run one after another, each stamping its rows with the second it
   * ran (`ingested_at`), so every second before the newest visible one is complete; the newest
   * is complete once it is `lagMs` old. The newest second is therefore evaluated again while
   * rows may still join it, and each rule skips sales it already alerted on. An alert follows
   * its sale by well under a second plus one run, at any rate; with no new sale a run is one
   * index lookup. The first run of a rule starts one day back.
   */
  async function runOnce(until?: Date): Promise<RuleRun[]> {
    const firstFrom = new Date(Math.floor(Date.now() / 1000) * 1000 - 86_400_000);
    const froms = new Map<string, Date>();
    for (const rule of rules) froms.set(rule.name, (await watermark(rule.name)) ?? firstFrom);
    let to: Date;
    let next: Date;
    if (until) {
      to = next = new Date(Math.floor(until.getTime() / 1000) * 1000);
    } else {
      const earliest = new Date(Math.min(...[...froms.values()].map((d) => d.getTime())));
      const { newest, count } = await newestSince(earliest);
      if (count === 0) return [];
      to = new Date(newest + 1000);
      next = Date.now() - options.lagMs >= newest + 1000 ? to : new Date(newest);
      // Nothing new to evaluate, but the newest second may have become complete since: then the
      // watermark still moves past it (else it would stay on the last sale's second until the
      // next sale, and every quiet hour would read as a runner that fell behind).
      const seen = `${earliest.getTime()}/${newest}/${count}`;
      if (seen === lastSeen && next <= earliest) return [];
      lastSeen = seen;
    }
    const runs: RuleRun[] = [];
    for (const rule of rules) {
      const from = froms.get(rule.name)!;
      if (from >= to) continue;
      await clickhouse.command({
        query: renderNamedQuery(rule, database, { from_time: from, to_time: to }),
        clickhouse_settings: DISTRIBUTED_SUBQUERIES,
      });
      runs.push({ rule: rule.name, from, to });
    }
    const moved = runs.filter((r) => next > r.from);
    if (moved.length > 0) {
      await clickhouse.insert({
        table: `${database}.fraud_rule_runs`,
        values: moved.map((r) => ({
          rule: r.rule,
          evaluated_to: next.getTime() / 1000,
          ran_at: Math.floor(Date.now() / 1000),
        })),
        format: 'JSONEachRow',
      });
      for (const r of moved) watermarks.set(r.rule, next);
    }
    return runs;
  }

  return {
    rules: rules.map((r) => r.name),
    runOnce,
    /** Runs every `intervalMs` until close(); a failed run is logged and retried next time. */
    ...repeat({
      run: () => runOnce(),
      intervalMs: options.intervalMs,
      onError: (err) => logger.warn({ err }, 'fraud rule run failed; retrying'),
    }),
  };
}
