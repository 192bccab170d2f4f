-- name: conversion_funnel
-- purpose: The purchase funnel of one show: distinct users at each step from page view to
--          completed checkout, and the share of page viewers who reached it.
-- param: show_id String the show (data.event_id)
-- param: from_time DateTime start of the range (UTC, inclusive)
-- param: to_time DateTime end of the range (UTC, exclusive)
-- columns: step, action, users, interactions, conversion
SELECT
  step,
  action,
  users,
  interactions,
  round(users / greatest(first_step_users, 1), 4) AS conversion
FROM (
  SELECT
    indexOf(['page_view', 'add_to_cart', 'checkout_started', 'checkout_completed'], action) AS step,
    action,
    uniqExact(user_id) AS users,
    count() AS interactions
  FROM {database}.user_interactions
  WHERE event_id = {{show_id}}
    AND event_time >= {{from_time}} AND event_time < {{to_time}}
    AND action IN ('page_view', 'add_to_cart', 'checkout_started', 'checkout_completed')
  GROUP BY action
) AS steps
CROSS JOIN (
  SELECT uniqExact(user_id) AS first_step_users
  FROM {database}.user_interactions
  WHERE event_id = {{show_id}}
    AND event_time >= {{from_time}} AND event_time < {{to_time}}
    AND action = 'page_view'
) AS first_step
ORDER BY step
