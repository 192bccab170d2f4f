-- Show dimensions from Postgres, sales totals, capacity, capacity alerts and price signals.
--
-- Dimensions. src/bridge writes a full row with a new `version` (Postgres updated_at in
-- microseconds since the epoch) on every change, and `deleted = 1` when the row was deleted in
-- Postgres. The 0001 tables (dim_shows, dim_show_capacities) were never written and are
-- replaced (dropped first: if this file fails part-way and runs again, that drop empties the new
-- dim_shows too, and the bridge has to sync shows again). ReplacingMergeTree(version) folds old
-- versions away on merge, but merges come when they come, so analysts read the views below: the
-- latest version of each key (argMax over version, exact before merges), keys whose latest row
-- is a deletion hidden. A nullable column
-- is read as argMax(tuple(x), version): argMax skips rows whose argument is NULL (measured on
-- 18.16 and 26.9), which would resurrect the value a NULL replaced.
--
--   shows                show_id, organizer_id, name, venue, country FixedString(2), timezone,
--                        starts_at DateTime (UTC), status, version
--   ticket_categories    show_id, category, capacity UInt32, price Decimal(18, 4),
--                        currency FixedString(3), version
--   fraud_rule_overrides organizer_id, rule, threshold Nullable(Float64),
--                        window_seconds Nullable(UInt32) (NULL: the rule's default), enabled,
--                        version
--   pricing_rules        organizer_id, hot_sell_through, early_sellout_hours, surge_factor,
--                        max_multiplier (Float64 each; meaning under pricing_signals), version
--
-- sales_totals: tickets and orders per show and category, summed as sales arrive (fed by the
-- deduplicated rows, so exact under redelivery). A reader sums the rows of a key
-- (`sum(tickets) ... GROUP BY event_id, category`): before a merge a key has a few rows, after
-- it one, so reading it costs per (show, category), not per sale. The backfill runs before the
-- view exists and only into an empty table: exact on a new deployment; an upgrade under live
-- traffic misses the sales ingested while the backfill statement runs (apply it with ingest
-- paused if that matters).
--   event_id String, category String, tickets UInt64, orders UInt64
--
-- capacity_status, per show and category of ticket_categories:
--   event_id      String   the show
--   category      String
--   capacity      UInt32   latest capacity from ticket_categories
--   sold          UInt64   tickets sold (sales_totals; 0 without sales)
--   remaining     UInt64   capacity - sold, never below 0
--   percent_sold  Float64  sold / capacity as a percentage (85.0); over 100 when oversold;
--                          capacity 0: 0 without sales, else 100
--
-- capacity_alerts: the first crossing of 80, 95 and 100 % per show and category, once each.
-- Written by src/capacity/alert-runner.ts (SQL in src/capacity/transitions/) into
-- `capacity_threshold_events`, not by a view: the check JOINs and reads views, which a view fired
-- by 18.16's Kafka engine cannot (see 0010). A threshold is crossed when tickets sold reach
-- ceil(threshold % x capacity) (at least 1). A capacity raised later re-arms each threshold the
-- new capacity puts out of reach again; it then fires again, as a new alert, when crossed anew.
--   event_id     String
--   category     String
--   threshold    UInt8     80 | 95 | 100
--   crossed_at   DateTime  event_time of the sale whose cumulative tickets (ordered by
--                          event_time, id) first reached the threshold; never before the
--                          threshold was (re-)armed
--   capacity     UInt32    the capacity it was measured against
--   sold         UInt64    tickets sold up to and including that sale
--   detected_at  DateTime  when the runner wrote it
--
-- capacity_threshold_events holds each transition, keyed (event_id, category, threshold,
-- generation, kind): a threshold's state is its latest (generation, kind): none = armed at
-- generation 0, (g, crossed) = crossed, (g, rearmed) = armed at generation g + 1. So every write
-- a state allows has exactly one key: a run repeated after a crash, two runners at once, or Kafka
-- redelivering sales (already deduplicated upstream) write an existing key again, and
-- ReplacingMergeTree plus the readers' GROUP BY keep one. Cost, measured on 18.16 with 2M sales
-- in 10 shows (20 categories): a run with nothing to do reads 40 rows (9 ms); a crossing reads
-- that show's sales once (213k rows, 146 ms, 44 MiB for a 200k-sale show).
--
-- capacity_thresholds, each threshold of each category of capacity_status with its state (what
-- the runner reads; also answers "what is armed now"):
--   event_id, category, capacity, sold  as in capacity_status
--   threshold   UInt8     80 | 95 | 100
--   required    UInt64    tickets that cross it: ceil(threshold % x capacity), at least 1
--   generation  UInt32    times it was re-armed
--   crossed     UInt8     1: crossed in this generation; 0: armed
--   since       DateTime  when it was crossed / re-armed (0 for generation 0, never crossed)
--
-- pricing_signals, per show and category of ticket_categories: a surge suggestion when a
-- category sells fast and, at that pace, would sell out well before the show. Rule settings per
-- organizer from pricing_rules; an organizer without a row gets the defaults written in the view:
-- hot_sell_through 0.10, early_sellout_hours 24, surge_factor 1.0, max_multiplier 1.5. With
-- the 2M sales above, `WHERE event_id = ...` read 8,272 rows of ticket_sales, all shows 76,700.
--   event_id              String
--   category              String
--   capacity              UInt32
--   sold                  UInt64
--   remaining             UInt64
--   sold_15m              UInt64    tickets with event_time in the last 15 minutes (raw
--                                   ticket_sales: per show, the tail of its index range)
--   sell_through_15m      Float64   sold_15m / capacity (fraction: 0.38)
--   projected_sellout_at  Nullable(DateTime)  now + remaining / (sold_15m / 900 s); NULL without
--                                   sales in the last 15 minutes or when sold out
--   starts_at             DateTime  from shows (0 when the show is not in shows)
--   hours_before_show     Nullable(Float64)  starts_at - projected_sellout_at in hours (negative:
--                                   after the show starts); NULL when either is unknown
--   multiplier            Float64   hot: least(max_multiplier, 1 + surge_factor x
--                                   sell_through_15m), never below 1; else 1.0. Hot means
--                                   sell_through_15m >= hot_sell_through and
--                                   hours_before_show >= early_sellout_hours
--   reason                String    in words, e.g. 'sold 38 % in 15 min; at this pace sells out
--                                   9 days before the show; suggest x1.38', 'no sales in the
--                                   last 15 min', 'sold out'

DROP TABLE IF EXISTS {database}.dim_shows {on_cluster};

DROP TABLE IF EXISTS {database}.dim_show_capacities {on_cluster};

CREATE TABLE IF NOT EXISTS {database}.dim_shows {on_cluster} (
  show_id String,
  organizer_id String,
  name String,
  venue String,
  country FixedString(2),
  timezone String,
  starts_at DateTime,
  status String,
  version UInt64,
  deleted UInt8
) ENGINE = ReplacingMergeTree(version)
ORDER BY show_id;

CREATE TABLE IF NOT EXISTS {database}.dim_ticket_categories {on_cluster} (
  show_id String,
  category String,
  capacity UInt32,
  price Decimal(18, 4),
  currency FixedString(3),
  version UInt64,
  deleted UInt8
) ENGINE = ReplacingMergeTree(version)
ORDER BY (show_id, category);

CREATE TABLE IF NOT EXISTS {database}.dim_fraud_rule_overrides {on_cluster} (
  organizer_id String,
  rule String,
  threshold Nullable(Float64),
  window_seconds Nullable(UInt32),
  enabled UInt8,
  version UInt64,
  deleted UInt8
) ENGINE = ReplacingMergeTree(version)
ORDER BY (organizer_id, rule);

CREATE TABLE IF NOT EXISTS {database}.dim_pricing_rules {on_cluster} (
  organizer_id String,
  hot_sell_through Float64,
  early_sellout_hours Float64,
  surge_factor Float64,
  max_multiplier Float64,
  version UInt64,
  deleted UInt8
) ENGINE = ReplacingMergeTree(version)
ORDER BY organizer_id;

-- Inner columns are renamed (o, n, ...) so no aggregate's alias names a column it reads.
CREATE VIEW IF NOT EXISTS {database}.shows {on_cluster} AS
SELECT show_id, organizer_id, name, venue, country, timezone, starts_at, status, version
FROM (
  SELECT
    show_id,
    argMax(o, v) AS organizer_id,
    argMax(n, v) AS name,
    argMax(ve, v) AS venue,
    argMax(c, v) AS country,
    argMax(tz, v) AS timezone,
    argMax(s, v) AS starts_at,
    argMax(st, v) AS status,
    argMax(d, v) AS is_deleted,
    max(v) AS version
  FROM (
    SELECT show_id, organizer_id AS o, name AS n, venue AS ve, country AS c, timezone AS tz,
      starts_at AS s, status AS st, deleted AS d, version AS v
    FROM {database}.dim_shows
  )
  GROUP BY show_id
)
WHERE is_deleted = 0;

CREATE VIEW IF NOT EXISTS {database}.ticket_categories {on_cluster} AS
SELECT show_id, category, capacity, price, currency, version
FROM (
  SELECT
    show_id,
    category,
    argMax(cap, v) AS capacity,
    argMax(p, v) AS price,
    argMax(cur, v) AS currency,
    argMax(d, v) AS is_deleted,
    max(v) AS version
  FROM (
    SELECT show_id, category, capacity AS cap, price AS p, currency AS cur, deleted AS d, version AS v
    FROM {database}.dim_ticket_categories
  )
  GROUP BY show_id, category
)
WHERE is_deleted = 0;

CREATE VIEW IF NOT EXISTS {database}.fraud_rule_overrides {on_cluster} AS
SELECT organizer_id, rule, threshold, window_seconds, enabled, version
FROM (
  SELECT
    organizer_id,
    rule,
    tupleElement(argMax(t, v), 1) AS threshold,
    tupleElement(argMax(w, v), 1) AS window_seconds,
    argMax(e, v) AS enabled,
    argMax(d, v) AS is_deleted,
    max(v) AS version
  FROM (
    SELECT organizer_id, rule, tuple(threshold) AS t, tuple(window_seconds) AS w, enabled AS e,
      deleted AS d, version AS v
    FROM {database}.dim_fraud_rule_overrides
  )
  GROUP BY organizer_id, rule
)
WHERE is_deleted = 0;

CREATE VIEW IF NOT EXISTS {database}.pricing_rules {on_cluster} AS
SELECT organizer_id, hot_sell_through, early_sellout_hours, surge_factor, max_multiplier, version
FROM (
  SELECT
    organizer_id,
    argMax(h, v) AS hot_sell_through,
    argMax(e, v) AS early_sellout_hours,
    argMax(s, v) AS surge_factor,
    argMax(m, v) AS max_multiplier,
    argMax(d, v) AS is_deleted,
    max(v) AS version
  FROM (
    SELECT organizer_id, hot_sell_through AS h, early_sellout_hours AS e, surge_factor AS s,
      max_multiplier AS m, deleted AS d, version AS v
    FROM {database}.dim_pricing_rules
  )
  GROUP BY organizer_id
)
WHERE is_deleted = 0;

CREATE TABLE IF NOT EXISTS {database}.sales_totals {on_cluster} (
  event_id String,
  category String,
  tickets UInt64,
  orders UInt64
) ENGINE = SummingMergeTree
ORDER BY (event_id, category);

INSERT INTO {database}.sales_totals
SELECT event_id, category, toUInt64(sum(quantity)), toUInt64(count())
FROM {database}.ticket_sales
WHERE (SELECT count() FROM {database}.sales_totals) = 0
GROUP BY event_id, category;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sales_totals_mv {on_cluster}
TO {database}.sales_totals AS
SELECT event_id, category, toUInt64(sum(quantity)) AS tickets, toUInt64(count()) AS orders
FROM {database}.{inserted:ticket_sales_dedup_mv:ticket_sales}
GROUP BY event_id, category;

-- Categories and their sales meet in a UNION ALL grouped by key, not in a LEFT JOIN: 18.16
-- pushes a WHERE on a joined column into the right side of a LEFT JOIN
-- (enable_optimize_predicate_expression, on in our profile), so `WHERE sold = 0` returned
-- categories that had sales, with sold 0.
CREATE VIEW IF NOT EXISTS {database}.capacity_status {on_cluster} AS
SELECT
  event_id,
  category,
  capacity,
  sold,
  toUInt64(greatest(toInt64(capacity) - toInt64(sold), 0)) AS remaining,
  if(capacity = 0, if(sold = 0, 0., 100.), sold * 100. / capacity) AS percent_sold
FROM (
  SELECT event_id, category, max(c) AS capacity, sum(t) AS sold, max(l) AS listed
  FROM (
    SELECT show_id AS event_id, category, capacity AS c, toUInt64(0) AS t, toUInt8(1) AS l
    FROM {database}.ticket_categories
    UNION ALL
    SELECT event_id, category, toUInt32(0) AS c, tickets AS t, toUInt8(0) AS l
    FROM {database}.sales_totals
  )
  GROUP BY event_id, category
)
WHERE listed = 1;

CREATE TABLE IF NOT EXISTS {database}.capacity_threshold_events {on_cluster} (
  event_id String,
  category String,
  threshold UInt8,
  generation UInt32,
  kind Enum8('crossed' = 1, 'rearmed' = 2),
  at DateTime,
  capacity UInt32,
  sold UInt64,
  detected_at DateTime
) ENGINE = ReplacingMergeTree
ORDER BY (event_id, category, threshold, generation, kind);

-- Each threshold of each category with its state, again a UNION ALL grouped by key (see
-- capacity_status). The state is the greatest (ordinal, 4294967295 - at): the latest key, and of
-- the rows that share it (a repeated write) the earliest `at`, so `since` does not change when a
-- merge drops one.
CREATE VIEW IF NOT EXISTS {database}.capacity_thresholds {on_cluster} AS
SELECT
  event_id,
  category,
  threshold,
  capacity,
  sold,
  toUInt64(greatest(intDiv(toUInt64(capacity) * threshold + 99, 100), 1)) AS required,
  toUInt32(intDiv(transitions, 2)) AS generation,
  toUInt8(transitions % 2) AS crossed,
  if(transitions = 0, toDateTime(0), toDateTime(4294967295 - tupleElement(top, 2))) AS since
FROM (
  SELECT
    event_id,
    category,
    threshold,
    max(l) AS listed,
    max(c) AS capacity,
    max(s) AS sold,
    max(o) AS top,
    tupleElement(top, 1) AS transitions
  FROM (
    SELECT
      event_id,
      category,
      arrayJoin([toUInt8(80), toUInt8(95), toUInt8(100)]) AS threshold,
      toUInt8(1) AS l,
      capacity AS c,
      sold AS s,
      tuple(toUInt64(0), toUInt32(0)) AS o
    FROM {database}.capacity_status
    UNION ALL
    SELECT
      event_id,
      category,
      threshold,
      toUInt8(0) AS l,
      toUInt32(0) AS c,
      toUInt64(0) AS s,
      tuple(toUInt64(generation) * 2 + if(kind = 'crossed', 1, 2), toUInt32(4294967295 - toUInt32(at))) AS o
    FROM {database}.capacity_threshold_events
  )
  GROUP BY event_id, category, threshold
)
WHERE listed = 1;

CREATE VIEW IF NOT EXISTS {database}.capacity_alerts {on_cluster} AS
SELECT event_id, category, threshold, crossed_at, capacity, sold, detected_at
FROM (
  SELECT
    event_id,
    category,
    threshold,
    generation,
    min(t) AS crossed_at,
    any(cap) AS capacity,
    any(s) AS sold,
    min(d) AS detected_at
  FROM (
    SELECT event_id, category, threshold, generation, at AS t, capacity AS cap, sold AS s,
      detected_at AS d
    FROM {database}.capacity_threshold_events
    WHERE kind = 'crossed'
  )
  GROUP BY event_id, category, threshold, generation
);

-- Three levels: the inputs per category, then the rate and projection, then the rule and its
-- words. An organizer without a pricing_rules row gets the defaults written here.
CREATE VIEW IF NOT EXISTS {database}.pricing_signals {on_cluster} AS
SELECT
  event_id,
  category,
  capacity,
  sold,
  remaining,
  sold_15m,
  sell_through_15m,
  projected_sellout_at,
  starts_at,
  hours_before_show,
  multiplier,
  multiIf(
    remaining = 0, 'sold out',
    sold_15m = 0, 'no sales in the last 15 min',
    known_show = 0, concat('sold ', pct, ' % in 15 min; the show start is not known'),
    concat(
      'sold ', pct, ' % in 15 min; at this pace sells out ',
      multiIf(
        lead_hours >= 48, concat(toString(toUInt64(round(lead_hours / 24))), ' days'),
        lead_hours >= 2, concat(toString(toUInt64(round(lead_hours))), ' hours'),
        concat(toString(toUInt64(round(lead_hours * 60))), ' minutes')
      ),
      if(ifNull(hours_before_show, 0) >= 0, ' before the show', ' after the show starts'),
      if(hot = 1, concat('; suggest ×', toString(round(multiplier, 2))), '')
    )
  ) AS reason
FROM (
  SELECT
    event_id, category, capacity, sold, remaining, sold_15m, sell_through_15m,
    projected_sellout_at, starts_at, hours_before_show, known_show,
    toUInt8(ifNull(sell_through_15m >= hot_sell_through AND hours_before_show >= early_sellout_hours, 0))
      AS hot,
    if(hot = 1, greatest(1., least(max_multiplier, 1. + surge_factor * sell_through_15m)), 1.)
      AS multiplier,
    toString(toUInt64(round(sell_through_15m * 100))) AS pct,
    abs(ifNull(hours_before_show, 0.)) AS lead_hours
  FROM (
    SELECT
      event_id, category, capacity, sold, remaining, sold_15m, starts_at, known_show,
      hot_sell_through, early_sellout_hours, surge_factor, max_multiplier,
      if(capacity = 0, 0., sold_15m / capacity) AS sell_through_15m,
      if(sold_15m = 0 OR remaining = 0, NULL,
         now() + least(toUInt64(remaining * 900 / sold_15m), toUInt64(4294967295 - toUInt32(now()))))
        AS projected_sellout_at,
      if(known_show = 0, NULL, (toInt64(starts_at) - toInt64(projected_sellout_at)) / 3600)
        AS hours_before_show
    FROM (
      -- Per show, the last 15 minutes are the tail of its range of the (event_id, event_time) key.
      SELECT event_id, category, max(c) AS capacity, max(s) AS sold, max(r) AS remaining,
        sum(q) AS sold_15m, max(l) AS listed
      FROM (
        SELECT event_id, category, capacity AS c, sold AS s, remaining AS r, toUInt64(0) AS q,
          toUInt8(1) AS l
        FROM {database}.capacity_status
        UNION ALL
        SELECT event_id, category, toUInt32(0) AS c, toUInt64(0) AS s, toUInt64(0) AS r,
          toUInt64(quantity) AS q, toUInt8(0) AS l
        FROM {database}.ticket_sales
        WHERE event_time > now() - INTERVAL 15 MINUTE
      )
      GROUP BY event_id, category
      HAVING listed = 1
    ) AS per_category
    -- Every show that has categories, with its start and its organizer's rules where known:
    -- complete, so an INNER JOIN serves. (18.16 pushes a WHERE on a LEFT JOIN's right-side
    -- column into that side, see capacity_status; into an INNER JOIN's sides that is correct, and
    -- `WHERE event_id = ...` reaches ticket_sales as an index range.) ALL, not ANY: current
    -- ClickHouse's ANY INNER JOIN keeps one left row per key, dropping all but one category.
    ALL INNER JOIN (
      SELECT
        event_id,
        max(k) AS known_show,
        argMax(st, k) AS starts_at,
        argMax(hst, k) AS hot_sell_through,
        argMax(esh, k) AS early_sellout_hours,
        argMax(sf, k) AS surge_factor,
        argMax(mm, k) AS max_multiplier
      FROM (
        SELECT show_id AS event_id, toUInt8(0) AS k, toDateTime(0) AS st, 0. AS hst, 0. AS esh,
          0. AS sf, 0. AS mm
        FROM {database}.ticket_categories
        UNION ALL
        SELECT show_id AS event_id, toUInt8(1) AS k, starts_at AS st, hst, esh, sf, mm
        FROM (SELECT show_id, starts_at, organizer_id FROM {database}.shows) AS show
        ALL INNER JOIN (
          -- Each organizer's rules; the defaults for an organizer without a pricing_rules row.
          SELECT organizer_id, argMax(h, r) AS hst, argMax(e, r) AS esh, argMax(f, r) AS sf,
            argMax(m, r) AS mm
          FROM (
            SELECT organizer_id, toUInt8(0) AS r, 0.10 AS h, 24. AS e, 1. AS f, 1.5 AS m
            FROM {database}.shows
            UNION ALL
            SELECT organizer_id, toUInt8(1) AS r, hot_sell_through AS h, early_sellout_hours AS e,
              surge_factor AS f, max_multiplier AS m
            FROM {database}.pricing_rules
          )
          GROUP BY organizer_id
        ) AS organizer_rules USING (organizer_id)
      )
      GROUP BY event_id
    ) AS per_show USING (event_id)
  )
);
