/**
 * The schema as a dependency of `/healthz`: every migration file this process was started
 * with is applied in Postgres and in ClickHouse, and none was edited since. Read-only: it
 * reads the two history tables the migrators write (src/migrate/), and creates nothing.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type pg from 'pg';
import {
  pendingMigrations,
  readMigrationFiles,
  type AppliedMigration,
  type MigrationFile,
} from '../migrate/migration-files.js';
import { str } from '../sql/literals.js';
import type { Probe } from './probes.js';

const MIGRATIONS = new URL('../../migrations/', import.meta.url).pathname;

export interface SchemaProbeOptions {
  pool: pg.Pool;
  clickhouse: ClickHouseClient;
  /** CLICKHOUSE_DATABASE. */
  database: string;
}

export function schemaProbe(options: SchemaProbeOptions): Probe {
  const files = {
    postgres: readMigrationFiles(`${MIGRATIONS}postgres`),
    clickhouse: readMigrationFiles(`${MIGRATIONS}clickhouse`),
  };

  async function postgresApplied(): Promise<AppliedMigration[]> {
    try {
      const { rows } = await options.pool.query<AppliedMigration>(
        'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
      );
      return rows;
    } catch (err) {
      // 42P01: undefined_table, no migration ever ran on this database.
      if ((err as { code?: string }).code === '42P01') return [];
      throw err;
    }
  }

  async function clickHouseApplied(): Promise<AppliedMigration[]> {
    const exists = await options.clickhouse.query({
      // 18.16 has no query parameters: the name goes in as a literal.
      query: `SELECT count() AS n FROM system.tables WHERE database = ${str(options.database).text} AND name = 'schema_migrations'`,
      format: 'JSONEachRow',
    });
    const [{ n } = { n: '0' }] = await exists.json<{ n: string }>();
    if (Number(n) === 0) return [];
    const result = await options.clickhouse.query({
      query: `SELECT version, name, checksum FROM ${options.database}.schema_migrations ORDER BY version`,
      format: 'JSONEachRow',
    });
    return result.json<AppliedMigration>();
  }

  return {
    name: 'schema',
    address: 'migrations/',
    need: 'required',
    async check() {
      const [postgres, clickhouse] = await Promise.all([postgresApplied(), clickHouseApplied()]);
      const problems = [
        describe('postgres', pendingMigrations('postgres', files.postgres, postgres), files.postgres),
        describe(
          `clickhouse (${options.database})`,
          pendingMigrations('clickhouse', files.clickhouse, clickhouse),
          files.clickhouse,
        ),
      ].filter((p) => p !== undefined);
      if (problems.length > 0) throw new Error(`${problems.join('; ')}: run npm run migrate`);
    },
  };
}

function describe(target: string, pending: MigrationFile[], all: MigrationFile[]): string | undefined {
  if (pending.length === 0) return undefined;
  const names = pending.length <= 3 ? ` (${pending.map((f) => f.file).join(', ')})` : '';
  return `${target}: ${pending.length} of ${all.length} migrations pending${names}`;
}
