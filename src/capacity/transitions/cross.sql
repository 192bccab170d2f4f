-- name: cross
-- purpose: Fires each armed threshold that net tickets sold reached: writes (generation, crossed) with the
--          time of the sale whose cumulative net tickets, sales minus booked refunds ordered by
--          (time, id), last rose to it (never before the threshold was re-armed). Refunds make the
--          cumulative go down, so after a re-arm the crossing is the last rise, not the first.
--          Reads ticket_sales and refunds only for the shows and categories that crossed (an index
--          range per show); a threshold whose sales are not all visible yet simply waits for the
--          next run. Writing it twice writes the same key.
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
  toUInt64(cumulative[crossing]),
  now()
FROM (
  SELECT
    event_id, category, threshold, generation, armed_since, capacity, sales, cumulative,
    -- `required` goes in as an array, not captured by the lambda: 18.16 drops a subquery column
    -- that is used only inside a lambda ("Unknown identifier").
    arrayMap((c, p, r) -> c >= r AND p < r, cumulative,
             arrayPushFront(arrayPopBack(cumulative), toInt64(0)),
             arrayResize(emptyArrayInt64(), length(cumulative), toInt64(required))) AS rises,
    arrayFirstIndex(x -> x = 1, arrayReverse(rises)) AS from_end,
    if(from_end = 0, 0, length(rises) - from_end + 1) AS crossing
  FROM (
    SELECT event_id, category, threshold, generation, since AS armed_since, capacity, required
    FROM {database}.capacity_thresholds
    WHERE crossed = 0 AND sold >= required
  ) AS due
  ALL INNER JOIN (
    SELECT
      event_id,
      category,
      arraySort(groupArray(tuple(t, id, q))) AS sales,
      arrayCumSum(arrayMap(s -> tupleElement(s, 3), sales)) AS cumulative
    FROM (
      SELECT event_id, category, event_time AS t, id, toInt64(quantity) AS q
      FROM {database}.ticket_sales
      WHERE event_id IN (
          SELECT event_id FROM {database}.capacity_thresholds WHERE crossed = 0 AND sold >= required
        )
        AND (event_id, category) IN (
          SELECT event_id, category FROM {database}.capacity_thresholds
          WHERE crossed = 0 AND sold >= required
        )
      UNION ALL
      SELECT event_id, category, refunded_at AS t, id, -toInt64(quantity) AS q
      FROM {database}.refunds
      WHERE event_id IN (
          SELECT event_id FROM {database}.capacity_thresholds WHERE crossed = 0 AND sold >= required
        )
        AND (event_id, category) IN (
          SELECT event_id, category FROM {database}.capacity_thresholds
          WHERE crossed = 0 AND sold >= required
        )
    )
    GROUP BY event_id, category
  ) AS sales_so_far USING (event_id, category)
  WHERE crossing > 0
)
