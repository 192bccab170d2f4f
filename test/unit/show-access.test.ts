// The one decision on a principal's access to a show: three outcomes for an organizer key,
// the registry asked once per batch, and never for a platform key.
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import { accessToShows, REFUSALS, showAccess } from '../../src/auth/show-access.js';
import type { ShowOwners } from '../../src/auth/show-owners.js';

const organizer: Principal = { kind: 'organizer', keyId: 'k', organizerId: 'org-a', scopes: ['read'] };
const platform: Principal = { kind: 'platform', name: 'admin', scopes: ['admin'] };

function registry(owners: Record<string, string>) {
  const asked: string[][] = [];
  const showOwners: ShowOwners = {
    async ownersOf(ids) {
      const list = [...ids];
      asked.push(list);
      return new Map(list.map((id) => [id, owners[id] ?? null]));
    },
    close() {},
  };
  return { showOwners, asked };
}

describe('show access', () => {
  it("tells an organizer key its own show, another organizer's and an unknown one apart, asking once", async () => {
    const { showOwners, asked } = registry({ 'show-a': 'org-a', 'show-b': 'org-b' });
    const access = await accessToShows(organizer, ['show-a', 'show-b', 'show-zz', 'show-a'], showOwners);
    expect(Object.fromEntries(access)).toEqual({
      'show-a': { kind: 'allowed' },
      'show-b': {
        kind: 'other_organizer',
        show: 'show-b',
        message: "show 'show-b' belongs to another organizer",
      },
      'show-zz': {
        kind: 'unknown_show',
        show: 'show-zz',
        message: "unknown show 'show-zz': register it with POST /v1/shows first",
      },
    });
    expect(asked).toEqual([['show-a', 'show-b', 'show-zz']]);
  });

  it('lets a platform key name any show without asking the registry', async () => {
    const { showOwners, asked } = registry({});
    const access = await accessToShows(platform, ['show-zz'], showOwners);
    expect(access.get('show-zz')).toEqual({ kind: 'allowed' });
    expect(asked).toEqual([]);
  });

  it('treats a show the registry does not have as unknown for every key once it was read', () => {
    expect(showAccess(platform, 'x', null).kind).toBe('unknown_show');
    expect(showAccess(platform, 'x', 'org-b').kind).toBe('allowed');
    expect(showAccess(organizer, 'x', 'org-a').kind).toBe('allowed');
  });

  it('knows no show without a registry', async () => {
    expect((await accessToShows(organizer, ['show-a'], undefined)).get('show-a')?.kind).toBe('unknown_show');
  });

  it('maps each refusal to one HTTP status and one error code', () => {
    expect(REFUSALS).toEqual({
      unknown_show: { status: 404, code: 'not_found' },
      other_organizer: { status: 403, code: 'forbidden' },
    });
  });
});
