-- name: rearm
-- purpose: Re-arms each crossed threshold that net tickets sold no longer reach (its capacity was
--          raised, or refunds gave seats back): writes (generation, rearmed), after which it is armed at generation + 1 and may
--          fire again. Writing it twice writes the same key (see migration 0014).
INSERT INTO {database}.capacity_threshold_events
  (event_id, category, threshold, generation, kind, at, capacity, sold, detected_at)
SELECT event_id, category, threshold, generation, 'rearmed', now(), capacity, sold, now()
FROM {database}.capacity_thresholds
WHERE crossed = 1 AND sold < required
