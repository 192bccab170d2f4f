/**
 * Runs the fraud rules (src/fraud/rules/*.sql) over the sales ClickHouse ingested since each
 * rule's last run, and records how far it got in `fraud_rule_runs`. The rules are plain SQL
 * (INSERT ... SELECT into `fraud_alerts_log`); see migrations/clickhouse/0010_fraud_alerts.sql
 * for why they are not materialized views.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { loadNamedQueries, renderNamedQuery } from '../sql/named-queries.js';
import { str } from '../sql/literals.js';

const RULES_DIR = new URL('./rules/', import.meta.url).pathname;

export interface FraudRuleRunnerOptions {
  clickhouse: ClickHouseClient;
  database: string;
  logger: Logger;
  /** Milliseconds between runs. */
  intervalMs: number;
  /** Only sales ingested at least this long ago are evaluated. */
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
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let closed = false;

  async function watermark(rule: string): Promise<Date | undefined> {
    const result = await clickhouse.query({
      query: `SELECT toUInt32(max(evaluated_to)) AS to FROM ${database}.fraud_rule_runs WHERE rule = ${str(rule).text}`,
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ to: number | string }>();
    const seconds = Number(row?.to ?? 0);
    return seconds > 0 ? new Date(seconds * 1000) : undefined;
  }

  /**
   * Evaluates every rule over the sales ingested in [its watermark, until), where `until`
   * defaults to now minus the lag. The first run of a rule starts one day back.
   */
  async function runOnce(until = new Date(Date.now() - options.lagMs)): Promise<RuleRun[]> {
    const to = new Date(Math.floor(until.getTime() / 1000) * 1000);
    const runs: RuleRun[] = [];
    for (const rule of rules) {
      const from = (await watermark(rule.name)) ?? new Date(to.getTime() - 86_400_000);
      if (from >= to) continue;
      await clickhouse.command({ query: renderNamedQuery(rule, database, { from_time: from, to_time: to }) });
      await clickhouse.insert({
        table: `${database}.fraud_rule_runs`,
        values: [
          { rule: rule.name, evaluated_to: to.getTime() / 1000, ran_at: Math.floor(Date.now() / 1000) },
        ],
        format: 'JSONEachRow',
      });
      runs.push({ rule: rule.name, from, to });
    }
    return runs;
  }

  return {
    rules: rules.map((r) => r.name),
    runOnce,
    /** Runs every `intervalMs` until close(); a failed run is logged and retried next time. */
    start() {
      const tick = async function fraudRulesTick() {
        running = runOnce().catch((err: unknown) => logger.warn({ err }, 'fraud rule run failed; retrying'));
        await running;
        if (!closed) timer = setTimeout(tick, options.intervalMs);
      };
      timer = setTimeout(tick, options.intervalMs);
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
}
