// Every queries/*.sql file and the views of migrations 0014 and 0016 (after the capacity alert runner's
// SQL), on fixture data, on the tested ClickHouse (18.16) and on a current ClickHouse engine
// (chdb, in-process via Python), with the same migrations (Kafka tables as Null tables). A query
// that fails on either, returns nothing, or answers differently fails.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../src/clients/clickhouse.js';
import { quarantineRow } from '../../src/events/event-sink.js';
import type { EventType } from '../../src/events/envelope.js';
import { COLUMNS } from '../../src/events/registry.js';
import { batchText } from '../../src/events/topic-messages.js';
import { isAccepted, validateEvent, type AcceptedEvent } from '../../src/events/validate-event.js';
import {
  createClickHouseMigrator,
  FIXTURE_FED,
  renderMigration,
} from '../../src/migrate/clickhouse-migrator.js';
import { throwOnFailure } from '../../src/migrate/results.js';
import { readMigrationFiles } from '../../src/migrate/migration-files.js';
import { splitStatements } from '../../src/migrate/split-statements.js';
import { loadNamedQueries, renderNamedQuery, type NamedQuery } from '../../src/sql/named-queries.js';
import { analyticsFixture, clickhouseTime, minuteOf } from '../fixtures/analytics.js';
import { ticketSale } from '../fixtures/events.js';
import { config, uniqueName } from './helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/** A batch message as the API would put it on the topic: one row of column arrays. */
const batchOf = (type: EventType, events: AcceptedEvent[]): Record<string, unknown> =>
  JSON.parse(batchText(COLUMNS[type], events)) as Record<string, unknown>;
const queries = loadNamedQueries(`${ROOT}queries`);
const fraudRules = [...loadNamedQueries(`${ROOT}src/fraud/rules`).values()];
const capacity = loadNamedQueries(`${ROOT}src/capacity/transitions`);
const capacityRun = [capacity.get('rearm')!, capacity.get('cross')!];

interface DimRows {
  table: string;
  rows: Record<string, unknown>[];
}

/**
 * The views of migration 0014, read as analysts would. Columns that depend on when they were
 * computed are left out or rounded; DateTime zero prints differently on the two versions, so
 * `starts_at` is compared as a number.
 */
const VIEWS: Record<string, string> = {
  shows: 'SELECT * FROM {database}.shows ORDER BY show_id',
  ticket_categories: 'SELECT * FROM {database}.ticket_categories ORDER BY show_id, category',
  fraud_rule_overrides: 'SELECT * FROM {database}.fraud_rule_overrides ORDER BY organizer_id, rule',
  pricing_rules: 'SELECT * FROM {database}.pricing_rules ORDER BY organizer_id',
  sales_totals: `SELECT event_id, category, sum(tickets) AS tickets, sum(orders) AS orders
    FROM {database}.sales_totals GROUP BY event_id, category ORDER BY event_id, category`,
  capacity_status: 'SELECT * FROM {database}.capacity_status ORDER BY event_id, category',
  sales_per_minute: 'SELECT * FROM {database}.sales_per_minute ORDER BY event_id, window_start, category',
  refund_decisions_latest: `SELECT id, event_id, category, refunded_at, outcome, anomaly, detail, quantity, amount
    FROM {database}.refund_decisions_latest ORDER BY id`,
  refunds: 'SELECT * FROM {database}.refunds ORDER BY id',
  refund_anomalies: 'SELECT * FROM {database}.refund_anomalies ORDER BY id',
  capacity_thresholds: `SELECT event_id, category, threshold, capacity, sold, required, generation, crossed
    FROM {database}.capacity_thresholds ORDER BY event_id, category, threshold`,
  capacity_alerts: `SELECT event_id, category, threshold, crossed_at, capacity, sold
    FROM {database}.capacity_alerts ORDER BY event_id, category, threshold, crossed_at`,
  pricing_signals: `SELECT event_id, category, capacity, sold, remaining, sold_15m, sell_through_15m,
      projected_sellout_at IS NULL AS no_projection, toUInt32(starts_at) AS starts_at,
      round(hours_before_show / 24) AS days_before_show, multiplier, reason
    FROM {database}.pricing_signals ORDER BY event_id, category`,
};

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
    organizer_id: 'org-1',
    from_time: new Date(base - 60_000),
    to_time: new Date(base + 5 * 60_000),
    limit: 10,
  };
  const inserts: { table: string; rows: Record<string, unknown>[] }[] = [];
  const local: Record<string, Record<string, unknown>[]> = {};
  const localViews: Record<string, Record<string, unknown>[]> = {};
  // Dimension rows as the bridge writes them; the second category row of show-a raises its capacity.
  const version = 1_700_000_000_000_000;
  const dims: DimRows[] = [
    {
      table: 'dim_shows',
      rows: [
        ['show-a', 'org-1', 2],
        ['show-b', 'org-2', 0],
        ['show-gone', 'org-1', 5],
        ['show-hot', 'org-3', 30],
      ].map(([show_id, organizer_id, days], i) => ({
        show_id,
        organizer_id,
        name: `Show ${show_id}`,
        venue: 'Arena',
        country: 'DE',
        timezone: 'Europe/Berlin',
        starts_at: Math.floor(base / 1000) + Number(days) * 86_400 + 3600,
        status: 'on_sale',
        version: version + i,
        deleted: 0,
      })),
    },
    {
      table: 'dim_shows',
      rows: [
        {
          show_id: 'show-gone',
          organizer_id: 'org-1',
          name: '',
          venue: '',
          country: 'DE',
          timezone: '',
          starts_at: 0,
          status: '',
          version: version + 9,
          deleted: 1,
        },
      ],
    },
    {
      table: 'dim_ticket_categories',
      rows: [
        ['show-a', 'GA', 10],
        ['show-a', 'VIP', 1000],
        ['show-b', 'VIP', 100],
        ['show-d', 'GA', 50],
        ['show-hot', 'GA', 100],
      ].map(([show_id, category, capacity], i) => ({
        show_id,
        category,
        capacity,
        price: 49.9,
        currency: 'EUR',
        version: version + i,
        deleted: 0,
      })),
    },
    {
      table: 'dim_fraud_rule_overrides',
      rows: [
        {
          organizer_id: 'org-1',
          rule: 'velocity',
          threshold: 3,
          window_seconds: 30,
          enabled: 1,
          version,
          deleted: 0,
        },
        {
          organizer_id: 'org-1',
          rule: 'velocity',
          threshold: null,
          window_seconds: 30,
          enabled: 1,
          version: version + 1,
          deleted: 0,
        },
        {
          organizer_id: 'org-2',
          rule: 'large_amount',
          threshold: 500,
          window_seconds: null,
          enabled: 0,
          version,
          deleted: 0,
        },
      ],
    },
    {
      table: 'dim_pricing_rules',
      rows: [
        {
          organizer_id: 'org-2',
          hot_sell_through: 0.2,
          early_sellout_hours: 12,
          surge_factor: 0.5,
          max_multiplier: 2,
          version,
          deleted: 0,
        },
      ],
    },
  ];
  const raise: DimRows = {
    table: 'dim_ticket_categories',
    rows: [
      {
        show_id: 'show-a',
        category: 'GA',
        capacity: 12,
        price: 49.9,
        currency: 'EUR',
        version: version + 10,
        deleted: 0,
      },
    ],
  };
  // A burst on show-hot: 40 % of its capacity in the last three minutes, for pricing_signals.
  const burst: DimRows = {
    table: 'ticket_sales_queue',
    rows: [
      batchOf(
        'ticket_sale',
        Array.from({ length: 10 }, (_, i) => {
          const sale = ticketSale(
            { timestamp: new Date(Date.now() - (180 - i * 18) * 1000).toISOString() },
            { event_id: 'show-hot', category: 'GA', quantity: 4, user_id: `hot-${i}` },
          );
          const result = validateEvent(sale, Date.now());
          if (!isAccepted(result)) throw new Error('burst sale rejected');
          return result;
        }),
      ),
    ],
  };
  // Refund decisions as the refund booker writes them: on show-a, one booked outright, one pending
  // and then booked (the later version counts), and one anomaly, which counts nowhere. In a
  // category without capacity, so that the capacity steps below keep their figures.
  const refundAt = Math.floor((base + 90_000) / 1000);
  const decision = (
    id: string,
    outcome: string,
    anomaly: string,
    v: number,
    quantity: number,
    amount: number,
  ) => ({
    id,
    event_id: 'show-a',
    category: 'BOX',
    order_id: `order-${id.slice(0, 4)}`,
    user_id: 'u-refund',
    refunded_at: refundAt,
    timestamp_ms: refundAt * 1000,
    ingested_at: refundAt,
    quantity,
    amount,
    currency: 'EUR',
    channel: 'web',
    reason: 'customer_request',
    outcome,
    anomaly,
    detail: '',
    decided_at: refundAt,
    version: v,
  });
  const refundDecisions: DimRows = {
    table: 'refund_decisions',
    rows: [
      decision('0000aaaa-0000-4000-8000-000000000001', 'booked', 'none', 2, 1, 50.25),
      decision('0000bbbb-0000-4000-8000-000000000002', 'pending', 'order_not_seen', 1, 2, 99.5),
      decision('0000bbbb-0000-4000-8000-000000000002', 'booked', 'none', 2, 2, 99.5),
      decision('0000cccc-0000-4000-8000-000000000003', 'anomaly', 'more_tickets_than_remain', 2, 7, 10),
    ],
  };
  const capacitySteps: (DimRows | NamedQuery)[] = [
    burst,
    ...dims,
    refundDecisions,
    ...capacityRun,
    raise,
    ...capacityRun,
  ];
  let current: {
    version: string;
    results: Record<string, { rows?: Record<string, unknown>[]; error?: string }>;
  };

  beforeAll(async () => {
    // The messages the API would put on each topic, fed straight into the queue (Null) tables.
    const accepted = fixture.envelopes.map((e) => validateEvent(e, base + 120_000));
    const bad = accepted.find((r) => !isAccepted(r));
    if (bad) throw new Error(`fixture event rejected: ${JSON.stringify(bad)}`);
    const eventsOf = (type: EventType) => (accepted as AcceptedEvent[]).filter((r) => r.eventType === type);
    const sales = eventsOf('ticket_sale');
    inserts.push(
      { table: 'ticket_sales_queue', rows: [batchOf('ticket_sale', sales.slice(0, 20))] },
      { table: 'ticket_sales_queue', rows: [batchOf('ticket_sale', sales.slice(10))] }, // overlapping: 10 duplicates
      { table: 'user_interactions_queue', rows: [batchOf('user_interaction', eventsOf('user_interaction'))] },
      { table: 'system_metrics_queue', rows: [batchOf('system_metric', eventsOf('system_metric'))] },
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
    const dir = `${ROOT}migrations/clickhouse`;
    throwOnFailure(
      await createClickHouseMigrator({ client, dir, database, ...FIXTURE_FED }).migrate(),
      '18.16:',
    );
    for (const { table, rows } of inserts) {
      await client.insert({ table: `${database}.${table}`, values: rows, format: 'JSONEachRow' });
    }
    const ruleWindow = { from_time: new Date(0), to_time: new Date(Date.now() + 3_600_000) };
    for (const rule of fraudRules)
      await client.command({ query: renderNamedQuery(rule, database, ruleWindow) });
    // Capacity: alerts fire, then a raised capacity re-arms what it puts out of reach.
    for (const step of capacitySteps) {
      if ('body' in step) await client.command({ query: renderNamedQuery(step, database, {}) });
      else
        await client.insert({ table: `${database}.${step.table}`, values: step.rows, format: 'JSONEachRow' });
    }
    for (const [name, sql] of Object.entries(VIEWS)) {
      const result = await client.query({
        query: sql.replaceAll('{database}', database),
        format: 'JSONEachRow',
      });
      localViews[name] = await result.json();
    }
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
      const sql = renderMigration(file.sql, { database, ...FIXTURE_FED, cascadeMode: 'through_target' });
      statements.push(...splitStatements(sql));
    }
    for (const { table, rows } of inserts) {
      statements.push(
        `INSERT INTO ${database}.${table} FORMAT JSONEachRow\n${rows.map((r) => JSON.stringify(r)).join('\n')}`,
      );
    }
    statements.push(...fraudRules.map((rule) => renderNamedQuery(rule, database, ruleWindow)));
    for (const step of capacitySteps) {
      statements.push(
        'body' in step
          ? renderNamedQuery(step, database, {})
          : `INSERT INTO ${database}.${step.table} FORMAT JSONEachRow\n${step.rows.map((r) => JSON.stringify(r)).join('\n')}`,
      );
    }
    const job = {
      statements,
      queries: {
        ...Object.fromEntries(
          [...queries.values()].map((q) => [q.name, renderNamedQuery(q, database, params)]),
        ),
        ...Object.fromEntries(
          Object.entries(VIEWS).map(([name, sql]) => [
            `view:${name}`,
            sql.replaceAll('{database}', database),
          ]),
        ),
      },
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

  it.each(Object.keys(VIEWS))('view %s gives the same non-empty answer on both engines', (name) => {
    const mine = localViews[name]!;
    const theirs = current.results[`view:${name}`]!;
    expect(theirs.error, `chdb ${current.version}`).toBeUndefined();
    expect(mine.length, 'rows on 18.16').toBeGreaterThan(0);
    expect(comparable(theirs.rows!, [])).toEqual(comparable(mine, []));
  });

  it('dimension views give the latest version of each key and hide deleted keys', () => {
    expect(localViews.shows!.map((r) => r.show_id)).toEqual(['show-a', 'show-b', 'show-hot']);
    expect(
      localViews.fraud_rule_overrides!.map((r) => [r.organizer_id, r.rule, r.threshold, r.window_seconds]),
    ).toEqual([
      ['org-1', 'velocity', null, 30],
      ['org-2', 'large_amount', 500, null],
    ]);
    expect(
      localViews.capacity_status!.map((r) => [
        r.event_id,
        r.category,
        r.capacity,
        Number(r.sold),
        Number(r.remaining),
        r.percent_sold,
      ]),
    ).toEqual([
      ['show-a', 'GA', 12, 10, 2, (10 * 100) / 12],
      ['show-a', 'VIP', 1000, 4, 996, 0.4],
      ['show-b', 'VIP', 100, 84, 16, 84],
      ['show-d', 'GA', 50, 0, 50, 0],
      ['show-hot', 'GA', 100, 40, 60, 40],
    ]);
    const hot = localViews.pricing_signals!.find((r) => r.event_id === 'show-hot');
    expect(hot).toMatchObject({ sold_15m: '40', sell_through_15m: 0.4, multiplier: 1.4 });
    expect(hot!.reason).toMatch(
      /^sold 40 % in 15 min; at this pace sells out (29|30) days before the show; suggest ×1\.4$/,
    );
  });

  it('capacity alerts fire once per threshold, and a raised capacity re-arms only what it puts out of reach', () => {
    // show-a GA sells 1, 1, 2, then six single tickets: 8 of 10 at the fourth of those, 10 at the last.
    const at = (ms: number) => clickhouseTime(ms);
    expect(comparable(localViews.capacity_alerts!, [])).toEqual(
      comparable(
        [
          {
            event_id: 'show-a',
            category: 'GA',
            threshold: 80,
            crossed_at: at(base + 93_000),
            capacity: 10,
            sold: 8,
          },
          {
            event_id: 'show-a',
            category: 'GA',
            threshold: 95,
            crossed_at: at(base + 95_000),
            capacity: 10,
            sold: 10,
          },
          {
            event_id: 'show-a',
            category: 'GA',
            threshold: 100,
            crossed_at: at(base + 95_000),
            capacity: 10,
            sold: 10,
          },
          {
            event_id: 'show-b',
            category: 'VIP',
            threshold: 80,
            crossed_at: at(base + 62_000),
            capacity: 100,
            sold: 81,
          },
        ],
        [],
      ),
    );
    const showA = localViews.capacity_thresholds!.filter(
      (r) => r.event_id === 'show-a' && r.category === 'GA',
    );
    expect(showA.map((r) => [r.threshold, Number(r.generation), Number(r.crossed)])).toEqual([
      [80, 0, 1],
      [95, 1, 0],
      [100, 1, 0],
    ]);
  });
});
