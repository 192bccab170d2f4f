// Writes to InfluxDB report every failure: the client's WriteApi sends each full batch (5,000
// lines) by itself and drops that send's error, so a write of 5,000 or 10,000 points to a
// stopped InfluxDB used to "succeed" and the mirror then cleared its buffer and moved its
// watermark past windows InfluxDB never got. Also: the mirror creates its database again when
// it disappears (InfluxDB reset) instead of failing every pass from then on.
import { Point } from '@influxdata/influxdb-client';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createInfluxMirror } from '../../src/bridge/influx-mirror.js';
import { createInflux } from '../../src/clients/influx.js';
import { ticketSale } from '../fixtures/events.js';
import { config, createTestInflux, eventually, freePort } from './helpers.js';
import { createTestPipeline, type TestPipeline } from './pipeline.js';

const points = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    new Point('write_check')
      .tag('k', String(i))
      .intField('v', i)
      .timestamp(1_700_000_000 + i),
  );

describe('InfluxDB writes', () => {
  it('reject when InfluxDB is not there, whatever the number of batches', async () => {
    const influx = createInflux({
      INFLUX_URL: `http://127.0.0.1:${await freePort()}`, // nothing listens there
      INFLUX_TOKEN: '',
      INFLUX_DATABASE: 'ticketpulse',
      INFLUX_RETENTION_POLICY: 'autogen',
    });
    for (const n of [1, 4_999, 5_000, 10_000, 12_345]) {
      await expect(influx.write(points(n)), `${n} points`).rejects.toThrow();
    }
  });

  it('write every batch when InfluxDB takes them', async () => {
    const influx = createTestInflux('tp_influx_write');
    onTestFinished(() => influx.drop());
    await influx.createDatabase();
    await influx.write(points(12_345));
    const [series] = await influx.query('SELECT count("v") FROM "write_check"');
    expect(series?.values[0]?.[1]).toBe(12_345);
  });
});

describe('InfluxDB mirror and a dropped database', () => {
  let p: TestPipeline;
  beforeAll(async () => {
    p = await createTestPipeline('influxw', {
      env: { KAFKA_HEARTBEAT_MS: String(config.KAFKA_HEARTBEAT_MS) },
    });
  }, 60_000);
  afterAll(async () => {
    await p?.close();
  });

  it('creates the database again and writes on', async () => {
    const influx = createTestInflux('tp_influx_reset');
    onTestFinished(() => influx.drop().catch(() => undefined));
    const registry = new Registry();
    const mirror = createInfluxMirror({
      clickhouse: p.clickhouse,
      database: p.database,
      influx,
      logger: pino({ level: 'silent' }),
      intervalMs: 1000,
      bufferPoints: 1000,
      registry,
    });
    const finished = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 120_000 + 5_000).toISOString();
    const sell = async (n: number) => {
      const events = Array.from({ length: n }, (_, i) =>
        ticketSale(
          { timestamp: finished },
          { event_id: 'show-r', category: 'GA', quantity: 1, user_id: `u${i}` },
        ),
      );
      expect((await p.post(events)).status).toBe(202);
      await p.waitForSales(events.map((e) => e.id));
    };
    const tickets = async () => {
      const series = await influx
        .query(`SELECT sum("tickets") FROM "sales_per_minute" WHERE "event_id" = 'show-r'`)
        .catch(() => []);
      return Number(series[0]?.values[0]?.[1] ?? 0);
    };

    await sell(3);
    await mirror.runOnce();
    expect(await tickets()).toBe(3);

    await influx.drop(); // as a reset of InfluxDB would
    await sell(2); // a late sale: its window is read again on the next pass
    try {
      mirror.start();
      expect(await eventually(tickets, (n) => n === 5, 30_000, 200)).toBe(5);
    } finally {
      await mirror.close();
    }
  });
});
