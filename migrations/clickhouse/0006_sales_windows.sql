-- Tumbling windows over ticket sales: per minute and per hour, per show (event_id) and category.
-- Windows are aligned to UTC minutes/hours of the event's own timestamp, so a late event lands
-- in its own window. Both roll-ups are fed from the deduplicated rows ({inserted:ticket_sales_dedup_mv:ticket_sales})
-- and keep aggregate *states*: the hour merges buyer sets, never sums per-minute uniques.
--
-- Analysts read the views `sales_per_minute` and `sales_per_hour` (finished values):
--   window_start DateTime  start of the UTC window
--   event_id     String    the show
--   category     String    ticket category (e.g. VIP, GA)
--   tickets      UInt64    tickets sold (sum of quantity)
--   orders       UInt64    orders (sale events)
--   revenue      Decimal   sum of order amounts, exact (in the show's currency)
--   unique_buyers UInt64   distinct user_id

CREATE TABLE IF NOT EXISTS {database}.sales_per_minute_agg {on_cluster} (
  window_start DateTime,
  event_id String,
  category String,
  tickets_state AggregateFunction(sum, UInt16),
  orders_state AggregateFunction(count),
  revenue_state AggregateFunction(sum, Decimal(18, 4)),
  buyers_state AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (event_id, window_start, category);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sales_per_minute_mv {on_cluster}
TO {database}.sales_per_minute_agg AS
SELECT
  toStartOfMinute(event_time) AS window_start,
  event_id,
  category,
  sumState(quantity) AS tickets_state,
  countState() AS orders_state,
  sumState(amount) AS revenue_state,
  uniqExactState(user_id) AS buyers_state
FROM {database}.{inserted:ticket_sales_dedup_mv:ticket_sales}
GROUP BY window_start, event_id, category;

CREATE VIEW IF NOT EXISTS {database}.sales_per_minute {on_cluster} AS
SELECT
  window_start,
  event_id,
  category,
  sumMerge(tickets_state) AS tickets,
  countMerge(orders_state) AS orders,
  sumMerge(revenue_state) AS revenue,
  uniqExactMerge(buyers_state) AS unique_buyers
FROM {database}.sales_per_minute_agg
GROUP BY window_start, event_id, category;

CREATE TABLE IF NOT EXISTS {database}.sales_per_hour_agg {on_cluster} (
  window_start DateTime,
  event_id String,
  category String,
  tickets_state AggregateFunction(sum, UInt16),
  orders_state AggregateFunction(count),
  revenue_state AggregateFunction(sum, Decimal(18, 4)),
  buyers_state AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (event_id, window_start, category);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sales_per_hour_mv {on_cluster}
TO {database}.sales_per_hour_agg AS
SELECT
  toStartOfHour(event_time) AS window_start,
  event_id,
  category,
  sumState(quantity) AS tickets_state,
  countState() AS orders_state,
  sumState(amount) AS revenue_state,
  uniqExactState(user_id) AS buyers_state
FROM {database}.{inserted:ticket_sales_dedup_mv:ticket_sales}
GROUP BY window_start, event_id, category;

CREATE VIEW IF NOT EXISTS {database}.sales_per_hour {on_cluster} AS
SELECT
  window_start,
  event_id,
  category,
  sumMerge(tickets_state) AS tickets,
  countMerge(orders_state) AS orders,
  sumMerge(revenue_state) AS revenue,
  uniqExactMerge(buyers_state) AS unique_buyers
FROM {database}.sales_per_hour_agg
GROUP BY window_start, event_id, category;
