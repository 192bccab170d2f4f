import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  MigrationHistoryError,
  pendingMigrations,
  readMigrationFiles,
} from '../../src/migrate/migration-files.js';
import { renderMigration } from '../../src/migrate/clickhouse-migrator.js';

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tp-migrations-'));
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return dir;
}

describe('readMigrationFiles', () => {
  it('orders files by version and checksums their bytes', () => {
    const files = readMigrationFiles(folder({ '0002_b.sql': 'SELECT 2', '0001_a.sql': 'SELECT 1' }));
    expect(files.map((f) => [f.version, f.name])).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
    expect(files[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(files[0]?.checksum).not.toBe(files[1]?.checksum);
  });

  it('rejects misnamed files and duplicate versions', () => {
    expect(() => readMigrationFiles(folder({ '1_a.sql': '' }))).toThrow(/NNNN_lower_snake_name/);
    expect(() => readMigrationFiles(folder({ '0001_a.sql': '', '0001_b.sql': '' }))).toThrow(
      /share version 1/,
    );
  });
});

describe('pendingMigrations', () => {
  const files = readMigrationFiles(folder({ '0001_a.sql': 'SELECT 1', '0002_b.sql': 'SELECT 2' }));
  const first = files[0]!;

  it('returns only files not in the history', () => {
    const applied = [{ version: 1, name: 'a', checksum: first.checksum }];
    expect(pendingMigrations('pg', files, applied).map((f) => f.file)).toEqual(['0002_b.sql']);
  });

  it('names an applied file that was edited', () => {
    const applied = [{ version: 1, name: 'a', checksum: 'f'.repeat(64) }];
    expect(() => pendingMigrations('pg', files, applied)).toThrow(MigrationHistoryError);
    expect(() => pendingMigrations('pg', files, applied)).toThrow(/0001_a\.sql was edited/);
  });

  it('names an applied file that was removed', () => {
    const applied = [{ version: 7, name: 'gone', checksum: 'x' }];
    expect(() => pendingMigrations('pg', files, applied)).toThrow(/0007_gone\.sql is missing/);
  });
});

describe('renderMigration', () => {
  it('fills database, cluster and broker placeholders', () => {
    const sql =
      "CREATE TABLE IF NOT EXISTS {database}.t {on_cluster} SETTINGS kafka_broker_list = '{kafka_brokers}'";
    expect(
      renderMigration(sql, {
        database: 'tp',
        cluster: '',
        kafkaBrokers: 'k:9092',
        topicPrefix: '',
        cascadeMode: 'through_view',
      }),
    ).toBe("CREATE TABLE IF NOT EXISTS tp.t  SETTINGS kafka_broker_list = 'k:9092'");
    expect(
      renderMigration(sql, {
        database: 'tp',
        cluster: 'main',
        kafkaBrokers: 'k:9092',
        topicPrefix: '',
        cascadeMode: 'through_view',
      }),
    ).toContain('tp.t ON CLUSTER main SETTINGS');
  });
});
