/**
 * Which organizer keys were revoked lately, for whoever accepts live tokens without asking
 * Postgres (src/auth/live-tokens.ts). The change feed says that a key row changed; one lookup
 * by id says whether it is now revoked. A revocation is remembered for the token lifetime (a
 * token minted before it has expired after that), and ends the connections that watch the key.
 * After the feed was down, and at start-up, the keys revoked within that time, or used by a
 * watcher, are read again: while the feed is down a revocation takes effect when it is back,
 * or when the token expires, whichever is first.
 */
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { PgChanges } from '../clients/pg-changes.js';
import type { Db } from '../db/schema.js';

export interface KeyRevocationsOptions {
  db: Db;
  changes: PgChanges;
  logger: Logger;
  /** How long a revocation is remembered: the token lifetime (LIVE_TOKEN_TTL_SECONDS). */
  rememberSeconds: number;
  /** Wait before a failed lookup is tried again (default 1000 ms). */
  retryMs?: number;
}

export interface KeyRevocations {
  /** Whether the key is known to be revoked: its tokens are refused. */
  isRevoked(keyId: string): boolean;
  /** Calls `onRevoked` once, when the key is revoked; returns a function that stops watching. */
  watch(keyId: string, onRevoked: () => void): () => void;
  /** Reads the keys revoked within the remembered time (the feed must be started). */
  start(): Promise<void>;
  close(): void;
}

/** Leeway for the clocks of Postgres and this process when reading recent revocations. */
const CLOCK_LEEWAY_SECONDS = 60;

export function createKeyRevocations(options: KeyRevocationsOptions): KeyRevocations {
  const { db, changes, logger } = options;
  const retryMs = options.retryMs ?? 1000;
  /** key id → epoch ms until which it is remembered. */
  const revoked = new Map<string, number>();
  const watchers = new Map<string, Set<() => void>>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  function markRevoked(keyId: string): void {
    const now = Date.now();
    for (const [id, until] of revoked) if (until <= now) revoked.delete(id);
    revoked.set(keyId, now + options.rememberSeconds * 1000);
    const callbacks = watchers.get(keyId);
    watchers.delete(keyId);
    for (const callback of callbacks ?? []) callback();
  }

  /** Runs a lookup, and again after `retryMs` while it fails (Postgres away for a moment). */
  function attempt(what: string, lookup: () => Promise<void>): void {
    lookup().catch((err: unknown) => {
      if (closed) return;
      logger.warn({ err }, `key revocation lookup failed (${what}); retrying`);
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!closed) attempt(what, lookup);
      }, retryMs);
      timers.add(timer);
    });
  }

  async function lookUpKey(keyId: string): Promise<void> {
    const row = await db
      .selectFrom('api_keys')
      .select('revoked_at')
      .where('id', '=', keyId)
      .executeTakeFirst();
    // A deleted row is as good as revoked.
    if (!row || row.revoked_at !== null) markRevoked(keyId);
  }

  async function lookUpRecent(): Promise<void> {
    const watched = [...watchers.keys()];
    const seconds = options.rememberSeconds + CLOCK_LEEWAY_SECONDS;
    const rows = await db
      .selectFrom('api_keys')
      .select('id')
      .where('revoked_at', 'is not', null)
      .where((eb) =>
        eb.or([
          eb('revoked_at', '>', sql<Date>`now() - make_interval(secs => ${seconds})`),
          ...(watched.length > 0 ? [eb('id', 'in', watched)] : []),
        ]),
      )
      .execute();
    for (const row of rows) markRevoked(row.id);
  }

  const stopChanges = changes.onChange(function onKeyChange(change) {
    const id = change.key.id;
    if (change.table === 'api_keys' && typeof id === 'string') attempt(`key ${id}`, () => lookUpKey(id));
  });
  const stopResync = changes.onResync(function onResync() {
    attempt('after the change feed reconnected', lookUpRecent);
  });

  return {
    isRevoked(keyId) {
      const until = revoked.get(keyId);
      return until !== undefined && until > Date.now();
    },
    watch(keyId, onRevoked) {
      // Revoked between the caller's check and this call: tell it at once.
      if (this.isRevoked(keyId)) {
        queueMicrotask(onRevoked);
        return () => {};
      }
      let set = watchers.get(keyId);
      if (!set) watchers.set(keyId, (set = new Set()));
      set.add(onRevoked);
      return () => {
        set.delete(onRevoked);
        if (set.size === 0 && watchers.get(keyId) === set) watchers.delete(keyId);
      };
    },
    start: lookUpRecent,
    close() {
      closed = true;
      stopChanges();
      stopResync();
      for (const timer of timers) clearTimeout(timer);
      watchers.clear();
    },
  };
}

/** For tools and tests without Postgres, where only platform keys exist: nothing is ever revoked. */
export function noKeyRevocations(): KeyRevocations {
  return {
    isRevoked: () => false,
    watch: () => () => {},
    start: async () => {},
    close() {},
  };
}
