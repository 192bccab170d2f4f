/**
 * The SQL of the live feeds (src/push/feeds.ts): every query a FeedPoller sends, rendered
 * from the feed, its checked params and src/sql/literals.ts. Each row of a feed's read carries
 * `_now`, ClickHouse's clock at the read, so that a watermark is the server's time, not ours.
 */
import { ident, int } from '../sql/literals.js';
import { renderNamedQuery } from '../sql/named-queries.js';
import { renderParam, type ChangesFeed, type Feed, type ViewFeed } from './feeds.js';

export type Params = Record<string, string | number>;
type Row = Record<string, unknown>;

/** ClickHouse's clock, for a load that returned no row to carry `_now`. */
export const CLOCK_QUERY = 'SELECT toUnixTimestamp(now()) AS _now';

const NOW = 'toUnixTimestamp(now()) AS _now';

/** The params as equality conditions on the view's columns. */
function filters(feed: ViewFeed, params: Params): string[] {
  return Object.entries(params).map(
    ([name, value]) => `${ident(name).text} = ${renderParam(feed.params[name]!, value).text}`,
  );
}

function table(database: string, name: string): string {
  return `${ident(database).text}.${ident(name).text}`;
}

/** The whole feed with its params, at most `maxRows + 1` rows (one more tells it is too large). */
export function wholeFeedQuery(feed: Feed, database: string, params: Params, maxRows: number): string {
  const limit = int(maxRows + 1).text;
  if (feed.kind === 'query') {
    const body = renderNamedQuery(feed.query, database, params);
    return `SELECT *, ${NOW} FROM (${body}) LIMIT ${limit}`;
  }
  const where = filters(feed, params);
  return `SELECT *, ${NOW} FROM ${table(database, feed.name)}${
    where.length ? ` WHERE ${where.join(' AND ')}` : ''
  } LIMIT ${limit}`;
}

/** The log's keys changed since `since` (epoch seconds), narrowed by the params the log also has. */
export function changeLogQuery(feed: ChangesFeed, database: string, params: Params, since: number): string {
  const columns = changeLogColumns(feed);
  const selects = feed.changes.map((log) => {
    const conditions = [`${ident(log.time).text} >= toDateTime(${int(Math.max(0, since)).text})`];
    for (const [name, value] of Object.entries(params)) {
      const expr = log.keys[name];
      if (expr) conditions.push(`${expr} = ${renderParam(feed.params[name]!, value).text}`);
    }
    const select = columns.map((c) => `${log.keys[c]} AS ${ident(c).text}`).join(', ');
    return `SELECT DISTINCT ${select} FROM ${table(database, log.table)} WHERE ${conditions.join(' AND ')}`;
  });
  return selects.length === 1 ? selects[0]! : `SELECT DISTINCT * FROM (${selects.join(' UNION ALL ')})`;
}

/** The view columns the change log names (a subset of the feed's key). */
export function changeLogColumns(feed: ChangesFeed): string[] {
  return Object.keys(feed.changes[0].keys);
}

/** The view's rows for these log keys (e.g. event_id and window_start), as literals. */
export function changedRowsQuery(feed: ChangesFeed, database: string, params: Params, keys: Row[]): string {
  const columns = changeLogColumns(feed);
  const literal = (column: string, value: unknown) =>
    renderParam(feed.params[column] ?? 'String', value).text;
  const tuples = keys.map((key) =>
    columns.length === 1
      ? literal(columns[0]!, key[columns[0]!])
      : `(${columns.map((c) => literal(c, key[c])).join(', ')})`,
  );
  const tuple =
    columns.length === 1 ? ident(columns[0]!).text : `(${columns.map((c) => ident(c).text).join(', ')})`;
  const where = [...filters(feed, params), `${tuple} IN (${tuples.join(', ')})`];
  return `SELECT *, ${NOW} FROM ${table(database, feed.name)} WHERE ${where.join(' AND ')}`;
}
