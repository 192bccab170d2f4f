import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../src/clients/clickhouse.js';
import { createClickHouseMigrator } from '../../src/migrate/clickhouse-migrator.js';
import { config, uniqueName } from './helpers.js';

describe('ClickHouse migrator on the real server', () => {
  const client = createClickHouse(config);
  const database = uniqueName('tp_chmig');
  const dir = mkdtempSync(join(tmpdir(), 'tp-ch-migrations-'));
  const migrator = () =>
    createClickHouseMigrator({
      client,
      dir,
      database,
      cluster: '',
      kafkaBrokers: config.KAFKA_BROKERS,
      topicPrefix: '',
    });
  writeFileSync(
    join(dir, '0001_tables.sql'),
    `CREATE TABLE IF NOT EXISTS {database}.t {on_cluster} (x UInt32) ENGINE = MergeTree ORDER BY x;
     CREATE VIEW IF NOT EXISTS {database}.v {on_cluster} AS SELECT x * 2 AS y FROM {database}.t;`,
  );

  afterAll(async () => {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies each file once, into the configured database', async () => {
    expect((await migrator().migrate()).map((r) => r.status)).toEqual(['applied']);
    expect((await migrator().migrate()).map((r) => r.status)).toEqual(['skipped']);
    const tables = await client.query({
      query: `SELECT name FROM system.tables WHERE database = '${database}' ORDER BY name`,
      format: 'JSONEachRow',
    });
    expect((await tables.json<{ name: string }>()).map((t) => t.name)).toEqual([
      'schema_migrations',
      't',
      'v',
    ]);
  });

  it('reports the failing statement with the server error code and records nothing', async () => {
    writeFileSync(
      join(dir, '0002_broken.sql'),
      'CREATE TABLE IF NOT EXISTS {database}.u (x UInt32) ENGINE = MergeTree ORDER BY x;\nSELECT nope FROM {database}.u;',
    );
    const results = await migrator().migrate();
    expect(results[1]).toMatchObject({ file: '0002_broken.sql', status: 'failed', statements: 1 });
    expect(results[1]?.error?.code).toBe('47'); // UNKNOWN_IDENTIFIER
    expect(results[1]?.error?.statement).toBe(`SELECT nope FROM ${database}.u`);
    // Fixed and re-run: idempotent statements make the partial first attempt harmless.
    writeFileSync(
      join(dir, '0002_broken.sql'),
      'CREATE TABLE IF NOT EXISTS {database}.u (x UInt32) ENGINE = MergeTree ORDER BY x;',
    );
    expect((await migrator().migrate()).map((r) => r.status)).toEqual(['skipped', 'applied']);
  });

  it('an edited or removed applied file stops the runner with its name', async () => {
    writeFileSync(join(dir, '0002_broken.sql'), '-- edited\nSELECT 1;');
    await expect(migrator().migrate()).rejects.toThrow(/0002_broken\.sql was edited/);
    rmSync(join(dir, '0002_broken.sql'));
    await expect(migrator().migrate()).rejects.toThrow(/0002_broken\.sql is missing/);
  });
});
