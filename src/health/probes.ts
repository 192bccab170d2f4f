/**
 * Dependency checks shared by `GET /healthz` and `npm run stack -- status`: each answers
 * up/down with its latency, within a deadline.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import { createClickHouse } from '../clients/clickhouse.js';
import { createKafka } from '../clients/kafka.js';
import { createPostgresPool } from '../clients/postgres.js';
import { kafkaBrokers, type Config } from '../config.js';

/**
 * What a process needs of a dependency: without a `required` one its roles cannot serve (it is
 * `down`, 503); without an `optional` one they still do, less (it is `degraded`, 200).
 */
export type Need = 'required' | 'optional';

/** One dependency's check: resolves when it answers, rejects with the reason otherwise. */
export interface Probe {
  name: string;
  /** Where the dependency is, for humans (no credentials). */
  address: string;
  need: Need;
  check(): Promise<void>;
}

/** The outcome of one probe. */
export interface ProbeResult {
  name: string;
  address: string;
  need: Need;
  status: 'up' | 'down';
  latency_ms: number;
  error?: string;
}

/** Kafka answers a metadata request (the broker port only). */
export function kafkaProbe(kafka: Kafka, address: string, need: Need = 'required'): Probe {
  return namedProbe('kafka', address, need, async () => {
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
    } finally {
      await admin.disconnect();
    }
  });
}

/** ClickHouse answers `/ping`. */
export function clickHouseProbe(client: ClickHouseClient, address: string, need: Need = 'required'): Probe {
  return namedProbe('clickhouse', address, need, async () => {
    const result = await client.ping();
    if (!result.success) throw result.error;
  });
}

/** Postgres answers `SELECT 1`. */
export function postgresProbe(pool: pg.Pool, address: string, need: Need = 'required'): Probe {
  return namedProbe('postgres', address, need, async () => {
    await pool.query('SELECT 1');
  });
}

function namedProbe(name: string, address: string, need: Need, check: () => Promise<void>): Probe {
  return { name, address, need, check };
}

/** Runs every probe concurrently, each bounded by `timeoutMs`. */
export async function runProbes(probes: Probe[], timeoutMs: number): Promise<ProbeResult[]> {
  return Promise.all(
    probes.map(async function runProbe(probe): Promise<ProbeResult> {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      const { name, address, need } = probe;
      try {
        await Promise.race([probe.check(), deadline]);
        return { name, address, need, status: 'up', latency_ms: elapsed(started) };
      } catch (err) {
        return {
          name,
          address,
          need,
          status: 'down',
          latency_ms: elapsed(started),
          error: err instanceof Error ? err.message : String(err),
        };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

/** Strips credentials from a URL so it can be shown. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    parsed.username = parsed.username ? parsed.username : '';
    return parsed.toString();
  } catch {
    return '(unparseable url)';
  }
}

/** Probes for the services the configuration points at, with the clients they own. */
export interface ConfiguredProbes {
  kafka: Probe;
  clickhouse: Probe;
  postgres: Probe;
  all: Probe[];
  /** Closes the probes' own clients. */
  close(): Promise<void>;
}

/** One probe per configured service (KAFKA_BROKERS, CLICKHOUSE_URL, DATABASE_URL). */
export function createConfiguredProbes(config: Config, timeoutMs: number): ConfiguredProbes {
  const clickhouse = createClickHouse(config, { request_timeout: timeoutMs });
  const pool = createPostgresPool(config, 1);
  const probes = {
    kafka: kafkaProbe(createKafka(config, { retries: 0 }), kafkaBrokers(config).join(',')),
    clickhouse: clickHouseProbe(clickhouse, redactUrl(config.CLICKHOUSE_URL)),
    postgres: postgresProbe(pool, redactUrl(config.DATABASE_URL)),
  };
  return {
    ...probes,
    all: [probes.kafka, probes.clickhouse, probes.postgres],
    async close() {
      await Promise.allSettled([clickhouse.close(), pool.end()]);
    },
  };
}
