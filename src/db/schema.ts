/**
 * The Postgres tables as kysely sees them, kept by hand beside migrations/postgres/*.sql.
 * TABLE_COLUMNS lists every column of every interface (the compiler checks the list is
 * complete) and test/integration/postgres-schema.integration.test.ts checks it against the
 * migrated database, so these types cannot drift from the migrations unnoticed.
 */
import { Kysely, PostgresDialect, type ColumnType, type Generated, type Selectable } from 'kysely';
import type pg from 'pg';

/** A timestamptz column: read as Date, written as Date or ISO text, defaulted by Postgres. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** numeric: pg returns text so no precision is lost. */
type Numeric = ColumnType<string, string | number, string | number>;

export interface OrganizersTable {
  id: string;
  name: string;
  created_at: Timestamp;
}

export interface ShowsTable {
  /** The `data.event_id` producers send. */
  id: string;
  organizer_id: string;
  name: string;
  venue: Generated<string>;
  /** ISO 3166-1 alpha-2. */
  country: string;
  /** IANA zone, e.g. Europe/Berlin. */
  timezone: Generated<string>;
  starts_at: Timestamp;
  status: Generated<ShowStatus>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export const SHOW_STATUSES = ['draft', 'on_sale', 'sold_out', 'cancelled', 'completed'] as const;
export type ShowStatus = (typeof SHOW_STATUSES)[number];

export interface TicketCategoriesTable {
  show_id: string;
  category: string;
  capacity: number;
  price: Numeric;
  currency: string;
  updated_at: Timestamp;
}

export const API_KEY_SCOPES = ['ingest', 'read', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export interface ApiKeysTable {
  id: string;
  organizer_id: string;
  /** SHA-256 of the key, hex; the key itself is never stored. */
  key_hash: string;
  scopes: ApiKeyScope[];
  created_at: Timestamp;
  revoked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** Ingest limit of this key; null takes INGEST_RATE_LIMIT_PER_SECOND. */
  ingest_records_per_second: ColumnType<number | null, number | null | undefined, number | null>;
  updated_at: Timestamp;
}

export const FRAUD_RULES = ['large_amount', 'velocity', 'unusual_location', 'refund_velocity'] as const;

export interface FraudRuleOverridesTable {
  organizer_id: string;
  rule: (typeof FRAUD_RULES)[number];
  threshold: number | null;
  window_seconds: number | null;
  enabled: Generated<boolean>;
  updated_at: Timestamp;
}

export interface PricingRulesTable {
  organizer_id: string;
  hot_sell_through: Generated<number>;
  early_sellout_hours: Generated<number>;
  surge_factor: Generated<number>;
  max_multiplier: Generated<number>;
  updated_at: Timestamp;
}

export interface Database {
  organizers: OrganizersTable;
  shows: ShowsTable;
  ticket_categories: TicketCategoriesTable;
  api_keys: ApiKeysTable;
  fraud_rule_overrides: FraudRuleOverridesTable;
  pricing_rules: PricingRulesTable;
}

type Columns<T> = readonly (keyof T & string)[];
/** Every column of every table; `satisfies` plus the check below make it complete and exact. */
export const TABLE_COLUMNS = {
  organizers: ['id', 'name', 'created_at'],
  shows: [
    'id',
    'organizer_id',
    'name',
    'venue',
    'country',
    'timezone',
    'starts_at',
    'status',
    'created_at',
    'updated_at',
  ],
  ticket_categories: ['show_id', 'category', 'capacity', 'price', 'currency', 'updated_at'],
  api_keys: [
    'id',
    'organizer_id',
    'key_hash',
    'scopes',
    'created_at',
    'revoked_at',
    'ingest_records_per_second',
    'updated_at',
  ],
  fraud_rule_overrides: ['organizer_id', 'rule', 'threshold', 'window_seconds', 'enabled', 'updated_at'],
  pricing_rules: [
    'organizer_id',
    'hot_sell_through',
    'early_sellout_hours',
    'surge_factor',
    'max_multiplier',
    'updated_at',
  ],
} as const satisfies { [T in keyof Database]: Columns<Database[T]> };
type Unlisted = {
  [T in keyof Database]: Exclude<keyof Database[T], (typeof TABLE_COLUMNS)[T][number]>;
}[keyof Database];
/** Fails to compile when an interface has a column TABLE_COLUMNS does not list. */
const everyColumnListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyColumnListed;

export type Show = Selectable<ShowsTable>;
export type TicketCategory = Selectable<TicketCategoriesTable>;
export type ApiKey = Selectable<ApiKeysTable>;
export type PricingRule = Selectable<PricingRulesTable>;
export type Db = Kysely<Database>;

/** kysely over an existing pool; destroying it ends the pool. */
export function createDb(pool: pg.Pool): Db {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
