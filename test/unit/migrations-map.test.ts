// migrations/clickhouse/README.md maps every ClickHouse object to its migrations: fails when the
// map and the CREATE / DROP statements of the files disagree.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readMigrationFiles } from '../../src/migrate/migration-files.js';

const DIR = new URL('../../migrations/clickhouse/', import.meta.url);
const STATEMENT =
  /\b(CREATE)\s+(?:TABLE|MATERIALIZED\s+VIEW|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:[\w{}]+\.)?(\w+)|\b(DROP)\s+(?:TABLE|VIEW)\s+(?:IF\s+EXISTS\s+)?(?:[\w{}]+\.)?(\w+)/gi;

interface History {
  /** Versions of the files that create it, in order. */
  created: number[];
  /** The version that dropped it last, when no later file created it again. */
  droppedBy?: number;
}

/** Every object any migration creates, replaying the CREATE and DROP statements in order. */
function objectHistories(): Map<string, History> {
  const objects = new Map<string, History>();
  for (const file of readMigrationFiles(fileURLToPath(DIR))) {
    const sql = file.sql.replace(/--[^\n]*/g, '');
    for (const m of sql.matchAll(STATEMENT)) {
      const name = m[2] ?? m[4]!;
      const history = objects.get(name) ?? { created: [] };
      if (m[1]) {
        if (history.created.at(-1) !== file.version) history.created.push(file.version);
        delete history.droppedBy;
      } else if (history.created.length > 0) {
        history.droppedBy = file.version;
      }
      objects.set(name, history);
    }
  }
  return objects;
}

/** The rows of the first table under `## heading`: the name in backticks, then the other cells. */
function mapTable(markdown: string, heading: string): Map<string, string[]> {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`migrations/clickhouse/README.md has no "## ${heading}" section`);
  const end = markdown.indexOf('\n## ', start + 1);
  const rows = new Map<string, string[]>();
  for (const line of markdown.slice(start, end < 0 ? undefined : end).split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const name = /^`(\w+)`$/.exec(cells[1] ?? '')?.[1];
    if (line.startsWith('|') && name) rows.set(name, cells.slice(2));
  }
  return rows;
}

/** The first migration number (NNNN) in a cell. */
function version(cell: string | undefined): number | undefined {
  const match = /\b(\d{4})\b/.exec(cell ?? '');
  return match ? Number(match[1]) : undefined;
}

describe('migrations/clickhouse/README.md', () => {
  const readme = readFileSync(new URL('README.md', DIR), 'utf8');
  const histories = objectHistories();
  const existing = [...histories].filter(([, h]) => h.droppedBy === undefined);
  const dropped = [...histories].filter(([, h]) => h.droppedBy !== undefined);
  const objects = mapTable(readme, 'Objects');
  const droppedRows = mapTable(readme, 'Dropped');

  it('finds the objects of the migration files', () => {
    expect(existing.length).toBeGreaterThan(50);
    expect(histories.get('ticket_sales_queue')).toEqual({ created: [2, 11, 15] });
    expect(histories.get('user_interactions_ids')).toEqual({ created: [3], droppedBy: 12 });
  });

  it('lists every object that exists after the last migration', () => {
    const missing = existing.map(([name]) => name).filter((name) => !objects.has(name));
    expect(missing, 'objects missing from the "Objects" table').toEqual([]);
  });

  it('lists no object that no migration leaves in place', () => {
    const unknown = [...objects.keys()].filter((name) => !histories.has(name));
    expect(unknown, 'in the "Objects" table, but no migration creates them').toEqual([]);
    const gone = [...objects.keys()].filter((name) => histories.get(name)?.droppedBy !== undefined);
    expect(gone, 'in the "Objects" table, but dropped by a later migration').toEqual([]);
  });

  it("names each object's current form and first migration", () => {
    for (const [name, history] of existing) {
      const [, current, first] = objects.get(name) ?? [];
      const last = history.created.at(-1);
      expect(version(current), `${name}: current form is ${last}`).toBe(last);
      const earliest = history.created[0] === last ? undefined : history.created[0];
      expect(version(first), `${name}: first created by ${earliest ?? 'the same file'}`).toBe(earliest);
    }
  });

  it('lists the dropped objects with the migrations that created and dropped them', () => {
    expect([...droppedRows.keys()].sort()).toEqual(dropped.map(([name]) => name).sort());
    for (const [name, history] of dropped) {
      const [, created, droppedBy] = droppedRows.get(name) ?? [];
      expect([version(created), version(droppedBy)], name).toEqual([history.created[0], history.droppedBy]);
    }
  });
});
