-- name: show_overview
-- purpose: One line per show: net tickets sold and net revenue so far (sales minus booked
--          refunds), percent of capacity sold (net), the fraud and capacity alerts of the last
--          hour, tickets sold in the last 15 minutes, the last minute it sold in and the newest
--          change ClickHouse counted for it. Busiest first (tickets in the last 15 minutes), then
--          most recently selling, then most net tickets: the organizer's overview at
--          /dashboard, live on /v1/live (key and watermark below). `alerts_last_hour` and
--          `tickets_15m` fall as time passes without a new change, so a cursor resumed later may hold a higher count
--          until the show's next change. A live subscriber names its own organizer.
-- param: organizer_id String the organizer whose shows it lists
-- columns: event_id, net_tickets, net_revenue, capacity, percent_sold, alerts_last_hour, tickets_15m, last_sale_minute, changed_at
-- volatile: changed_at
-- key: event_id
-- watermark: changed_at
-- scope: event_id
-- Each part reads the organizer's shows only.
SELECT event_id, net_tickets, net_revenue, capacity, percent_sold, alerts_last_hour, tickets_15m,
  last_sale_minute, changed_at
FROM (
  SELECT
    event_id,
    toInt64(sum(t)) - toInt64(sum(rt)) AS net_tickets,
    sum(rv) - sum(rr) AS net_revenue,
    sum(cap) AS capacity,
    if(capacity = 0, 0., greatest(net_tickets, 0) * 100. / capacity) AS percent_sold,
    sum(al) AS alerts_last_hour,
    sum(t15) AS tickets_15m,
    max(lm) AS last_sale_minute,
    max(ch) AS changed_at
  FROM (
    -- Sales so far: an hour window per category.
    SELECT event_id, sumMerge(tickets_state) AS t, toUInt64(0) AS rt,
      sumMerge(revenue_state) AS rv, toDecimal128(0, 4) AS rr, toUInt64(0) AS cap,
      toUInt64(0) AS al, toUInt64(0) AS t15, max(window_start) AS lm, toDateTime(0) AS ch
    FROM {database}.sales_per_hour_agg
    WHERE {scope} AND event_id IN (SELECT show_id FROM {database}.shows WHERE organizer_id = {{organizer_id}})
    GROUP BY event_id
    UNION ALL
    -- The last minute with sales, and when ClickHouse last counted a sale of the last day.
    SELECT event_id, toUInt64(0) AS t, toUInt64(0) AS rt, toDecimal128(0, 4) AS rv,
      toDecimal128(0, 4) AS rr, toUInt64(0) AS cap, toUInt64(0) AS al,
      toUInt64(sumIf(quantity, event_time >= now() - INTERVAL 15 MINUTE)) AS t15, max(event_time) AS lm,
      max(ingested_at) AS ch
    FROM {database}.ticket_sales
    WHERE {scope} AND event_id IN (SELECT show_id FROM {database}.shows WHERE organizer_id = {{organizer_id}}) AND event_time >= now() - INTERVAL 1 DAY
    GROUP BY event_id
    UNION ALL
    -- Booked refunds so far: the latest decision of each refund, as the view `refunds` takes
    -- it, read here from refund_decisions because 18.16 does not carry an IN (subquery) filter
    -- into a view: through `refunds` this part read every organizer's refunds (docs/benchmarks.md).
    SELECT event_id, toUInt64(0) AS t, sum(q) AS rt, toDecimal128(0, 4) AS rv, sum(a) AS rr,
      toUInt64(0) AS cap, toUInt64(0) AS al, toUInt64(0) AS t15, toDateTime(0) AS lm, max(d) AS ch
    FROM (
      SELECT event_id, argMax(outcome, version) AS o, any(quantity) AS q, any(amount) AS a,
        max(decided_at) AS d
      FROM {database}.refund_decisions
      WHERE {scope} AND event_id IN (SELECT show_id FROM {database}.shows WHERE organizer_id = {{organizer_id}})
      GROUP BY event_id, category, refunded_at, id
    )
    WHERE o = 'booked'
    GROUP BY event_id
    UNION ALL
    SELECT event_id, toUInt64(0) AS t, toUInt64(0) AS rt, toDecimal128(0, 4) AS rv,
      toDecimal128(0, 4) AS rr, sum(c) AS cap, toUInt64(0) AS al, toUInt64(0) AS t15, toDateTime(0) AS lm,
      toDateTime(0) AS ch
    FROM (SELECT show_id AS event_id, toUInt64(capacity) AS c FROM {database}.ticket_categories)
    WHERE {scope} AND event_id IN (SELECT show_id FROM {database}.shows WHERE organizer_id = {{organizer_id}})
    GROUP BY event_id
    UNION ALL
    SELECT event_id, toUInt64(0) AS t, toUInt64(0) AS rt, toDecimal128(0, 4) AS rv,
      toDecimal128(0, 4) AS rr, toUInt64(0) AS cap, count() AS al, toUInt64(0) AS t15, toDateTime(0) AS lm,
      max(d) AS ch
    FROM (
      SELECT event_id, detected_at AS d FROM {database}.fraud_alerts_log
      WHERE detected_at >= now() - INTERVAL 1 HOUR
      UNION ALL
      SELECT event_id, detected_at AS d FROM {database}.capacity_threshold_events
      WHERE kind = 'crossed' AND detected_at >= now() - INTERVAL 1 HOUR
    )
    WHERE {scope} AND event_id IN (SELECT show_id FROM {database}.shows WHERE organizer_id = {{organizer_id}})
    GROUP BY event_id
  )
  GROUP BY event_id
)
ORDER BY tickets_15m DESC, last_sale_minute DESC, net_tickets DESC, event_id
