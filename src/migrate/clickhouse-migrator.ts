/**
 * ClickHouse migrations. ClickHouse has no transactions, so every statement must be
 * idempotent (`IF NOT EXISTS`) and a file's history row is written only after all of its
 * statements succeeded: a failed file is simply run again next time.
 *
 * Files may use these placeholders:
 * - `{database}`   the configured database (CLICKHOUSE_DATABASE)
 * - `{on_cluster}` `ON CLUSTER <name>` when CLICKHOUSE_CLUSTER is set, else nothing
 * - `{kafka_brokers}` the broker list the server's Kafka engine tables connect to
 * - `{topic_prefix}` KAFKA_TOPIC_PREFIX, put before every topic name
 * - `{kafka_max_block_size}` rows per Kafka engine block (CLICKHOUSE_KAFKA_MAX_BLOCK_SIZE)
 * - `{dedup_slot_seconds}` length of a dedup slot (DEDUP_SLOT_SECONDS; see 0011)
 * - `{inserted:v:t}` what a view selects FROM to see the rows view `v` inserts into table `t`
 *   (see cascade-mode.ts: 18.16 and current ClickHouse chain views differently)
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { clickHouseErrorCode, clickHouseErrorMessage } from '../clients/clickhouse-errors.js';
import { detectCascadeMode, renderInserted, type CascadeMode } from './cascade-mode.js';
import { pendingMigrations, readMigrationFiles, type AppliedMigration } from './migration-files.js';
import { skippedResults, statusResults, type MigrationResult } from './results.js';
import { splitStatements } from './split-statements.js';
import { objectRoles, renderForCluster, shardDatabase } from './cluster-render.js';

/** One row per block: see migrations/clickhouse/0011_constant_cost_dedup.sql and bench/freshness.ts. */
export const DEFAULT_KAFKA_MAX_BLOCK_SIZE = 1;

/** See migrations/clickhouse/0011_constant_cost_dedup.sql: ids are kept 3 to 4 slots. */
export const DEFAULT_DEDUP_SLOT_SECONDS = 30_000;

export interface ClickHouseMigratorOptions {
  client: ClickHouseClient;
  /** Folder with `NNNN_name.sql` files. */
  dir: string;
  database: string;
  /** Cluster for `ON CLUSTER`; empty for a single server. */
  cluster: string;
  /** Brokers as the ClickHouse server reaches them (may differ from the app's view). */
  kafkaBrokers: string;
  /** Prefix of every topic name (empty in production; tests use their own). */
  topicPrefix: string;
  /** Rows per Kafka engine block: the freshness / part-count trade-off. */
  kafkaMaxBlockSize?: number;
  /** Seconds per dedup slot (0011_constant_cost_dedup.sql); fixed when that file first runs. */
  dedupSlotSeconds?: number;
  /** `null` creates Kafka engine tables as Null tables (fixture-fed tests, other engines). */
  kafkaEngine?: 'kafka' | 'null';
  /** How the server chains views; measured on the server when not given. */
  cascadeMode?: CascadeMode;
}

/**
 * One server, and Null tables in place of the Kafka ones: for databases fed from fixtures (the
 * query tests and benches) rather than from topics.
 */
export const FIXTURE_FED = {
  cluster: '',
  kafkaBrokers: 'unused:9092',
  topicPrefix: '',
  kafkaEngine: 'null',
} as const satisfies Partial<ClickHouseMigratorOptions>;

type RenderVars = Omit<ClickHouseMigratorOptions, 'client' | 'dir' | 'cascadeMode'> & {
  cascadeMode: CascadeMode;
};

/** Replaces the placeholders documented above (on a single server). */
export function renderMigration(sql: string, vars: RenderVars): string {
  return renderValues(sql, vars)
    .replaceAll('{database}', vars.database)
    .replaceAll('{on_cluster}', vars.cluster ? `ON CLUSTER ${vars.cluster}` : '');
}

/**
 * Renders a file into its statements as they run: on a single server, rendered; on a cluster,
 * each placed in the shard or the analysts' database by src/migrate/cluster-render.ts, which
 * needs every file's statements (`all`, read once here) to know each object's role.
 */
export function statementRenderer(vars: RenderVars, all: readonly string[]): (sql: string) => string[] {
  const { cluster } = vars;
  if (!cluster) return (sql) => splitStatements(renderMigration(sql, vars));
  const names = { database: vars.database, cluster };
  const roles = objectRoles(all.flatMap((file) => splitStatements(file)));
  return (sql) =>
    splitStatements(renderValues(sql, vars)).flatMap((statement) =>
      renderForCluster(statement, roles, names),
    );
}

/** Every placeholder but `{database}` and `{on_cluster}`. */
function renderValues(sql: string, vars: RenderVars): string {
  const rendered = renderInserted(sql, vars.cascadeMode)
    .replaceAll('{kafka_brokers}', vars.kafkaBrokers)
    .replaceAll('{topic_prefix}', vars.topicPrefix)
    .replaceAll('{kafka_max_block_size}', String(vars.kafkaMaxBlockSize ?? DEFAULT_KAFKA_MAX_BLOCK_SIZE))
    .replaceAll('{dedup_slot_seconds}', String(vars.dedupSlotSeconds ?? DEFAULT_DEDUP_SLOT_SECONDS));
  return vars.kafkaEngine === 'null'
    ? rendered.replace(/ENGINE\s*=\s*Kafka\s+SETTINGS[^;]*/g, 'ENGINE = Null')
    : rendered;
}

export function createClickHouseMigrator(options: ClickHouseMigratorOptions) {
  const { client, dir, database } = options;
  const onCluster = options.cluster ? `ON CLUSTER ${options.cluster}` : '';
  const history = `${database}.schema_migrations`;

  async function prepare(): Promise<AppliedMigration[]> {
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database} ${onCluster}` });
    if (options.cluster) {
      await client.command({
        query: `CREATE DATABASE IF NOT EXISTS ${shardDatabase(database)} ${onCluster}`,
      });
    }
    // On a cluster every server holds the history (one replicated table), since every server's
    // schema probe reads it: kept on the migrating server alone, a service pointed at another
    // server found every migration pending and refused to start.
    const engine = options.cluster
      ? `ReplicatedMergeTree('/clickhouse/{cluster}/tables/all/${database}/schema_migrations', '{replica}')`
      : 'MergeTree';
    await client.command({
      query: `CREATE TABLE IF NOT EXISTS ${history} ${onCluster} (
        version UInt32, name String, checksum String, statements UInt32, applied_at DateTime
      ) ENGINE = ${engine} ORDER BY version`,
    });
    const result = await client.query({
      query: `SELECT version, name, checksum FROM ${history} ORDER BY version`,
      format: 'JSONEachRow',
    });
    return result.json<AppliedMigration>();
  }

  return {
    /** Applies pending files in order; stops at the first failed statement. */
    async migrate(): Promise<MigrationResult[]> {
      const files = readMigrationFiles(dir);
      const pending = pendingMigrations('clickhouse', files, await prepare());
      const cascadeMode =
        options.cascadeMode ??
        (pending.length > 0
          ? await detectCascadeMode(client, `${database}_cascade_probe`)
          : 'through_target');
      const results: MigrationResult[] = skippedResults('clickhouse', files, pending);
      const render = statementRenderer(
        { ...options, cascadeMode },
        files.map((f) => f.sql),
      );
      for (const file of pending) {
        const started = performance.now();
        const statements = render(file.sql);
        let done = 0;
        try {
          for (const statement of statements) {
            await client.command({ query: statement });
            done += 1;
          }
        } catch (err) {
          results.push({
            target: 'clickhouse',
            file: file.file,
            status: 'failed',
            statements: done,
            duration_ms: performance.now() - started,
            error: {
              statement: statements[done] ?? '',
              code: String(clickHouseErrorCode(err) ?? 'unknown'),
              message: clickHouseErrorMessage(err),
            },
          });
          break;
        }
        await client.insert({
          table: history,
          values: [
            {
              version: file.version,
              name: file.name,
              checksum: file.checksum,
              statements: statements.length,
              applied_at: Math.floor(Date.now() / 1000),
            },
          ],
          format: 'JSONEachRow',
        });
        results.push({
          target: 'clickhouse',
          file: file.file,
          status: 'applied',
          statements: statements.length,
          duration_ms: performance.now() - started,
        });
      }
      return results;
    },

    /** What is applied and what is pending (creates only the database and history table). */
    async status(): Promise<MigrationResult[]> {
      const files = readMigrationFiles(dir);
      const pending = pendingMigrations('clickhouse', files, await prepare());
      return statusResults('clickhouse', files, pending);
    },
  };
}
