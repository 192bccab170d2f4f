/** Organizers and their API keys, pricing rule and fraud-rule overrides in Postgres (kysely). */
import { randomUUID } from 'node:crypto';
import type { ApiKeyScope, Db, FRAUD_RULES, PricingRule } from '../db/schema.js';
import { generateApiKey, hashApiKey } from '../auth/key-hash.js';

export interface Organizer {
  id: string;
  name: string;
}

/** Creates an organizer with the default pricing rule; a duplicate id is a unique violation (23505). */
export async function createOrganizer(db: Db, input: { id?: string; name: string }): Promise<Organizer> {
  const id = input.id ?? randomUUID();
  return db.transaction().execute(async (tx) => {
    const row = await tx
      .insertInto('organizers')
      .values({ id, name: input.name })
      .returning(['id', 'name'])
      .executeTakeFirstOrThrow();
    await tx.insertInto('pricing_rules').values({ organizer_id: id }).execute();
    return row;
  });
}

export async function organizerExists(db: Db, id: string): Promise<boolean> {
  return (
    (await db.selectFrom('organizers').select('id').where('id', '=', id).executeTakeFirst()) !== undefined
  );
}

/** A new key for an organizer; the clear key is returned here once and never stored. */
export async function createApiKey(
  db: Db,
  organizerId: string,
  scopes: ApiKeyScope[],
  ingestRecordsPerSecond?: number,
): Promise<{ id: string; key: string; scopes: ApiKeyScope[] }> {
  const key = generateApiKey();
  const row = await db
    .insertInto('api_keys')
    .values({
      id: randomUUID(),
      organizer_id: organizerId,
      key_hash: hashApiKey(key),
      scopes: [...new Set(scopes)],
      ingest_records_per_second: ingestRecordsPerSecond ?? null,
    })
    .returning(['id', 'scopes'])
    .executeTakeFirstOrThrow();
  return { id: row.id, key, scopes: row.scopes };
}

export async function findApiKey(db: Db, id: string) {
  return db
    .selectFrom('api_keys')
    .select(['id', 'organizer_id', 'scopes', 'revoked_at'])
    .where('id', '=', id)
    .executeTakeFirst();
}

/**
 * Revokes a key (idempotent: a revoked key keeps its first revocation time). Returns when it was
 * revoked and the key's hash (what key stores cache it by), or undefined for an unknown id.
 */
export async function revokeApiKey(
  db: Db,
  id: string,
): Promise<{ revokedAt: Date | null; keyHash: string } | undefined> {
  const row = await db
    .updateTable('api_keys')
    .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.fn<Date>('now', [])) }))
    .where('id', '=', id)
    .returning(['revoked_at', 'key_hash'])
    .executeTakeFirst();
  return row ? { revokedAt: row.revoked_at, keyHash: row.key_hash } : undefined;
}

export type PricingRuleValues = Omit<PricingRule, 'organizer_id' | 'updated_at'>;

export async function getPricingRule(db: Db, organizerId: string): Promise<PricingRuleValues | undefined> {
  return db
    .selectFrom('pricing_rules')
    .select(['hot_sell_through', 'early_sellout_hours', 'surge_factor', 'max_multiplier'])
    .where('organizer_id', '=', organizerId)
    .executeTakeFirst();
}

export async function putPricingRule(
  db: Db,
  organizerId: string,
  values: PricingRuleValues,
): Promise<PricingRuleValues> {
  return db
    .insertInto('pricing_rules')
    .values({ organizer_id: organizerId, ...values })
    .onConflict((oc) => oc.column('organizer_id').doUpdateSet(values))
    .returning(['hot_sell_through', 'early_sellout_hours', 'surge_factor', 'max_multiplier'])
    .executeTakeFirstOrThrow();
}

export interface FraudOverrideValues {
  threshold: number | null;
  window_seconds: number | null;
  enabled: boolean;
}

export async function putFraudOverride(
  db: Db,
  organizerId: string,
  rule: (typeof FRAUD_RULES)[number],
  values: FraudOverrideValues,
): Promise<FraudOverrideValues> {
  return db
    .insertInto('fraud_rule_overrides')
    .values({ organizer_id: organizerId, rule, ...values })
    .onConflict((oc) => oc.columns(['organizer_id', 'rule']).doUpdateSet(values))
    .returning(['threshold', 'window_seconds', 'enabled'])
    .executeTakeFirstOrThrow();
}

export async function deleteFraudOverride(db: Db, organizerId: string, rule: string): Promise<void> {
  await db
    .deleteFrom('fraud_rule_overrides')
    .where('organizer_id', '=', organizerId)
    .where('rule', '=', rule as (typeof FRAUD_RULES)[number])
    .execute();
}
