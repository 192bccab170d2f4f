/**
 * Postgres migrations: one transaction per file with its history row inserted first, under
 * an advisory lock so concurrent runners are safe (the second waits, then finds nothing to do).
 */
import type pg from 'pg';
import { pendingMigrations, readMigrationFiles, type AppliedMigration } from './migration-files.js';
import { skippedResults, statusResults, type MigrationResult } from './results.js';
import { splitStatements } from './split-statements.js';

/** Arbitrary but fixed: every ticketpulse migration runner takes this advisory lock. */
const ADVISORY_LOCK_KEY = 7_263_514_201;

export interface PostgresMigratorOptions {
  pool: pg.Pool;
  /** Folder with `NNNN_name.sql` files. */
  dir: string;
}

export function createPostgresMigrator({ pool, dir }: PostgresMigratorOptions) {
  async function withLock<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_KEY]);
      try {
        await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
          version integer PRIMARY KEY,
          name text NOT NULL,
          checksum text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`);
        return await work(client);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK_KEY]);
      }
    } finally {
      client.release();
    }
  }

  async function applied(client: pg.PoolClient): Promise<AppliedMigration[]> {
    const { rows } = await client.query<AppliedMigration>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
    );
    return rows;
  }

  return {
    /** Applies pending files in order; stops at the first failure. */
    async migrate(): Promise<MigrationResult[]> {
      const files = readMigrationFiles(dir);
      return withLock(async function migratePostgres(client) {
        const history = await applied(client);
        const pending = pendingMigrations('postgres', files, history);
        const results: MigrationResult[] = skippedResults('postgres', files, pending);
        for (const file of pending) {
          const started = performance.now();
          const statements = splitStatements(file.sql);
          let current = '';
          try {
            await client.query('BEGIN');
            await client.query(
              'INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)',
              [file.version, file.name, file.checksum],
            );
            for (const statement of statements) {
              current = statement;
              await client.query(statement);
            }
            await client.query('COMMIT');
            results.push({
              target: 'postgres',
              file: file.file,
              status: 'applied',
              statements: statements.length,
              duration_ms: performance.now() - started,
            });
          } catch (err) {
            await client.query('ROLLBACK');
            const e = err as { code?: string; message?: string };
            results.push({
              target: 'postgres',
              file: file.file,
              status: 'failed',
              statements: statements.indexOf(current),
              duration_ms: performance.now() - started,
              error: { statement: current, code: e.code ?? 'unknown', message: e.message ?? String(err) },
            });
            break;
          }
        }
        return results;
      });
    },

    /** What is applied and what is pending, without changing anything. */
    async status(): Promise<MigrationResult[]> {
      const files = readMigrationFiles(dir);
      return withLock(async function postgresStatus(client) {
        const pending = pendingMigrations('postgres', files, await applied(client));
        return statusResults('postgres', files, pending);
      });
    },
  };
}
