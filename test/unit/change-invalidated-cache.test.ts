// The cache behind the key store and the show owners, over a change feed that stays silent: what
// the process itself forgets is gone at once, without waiting for the feed.
import { describe, expect, it } from 'vitest';
import { createChangeInvalidatedCache } from '../../src/auth/change-invalidated-cache.js';
import type { PgChanges } from '../../src/clients/pg-changes.js';

/** A feed that is up and never notifies: only the process's own calls change the cache. */
const silentFeed = {
  listening: true,
  onChange: () => () => undefined,
  onResync: () => () => undefined,
} as unknown as PgChanges;

function cache() {
  return createChangeInvalidatedCache<string>({
    changes: silentFeed,
    table: 'api_keys',
    keyOf: (change) => change.key.key_hash,
    maxEntries: 10,
  });
}

describe('change-invalidated cache', () => {
  it('forgets an entry at once (a key this process revoked), before any notification', () => {
    const c = cache();
    c.set(c.snapshot(), [['hash-a', 'principal-a']]);
    expect(c.get('hash-a')).toBe('principal-a');
    c.forget('hash-a');
    expect(c.get('hash-a')).toBeUndefined();
  });

  it('refuses to cache a read that started before the forget', () => {
    const c = cache();
    const before = c.snapshot();
    c.forget('hash-a');
    c.set(before, [['hash-a', 'read-before-the-revocation']]);
    expect(c.get('hash-a')).toBeUndefined();
  });
});
