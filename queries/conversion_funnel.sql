-- name: conversion_funnel
-- purpose: The purchase funnel of one show: distinct users at each step from page view to
--          completed checkout, and the share of page viewers who reached it.
-- param: show_id String the show (data.event_id)
-- param: from_time DateTime start of the range (UTC, inclusive)
-- param: to_time DateTime end of the range (UTC, exclusive)
-- columns: step, action, users, interactions, conversion
-- One pass over the interactions: the steps are gathered into arrays with the page viewers'
-- count beside them, then unrolled (reading the page views a second time cost a third more).
SELECT step, action, users, interactions, round(users / greatest(first_step_users, 1), 4) AS conversion
FROM (
  SELECT
    groupArray(s) AS steps,
    groupArray(a) AS actions,
    groupArray(u) AS step_users,
    groupArray(n) AS step_interactions,
    sumIf(u, s = 1) AS first_step_users
  FROM (
    SELECT
      indexOf(['page_view', 'add_to_cart', 'checkout_started', 'checkout_completed'], action) AS s,
      action AS a,
      uniqExact(user_id) AS u,
      count() AS n
    FROM {database}.user_interactions
    WHERE event_id = {{show_id}}
      AND event_time >= {{from_time}} AND event_time < {{to_time}}
      AND action IN ('page_view', 'add_to_cart', 'checkout_started', 'checkout_completed')
    GROUP BY action
  )
)
ARRAY JOIN steps AS step, actions AS action, step_users AS users, step_interactions AS interactions
ORDER BY step
