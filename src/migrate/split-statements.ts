/**
 * Splits a SQL file into statements at top-level semicolons, leaving semicolons inside
 * quotes ('…', "…", `…`), dollar quotes ($tag$…$tag$) and comments alone. Comment-only
 * fragments are dropped.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i];
    const next = sql[i + 1];
    if (ch === '-' && next === '-') {
      i = endOf(sql.indexOf('\n', i), sql.length);
    } else if (ch === '/' && next === '*') {
      i = endOf(sql.indexOf('*/', i + 2), sql.length) + 2;
    } else if (ch === "'" || ch === '"' || ch === '`') {
      i = skipQuoted(sql, i, ch);
    } else if (ch === '$') {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i));
      if (tag) {
        i = endOf(sql.indexOf(tag[0], i + tag[0].length), sql.length) + tag[0].length;
      } else {
        i += 1;
      }
    } else if (ch === ';') {
      push(sql.slice(start, i));
      start = i + 1;
      i += 1;
    } else {
      i += 1;
    }
  }
  push(sql.slice(start));
  return statements;

  function push(fragment: string): void {
    if (stripComments(fragment).trim().length > 0) statements.push(fragment.trim());
  }
}

/** Index just past the closing quote, honouring backslash escapes and doubled quotes. */
function skipQuoted(sql: string, open: number, quote: string): number {
  let i = open + 1;
  while (i < sql.length) {
    if (sql[i] === '\\') {
      i += 2;
    } else if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else {
      i += 1;
    }
  }
  return sql.length;
}

function endOf(index: number, fallback: number): number {
  return index === -1 ? fallback : index;
}

function stripComments(fragment: string): string {
  return fragment.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
}
