/**
 * The only way values reach ClickHouse SQL text. ClickHouse 18.16 cannot bind query
 * parameters on the server, so every value is rendered by a type-directed function below
 * into a literal that cannot end early; `sql` accepts nothing else in its holes.
 *
 * @example
 * const query = sql`SELECT * FROM ${ident(db)}.sales WHERE event_id = ${str(showId)} AND n > ${int(5)}`;
 * await client.query({ query: query.text, format: 'JSONEachRow' });
 */

const BRAND: unique symbol = Symbol('SqlFragment');

/** A piece of SQL text that is safe to splice into a query. */
export interface SqlFragment {
  readonly text: string;
  readonly [BRAND]: true;
}

/** Thrown for a value that has no literal of the requested type. */
export class LiteralError extends TypeError {
  override name = 'LiteralError';
}

function fragment(text: string): SqlFragment {
  return { text, [BRAND]: true };
}

export function isSqlFragment(value: unknown): value is SqlFragment {
  return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
}

const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
};

/** A String literal: backslash and quote escaped, control characters spelled out. */
export function str(value: string): SqlFragment {
  if (typeof value !== 'string') throw new LiteralError(`expected a string, got ${typeof value}`);
  if (!value.isWellFormed()) throw new LiteralError('string contains a lone surrogate');
  return fragment(`'${value.replace(/[\\'\n\r\t\0\b\f]/g, (ch) => ESCAPES[ch] ?? ch)}'`);
}

/**
 * An integer literal from a safe integer or bigint, written as plain digits so it also works
 * where ClickHouse wants a number token (LIMIT, OFFSET).
 */
export function int(value: number | bigint): SqlFragment {
  if (typeof value === 'bigint') {
    if (value < -(2n ** 63n) || value >= 2n ** 63n) throw new LiteralError('integer out of Int64 range');
    return fragment(value.toString());
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new LiteralError(`expected a safe integer, got ${String(value)}`);
  }
  return fragment(String(value));
}

/** A Float64 literal; NaN and infinities are refused. */
export function float(value: number): SqlFragment {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new LiteralError(`expected a finite number, got ${String(value)}`);
  }
  return fragment(`toFloat64(${JSON.stringify(value)})`);
}

/** A Decimal64(scale) literal from exact decimal text (never through a float). */
export function decimal(value: string, scale: number): SqlFragment {
  if (typeof value !== 'string' || !/^-?\d{1,18}(\.\d{1,18})?$/.test(value)) {
    throw new LiteralError(`expected decimal text like 12.50, got ${JSON.stringify(value)}`);
  }
  if (!Number.isInteger(scale) || scale < 0 || scale > 18) throw new LiteralError('scale must be 0..18');
  return fragment(`toDecimal64(${str(value).text}, ${scale})`);
}

/** A UInt8 0/1 literal. */
export function bool(value: boolean): SqlFragment {
  if (typeof value !== 'boolean') throw new LiteralError(`expected a boolean, got ${typeof value}`);
  return fragment(value ? '1' : '0');
}

/** A DateTime literal (whole seconds, UTC) from a Date. */
export function dateTime(value: Date): SqlFragment {
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    throw new LiteralError('expected a valid Date');
  const seconds = Math.floor(value.getTime() / 1000);
  if (seconds < 0 || seconds > 4_294_967_295) throw new LiteralError('date outside the DateTime range');
  return fragment(`toDateTime(${seconds})`);
}

/** A UUID literal. */
export function uuid(value: string): SqlFragment {
  if (
    typeof value !== 'string' ||
    !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)
  ) {
    throw new LiteralError(`expected a UUID, got ${JSON.stringify(value)}`);
  }
  return fragment(`toUUID('${value.toLowerCase()}')`);
}

/** A database, table or column name: plain identifiers only, back-quoted. */
export function ident(name: string): SqlFragment {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) {
    throw new LiteralError(`expected a plain identifier, got ${JSON.stringify(name)}`);
  }
  return fragment(`\`${name}\``);
}

/** An array literal of already rendered values, e.g. `array(ids.map(str))`. */
export function array(items: readonly SqlFragment[]): SqlFragment {
  for (const item of items)
    if (!isSqlFragment(item)) throw new LiteralError('array items must be SqlFragments');
  return fragment(`[${items.map((i) => i.text).join(', ')}]`);
}

/** Joins SQL text with rendered values; a hole that is not a SqlFragment is an error. */
export function sql(strings: TemplateStringsArray, ...values: SqlFragment[]): SqlFragment {
  let text = strings[0] ?? '';
  values.forEach((value, i) => {
    if (!isSqlFragment(value)) {
      throw new LiteralError(
        `sql\`\` hole ${i} is a ${typeof value}: render it with str(), int(), ident()...`,
      );
    }
    text += value.text + (strings[i + 1] ?? '');
  });
  return fragment(text);
}
