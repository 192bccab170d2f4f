-- A per-key ingest rate limit in records per second (src/api/ingest-rate-limit.ts); NULL takes
-- the service's INGEST_RATE_LIMIT_PER_SECOND. Changing it notifies like any key change, so the
-- key caches pick it up.
ALTER TABLE api_keys ADD COLUMN ingest_records_per_second integer CHECK (ingest_records_per_second > 0);
