/**
 * Who is calling: a platform key from the environment (unscoped: every organizer) or an
 * organizer's API key from Postgres (its scopes, its organizer's shows only).
 */
import type { ApiKeyScope } from '../db/schema.js';

export type Principal =
  | {
      kind: 'platform';
      /** The key's name from INGEST_API_KEYS, or `admin` for ADMIN_API_KEY. */
      name: string;
      scopes: readonly ApiKeyScope[];
    }
  | {
      kind: 'organizer';
      keyId: string;
      organizerId: string;
      scopes: readonly ApiKeyScope[];
      /** The key's own ingest limit (records per second), if it has one. */
      ingestRecordsPerSecond?: number;
    };

/** `admin` includes `read`; `ingest` stands alone (a sending device cannot read). */
export function hasScope(principal: Principal, scope: ApiKeyScope): boolean {
  return principal.scopes.includes(scope) || (scope === 'read' && principal.scopes.includes('admin'));
}

/** Platform keys act for every organizer; an organizer key only for its own. */
export function actsFor(principal: Principal, organizerId: string): boolean {
  return principal.kind === 'platform' || principal.organizerId === organizerId;
}

/** How the principal is recorded with its rejected events (`source` in rejected_events). */
export function principalSource(principal: Principal): string {
  return principal.kind === 'platform' ? principal.name : `key:${principal.keyId}`;
}
