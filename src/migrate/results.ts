/** The outcome of a migration run, one row per file, and its printed form. */
import Table from 'cli-table3';

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
