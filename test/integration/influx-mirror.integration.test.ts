// The InfluxDB mirror on the real stack: finished windows in InfluxDB equal ClickHouse's
// (late events rewrite their window, never double it; more windows than the buffer holds go
// in batches), and an InfluxDB stopped while sales flow (its buffer overflowing, late sales
// changing finished windows; restarted as soon as write failures and dropped points are seen)
// ends with every finished window of the period in place.
// The outage test stops only an influxd of its own, on a free port, from the stack's binary.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { influxConfig, influxdBinary } from '../../scripts/stack/influxdb.js';
import { createInfluxMirror } from '../../src/bridge/influx-mirror.js';
import type { Influx } from '../../src/clients/influx.js';
import { systemMetric, ticketSale } from '../fixtures/events.js';
import { config, createTestInflux, eventually, freePort } from './helpers.js';
import { createTestPipeline, type TestPipeline } from './pipeline.js';

let p: TestPipeline;
const silent = pino({ level: 'silent' });
/** The mirror of the test's database into `influx`, buffering two points. */
const mirrorInto = (influx: Influx, intervalMs: number, registry: Registry) =>
  createInfluxMirror({
    clickhouse: p.clickhouse,
    database: p.database,
    influx,
    logger: silent,
    intervalMs,
    bufferPoints: 2,
    registry,
  });

beforeAll(async () => {
  p = await createTestPipeline('influx', { env: { KAFKA_HEARTBEAT_MS: String(config.KAFKA_HEARTBEAT_MS) } });
}, 60_000);
afterAll(async () => {
  await p?.close();
});

const minutesAgo = (n: number) =>
  new Date(Math.floor(Date.now() / 60_000) * 60_000 - n * 60_000 + 5_000).toISOString();

async function sell(show: string, count: number, at?: string) {
  const events = Array.from({ length: count }, (_, i) =>
    ticketSale(at ? { timestamp: at } : {}, {
      event_id: show,
      category: i % 2 ? 'GA' : 'VIP',
      quantity: 1 + (i % 3),
      user_id: `u${i}`,
    }),
  );
  expect((await p.post(events)).status).toBe(202);
  return events.map((e) => e.id);
}

async function clickHouseTotals(show: string, finishedOnly = false) {
  const [row] = await p.query<{ tickets: number; revenue: number; windows: number }>(
    `SELECT toUInt64(sum(tickets)) AS tickets, toFloat64(sum(revenue)) AS revenue, toUInt64(count()) AS windows
     FROM ${p.database}.sales_per_minute WHERE event_id = '${show}'
     ${finishedOnly ? 'AND window_start < toStartOfMinute(now())' : ''}
     SETTINGS output_format_json_quote_64bit_integers = 0`,
  );
  return { tickets: Number(row!.tickets), revenue: Number(row!.revenue), windows: Number(row!.windows) };
}

async function influxTotals(influx: Influx, show: string) {
  const series = await influx
    .query(
      `SELECT sum("tickets"), sum("revenue"), count("tickets") FROM "sales_per_minute" WHERE "event_id" = '${show}'`,
    )
    .catch(() => []);
  const values = series[0]?.values[0] ?? [0, 0, 0, 0];
  return { tickets: Number(values[1]), revenue: Number(values[2]), windows: Number(values[3]) };
}

describe('InfluxDB mirror', () => {
  it('writes finished windows equal to ClickHouse, and rewrites a window a late sale changes', async () => {
    const influx = createTestInflux('tp_influx');
    onTestFinished(() => influx.drop());
    const registry = new Registry();
    // Two points buffered, fewer than the 5 windows: written in batches, none dropped.
    const mirror = mirrorInto(influx, 1000, registry);
    const ids = [...(await sell('show-m', 12, minutesAgo(3))), ...(await sell('show-m', 7, minutesAgo(2)))];
    const metric = systemMetric({ timestamp: minutesAgo(2) }, { name: 'api.latency_ms', value: 42 });
    expect((await p.post([metric])).status).toBe(202);
    await p.waitForSales(ids);
    await p.countAtLeast('system_metrics', 1);
    expect(await mirror.runOnce()).toBeGreaterThan(0);
    const want = await clickHouseTotals('show-m');
    expect(want.windows).toBe(4);
    expect(await influxTotals(influx, 'show-m')).toEqual(want);

    await p.waitForSales(await sell('show-m', 5, minutesAgo(3))); // late, into a written window
    await mirror.runOnce();
    const after = await clickHouseTotals('show-m');
    expect(after.tickets).toBeGreaterThan(want.tickets);
    expect(await influxTotals(influx, 'show-m')).toEqual(after);

    // A refund booked into a written window (as the refund booker writes it): the window is
    // named by refund_decisions and rewritten with its net fields.
    const refundAt = Math.floor(Date.parse(minutesAgo(3)) / 1000);
    await p.clickhouse.insert({
      table: `${p.database}.refund_decisions`,
      values: [
        {
          id: '00000000-0000-4000-8000-00000000f00d',
          event_id: 'show-m',
          category: 'VIP',
          order_id: 'o-refunded',
          user_id: 'u0',
          refunded_at: refundAt,
          timestamp_ms: refundAt * 1000,
          ingested_at: refundAt,
          quantity: 1,
          amount: 20.5,
          currency: 'EUR',
          channel: 'web',
          reason: 'customer_request',
          outcome: 'booked',
          anomaly: 'none',
          detail: '',
          decided_at: Math.floor(Date.now() / 1000),
          version: 2,
        },
      ],
      format: 'JSONEachRow',
    });
    await mirror.runOnce();
    const [net] = await p.query<{ net_tickets: number; net_revenue: number; tickets_refunded: number }>(
      `SELECT toInt64(sum(net_tickets)) AS net_tickets, toFloat64(sum(net_revenue)) AS net_revenue,
              toUInt64(sum(tickets_refunded)) AS tickets_refunded
       FROM ${p.database}.sales_per_minute WHERE event_id = 'show-m'
       SETTINGS output_format_json_quote_64bit_integers = 0`,
    );
    expect(Number(net!.tickets_refunded)).toBe(1);
    const [mirrored] = await influx.query(
      `SELECT sum("net_tickets"), sum("net_revenue"), sum("tickets_refunded") FROM "sales_per_minute" WHERE "event_id" = 'show-m'`,
    );
    expect(mirrored?.values[0]?.slice(1)).toEqual([Number(net!.net_tickets), Number(net!.net_revenue), 1]);

    const [metrics] = await influx.query(
      `SELECT "samples", "p99" FROM "metrics_per_minute" WHERE "name" = 'api.latency_ms'`,
    );
    expect(metrics?.values.map((v) => [v[1], v[2]])).toEqual([[1, 42]]);
    expect(await counter(registry, 'ticketpulse_influx_dropped_points_total')).toBe(0);

    // The Grafana dashboard's InfluxQL (deploy/grafana) runs on what the mirror wrote.
    const dashboard = JSON.parse(
      readFileSync(new URL('../../deploy/grafana/dashboards/ticketpulse.json', import.meta.url), 'utf8'),
    ) as { panels: { targets: { query: string }[] }[]; templating: { list: { query: string }[] } };
    const queries = [
      ...dashboard.templating.list.map((v) => v.query),
      ...dashboard.panels.flatMap((panel) => panel.targets.map((t) => t.query)),
    ].map((q) => q.replaceAll('$timeFilter', 'time >= now() - 1h').replaceAll('$show', 'show-m'));
    for (const q of queries) expect((await influx.query(q)).length, q).toBeGreaterThan(0);
  });

  it('catches up every finished window after InfluxDB was stopped while sales flowed', async () => {
    const port = await freePort();
    const home = mkdtempSync(join(tmpdir(), 'tp-influx-'));
    const conf = join(home, 'influxdb.conf');
    writeFileSync(conf, influxConfig(home, `127.0.0.1:${port}`, `127.0.0.1:${await freePort()}`));
    let influxd = await startInfluxd(conf, port);
    const influx = createTestInflux('tp_influx', `http://127.0.0.1:${port}`);
    const registry = new Registry();
    // The outage changes more windows than the two points buffered: some are dropped, re-read later.
    const mirror = mirrorInto(influx, 500, registry);
    let selling = true;
    let sold = 0;
    const traffic = (async () => {
      while (selling) {
        await sell('show-o', 3);
        sold += 1;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    })();
    try {
      // Before: a finished minute, mirrored (both categories).
      await p.waitForSales(await sell('show-o', 4, minutesAgo(2)));
      mirror.start();
      await eventually(
        () => influxTotals(influx, 'show-o'),
        (t) => t.windows >= 2,
        30_000,
        200,
      );

      influxd.kill('SIGTERM');
      await new Promise((resolve) => influxd.once('exit', resolve));
      // During: late sales change finished windows, one already in InfluxDB and new ones.
      await p.waitForSales([
        ...(await sell('show-o', 4, minutesAgo(2))),
        ...(await sell('show-o', 4, minutesAgo(3))),
        ...(await sell('show-o', 4, minutesAgo(1))),
      ]);
      const seen = await eventually(
        async () => ({
          failures: await counter(registry, 'ticketpulse_influx_write_failures_total'),
          dropped: await counter(registry, 'ticketpulse_influx_dropped_points_total'),
        }),
        (c) => c.failures > 0 && c.dropped > 0,
        25_000,
        200,
      );
      expect(seen.failures).toBeGreaterThan(0);
      expect(seen.dropped).toBeGreaterThan(0);
      // The outage ends as soon as its failures are seen: writes failed and points were dropped.
      influxd = await startInfluxd(conf, port);

      // After: sales go on until a few more requests went through, then stop.
      const soldAtRestart = sold;
      await eventually(
        async () => sold,
        (n) => n >= soldAtRestart + 3,
        30_000,
        100,
      );
      selling = false;
      await traffic;
      // Every window finished by now, in InfluxDB with ClickHouse's values.
      const result = await eventually(
        async () => ({
          want: await clickHouseTotals('show-o', true),
          got: await influxTotals(influx, 'show-o'),
        }),
        ({ want, got }) => want.windows > 0 && JSON.stringify(want) === JSON.stringify(got),
        60_000,
        500,
      );
      expect(result.got).toEqual(result.want);
      expect(result.want.windows).toBeGreaterThanOrEqual(6);
    } finally {
      selling = false;
      await traffic.catch(() => undefined);
      await mirror.close();
      influxd.kill('SIGKILL');
      rmSync(home, { recursive: true, force: true });
    }
  }, 240_000);
});

async function counter(registry: Registry, name: string): Promise<number> {
  const metric = await registry.getSingleMetric(name)!.get();
  return metric.values[0]?.value ?? 0;
}

async function startInfluxd(conf: string, port: number): Promise<ChildProcess> {
  const child = spawn(influxdBinary(), ['-config', conf], { stdio: 'ignore' });
  const up = await eventually(
    () =>
      fetch(`http://127.0.0.1:${port}/ping`)
        .then((r) => r.status === 204)
        .catch(() => false),
    (ok) => ok || child.exitCode !== null,
    30_000,
    100,
  );
  if (!up) throw new Error(`influxd exited (${child.exitCode}) before answering`);
  return child;
}
