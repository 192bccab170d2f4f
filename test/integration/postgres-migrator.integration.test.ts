import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresPool } from '../../src/clients/postgres.js';
import { createPostgresMigrator } from '../../src/migrate/postgres-migrator.js';
import { createTestDatabase } from './helpers.js';

describe('Postgres migrator on the real server', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const pools: pg.Pool[] = [];
  const pool = () => {
    const p = createPostgresPool({ DATABASE_URL: db.url }, 2);
    pools.push(p);
    return p;
  };
  const dir = mkdtempSync(join(tmpdir(), 'tp-pg-migrations-'));

  beforeAll(async () => {
    db = await createTestDatabase('tp_migrate');
    writeFileSync(
      join(dir, '0001_first.sql'),
      'CREATE TABLE a (id int PRIMARY KEY);\nINSERT INTO a VALUES (1);',
    );
    writeFileSync(join(dir, '0002_second.sql'), "CREATE TABLE b (note text DEFAULT 'x;y');");
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('two concurrent runners both succeed and each file is applied exactly once', async () => {
    const [one, two] = await Promise.all([
      createPostgresMigrator({ pool: pool(), dir }).migrate(),
      createPostgresMigrator({ pool: pool(), dir }).migrate(),
    ]);
    const statuses = [...one!, ...two!].map((r) => `${r.file}:${r.status}`).sort();
    expect(statuses).toEqual([
      '0001_first.sql:applied',
      '0001_first.sql:skipped',
      '0002_second.sql:applied',
      '0002_second.sql:skipped',
    ]);
    const { rows } = await pool().query('SELECT count(*)::int AS n FROM a');
    expect(rows[0].n).toBe(1);
  });

  it('a second run applies nothing', async () => {
    const results = await createPostgresMigrator({ pool: pool(), dir }).migrate();
    expect(results.map((r) => r.status)).toEqual(['skipped', 'skipped']);
  });

  it('a failing file rolls back whole and reports the statement and SQLSTATE', async () => {
    writeFileSync(join(dir, '0003_broken.sql'), 'CREATE TABLE c (id int);\nSELECT * FROM no_such_table;');
    const results = await createPostgresMigrator({ pool: pool(), dir }).migrate();
    const failed = results.find((r) => r.file === '0003_broken.sql');
    expect(failed?.status).toBe('failed');
    expect(failed?.error).toMatchObject({ code: '42P01', statement: 'SELECT * FROM no_such_table' });
    const exists = await pool().query("SELECT to_regclass('public.c') AS c");
    expect(exists.rows[0].c).toBeNull();
    rmSync(join(dir, '0003_broken.sql'));
  });

  it('an edited applied file stops the runner with its name', async () => {
    writeFileSync(join(dir, '0001_first.sql'), 'CREATE TABLE a (id bigint PRIMARY KEY);');
    await expect(createPostgresMigrator({ pool: pool(), dir }).migrate()).rejects.toThrow(
      /0001_first\.sql was edited/,
    );
  });
});
