-- Fraud rules as data. Each rule's current setting is its row with the latest
-- (updated_at, revision); changing a threshold is an INSERT, read by the rule views from the
-- next block on, without a restart or a migration:
--
--   INSERT INTO ticketpulse.fraud_rules (rule, threshold, window_seconds, enabled, description)
--   VALUES ('large_amount', 20000, 0, 1, 'order total above 20,000');
--
-- (Postgres will own these rows later and sync them here; the shape allows that.)
--   rule            large_amount | velocity | unusual_location
--   threshold       large_amount: order total above it fires; velocity: more orders than it
--                   by one user within the window fires; unusual_location: at least this many
--                   recent purchases from elsewhere are needed to fire
--   window_seconds  velocity: tumbling window; unusual_location: look-back
--   enabled         0 switches the rule off

CREATE TABLE IF NOT EXISTS {database}.fraud_rules {on_cluster} (
  rule String,
  threshold Float64,
  window_seconds UInt32,
  enabled UInt8 DEFAULT 1,
  description String,
  updated_at DateTime DEFAULT now(),
  revision UInt64 DEFAULT 0
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY rule;

INSERT INTO {database}.fraud_rules (rule, threshold, window_seconds, enabled, description)
SELECT
  tupleElement(r, 1),
  tupleElement(r, 2),
  tupleElement(r, 3),
  1,
  tupleElement(r, 4)
FROM (
  SELECT arrayJoin([
    ('large_amount', 10000., toUInt32(0), 'order total above 10,000'),
    ('velocity', 5., toUInt32(60), 'more than 5 orders by one user within a minute'),
    ('unusual_location', 1., toUInt32(86400), 'purchase from a country the user has not bought from in 24 h while other recent purchases came from elsewhere')
  ]) AS r
)
WHERE (SELECT count() FROM {database}.fraud_rules) = 0;

CREATE VIEW IF NOT EXISTS {database}.fraud_rules_current {on_cluster} AS
SELECT
  rule,
  argMax(t, v) AS threshold,
  argMax(w, v) AS window_seconds,
  argMax(e, v) AS enabled,
  argMax(d, v) AS description,
  max(u) AS updated_at
FROM (
  SELECT
    rule,
    threshold AS t,
    window_seconds AS w,
    enabled AS e,
    description AS d,
    updated_at AS u,
    tuple(updated_at, revision) AS v
  FROM {database}.fraud_rules
)
GROUP BY rule;
