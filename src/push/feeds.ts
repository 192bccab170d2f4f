/**
 * What `/v1/live` can stream: every analyst view, and every named query (`queries/*.sql`)
 * whose header declares `key:` and `watermark:`. A feed plus its params is polled by one
 * FeedPoller (src/push/feed-poller.ts); each feed is of one of three kinds, each read its own
 * way (src/push/feed-kinds.ts, with the SQL in src/push/feed-sql.ts):
 *
 * - `changes`: the view's rows are re-read only for the keys a change log names since the
 *   watermark (for the sales windows: `ticket_sales_ids` by `ingested_at`, the time ClickHouse
 *   counted each sale, and `refund_decisions` by `decided_at`, the time a refund was booked): one query for the keys and, when there are some, one for
 *   the view with them as literals. Cost per poll follows the changes, not the history.
 * - `refresh`: the view (filtered by params) is re-read whole and compared with the last
 *   result. For the small views: capacity, alerts, signals, dimensions.
 * - `query`: a named query re-run whole; its declared watermark column must grow whenever a
 *   row changes (that is what lets a cursor resume).
 */
import { LiteralError, dateTime, float, int, str, type SqlFragment } from '../sql/literals.js';
import { renderNamedQuery, type NamedQuery } from '../sql/named-queries.js';

/** How a feed is limited to a key's organizer: by a show column, an organizer column, or not at all (platform keys only). */
export type FeedScope = { show: string } | { organizer: string } | 'platform';

export type ParamKind = 'String' | 'DateTime' | 'Int' | 'Float';

/** A view whose changed rows a change log can name. */
export interface ChangeLog {
  /** The log table, in the feed's database. */
  table: string;
  /** Its insertion-time column. */
  time: string;
  /** View column → expression over the log that yields it (a subset of the view's key). */
  keys: Record<string, string>;
}

interface FeedBase {
  name: string;
  /** The columns that identify a row. */
  key: string[];
  scope: FeedScope;
}

/** A view read for the keys its change logs name (see the header). */
export interface ChangesFeed extends FeedBase {
  kind: 'changes';
  /** Columns a subscriber may filter on by equality, with their kind. */
  params: Record<string, ParamKind>;
  /** Every log whose new rows change the view; all name the same view columns. */
  changes: readonly [ChangeLog, ...ChangeLog[]];
}

/** A view re-read whole on each poll (see the header). */
export interface RefreshFeed extends FeedBase {
  kind: 'refresh';
  /** Columns a subscriber may filter on by equality, with their kind. */
  params: Record<string, ParamKind>;
}

/** A named query re-run whole on each poll; `watermark` is its column that grows with each change. */
export interface QueryFeed extends FeedBase {
  kind: 'query';
  watermark: string;
  query: NamedQuery;
}

/** A feed over an analyst view. */
export type ViewFeed = ChangesFeed | RefreshFeed;

export type Feed = ChangesFeed | RefreshFeed | QueryFeed;

/**
 * A sales window view, read for the windows that new sales (`ticket_sales_ids`, by their event
 * time) and new refund decisions (`refund_decisions`, by the refund's time) name.
 */
function salesWindows(name: string, window: string): ChangesFeed {
  return {
    kind: 'changes',
    name,
    key: ['event_id', 'window_start', 'category'],
    scope: { show: 'event_id' },
    params: { event_id: 'String', category: 'String', window_start: 'DateTime' },
    changes: [
      {
        table: 'ticket_sales_ids',
        time: 'ingested_at',
        keys: { event_id: 'event_id', window_start: `${window}(event_time)` },
      },
      {
        table: 'refund_decisions',
        time: 'decided_at',
        keys: { event_id: 'event_id', window_start: `${window}(refunded_at)` },
      },
    ],
  };
}

/** A small view, re-read whole on each poll. */
function refresh(
  name: string,
  key: string[],
  scope: FeedScope,
  params: Record<string, ParamKind>,
): RefreshFeed {
  return { kind: 'refresh', name, key, scope, params };
}

/** The params of the per-show, per-category views (capacity, pricing, their alerts). */
const SHOW_CATEGORY: Record<string, ParamKind> = { event_id: 'String', category: 'String' };

/** Every analyst view (test/integration/live.integration.test.ts checks none is missing). */
export const VIEW_FEEDS: readonly ViewFeed[] = [
  salesWindows('sales_per_minute', 'toStartOfMinute'),
  salesWindows('sales_per_hour', 'toStartOfHour'),
  refresh('capacity_status', ['event_id', 'category'], { show: 'event_id' }, SHOW_CATEGORY),
  refresh('pricing_signals', ['event_id', 'category'], { show: 'event_id' }, SHOW_CATEGORY),
  refresh(
    'capacity_alerts',
    ['event_id', 'category', 'threshold', 'crossed_at'],
    { show: 'event_id' },
    SHOW_CATEGORY,
  ),
  refresh('capacity_thresholds', ['event_id', 'category', 'threshold'], { show: 'event_id' }, SHOW_CATEGORY),
  refresh(
    'fraud_alerts',
    ['rule', 'event_id', 'order_id'],
    { show: 'event_id' },
    { event_id: 'String', rule: 'String', user_id: 'String' },
  ),
  refresh(
    'engagement_per_minute',
    ['event_id', 'window_start', 'action'],
    { show: 'event_id' },
    { event_id: 'String', action: 'String', window_start: 'DateTime' },
  ),
  refresh(
    'refunds',
    ['event_id', 'category', 'id'],
    { show: 'event_id' },
    { event_id: 'String', category: 'String', order_id: 'String' },
  ),
  refresh(
    'refund_decisions_latest',
    ['event_id', 'category', 'id'],
    { show: 'event_id' },
    { event_id: 'String', category: 'String', outcome: 'String' },
  ),
  refresh(
    'refund_anomalies',
    ['event_id', 'category', 'id'],
    { show: 'event_id' },
    { event_id: 'String', category: 'String', status: 'String' },
  ),
  refresh('ticket_categories', ['show_id', 'category'], { show: 'show_id' }, { show_id: 'String' }),
  refresh(
    'shows',
    ['show_id'],
    { organizer: 'organizer_id' },
    { organizer_id: 'String', show_id: 'String', status: 'String' },
  ),
  refresh(
    'fraud_rule_overrides',
    ['organizer_id', 'rule'],
    { organizer: 'organizer_id' },
    { organizer_id: 'String', rule: 'String' },
  ),
  refresh('pricing_rules', ['organizer_id'], { organizer: 'organizer_id' }, { organizer_id: 'String' }),
  refresh('metrics_per_minute', ['name', 'window_start'], 'platform', {
    name: 'String',
    window_start: 'DateTime',
  }),
  refresh('fraud_rules_current', ['rule'], 'platform', { rule: 'String' }),
];

/** The named queries that are feeds: those whose header declares `key:` and `watermark:`. */
export function queryFeeds(queries: ReadonlyMap<string, NamedQuery>): QueryFeed[] {
  const feeds: QueryFeed[] = [];
  for (const query of queries.values()) {
    if (query.key.length === 0 || query.watermark === undefined) continue;
    const showParam = query.params.find((p) => p.name === 'show_id');
    const organizerParam = query.params.find((p) => p.name === 'organizer_id');
    const scope: FeedScope =
      query.scope === 'platform' || (query.scope === undefined && !showParam && !organizerParam)
        ? 'platform'
        : showParam
          ? { show: 'show_id' }
          : organizerParam
            ? { organizer: 'organizer_id' }
            : { show: query.scope! };
    feeds.push({ kind: 'query', name: query.name, key: query.key, scope, watermark: query.watermark, query });
  }
  return feeds;
}

export function feedCatalog(queries: ReadonlyMap<string, NamedQuery>): Map<string, Feed> {
  const catalog = new Map<string, Feed>();
  for (const feed of [...VIEW_FEEDS, ...queryFeeds(queries)]) {
    if (catalog.has(feed.name)) throw new Error(`feed '${feed.name}' is both a view and a named query`);
    catalog.set(feed.name, feed);
  }
  return catalog;
}

export class FeedParamsError extends Error {}

/** Checks a subscriber's params against the feed: known names, values of the right kind. */
export function checkParams(feed: Feed, params: Record<string, unknown>): Record<string, string | number> {
  const checked: Record<string, string | number> = {};
  if (feed.kind === 'query') {
    for (const [name, value] of Object.entries(params)) {
      if (!feed.query.params.some((p) => p.name === name))
        throw new FeedParamsError(`unknown param '${name}'; ${feed.name} takes ${describeParams(feed)}`);
      if (typeof value !== 'string' && typeof value !== 'number')
        throw new FeedParamsError(`param '${name}' must be a string or a number`);
      checked[name] = value;
    }
    for (const param of feed.query.params) {
      if (!(param.name in checked))
        throw new FeedParamsError(`missing param '${param.name}' (${param.type})`);
    }
    try {
      renderNamedQuery(feed.query, 'db', checked);
    } catch (err) {
      if (err instanceof LiteralError) throw new FeedParamsError(err.message);
      throw err;
    }
    return checked;
  }
  for (const [name, value] of Object.entries(params)) {
    const kind = feed.params[name];
    if (!kind)
      throw new FeedParamsError(`unknown param '${name}'; ${feed.name} takes ${describeParams(feed)}`);
    try {
      renderParam(kind, value);
    } catch (err) {
      throw new FeedParamsError(`param '${name}': ${(err as Error).message}`);
    }
    checked[name] = value as string | number;
  }
  return checked;
}

function describeParams(feed: Feed): string {
  const names = feed.kind === 'query' ? feed.query.params.map((p) => p.name) : Object.keys(feed.params);
  return names.length ? names.join(', ') : 'no params';
}

export function renderParam(kind: ParamKind, value: unknown): SqlFragment {
  switch (kind) {
    case 'String':
      return str(value as string);
    case 'DateTime': {
      // ISO 8601 with a zone, or ClickHouse's own `YYYY-MM-DD hh:mm:ss` (UTC) as rows carry it.
      const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(Z|[+-]\d{2}:\d{2})?$/.exec(String(value));
      if (typeof value !== 'string' || !match)
        throw new LiteralError('expected a date-time such as 2026-11-26T20:00:00Z');
      return dateTime(new Date(`${match[1]}T${match[2]}${match[3] ?? 'Z'}`));
    }
    case 'Int':
      return int(value as number);
    case 'Float':
      return float(value as number);
  }
}

/** A canonical text for a feed and its params: the poller's identity. */
export function feedId(feed: Feed, params: Record<string, string | number>): string {
  return `${feed.name}?${JSON.stringify(
    Object.keys(params)
      .sort()
      .map((k) => [k, params[k]]),
  )}`;
}
