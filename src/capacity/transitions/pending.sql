-- name: pending
-- purpose: How many thresholds wait for a transition: armed ones that tickets sold reached (due), and
--          crossed ones a raised capacity put out of reach (rearm). One read of capacity_thresholds,
--          so a run with nothing to do costs per (show, category), never per sale.
-- columns: due, rearm
SELECT
  countIf(crossed = 0 AND sold >= required) AS due,
  countIf(crossed = 1 AND sold < required) AS rearm
FROM {database}.capacity_thresholds
