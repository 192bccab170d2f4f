// The hand-kept kysely types (src/db/schema.ts) against the tables the migrations create, and
// the triggers every cache and the bridge rely on: updated_at moves on each change, and each
// change is announced on the change feed with the row's key.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgChanges, type EntityChange } from '../../src/clients/pg-changes.js';
import { createPostgresPool } from '../../src/clients/postgres.js';
import { createDb, TABLE_COLUMNS, type Db } from '../../src/db/schema.js';
import { createPostgresMigrator } from '../../src/migrate/postgres-migrator.js';
import { createTestDatabase, eventually } from './helpers.js';

const MIGRATIONS = new URL('../../migrations/postgres/', import.meta.url).pathname;

describe('Postgres entities', () => {
  let pg: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Db;

  beforeAll(async () => {
    pg = await createTestDatabase('tp_schema');
    const pool = createPostgresPool({ DATABASE_URL: pg.url });
    const results = await createPostgresMigrator({ pool, dir: MIGRATIONS }).migrate();
    expect(results.filter((r) => r.status === 'failed')).toEqual([]);
    db = createDb(pool);
  });
  afterAll(async () => {
    await db?.destroy();
    await pg?.drop();
  });

  it('has exactly the columns the kysely types declare', async () => {
    const rows = await db
      .withoutPlugins()
      .selectFrom('information_schema.columns' as never)
      .select(['table_name as table', 'column_name as column'] as never[])
      .where('table_schema' as never, '=', 'public' as never)
      .where('table_name' as never, '<>', 'schema_migrations' as never)
      .execute();
    const actual: Record<string, string[]> = {};
    for (const { table, column } of rows as unknown as { table: string; column: string }[]) {
      (actual[table] ??= []).push(column);
    }
    const expected = Object.fromEntries(
      Object.entries(TABLE_COLUMNS).map(([t, cols]) => [t, [...cols].sort()]),
    );
    expect(Object.fromEntries(Object.entries(actual).map(([t, cols]) => [t, cols.sort()]))).toEqual(expected);
  });

  it('announces each change with its key and moves updated_at', async () => {
    const changes = createPgChanges({ connectionString: pg.url, logger: pino({ level: 'silent' }) });
    const seen: EntityChange[] = [];
    changes.onChange((c) => seen.push(c));
    await changes.start();
    try {
      const organizer = '0b6c1a52-5d0e-4f0e-9a53-1f2f3e4d5c6b';
      await db.insertInto('organizers').values({ id: organizer, name: 'o' }).execute();
      await db.insertInto('pricing_rules').values({ organizer_id: organizer }).execute();
      await db
        .insertInto('shows')
        .values({ id: 's1', organizer_id: organizer, name: 'S', country: 'DE', starts_at: new Date() })
        .execute();
      await db
        .insertInto('ticket_categories')
        .values({ show_id: 's1', category: 'GA', capacity: 10, price: '1.5', currency: 'EUR' })
        .execute();
      const before = await db.selectFrom('ticket_categories').select('updated_at').executeTakeFirstOrThrow();
      await db.updateTable('ticket_categories').set({ capacity: 20 }).execute();
      const after = await db.selectFrom('ticket_categories').select('updated_at').executeTakeFirstOrThrow();
      expect(after.updated_at.getTime()).toBeGreaterThan(before.updated_at.getTime());
      await db.deleteFrom('shows').where('id', '=', 's1').execute();

      const expected: EntityChange[] = [
        { table: 'pricing_rules', key: { organizer_id: organizer } },
        { table: 'shows', key: { id: 's1' } },
        { table: 'ticket_categories', key: { show_id: 's1', category: 'GA' } },
        { table: 'ticket_categories', key: { show_id: 's1', category: 'GA' } },
        // Deleting the show cascades to its categories: both are announced.
        { table: 'shows', key: { id: 's1' } },
        { table: 'ticket_categories', key: { show_id: 's1', category: 'GA' } },
      ];
      await eventually(
        async () => seen.length,
        (n) => n >= expected.length,
        5000,
        20,
      );
      expect(seen).toEqual(expected);
    } finally {
      await changes.close();
    }
  });
});
