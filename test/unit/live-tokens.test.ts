import { sign } from 'hono/jwt';
import { describe, expect, it } from 'vitest';
import { createLiveTokens, LIVE_TOKEN_AUDIENCE } from '../../src/auth/live-tokens.js';
import type { Principal } from '../../src/auth/principal.js';

const SECRET = 'a-live-token-secret-of-32-characters!';
const organizer: Principal = {
  kind: 'organizer',
  keyId: '7d0c1f0e-0000-4000-8000-000000000001',
  organizerId: '7d0c1f0e-0000-4000-8000-0000000000aa',
  scopes: ['admin', 'ingest'],
};

function clock(start = Date.parse('2026-12-03T18:00:00Z')) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('live tokens', () => {
  it("carry the key's organizer and id, read scope only, and expire after the TTL", async () => {
    const time = clock();
    const tokens = createLiveTokens({ secret: SECRET, ttlSeconds: 300, now: time.now });
    const { token, expiresAt } = await tokens.mint(organizer);
    expect(expiresAt.toISOString()).toBe('2026-12-03T18:05:00.000Z');
    expect(await tokens.check(token)).toEqual({
      ok: true,
      principal: {
        kind: 'organizer',
        keyId: organizer.keyId,
        organizerId: organizer.organizerId,
        scopes: ['read'],
      },
    });
    time.advance(299_999);
    expect((await tokens.check(token)).ok).toBe(true);
    time.advance(1);
    expect(await tokens.check(token)).toEqual({ ok: false, reason: 'expired' });
  });

  it('are checked by another process with the same secret, and by no other', async () => {
    const minted = await createLiveTokens({ secret: SECRET, ttlSeconds: 60 }).mint(organizer);
    expect((await createLiveTokens({ secret: SECRET, ttlSeconds: 60 }).check(minted.token)).ok).toBe(true);
    const other = createLiveTokens({ secret: `${SECRET}-rotated`, ttlSeconds: 60 });
    expect(await other.check(minted.token)).toEqual({ ok: false, reason: 'invalid' });
    // Without a secret each instance has its own.
    const a = createLiveTokens({ secret: undefined, ttlSeconds: 60 });
    const b = createLiveTokens({ secret: undefined, ttlSeconds: 60 });
    expect(a.processSecret).toBe(true);
    const own = await a.mint(organizer);
    expect((await a.check(own.token)).ok).toBe(true);
    expect(await b.check(own.token)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('keep platform keys as platform principals', async () => {
    const tokens = createLiveTokens({ secret: SECRET, ttlSeconds: 60 });
    const { token } = await tokens.mint({ kind: 'platform', name: 'admin', scopes: ['admin'] });
    expect(await tokens.check(token)).toEqual({
      ok: true,
      principal: { kind: 'platform', name: 'admin', scopes: ['read'] },
    });
  });

  it('refuse forgeries: tampered claims, alg none, another audience, an API key', async () => {
    const tokens = createLiveTokens({ secret: SECRET, ttlSeconds: 60 });
    const { token } = await tokens.mint(organizer);
    const [header, , signature] = token.split('.');
    const claims = (sub: string) =>
      Buffer.from(
        JSON.stringify({ aud: LIVE_TOKEN_AUDIENCE, sub, key_id: organizer.keyId, scope: 'read', exp: 2e9 }),
      ).toString('base64url');
    const tampered = `${header}.${claims('organizer:someone-else')}.${signature}`;
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${claims('platform:admin')}.`;
    const exp = Math.floor(Date.now() / 1000) + 60;
    const otherAudience = await sign(
      { aud: 'elsewhere', sub: 'platform:admin', scope: 'read', exp },
      SECRET,
      'HS256',
    );
    const noKeyId = await sign(
      { aud: LIVE_TOKEN_AUDIENCE, sub: `organizer:${organizer.organizerId}`, scope: 'read', exp },
      SECRET,
      'HS256',
    );
    for (const bad of [tampered, none, otherAudience, noKeyId, 'tp_not-a-token', '', 'a.b.c'])
      expect(await tokens.check(bad), bad).toEqual({ ok: false, reason: 'invalid' });
  });
});
