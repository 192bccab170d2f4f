import { describe, expect, it } from 'vitest';
import { splitStatements } from '../../src/migrate/split-statements.js';

describe('splitStatements', () => {
  it('splits at top-level semicolons and drops empty and comment-only fragments', () => {
    const sql = `-- header; with a semicolon
CREATE TABLE a (x Int32);

/* block; comment */
CREATE TABLE b (y Int32);
-- trailing comment;
`;
    expect(splitStatements(sql)).toEqual([
      '-- header; with a semicolon\nCREATE TABLE a (x Int32)',
      '/* block; comment */\nCREATE TABLE b (y Int32)',
    ]);
  });

  it('keeps semicolons inside quotes, escaped quotes and dollar quotes', () => {
    const sql = `INSERT INTO t VALUES ('a;b', 'it''s;', 'back\\';slash');
SELECT "we;ird", \`x;y\`;
CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
DO $$ BEGIN PERFORM 1; END $$`;
    expect(splitStatements(sql)).toEqual([
      "INSERT INTO t VALUES ('a;b', 'it''s;', 'back\\';slash')",
      'SELECT "we;ird", `x;y`',
      'CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql',
      'DO $$ BEGIN PERFORM 1; END $$',
    ]);
  });

  it('returns nothing for an empty or comment-only file', () => {
    expect(splitStatements('')).toEqual([]);
    expect(splitStatements('-- nothing here;\n/* ; */\n')).toEqual([]);
  });
});
