/**
 * Every migrator of one deployment, built from its configuration: Kafka topics, Postgres and
 * ClickHouse. `npm run migrate` (cli.ts) runs them; so does the test harness, for a database
 * and topic prefix of its own.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { join } from 'node:path';
import type pg from 'pg';
import { createKafka } from '../clients/kafka.js';
import { topicShards, type Config } from '../config.js';
import { ensureTopics } from '../kafka/topics.js';
import { shardTopicNames } from '../kafka/topology.js';
import { createClickHouseMigrator } from './clickhouse-migrator.js';
import { createPostgresMigrator } from './postgres-migrator.js';
import type { MigrationResult } from './results.js';

const MIGRATIONS = new URL('../../migrations/', import.meta.url).pathname;

export type MigrationTarget = 'kafka' | 'postgres' | 'clickhouse';
export const MIGRATION_TARGETS: readonly MigrationTarget[] = ['kafka', 'postgres', 'clickhouse'];

export interface Migrator {
  migrate(): Promise<MigrationResult[]>;
  status(): Promise<MigrationResult[]>;
}

/** Kafka "migration": create missing topics (ClickHouse's Kafka tables need them). */
function createTopicMigrator(config: Config): Migrator {
  async function withAdmin<T>(
    work: (admin: ReturnType<ReturnType<typeof createKafka>['admin']>) => Promise<T>,
  ) {
    const admin = createKafka(config).admin();
    await admin.connect();
    try {
      return await work(admin);
    } finally {
      await admin.disconnect();
    }
  }
  const all = () => Object.values(shardTopicNames(config.KAFKA_TOPIC_PREFIX, topicShards(config))).flat();
  return {
    migrate: () =>
      withAdmin(async (admin): Promise<MigrationResult[]> => {
        const created = new Set(
          await ensureTopics(
            admin,
            config.KAFKA_TOPIC_PREFIX,
            config.KAFKA_REPLICATION_FACTOR,
            topicShards(config),
          ),
        );
        return all().map((topic) => ({
          target: 'kafka',
          file: topic,
          status: created.has(topic) ? 'applied' : 'skipped',
          statements: created.has(topic) ? 1 : 0,
          duration_ms: 0,
        }));
      }),
    status: () =>
      withAdmin(async (admin): Promise<MigrationResult[]> => {
        const existing = new Set(await admin.listTopics());
        return all().map((topic) => ({
          target: 'kafka',
          file: topic,
          status: existing.has(topic) ? 'applied' : 'pending',
          statements: 1,
          duration_ms: 0,
        }));
      }),
  };
}

/** The migrators of this configuration, on these clients (the caller closes them). */
export function createMigrators(
  config: Config,
  clients: { pool: pg.Pool; clickhouse: ClickHouseClient },
): Record<MigrationTarget, Migrator> {
  return {
    kafka: createTopicMigrator(config),
    postgres: createPostgresMigrator({ pool: clients.pool, dir: join(MIGRATIONS, 'postgres') }),
    clickhouse: createClickHouseMigrator({
      client: clients.clickhouse,
      dir: join(MIGRATIONS, 'clickhouse'),
      database: config.CLICKHOUSE_DATABASE,
      cluster: config.CLICKHOUSE_CLUSTER,
      kafkaBrokers: config.CLICKHOUSE_KAFKA_BROKERS ?? config.KAFKA_BROKERS,
      topicPrefix: config.KAFKA_TOPIC_PREFIX,
      kafkaMaxBlockSize: config.CLICKHOUSE_KAFKA_MAX_BLOCK_SIZE,
      dedupSlotSeconds: config.DEDUP_SLOT_SECONDS,
    }),
  };
}

/**
 * Runs `action` on each target in turn and collects the results, stopping after the first
 * target with a failed file (a later target may depend on it: ClickHouse's Kafka tables on the
 * topics). Throws what a migrator throws, with the results so far on `results`.
 */
export async function runMigrators(
  migrators: Record<MigrationTarget, Migrator>,
  action: 'migrate' | 'status',
  targets: readonly MigrationTarget[] = MIGRATION_TARGETS,
): Promise<MigrationResult[]> {
  const results: MigrationResult[] = [];
  try {
    for (const target of targets) {
      results.push(...(await migrators[target][action]()));
      if (results.some((r) => r.status === 'failed')) break;
    }
  } catch (err) {
    throw Object.assign(err instanceof Error ? err : new Error(String(err)), { results });
  }
  return results;
}
