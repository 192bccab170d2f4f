-- Tenancy: shows get their venue, timezone and status; ticket categories get a base price;
-- organizers get API keys, fraud-rule overrides and a pricing rule. Every change to a table that
-- other processes cache or mirror is announced on the channel `ticketpulse_changes` with a JSON
-- payload {"table": ..., "key": {...}}: src/auth/key-cache.ts drops a revoked key, the show
-- owner cache forgets a show, and src/bridge re-reads the row into ClickHouse.
--
-- updated_at is set by a trigger from clock_timestamp(), so each change of a row has a newer
-- version than the last (the bridge sends it to ClickHouse as microseconds since the epoch).

ALTER TABLE shows
  ADD COLUMN venue text NOT NULL DEFAULT '',
  ADD COLUMN timezone text NOT NULL DEFAULT 'UTC',
  ADD COLUMN status text NOT NULL DEFAULT 'on_sale'
    CHECK (status IN ('draft', 'on_sale', 'sold_out', 'cancelled', 'completed'));

ALTER TABLE show_capacities RENAME TO ticket_categories;
ALTER TABLE ticket_categories
  ADD COLUMN price numeric(16, 4) NOT NULL DEFAULT 0 CHECK (price >= 0),
  ADD COLUMN currency char(3) NOT NULL DEFAULT 'EUR';

-- A key is shown once when created; only its SHA-256 is kept. Keys are 32 random bytes, so an
-- unsalted hash is safe: there is nothing to guess from a dictionary.
CREATE TABLE api_keys (
  id uuid PRIMARY KEY,
  organizer_id uuid NOT NULL REFERENCES organizers (id),
  key_hash text NOT NULL UNIQUE,
  scopes text[] NOT NULL CHECK (scopes <@ ARRAY['ingest', 'read', 'admin'] AND cardinality(scopes) > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_organizer_idx ON api_keys (organizer_id);

-- Per organizer, a rule's threshold, window or switch in place of the platform's
-- (ClickHouse table fraud_rules); NULL keeps the platform's value.
CREATE TABLE fraud_rule_overrides (
  organizer_id uuid NOT NULL REFERENCES organizers (id),
  rule text NOT NULL CHECK (rule IN ('large_amount', 'velocity', 'unusual_location')),
  threshold double precision,
  window_seconds integer CHECK (window_seconds > 0),
  enabled boolean NOT NULL DEFAULT true,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organizer_id, rule)
);

-- The demand-pricing rule of one organizer (ClickHouse view pricing_signals): a category is
-- hot when at least hot_sell_through of its capacity sold in the last 15 minutes and, at that
-- pace, it sells out at least early_sellout_hours before the show; the suggested multiplier is
-- then 1 + surge_factor x sell-through, at most max_multiplier. Every organizer has a row.
CREATE TABLE pricing_rules (
  organizer_id uuid PRIMARY KEY REFERENCES organizers (id),
  hot_sell_through double precision NOT NULL DEFAULT 0.10 CHECK (hot_sell_through > 0 AND hot_sell_through <= 1),
  early_sellout_hours double precision NOT NULL DEFAULT 24 CHECK (early_sellout_hours >= 0),
  surge_factor double precision NOT NULL DEFAULT 1.0 CHECK (surge_factor >= 0),
  max_multiplier double precision NOT NULL DEFAULT 1.5 CHECK (max_multiplier >= 1),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION ticketpulse_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := clock_timestamp();
  RETURN NEW;
END
$$;

-- The payload names the changed row by its key columns (given as trigger arguments).
CREATE FUNCTION ticketpulse_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  row_json jsonb := to_jsonb(COALESCE(NEW, OLD));
  key jsonb := '{}'::jsonb;
  col text;
BEGIN
  FOREACH col IN ARRAY TG_ARGV LOOP
    key := key || jsonb_build_object(col, row_json -> col);
  END LOOP;
  PERFORM pg_notify('ticketpulse_changes', jsonb_build_object('table', TG_TABLE_NAME, 'key', key)::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER shows_touch BEFORE UPDATE ON shows FOR EACH ROW EXECUTE FUNCTION ticketpulse_touch();
CREATE TRIGGER ticket_categories_touch BEFORE UPDATE ON ticket_categories FOR EACH ROW EXECUTE FUNCTION ticketpulse_touch();
CREATE TRIGGER api_keys_touch BEFORE UPDATE ON api_keys FOR EACH ROW EXECUTE FUNCTION ticketpulse_touch();
CREATE TRIGGER fraud_rule_overrides_touch BEFORE UPDATE ON fraud_rule_overrides FOR EACH ROW EXECUTE FUNCTION ticketpulse_touch();
CREATE TRIGGER pricing_rules_touch BEFORE UPDATE ON pricing_rules FOR EACH ROW EXECUTE FUNCTION ticketpulse_touch();

CREATE TRIGGER shows_notify AFTER INSERT OR UPDATE OR DELETE ON shows
  FOR EACH ROW EXECUTE FUNCTION ticketpulse_notify('id');
CREATE TRIGGER ticket_categories_notify AFTER INSERT OR UPDATE OR DELETE ON ticket_categories
  FOR EACH ROW EXECUTE FUNCTION ticketpulse_notify('show_id', 'category');
CREATE TRIGGER api_keys_notify AFTER INSERT OR UPDATE OR DELETE ON api_keys
  FOR EACH ROW EXECUTE FUNCTION ticketpulse_notify('id', 'key_hash');
CREATE TRIGGER fraud_rule_overrides_notify AFTER INSERT OR UPDATE OR DELETE ON fraud_rule_overrides
  FOR EACH ROW EXECUTE FUNCTION ticketpulse_notify('organizer_id', 'rule');
CREATE TRIGGER pricing_rules_notify AFTER INSERT OR UPDATE OR DELETE ON pricing_rules
  FOR EACH ROW EXECUTE FUNCTION ticketpulse_notify('organizer_id');
