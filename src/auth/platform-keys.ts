/** The environment's platform keys: INGEST_API_KEYS (scope ingest) and ADMIN_API_KEY (every scope). */
import type { Config } from '../config.js';
import { API_KEY_SCOPES } from '../db/schema.js';
import type { Principal } from './principal.js';

export function platformKeys(
  config: Pick<Config, 'INGEST_API_KEYS' | 'ADMIN_API_KEY'>,
): Map<string, Principal> {
  const keys = new Map<string, Principal>();
  for (const [key, name] of config.INGEST_API_KEYS)
    keys.set(key, { kind: 'platform', name, scopes: ['ingest'] });
  keys.set(config.ADMIN_API_KEY, { kind: 'platform', name: 'admin', scopes: API_KEY_SCOPES });
  return keys;
}
