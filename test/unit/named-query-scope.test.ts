// How named queries are scoped to an organizer's shows: every served query declares how, and
// the `{scope}` filter is rendered from typed literals (hostile show ids included).
import { describe, expect, it } from 'vitest';
import { loadNamedQueries, parseNamedQuery, renderNamedQuery } from '../../src/sql/named-queries.js';
import { HOSTILE_STRINGS } from '../fixtures/hostile-strings.js';

const QUERIES = new URL('../../queries/', import.meta.url).pathname;

const scoped = parseNamedQuery(
  'scoped.sql',
  `-- name: scoped
-- purpose: test
-- param: from_time DateTime start
-- columns: event_id
-- scope: event_id (the show)
SELECT event_id FROM {database}.t WHERE ts >= {{from_time}} AND {scope}`,
);

describe('named query scope', () => {
  it('is declared by every query in queries/: a show_id param or a scope header', () => {
    for (const query of loadNamedQueries(QUERIES).values()) {
      const byParam = query.params.some((p) => p.name === 'show_id');
      expect(byParam || query.scope !== undefined, query.name).toBe(true);
    }
  });

  it('renders no filter for platform keys and an IN list (or nothing) for an organizer', () => {
    const values = { from_time: '2026-01-01T00:00:00Z' };
    expect(renderNamedQuery(scoped, 'db', values)).toContain('AND 1');
    expect(renderNamedQuery(scoped, 'db', values, ['a', 'b'])).toContain("AND event_id IN ('a', 'b')");
    expect(renderNamedQuery(scoped, 'db', values, [])).toContain('AND 0');
  });

  it('quotes hostile show ids as literals', () => {
    for (const hostile of HOSTILE_STRINGS) {
      const sql = renderNamedQuery(scoped, 'db', { from_time: '2026-01-01T00:00:00Z' }, [hostile]);
      expect(sql.endsWith(')')).toBe(true);
      expect(sql).not.toContain(`IN (${hostile})`);
    }
  });

  it('refuses a scope column without {scope} in the body, and the reverse', () => {
    const header = '-- name: q\n-- purpose: p\n';
    expect(() => parseNamedQuery('q.sql', `${header}-- scope: event_id\nSELECT 1`)).toThrow(/go together/);
    expect(() => parseNamedQuery('q.sql', `${header}SELECT 1 WHERE {scope}`)).toThrow(/go together/);
    expect(() => parseNamedQuery('q.sql', `${header}-- scope: platform\nSELECT 1`)).not.toThrow();
  });
});
