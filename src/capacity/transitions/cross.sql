-- name: cross
-- purpose: Fires each armed threshold that tickets sold reached: writes (generation, crossed) with the
--          event_time of the sale whose cumulative tickets, ordered by (event_time, id), first
--          reached it (never before the threshold was re-armed). Reads ticket_sales only for the
--          shows and categories that crossed (an index range per show); a threshold whose sales are
--          not all visible yet simply waits for the next run. Writing it twice writes the same key.
INSERT INTO {database}.capacity_threshold_events
  (event_id, category, threshold, generation, kind, at, capacity, sold, detected_at)
SELECT
  event_id,
  category,
  threshold,
  generation,
  'crossed',
  greatest(tupleElement(sales[crossing], 1), armed_since),
  capacity,
  cumulative[crossing],
  now()
FROM (
  SELECT
    event_id, category, threshold, generation, armed_since, capacity, sales, cumulative,
    -- `required` goes in as an array, not captured by the lambda: 18.16 drops a subquery column
    -- that is used only inside a lambda ("Unknown identifier").
    arrayFirstIndex((c, r) -> c >= r, cumulative,
                    arrayResize(emptyArrayUInt64(), length(cumulative), required)) AS crossing
  FROM (
    SELECT event_id, category, threshold, generation, since AS armed_since, capacity, required
    FROM {database}.capacity_thresholds
    WHERE crossed = 0 AND sold >= required
  ) AS due
  ALL INNER JOIN (
    SELECT
      event_id,
      category,
      arraySort(groupArray(tuple(event_time, id, quantity))) AS sales,
      arrayCumSum(arrayMap(s -> toUInt64(tupleElement(s, 3)), sales)) AS cumulative
    FROM {database}.ticket_sales
    WHERE event_id IN (
        SELECT event_id FROM {database}.capacity_thresholds WHERE crossed = 0 AND sold >= required
      )
      AND (event_id, category) IN (
        SELECT event_id, category FROM {database}.capacity_thresholds
        WHERE crossed = 0 AND sold >= required
      )
    GROUP BY event_id, category
  ) AS sales_so_far USING (event_id, category)
  WHERE crossing > 0
)
