/** The outcome of a migration run, one row per file, and its printed form. */
import Table from 'cli-table3';
import type { MigrationFile } from './migration-files.js';
import { splitStatements } from './split-statements.js';

export interface MigrationResult {
  target: 'kafka' | 'postgres' | 'clickhouse';
  file: string;
  status: 'applied' | 'skipped' | 'failed' | 'pending';
  statements: number;
  duration_ms: number;
  /** Set when status is `failed`: the statement and the server's error code. */
  error?: { statement: string; code: string; message: string };
}

/** A readable table of results. */
export function formatResults(results: MigrationResult[]): string {
  const table = new Table({
    head: ['target', 'file', 'status', 'statements', 'ms', 'error'],
    style: { head: [], border: [] },
    colWidths: [12, 36, 9, 12, 8, 60],
    wordWrap: true,
  });
  for (const r of results) {
    const error = r.error
      ? `[${r.error.code}] ${r.error.message}\nin: ${r.error.statement.slice(0, 300)}`
      : '';
    table.push([r.target, r.file, r.status, String(r.statements), r.duration_ms.toFixed(0), error]);
  }
  return table.toString();
}

/** Throws, naming the file and the server's error, when a run failed; returns the results otherwise. */
export function throwOnFailure(results: MigrationResult[], label = 'migration'): MigrationResult[] {
  const failed = results.find((r) => r.status === 'failed');
  if (failed) throw new Error(`${label} ${failed.file} failed: ${JSON.stringify(failed.error)}`);
  return results;
}

/** One `skipped` row per file that is already applied. */
export function skippedResults(
  target: MigrationResult['target'],
  files: MigrationFile[],
  pending: MigrationFile[],
): MigrationResult[] {
  return files
    .filter((f) => !pending.includes(f))
    .map((f) => ({ target, file: f.file, status: 'skipped', statements: 0, duration_ms: 0 }));
}

/** One `applied` or `pending` row per file, for `migrate status`. */
export function statusResults(
  target: MigrationResult['target'],
  files: MigrationFile[],
  pending: MigrationFile[],
): MigrationResult[] {
  return files.map((f) => ({
    target,
    file: f.file,
    status: pending.includes(f) ? 'pending' : 'applied',
    statements: splitStatements(f.sql).length,
    duration_ms: 0,
  }));
}
