/**
 * The real service as a child process (`tsx src/main.ts`, see scripts/service-process.ts) on the
 * test stack: the process environment with the stack's Kafka and ClickHouse, the test's own
 * ClickHouse database, topic prefix and Postgres database, and `env` over all of that. Migrated
 * as `npm run migrate` does, then given a free port and a log file; the caller starts it.
 */
import {
  createServiceProcess,
  freePort,
  runTsx,
  type ServiceProcess,
} from '../../scripts/service-process.js';
import { config } from '../integration/helpers.js';

export async function migratedServiceChild(options: {
  /** The ClickHouse database; also the topic prefix, `<database>.`. */
  database: string;
  /** The test's own Postgres database. */
  databaseUrl: string;
  /** Settings over the process environment and the test's databases. */
  env: NodeJS.ProcessEnv;
  logFile: string;
}): Promise<{ env: NodeJS.ProcessEnv; service: ServiceProcess }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_BROKERS: config.KAFKA_BROKERS,
    CLICKHOUSE_URL: config.CLICKHOUSE_URL,
    DATABASE_URL: options.databaseUrl,
    CLICKHOUSE_DATABASE: options.database,
    KAFKA_TOPIC_PREFIX: `${options.database}.`,
    ...options.env,
  };
  runTsx('src/migrate/cli.ts', [], env);
  return { env, service: createServiceProcess(env, await freePort(), options.logFile) };
}
