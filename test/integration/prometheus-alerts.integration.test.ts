// The alert rules against a real Prometheus: Debian's `prometheus` scrapes the real service (a
// child process with its own database, topics and InfluxDB database) every 5 s and evaluates
// deploy/prometheus/alerts.yml every 5 s, as the server of issue 17 did. Over a healthy period
// (sales and interactions, a 3-minute pause in traffic, traffic again) no alert may be pending
// or firing at any time, and every rule must have been evaluated without error on series the
// service really exports, so a broken or vacuous rule cannot pass. About 5 minutes: the pause is
// the scenario itself.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceProcess } from '../../scripts/service-process.js';
import { createClickHouse } from '../../src/clients/clickhouse.js';
import { createKafka } from '../../src/clients/kafka.js';
import { createTraffic } from '../faults/traffic.js';
import { config, createTestDatabase, createTestInflux, uniqueName } from './helpers.js';
import { startPrometheus, type ActiveAlert, type Prometheus } from './prometheus.js';
import { removeClickHouseAndTopics } from '../harness/service-harness.js';
import { migratedServiceChild } from '../harness/service-child.js';

const INGEST_KEY = 'prometheus-ingest-key-0001';
const TRAFFIC_MS = 45_000;
const PAUSE_MS = 180_000;
const RESUMED_MS = 30_000;

describe('alerts.yml on a real Prometheus scraping the service', () => {
  const database = uniqueName('tp_prom');
  const topicPrefix = `${database}.`;
  const influx = createTestInflux('tp_prom');
  let pgDatabase: { url: string; drop: () => Promise<void> } | undefined;
  let service: ServiceProcess | undefined;
  let prometheus: Prometheus | undefined;

  beforeAll(async () => {
    pgDatabase = await createTestDatabase('tp_prom');
    ({ service } = await migratedServiceChild({
      database,
      databaseUrl: pgDatabase.url,
      env: {
        INFLUX_URL: config.INFLUX_URL,
        INFLUX_DATABASE: influx.database,
        INGEST_API_KEYS: `prometheus:${INGEST_KEY}`,
        LOG_LEVEL: 'warn',
      },
      logFile: join(mkdtempSync(join(tmpdir(), 'ticketpulse-prom-')), 'service.log'),
    }));
    await service.start();
    prometheus = await startPrometheus({ target: new URL(service.baseUrl).host, intervalSeconds: 5 });
    await prometheus.scraping();
  }, 180_000);

  afterAll(async () => {
    await prometheus?.stop();
    await service?.stop();
    const clickhouse = createClickHouse(config);
    const admin = createKafka(config, { retries: 1 }).admin();
    await removeClickHouseAndTopics({ clickhouse, admin, database, topicPrefix }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await clickhouse.close();
    await influx.drop().catch(() => undefined);
    await pgDatabase?.drop().catch(() => undefined);
  }, 120_000);

  it('has no alert pending or firing over traffic, a 3-minute pause and traffic again', async () => {
    const prom = prometheus!;
    const started = Date.now();
    const active: (ActiveAlert & { phase: string })[] = [];
    /** Polls the active alerts every second until `ms` have passed: the phase's real duration. */
    async function watch(phase: string, ms: number): Promise<void> {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        for (const alert of await prom.alerts()) active.push({ ...alert, phase });
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
    const traffic = (seed: number) =>
      createTraffic({
        baseUrl: () => service!.baseUrl,
        apiKey: INGEST_KEY,
        show: `prom-${seed}`,
        seed,
        batchesPerSecond: 2,
        batchSize: 5,
        workers: 1,
      });

    const first = traffic(1);
    first.start();
    await watch('traffic', TRAFFIC_MS);
    const before = await first.stop();
    await watch('pause', PAUSE_MS);
    const again = traffic(2);
    again.start();
    await watch('traffic again', RESUMED_MS);
    const after = await again.stop();
    await watch('after', 10_000);

    const rules = await prom.rules();
    const table = rules.map((r) => ({
      alert: r.name,
      health: r.health,
      lastEvaluation: r.lastEvaluation,
      state: r.state,
    }));
    console.log(
      `prometheus: ${rules.length} alerts checked over ${((Date.now() - started) / 1000).toFixed(0)} s ` +
        `(${before.sales.size + after.sales.size} sales, ${before.interactions.size + after.interactions.size} interactions, ` +
        `a ${PAUSE_MS / 1000} s pause), ${active.length} polls saw an alert pending or firing:\n` +
        table
          .map((r) => `  ${r.alert}: health ${r.health}, last evaluated ${r.lastEvaluation}, ${r.state}`)
          .join('\n'),
    );

    // The traffic reached the service and Prometheus saw it, and saw it stop.
    expect(before.sales.size + after.sales.size, 'sales acknowledged').toBeGreaterThan(300);
    expect(before.unexpected.concat(after.unexpected), 'answers other than 2xx').toEqual([]);
    const accepted = await prom.query(
      `sum(increase(ticketpulse_ingest_records_total{outcome="accepted"}[10m])) > 300`,
    );
    expect(accepted, 'Prometheus counted the accepted records').toHaveLength(1);

    // Nothing pending or firing, as polled and as Prometheus recorded it (ALERTS series).
    expect(
      active.map((a) => `${a.phase}: ${JSON.stringify(a.labels)} ${a.state} (value ${a.value})`),
      'alerts active',
    ).toEqual([]);
    expect(await prom.query(`count_over_time(ALERTS[10m])`), 'ALERTS series over the test').toEqual([]);

    // Every rule of alerts.yml was evaluated, without error, recently, on series that exist.
    expect(rules.map((r) => r.name).sort()).toEqual(alertNames().sort());
    for (const rule of rules) {
      expect(rule.health, `${rule.name}: ${rule.lastError ?? ''}`).toBe('ok');
      expect(Date.parse(rule.lastEvaluation), `${rule.name} evaluated`).toBeGreaterThan(Date.now() - 30_000);
      for (const name of new Set(rule.query.match(/\b(ticketpulse_\w+|up)\b/g) ?? [])) {
        const present = await prom.query(`count(last_over_time({__name__="${name}"}[10m]))`);
        expect(present, `${rule.name}: series ${name} scraped`).toHaveLength(1);
      }
    }
  }, 420_000);
});

/** The alert names in alerts.yml, read from the file. */
function alertNames(): string[] {
  const text = readFileSync(new URL('../../deploy/prometheus/alerts.yml', import.meta.url), 'utf8');
  return [...text.matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
}
