import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { createClickHouse } from '../../src/clients/clickhouse.js';
import { createKafka } from '../../src/clients/kafka.js';
import { createPostgresPool } from '../../src/clients/postgres.js';
import { createInflux } from '../../src/clients/influx.js';
import { clickHouseProbe, kafkaProbe, postgresProbe, type Probe } from '../../src/health/probes.js';
import { schemaProbe } from '../../src/health/schema-probe.js';
import { runTsx } from '../../scripts/service-process.js';
import { config, createTestDatabase, uniqueName } from './helpers.js';
import { removeClickHouseAndTopics } from '../harness/service-harness.js';

interface Health {
  status: string;
  dependencies: Record<string, { status: string; latency_ms: number; need: string; error?: string }>;
}

/** GET /healthz of an app with only these probes: the status code and the parsed body. */
async function healthz(probes: Probe[], healthTimeoutMs: number) {
  const app = createApp({ logger: pino({ level: 'silent' }), healthTimeoutMs, probes });
  const res = await app.request('/healthz');
  return { code: res.status, body: (await res.json()) as Health };
}

describe('GET /healthz', () => {
  const clickhouse = createClickHouse(config);
  const pool = createPostgresPool(config, 1);
  const kafka = createKafka(config, { retries: 0 });
  afterAll(async () => {
    await clickhouse.close();
    await pool.end();
  });

  it('reports every dependency up with its latency', async () => {
    const { code, body } = await healthz(
      [kafkaProbe(kafka, 'k'), clickHouseProbe(clickhouse, 'c'), postgresProbe(pool, 'p')],
      5000,
    );
    expect(code).toBe(200);
    expect(body.status).toBe('ok');
    expect(Object.keys(body.dependencies).sort()).toEqual(['clickhouse', 'kafka', 'postgres']);
    for (const dep of Object.values(body.dependencies)) {
      expect(dep.status).toBe('up');
      expect(dep.latency_ms).toBeGreaterThanOrEqual(0);
    }
  });

  it('is degraded, and still 200, when only an optional dependency (InfluxDB) is down', async () => {
    const influx = createInflux({ ...config, INFLUX_URL: 'http://127.0.0.1:1' });
    const { code, body } = await healthz([clickHouseProbe(clickhouse, 'c'), influx.probe], 2000);
    expect(code).toBe(200);
    expect(body.status).toBe('degraded');
    expect(body.dependencies.influxdb).toMatchObject({ status: 'down', need: 'optional' });
  });

  it('reports the schema: up when every migration is applied, down (503) naming what is pending', async () => {
    const migrated = createTestDatabase('tp_health');
    const database = uniqueName('health');
    const scratch = await migrated;
    try {
      const env = {
        ...process.env,
        DATABASE_URL: scratch.url,
        CLICKHOUSE_DATABASE: database,
        KAFKA_TOPIC_PREFIX: `${database}.`,
      };
      const scratchPool = createPostgresPool({ DATABASE_URL: scratch.url }, 1);
      const app = createApp({
        logger: pino({ level: 'silent' }),
        healthTimeoutMs: 5000,
        probes: [schemaProbe({ pool: scratchPool, clickhouse, database })],
      });
      const before = await app.request('/healthz');
      expect(before.status).toBe(503);
      const down = (await before.json()) as { status: string; dependencies: { schema: { error: string } } };
      expect(down.status).toBe('down');
      expect(down.dependencies.schema.error).toMatch(
        /^postgres: \d+ of \d+ migrations pending\b.*clickhouse \(.+\): \d+ of \d+ migrations pending.*: run npm run migrate$/,
      );
      runTsx('src/migrate/cli.ts', [], env);
      const after = await app.request('/healthz');
      expect(after.status).toBe(200);
      expect(((await after.json()) as { status: string }).status).toBe('ok');
      await scratchPool.end();
    } finally {
      const admin = kafka.admin();
      await removeClickHouseAndTopics({ clickhouse, admin, database, topicPrefix: `${database}.` });
      await admin.disconnect();
      await scratch.drop();
    }
  }, 120_000);

  it('answers 503 naming the required dependency that is down', async () => {
    const unreachable = createPostgresPool({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' }, 1);
    const { code, body } = await healthz(
      [clickHouseProbe(clickhouse, 'c'), postgresProbe(unreachable, '127.0.0.1:1')],
      2000,
    );
    await unreachable.end();
    expect(code).toBe(503);
    expect(body.status).toBe('down');
    expect(body.dependencies.clickhouse?.status).toBe('up');
    expect(body.dependencies.postgres).toMatchObject({
      status: 'down',
      error: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('answers unknown routes with a JSON 404', async () => {
    const app = createApp({ logger: pino({ level: 'silent' }), healthTimeoutMs: 100, probes: [] });
    const res = await app.request('/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'no route for GET /nope' } });
  });
});
