/**
 * The analyst queries in `queries/*.sql`: each file is one named, documented query whose
 * header declares its parameters. Parameters are written `{{name}}` in the body and rendered
 * by the typed-literal module (ClickHouse 18.16 cannot bind them on the server); `{database}`
 * is the configured database.
 *
 * Header lines:
 *   -- name: live_sales_for_show
 *   -- purpose: ...            (may continue on following `--` lines)
 *   -- param: show_id String the show
 *   -- columns: window_start, category, ...
 *   -- volatile: detected_at   (columns whose value depends on when it ran)
 *   -- key: window_start, category  (with `watermark:`, makes the query a live feed: the columns
 *                               that identify a row, and one that grows whenever a row changes)
 *   -- watermark: last_counted_at
 *   -- scope: event_id         (the column naming the show; the body's `{scope}` becomes a
 *                               filter to the caller's shows) or `platform` (platform keys
 *                               only); a query with a `show_id` param is scoped by that param
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { dateTime, float, ident, int, LiteralError, str, uuid, type SqlFragment } from './literals.js';

export const PARAM_TYPES = ['String', 'Int64', 'UInt32', 'Float64', 'DateTime', 'UUID'] as const;
export type ParamType = (typeof PARAM_TYPES)[number];
const PARAM_LINE = new RegExp(`^(\\w+)\\s+(${PARAM_TYPES.join('|')})\\s*(.*)$`);

export interface QueryParam {
  name: string;
  type: ParamType;
  description: string;
}

export interface NamedQuery {
  name: string;
  purpose: string;
  params: QueryParam[];
  columns: string[];
  volatile: string[];
  /** Columns that identify a row, when the query is a live feed (src/push/feeds.ts). */
  key: string[];
  /** A column that grows whenever a row changes, when the query is a live feed. */
  watermark: string | undefined;
  /** The show column `{scope}` filters on, `platform`, or undefined (see the header above). */
  scope: string | undefined;
  body: string;
}

const RENDER: Record<ParamType, (value: unknown) => SqlFragment> = {
  String: (v) => str(v as string),
  Int64: (v) => int(typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : (v as number)),
  UInt32: (v) => int(typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : (v as number)),
  Float64: (v) => float(typeof v === 'string' ? Number(v) : (v as number)),
  DateTime: (v) => dateTime(v instanceof Date ? v : new Date(v as string)),
  UUID: (v) => uuid(v as string),
};

/** Parses one query file. */
export function parseNamedQuery(file: string, text: string): NamedQuery {
  const header: string[] = [];
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith('--')) header.push(lines[i++]!.replace(/^--\s?/, ''));
  const body = lines.slice(i).join('\n').trim();
  const fields = new Map<string, string[]>();
  let last = '';
  for (const line of header) {
    const match = /^(name|purpose|param|columns|volatile|scope|key|watermark):\s*(.*)$/.exec(line);
    if (match) {
      last = match[1]!;
      fields.set(last, [...(fields.get(last) ?? []), match[2]!]);
    } else if (last === 'purpose') {
      fields.get('purpose')!.push(line.trim());
    }
  }
  const name = fields.get('name')?.[0];
  if (!name || name !== basename(file, '.sql'))
    throw new Error(`${file}: header 'name:' must equal the file name`);
  const params = (fields.get('param') ?? []).map((p) => {
    const m = PARAM_LINE.exec(p);
    if (!m) throw new Error(`${file}: bad param line '${p}' (expected: name Type description)`);
    return { name: m[1]!, type: m[2] as ParamType, description: m[3]! };
  });
  for (const used of body.matchAll(/\{\{(\w+)\}\}/g)) {
    if (!params.some((p) => p.name === used[1]))
      throw new Error(`${file}: {{${used[1]}}} is not a declared param`);
  }
  const list = (key: string) =>
    (fields.get(key)?.[0] ?? '')
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean);
  if (!fields.get('purpose')) throw new Error(`${file}: header needs 'purpose:'`);
  const scope = fields.get('scope')?.[0]?.trim().split(/\s+/)[0];
  if (scope !== undefined && scope !== 'platform' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(scope))
    throw new Error(`${file}: 'scope:' must be a column name or 'platform'`);
  if ((scope !== undefined && scope !== 'platform') !== body.includes('{scope}'))
    throw new Error(`${file}: a column in 'scope:' and '{scope}' in the body go together`);
  const columns = list('columns');
  const key = list('key');
  const watermark = fields.get('watermark')?.[0]?.trim() || undefined;
  if (key.length > 0 !== (watermark !== undefined))
    throw new Error(`${file}: 'key:' and 'watermark:' go together (they make the query a live feed)`);
  for (const column of [...key, ...(watermark ? [watermark] : [])]) {
    if (!columns.includes(column)) throw new Error(`${file}: '${column}' is not in 'columns:'`);
  }
  return {
    name,
    purpose: fields.get('purpose')!.join(' '),
    params,
    columns,
    volatile: list('volatile'),
    key,
    watermark,
    scope,
    body,
  };
}

/** Every query in a folder, by name. */
export function loadNamedQueries(dir: string): Map<string, NamedQuery> {
  const queries = new Map<string, NamedQuery>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    const query = parseNamedQuery(file, readFileSync(join(dir, file), 'utf8'));
    queries.set(query.name, query);
  }
  return queries;
}

/**
 * SQL text for a query with its parameters rendered as typed literals; throws LiteralError for
 * bad values. `shows` limits a scoped query to those shows (`{scope}`); without it, all shows.
 */
export function renderNamedQuery(
  query: NamedQuery,
  database: string,
  values: Record<string, unknown>,
  shows?: readonly string[],
): string {
  const db = ident(database).text.slice(1, -1);
  const scope =
    shows === undefined || query.scope === undefined || query.scope === 'platform'
      ? '1'
      : shows.length === 0
        ? '0'
        : `${query.scope} IN (${shows.map((s) => str(s).text).join(', ')})`;
  return query.body
    .replaceAll('{database}', db)
    .replaceAll('{scope}', scope)
    .replace(/\{\{(\w+)\}\}/g, (_m, name: string) => {
      const param = query.params.find((p) => p.name === name)!;
      if (!(name in values)) throw new LiteralError(`missing parameter ${name} (${param.type})`);
      try {
        return RENDER[param.type](values[name]).text;
      } catch (err) {
        throw new LiteralError(`parameter ${name}: ${(err as Error).message}`);
      }
    });
}
