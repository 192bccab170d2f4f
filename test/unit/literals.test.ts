import { describe, expect, it } from 'vitest';
import {
  array,
  bool,
  dateTime,
  decimal,
  float,
  ident,
  int,
  LiteralError,
  sql,
  str,
  uuid,
  type SqlFragment,
} from '../../src/sql/literals.js';
import { HOSTILE_STRINGS } from '../fixtures/hostile-strings.js';

describe('str', () => {
  it('escapes quotes, backslashes and control characters so the literal cannot end early', () => {
    expect(str("it's").text).toBe("'it\\'s'");
    expect(str('a\\b').text).toBe("'a\\\\b'");
    expect(str('a\nb\0').text).toBe("'a\\nb\\0'");
    for (const s of HOSTILE_STRINGS) {
      const body = str(s).text.slice(1, -1);
      // Inside the quotes every quote is escaped, i.e. preceded by an odd number of backslashes.
      for (const match of body.matchAll(/(\\*)'/g)) expect(match[1]!.length % 2).toBe(1);
      expect(body).not.toMatch(/[\n\r\0]/);
    }
  });

  it('refuses non-strings and lone surrogates', () => {
    expect(() => str(42 as unknown as string)).toThrow(LiteralError);
    expect(() => str('\ud800')).toThrow(/lone surrogate/);
  });
});

describe('numbers', () => {
  it('renders integers, refusing anything that is not one', () => {
    expect(int(-5).text).toBe('-5');
    expect(int(2n ** 62n).text).toBe('4611686018427387904');
    for (const bad of [1.5, NaN, Infinity, 2 ** 53, '1; DROP' as unknown as number]) {
      expect(() => int(bad)).toThrow(LiteralError);
    }
    expect(() => int(2n ** 63n)).toThrow(/Int64 range/);
  });

  it('renders finite floats only', () => {
    expect(float(1.25).text).toBe('toFloat64(1.25)');
    expect(float(1e-7).text).toBe('toFloat64(1e-7)');
    for (const bad of [NaN, Infinity, -Infinity, '1' as unknown as number])
      expect(() => float(bad)).toThrow(LiteralError);
  });

  it('renders decimals from exact text and rejects anything else', () => {
    expect(decimal('12.50', 2).text).toBe("toDecimal64('12.50', 2)");
    for (const bad of ['1e5', '12.', '.5', "1' OR '1", '1;', ' 1', 'NaN', '--1']) {
      expect(() => decimal(bad, 2)).toThrow(LiteralError);
    }
    expect(() => decimal('1', 19)).toThrow(/scale/);
  });
});

describe('other types', () => {
  it('renders booleans, dates and UUIDs, validating each', () => {
    expect(bool(true).text).toBe('1');
    expect(dateTime(new Date('2026-05-01T12:00:00.999Z')).text).toBe('toDateTime(1777636800)');
    expect(() => dateTime(new Date('nope'))).toThrow(LiteralError);
    expect(uuid('5C5037DB-82B4-4A0D-9BE7-D43308F871D5').text).toBe(
      "toUUID('5c5037db-82b4-4a0d-9be7-d43308f871d5')",
    );
    expect(() => uuid("5c5037db-82b4-4a0d-9be7-d43308f871d5') OR ('1")).toThrow(LiteralError);
  });

  it('accepts plain identifiers only', () => {
    expect(ident('sales_per_minute').text).toBe('`sales_per_minute`');
    for (const bad of ['a`b', 'a b', '1abc', 'db.table', '`x`', '', 'a;b', 'a--']) {
      expect(() => ident(bad)).toThrow(LiteralError);
    }
  });

  it('builds arrays from rendered items only', () => {
    expect(array(['a', "b'"].map(str)).text).toBe("['a', 'b\\'']");
    expect(() => array(['raw' as unknown as SqlFragment])).toThrow(LiteralError);
  });
});

describe('sql', () => {
  it('splices rendered values and refuses raw ones', () => {
    const q = sql`SELECT * FROM ${ident('t')} WHERE a = ${str("x'")} AND b > ${int(1)}`;
    expect(q.text).toBe("SELECT * FROM `t` WHERE a = 'x\\'' AND b > 1");
    expect(() => sql`SELECT ${"1'; DROP TABLE t; --" as unknown as SqlFragment}`).toThrow(
      /hole 0 is a string/,
    );
  });
});
