-- Organizers and the shows (ticketed events) they sell, with capacity per ticket category.
-- Relational source of truth; synced into ClickHouse dimension tables by src/bridge.

CREATE TABLE organizers (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE shows (
  id text PRIMARY KEY,                      -- the `data.event_id` producers send
  organizer_id uuid NOT NULL REFERENCES organizers (id),
  name text NOT NULL,
  country char(2) NOT NULL,                 -- ISO 3166-1 alpha-2, where the show takes place
  starts_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE show_capacities (
  show_id text NOT NULL REFERENCES shows (id) ON DELETE CASCADE,
  category text NOT NULL,                   -- e.g. VIP, GA
  capacity integer NOT NULL CHECK (capacity >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (show_id, category)
);

CREATE INDEX shows_organizer_idx ON shows (organizer_id);
