/**
 * One pg-listen subscription per process to `ticketpulse_changes`, the channel every entity
 * trigger notifies (migrations/postgres/0002). Caches and the bridge register handlers here;
 * `onResync` handlers run after the connection was lost and regained, because notifications
 * sent meanwhile are gone and whatever they described must be read again.
 */
import pgListen from 'pg-listen';
import type { Logger } from 'pino';

export const CHANGES_CHANNEL = 'ticketpulse_changes';
/** `application_name` of the LISTEN connection. */
export const CHANGES_APPLICATION_NAME = 'ticketpulse-changes';

/** One row changed: the table and the row's key columns (see the triggers). */
export interface EntityChange {
  table: string;
  key: Record<string, string>;
}

export interface PgChanges {
  /** Calls `handler` for every change; returns a function that removes it. */
  onChange(handler: (change: EntityChange) => void): () => void;
  /** Calls `handler` after a reconnect (changes may have been missed). */
  onResync(handler: () => void): () => void;
  /** True while LISTEN is active: caches may trust what they hold only then. */
  readonly listening: boolean;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface PgChangesOptions {
  connectionString: string;
  logger: Logger;
}

export function createPgChanges({ connectionString, logger }: PgChangesOptions): PgChanges {
  // Retry forever: losing Postgres for a while must not end the process.
  // pg-listen is CommonJS with `exports.default`: the ESM default import is the module object.
  const subscriber = pgListen.default(
    // Named, so operators (and tests) can tell the LISTEN connection in pg_stat_activity.
    { connectionString, application_name: CHANGES_APPLICATION_NAME },
    {
      retryLimit: Infinity,
      retryTimeout: Infinity,
      retryInterval: (n) => Math.min(5000, 250 * 2 ** n),
      paranoidChecking: 5000,
    },
  );
  const changeHandlers = new Set<(change: EntityChange) => void>();
  const resyncHandlers = new Set<() => void>();
  let listening = false;
  let started = false;
  let closed = false;

  subscriber.notifications.on(CHANGES_CHANNEL, function onNotification(payload: unknown) {
    const change = payload as EntityChange;
    if (typeof change?.table !== 'string' || typeof change.key !== 'object') return;
    for (const handler of changeHandlers) handler(change);
  });
  subscriber.events.on('error', function onListenError(err) {
    listening = false;
    if (!closed) logger.error({ err }, 'postgres change feed lost; caches bypassed until it is back');
  });
  subscriber.events.on('reconnect', function onReconnect(attempt) {
    listening = false;
    logger.warn({ attempt }, 'postgres change feed reconnecting');
  });
  subscriber.events.on('connected', function onConnected() {
    // pg-listen re-issues LISTEN for subscribed channels before it reports a reconnect.
    listening = true;
    if (started) {
      logger.info('postgres change feed back; resyncing');
      for (const handler of resyncHandlers) handler();
    }
  });

  return {
    onChange(handler) {
      changeHandlers.add(handler);
      return () => changeHandlers.delete(handler);
    },
    onResync(handler) {
      resyncHandlers.add(handler);
      return () => resyncHandlers.delete(handler);
    },
    get listening() {
      return listening;
    },
    async start() {
      await subscriber.connect();
      await subscriber.listenTo(CHANGES_CHANNEL);
      listening = true;
      started = true;
    },
    async close() {
      closed = true;
      listening = false;
      await subscriber.close();
    },
  };
}
