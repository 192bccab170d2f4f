// Migration 0014 on a database that already holds sales: sales_totals is backfilled once, the view
// takes over from there, and running the file's statements again counts nothing twice.
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../src/clients/clickhouse.js';
import { isAccepted, validateEvent } from '../../src/events/validate-event.js';
import { detectCascadeMode } from '../../src/migrate/cascade-mode.js';
import {
  createClickHouseMigrator,
  FIXTURE_FED,
  renderMigration,
} from '../../src/migrate/clickhouse-migrator.js';
import { readMigrationFiles } from '../../src/migrate/migration-files.js';
import { splitStatements } from '../../src/migrate/split-statements.js';
import { ticketSale } from '../fixtures/events.js';
import { config, uniqueName } from './helpers.js';

const MIGRATIONS = new URL('../../migrations/clickhouse/', import.meta.url).pathname;

describe('migration 0014 over existing sales', () => {
  const client = createClickHouse(config);
  const database = uniqueName('tp_totals');
  const dir = mkdtempSync(join(tmpdir(), 'tp-0014-'));
  const migrate = () => createClickHouseMigrator({ client, dir, database, ...FIXTURE_FED }).migrate();
  const copy = (pick: (version: number) => boolean) => {
    for (const file of readdirSync(MIGRATIONS)) {
      if (pick(Number(file.slice(0, 4)))) copyFileSync(join(MIGRATIONS, file), join(dir, file));
    }
  };
  /** Sales as the API would put them on the topic, fed to the (Null) queue table. */
  const sell = async (show: string, quantities: number[]) => {
    const rows = quantities.map((quantity) => {
      const result = validateEvent(ticketSale({}, { event_id: show, quantity }), Date.now());
      if (!isAccepted(result)) throw new Error('sale rejected');
      return result.row;
    });
    await client.insert({ table: `${database}.ticket_sales_queue`, values: rows, format: 'JSONEachRow' });
  };
  const totals = async () => {
    const result = await client.query({
      query: `SELECT event_id, toUInt32(sum(tickets)) AS tickets, toUInt32(sum(orders)) AS orders
              FROM ${database}.sales_totals GROUP BY event_id ORDER BY event_id`,
      format: 'JSONEachRow',
    });
    return result.json();
  };

  afterAll(async () => {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('backfills sales made before it, then counts new ones, once each', async () => {
    copy((v) => v < 14);
    expect((await migrate()).every((r) => r.status === 'applied')).toBe(true);
    await sell('show-old', [1, 2, 3]);

    copy((v) => v === 14);
    expect((await migrate()).at(-1)).toMatchObject({
      file: '0014_show_dimensions_capacity_pricing.sql',
      status: 'applied',
    });
    expect(await totals()).toEqual([{ event_id: 'show-old', tickets: 6, orders: 3 }]);

    await sell('show-old', [4]);
    await sell('show-new', [5]);
    expect(await totals()).toEqual([
      { event_id: 'show-new', tickets: 5, orders: 1 },
      { event_id: 'show-old', tickets: 10, orders: 4 },
    ]);
  });

  it('running the file again (as after a failure part-way) counts nothing twice', async () => {
    const [file] = readMigrationFiles(dir).filter((f) => f.version === 14);
    const sql = renderMigration(file!.sql, {
      database,
      ...FIXTURE_FED,
      cascadeMode: await detectCascadeMode(client, `${database}_probe`),
    });
    for (const statement of splitStatements(sql)) await client.command({ query: statement });
    await sell('show-new', [1]);
    expect(await totals()).toEqual([
      { event_id: 'show-new', tickets: 6, orders: 2 },
      { event_id: 'show-old', tickets: 10, orders: 4 },
    ]);
  });
});
