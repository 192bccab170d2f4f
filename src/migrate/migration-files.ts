/** Reads numbered migration files (`NNNN_name.sql`) and checks them against the history. */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One migration file on disk. */
export interface MigrationFile {
  version: number;
  name: string;
  /** File name, e.g. `0003_fraud_rules.sql`. */
  file: string;
  sql: string;
  /** sha256 of the file's bytes, hex. */
  checksum: string;
}

/** One row of a history table. */
export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
}

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** The migrations in `dir`, ordered by version; throws on a misnamed file or a duplicate version. */
export function readMigrationFiles(dir: string): MigrationFile[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const seen = new Map<number, string>();
  return files.map((file) => {
    const match = FILE_NAME.exec(file);
    if (!match?.[1] || !match[2]) {
      throw new Error(`${join(dir, file)}: migration files are named NNNN_lower_snake_name.sql`);
    }
    const version = Number(match[1]);
    const other = seen.get(version);
    if (other !== undefined) throw new Error(`${file} and ${other} share version ${version}`);
    seen.set(version, file);
    const bytes = readFileSync(join(dir, file));
    return {
      version,
      name: match[2],
      file,
      sql: bytes.toString('utf8'),
      checksum: createHash('sha256').update(bytes).digest('hex'),
    };
  });
}

/** An applied migration's file was edited or removed: the runner stops before doing anything. */
export class MigrationHistoryError extends Error {
  override name = 'MigrationHistoryError';
}

/**
 * The files still to apply. Throws MigrationHistoryError naming the file when an applied
 * migration was edited (checksum differs) or removed.
 */
export function pendingMigrations(
  target: string,
  files: MigrationFile[],
  applied: AppliedMigration[],
): MigrationFile[] {
  const byVersion = new Map(files.map((f) => [f.version, f]));
  for (const row of applied) {
    const file = byVersion.get(row.version);
    const expected = `${String(row.version).padStart(4, '0')}_${row.name}.sql`;
    if (file === undefined) {
      throw new MigrationHistoryError(`${target}: applied migration ${expected} is missing from disk`);
    }
    if (file.checksum !== row.checksum) {
      throw new MigrationHistoryError(
        `${target}: ${file.file} was edited after it was applied (checksum ${row.checksum.slice(0, 12)}… recorded, ${file.checksum.slice(0, 12)}… on disk); add a new migration instead`,
      );
    }
  }
  const done = new Set(applied.map((r) => r.version));
  return files.filter((f) => !done.has(f.version));
}
