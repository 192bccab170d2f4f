-- Per-minute engagement per show and action, from deduplicated interactions.
--
-- Analysts read the view `engagement_per_minute`:
--   window_start    DateTime  start of the UTC minute
--   event_id        String    the show
--   action          String    page_view | click | add_to_cart | checkout_started | checkout_completed | queue_joined
--   interactions    UInt64    events
--   unique_users    UInt64    distinct user_id
--   unique_sessions UInt64    distinct session_id

CREATE TABLE IF NOT EXISTS {database}.engagement_per_minute_agg {on_cluster} (
  window_start DateTime,
  event_id String,
  action String,
  interactions_state AggregateFunction(count),
  users_state AggregateFunction(uniqExact, String),
  sessions_state AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (event_id, window_start, action);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.engagement_per_minute_mv {on_cluster}
TO {database}.engagement_per_minute_agg AS
SELECT
  toStartOfMinute(event_time) AS window_start,
  event_id,
  action,
  countState() AS interactions_state,
  uniqExactState(user_id) AS users_state,
  uniqExactState(session_id) AS sessions_state
FROM {database}.{inserted:user_interactions_dedup_mv:user_interactions}
GROUP BY window_start, event_id, action;

CREATE VIEW IF NOT EXISTS {database}.engagement_per_minute {on_cluster} AS
SELECT
  window_start,
  event_id,
  action,
  countMerge(interactions_state) AS interactions,
  uniqExactMerge(users_state) AS unique_users,
  uniqExactMerge(sessions_state) AS unique_sessions
FROM {database}.engagement_per_minute_agg
GROUP BY window_start, event_id, action;
