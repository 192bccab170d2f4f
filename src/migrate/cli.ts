/**
 * `npm run migrate` creates missing Kafka topics and applies pending Postgres and ClickHouse migrations;
 * `npm run migrate -- status` lists applied and pending files. Exits non-zero on failure.
 */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { loadConfig } from '../config.js';
import { createClickHouse } from '../clients/clickhouse.js';
import { createKafka } from '../clients/kafka.js';
import { ensureTopics, topicNames } from '../events/topics.js';
import { createPostgresPool } from '../clients/postgres.js';
import { createClickHouseMigrator } from './clickhouse-migrator.js';
import { createPostgresMigrator } from './postgres-migrator.js';
import { formatResults, type MigrationResult } from './results.js';

const MIGRATIONS = new URL('../../migrations/', import.meta.url).pathname;

type Target = 'kafka' | 'postgres' | 'clickhouse';

/** Kafka "migration": create missing topics (ClickHouse's Kafka tables need them). */
function createTopicMigrator(config: ReturnType<typeof loadConfig>) {
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
  const all = () => Object.values(topicNames(config.KAFKA_TOPIC_PREFIX));
  return {
    migrate: () =>
      withAdmin(async (admin): Promise<MigrationResult[]> => {
        const created = new Set(await ensureTopics(admin, config.KAFKA_TOPIC_PREFIX));
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

async function run(action: 'migrate' | 'status', targets: Target[]): Promise<number> {
  const config = loadConfig();
  const pool = createPostgresPool(config, 2);
  const client = createClickHouse(config);
  const migrators = {
    kafka: createTopicMigrator(config),
    postgres: createPostgresMigrator({ pool, dir: join(MIGRATIONS, 'postgres') }),
    clickhouse: createClickHouseMigrator({
      client,
      dir: join(MIGRATIONS, 'clickhouse'),
      database: config.CLICKHOUSE_DATABASE,
      cluster: config.CLICKHOUSE_CLUSTER,
      kafkaBrokers: config.CLICKHOUSE_KAFKA_BROKERS ?? config.KAFKA_BROKERS,
      topicPrefix: config.KAFKA_TOPIC_PREFIX,
      kafkaMaxBlockSize: config.CLICKHOUSE_KAFKA_MAX_BLOCK_SIZE,
      dedupSlotSeconds: config.DEDUP_SLOT_SECONDS,
    }),
  };
  const results: MigrationResult[] = [];
  try {
    for (const target of targets) {
      results.push(...(await migrators[target][action]()));
      if (results.some((r) => r.status === 'failed')) break;
    }
  } catch (err) {
    if (results.length > 0) console.log(formatResults(results));
    console.error(`migrate: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await pool.end();
    await client.close();
  }
  console.log(formatResults(results));
  const count = (status: MigrationResult['status']) => results.filter((r) => r.status === status).length;
  console.log(
    `${count('applied')} applied, ${count('skipped')} skipped, ${count('failed')} failed, ${count('pending')} pending`,
  );
  return count('failed') > 0 ? 1 : 0;
}

const only = new Option('--only <target>', 'kafka (topics), postgres or clickhouse').choices([
  'kafka',
  'postgres',
  'clickhouse',
]);
const targetsOf = (opts: { only?: Target }): Target[] =>
  opts.only ? [opts.only] : ['kafka', 'postgres', 'clickhouse'];

const program = new Command('migrate').description('forward-only, checksummed migrations');
program
  .command('up', { isDefault: true })
  .description('apply pending migrations')
  .addOption(only)
  .action(async (opts: { only?: Target }) => {
    process.exitCode = await run('migrate', targetsOf(opts));
  });
program
  .command('status')
  .description('list applied and pending migrations')
  .addOption(only)
  .action(async (opts: { only?: Target }) => {
    process.exitCode = await run('status', targetsOf(opts));
  });
await program.parseAsync();
