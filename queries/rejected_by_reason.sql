-- name: rejected_by_reason
-- purpose: Why records were rejected in a time range: each reason (field and message), how often,
--          which producers (API key names) sent them, and one raw example to fix and replay.
-- param: from_time DateTime start of the range of receive times (UTC, inclusive)
-- param: to_time DateTime end of the range (UTC, exclusive)
-- columns: reason, records, sources, example
-- scope: platform
SELECT
  reason,
  count() AS records,
  arrayStringConcat(arraySort(groupUniqArray(source)), ', ') AS sources,
  min(raw) AS example
FROM {database}.rejected_events
ARRAY JOIN errors AS reason
WHERE received_at >= {{from_time}} AND received_at < {{to_time}}
GROUP BY reason
ORDER BY records DESC, reason
