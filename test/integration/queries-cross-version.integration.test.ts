// Every queries/*.sql file, on fixture data, on the tested ClickHouse (18.16) and on a current
// ClickHouse engine (chdb, in-process via Python), with the same migrations (Kafka tables as
// Null tables). A query that fails on either, returns nothing, or answers differently fails.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../src/clients/clickhouse.js';
import { quarantineRow } from '../../src/events/kafka-event-sink.js';
import { isAccepted, validateEvent, type AcceptedEvent } from '../../src/events/validate-event.js';
import { createClickHouseMigrator, renderMigration } from '../../src/migrate/clickhouse-migrator.js';
import { readMigrationFiles } from '../../src/migrate/migration-files.js';
import { splitStatements } from '../../src/migrate/split-statements.js';
import { loadNamedQueries, renderNamedQuery } from '../../src/sql/named-queries.js';
import { analyticsFixture, minuteOf } from '../fixtures/analytics.js';
import { config, uniqueName } from './helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const queries = loadNamedQueries(`${ROOT}queries`);
const fraudRules = [...loadNamedQueries(`${ROOT}src/fraud/rules`).values()];

/** Numbers (quoted or not, any trailing zeros) compare as numbers; everything else as is. */
function normalise(value: unknown): unknown {
  if (typeof value === 'number') return Math.round(value * 1e6) / 1e6;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) return normalise(Number(value));
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  }
  return value;
}

function comparable(rows: Record<string, unknown>[], volatile: string[]) {
  return rows.map((row) =>
    normalise(Object.fromEntries(Object.entries(row).filter(([k]) => !volatile.includes(k)))),
  );
}

describe('queries/ on ClickHouse 18.16 and on current ClickHouse (chdb)', () => {
  const client = createClickHouse(config);
  const database = uniqueName('tp_queries');
  const base = minuteOf(Date.now() - 20 * 60_000);
  const fixture = analyticsFixture(base);
  const params = {
    show_id: 'show-a',
    from_time: new Date(base - 60_000),
    to_time: new Date(base + 5 * 60_000),
    limit: 10,
  };
  const inserts: { table: string; rows: Record<string, unknown>[] }[] = [];
  const local: Record<string, Record<string, unknown>[]> = {};
  let current: {
    version: string;
    results: Record<string, { rows?: Record<string, unknown>[]; error?: string }>;
  };

  beforeAll(async () => {
    // The rows the API would put on each topic, fed straight into the queue (Null) tables.
    const accepted = fixture.envelopes.map((e) => validateEvent(e, base + 120_000));
    const bad = accepted.find((r) => !isAccepted(r));
    if (bad) throw new Error(`fixture event rejected: ${JSON.stringify(bad)}`);
    const rowsOf = (type: string) =>
      (accepted as AcceptedEvent[]).filter((r) => r.eventType === type).map((r) => r.row);
    const sales = rowsOf('ticket_sale');
    inserts.push(
      { table: 'ticket_sales_queue', rows: sales.slice(0, 20) },
      { table: 'ticket_sales_queue', rows: sales.slice(10) }, // overlapping: 10 duplicates
      { table: 'user_interactions_queue', rows: rowsOf('user_interaction') },
      { table: 'system_metrics_queue', rows: rowsOf('system_metric') },
      {
        table: 'rejected_events_queue',
        rows: fixture.malformed.map((record, index) => {
          const result = validateEvent(record, base + 120_000);
          if (isAccepted(result)) throw new Error('malformed fixture accepted');
          return quarantineRow({
            index,
            id: result.id,
            eventType: 'ticket_sale',
            raw: JSON.stringify(record),
            errors: result.errors,
            receivedAtMs: base + 120_000,
            source: 'fixture',
          });
        }),
      },
    );

    // 1. The tested server.
    const results = await createClickHouseMigrator({
      client,
      dir: `${ROOT}migrations/clickhouse`,
      database,
      cluster: '',
      kafkaBrokers: 'unused:9092',
      topicPrefix: '',
      kafkaEngine: 'null',
    }).migrate();
    const failed = results.find((r) => r.status === 'failed');
    if (failed) throw new Error(`18.16: ${failed.file} failed: ${JSON.stringify(failed.error)}`);
    for (const { table, rows } of inserts) {
      await client.insert({ table: `${database}.${table}`, values: rows, format: 'JSONEachRow' });
    }
    const ruleWindow = { from_time: new Date(0), to_time: new Date(Date.now() + 3_600_000) };
    for (const rule of fraudRules)
      await client.command({ query: renderNamedQuery(rule, database, ruleWindow) });
    for (const query of queries.values()) {
      const result = await client.query({
        query: renderNamedQuery(query, database, params),
        format: 'JSONEachRow',
      });
      local[query.name] = await result.json();
    }

    // 2. A current engine, same files rendered for it.
    const statements = [`CREATE DATABASE ${database}`];
    for (const file of readMigrationFiles(`${ROOT}migrations/clickhouse`)) {
      const sql = renderMigration(file.sql, {
        database,
        cluster: '',
        kafkaBrokers: 'unused:9092',
        topicPrefix: '',
        kafkaEngine: 'null',
        cascadeMode: 'through_target',
      });
      statements.push(...splitStatements(sql));
    }
    for (const { table, rows } of inserts) {
      statements.push(
        `INSERT INTO ${database}.${table} FORMAT JSONEachRow\n${rows.map((r) => JSON.stringify(r)).join('\n')}`,
      );
    }
    statements.push(...fraudRules.map((rule) => renderNamedQuery(rule, database, ruleWindow)));
    const job = {
      statements,
      queries: Object.fromEntries(
        [...queries.values()].map((q) => [q.name, renderNamedQuery(q, database, params)]),
      ),
    };
    const run = spawnSync('python3', [`${ROOT}test/chdb/run.py`], {
      input: JSON.stringify(job),
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    if (run.status !== 0) throw new Error(`chdb runner failed: ${run.stderr}`);
    current = JSON.parse(run.stdout);
    if ('failed_statement' in current) throw new Error(`chdb ${current.version}: ${JSON.stringify(current)}`);
  }, 180_000);

  afterAll(async () => {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await client.close();
  });

  it('has at least eight documented queries', () => {
    expect(queries.size).toBeGreaterThanOrEqual(8);
    for (const q of queries.values()) {
      expect(q.purpose.length, q.name).toBeGreaterThan(20);
      expect(q.columns.length, q.name).toBeGreaterThan(0);
    }
  });

  it.each([...queries.keys()])('%s gives the same non-empty answer on both engines', (name) => {
    const query = queries.get(name)!;
    const mine = local[name]!;
    const theirs = current.results[name]!;
    expect(theirs.error, `chdb ${current.version}`).toBeUndefined();
    expect(mine.length, 'rows on 18.16').toBeGreaterThan(0);
    expect(Object.keys(mine[0]!)).toEqual(query.columns);
    expect(comparable(theirs.rows!, query.volatile)).toEqual(comparable(mine, query.volatile));
  });
});
