/**
 * The push role's core: WebSocket connections, their subscriptions, and one FeedPoller per
 * watched (feed, params), however many clients watch it. Every poll interval each watched
 * poller runs its one query; a poller nobody watches is dropped, so nothing is queried for it.
 *
 * A client that reads slower than deltas come gets them coalesced by key (the latest value
 * wins) while its socket's send buffer is full; past `maxPendingBytes` it is closed with a
 * reason. Memory is therefore bounded by feeds × maxFeedRows plus connections ×
 * maxPendingBytes.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ShowOwners } from '../auth/show-owners.js';
import type { Principal } from '../auth/principal.js';
import type { ClickHouseClient } from '../clients/clickhouse.js';
import { repeat } from '../lifecycle/repeat.js';
import { checkParams, feedId, FeedParamsError, type Feed } from './feeds.js';
import { FeedPoller, keyText, type Delta, type FeedListener, type Row } from './feed-poller.js';
import { clientMessage, PROTOCOL, type ServerMessage } from './protocol.js';

/** What the hub needs of a socket (a `ws` WebSocket fits). */
export interface LiveSocket {
  send(text: string): void;
  /** Bytes queued but not yet written to the network. */
  readonly bufferedAmount: number;
  close(code: number, reason: string): void;
}

export interface LiveHubOptions {
  clickhouse: ClickHouseClient;
  database: string;
  feeds: ReadonlyMap<string, Feed>;
  showOwners?: ShowOwners;
  logger: Logger;
  pollIntervalMs: number;
  heartbeatMs: number;
  maxSubscriptions: number;
  maxPendingBytes: number;
  maxFeedRows: number;
  /** Seconds a poll re-reads before its watermark (default 5). */
  overlapSeconds?: number;
  /** Oldest cursor a `changes` feed resumes, in seconds before now (default 6 hours). */
  resumeHorizonSeconds?: number;
  registry?: Registry;
  /** See FeedPollerOptions.onDelta. */
  onDelta?: (delta: Delta) => void;
}

/** Close code for a client whose pending deltas passed the bound. */
export const CLOSE_SLOW_CONSUMER = 4008;

interface Pending {
  upserts: Map<string, Row>;
  deletes: Map<string, Row>;
  sizes: Map<string, number>;
  bytes: number;
  cursor: string;
  watermark: string | null;
}

export function createLiveHub(options: LiveHubOptions) {
  const { logger } = options;
  const pollers = new Map<string, FeedPoller>();
  const connections = new Set<LiveConnection>();
  const failing = new Set<string>();
  const lowWater = Math.min(256 * 1024, Math.floor(options.maxPendingBytes / 4));

  const registers = options.registry ? [options.registry] : [];
  const sent = new Counter({
    name: 'ticketpulse_live_messages_total',
    help: 'Messages sent to /v1/live clients, by type',
    labelNames: ['type'],
    registers,
  });
  const sentBytes = new Counter({
    name: 'ticketpulse_live_sent_bytes_total',
    help: 'Bytes of messages sent to /v1/live clients',
    registers,
  });
  const queries = new Counter({
    name: 'ticketpulse_live_queries_total',
    help: 'ClickHouse queries made by the push role, by purpose (load | poll | resume)',
    labelNames: ['purpose'],
    registers,
  });
  const slowCloses = new Counter({
    name: 'ticketpulse_live_slow_consumer_closes_total',
    help: '/v1/live connections closed because their pending deltas passed LIVE_MAX_PENDING_BYTES',
    registers,
  });
  new Gauge({
    name: 'ticketpulse_live_subscribers',
    help: 'Open /v1/live connections (connections) and their subscriptions (subscriptions)',
    labelNames: ['kind'],
    registers,
    collect() {
      const s = stats();
      this.set({ kind: 'connections' }, s.connections);
      this.set({ kind: 'subscriptions' }, s.subscriptions);
    },
  });
  new Gauge({
    name: 'ticketpulse_live_feeds',
    help: 'Feeds (feed and params) being polled because someone watches them',
    registers,
    collect() {
      this.set(pollers.size);
    },
  });

  function stats() {
    let subscriptions = 0;
    for (const c of connections) subscriptions += c.subscriptions.size;
    let rows = 0;
    for (const p of pollers.values()) rows += p.rows;
    return { connections: connections.size, subscriptions, feeds: pollers.size, rows };
  }

  async function pollAll(): Promise<void> {
    await Promise.all(
      [...pollers.values()].map(async (poller) => {
        if (poller.subscribers === 0) {
          pollers.delete(poller.id);
          return;
        }
        try {
          await poller.poll();
          if (failing.delete(poller.id)) logger.info({ feed: poller.id }, 'live feed polls again');
        } catch (err) {
          if (!failing.has(poller.id))
            logger.warn({ err, feed: poller.id }, 'live feed poll failed; retrying');
          failing.add(poller.id);
        }
      }),
    );
    for (const connection of connections) connection.flush();
  }

  const polling = repeat({
    run: pollAll,
    intervalMs: options.pollIntervalMs,
    firstDelayMs: 0,
    onError: (err) => logger.error({ err }, 'live poll loop failed'),
  });
  const heartbeats = repeat({
    run: async () => {
      const text = JSON.stringify({
        type: 'heartbeat',
        at: new Date().toISOString(),
      } satisfies ServerMessage);
      for (const connection of connections) connection.write(text, 'heartbeat');
    },
    intervalMs: options.heartbeatMs,
    onError: (err) => logger.error({ err }, 'live heartbeat failed'),
  });

  /** Delta bodies serialized once and shared by every subscriber of the poller. */
  const deltaTails = new WeakMap<Delta, string>();
  function deltaTail(delta: Delta): string {
    let tail = deltaTails.get(delta);
    if (tail === undefined) {
      tail = JSON.stringify({
        upserts: [...delta.upserts.values()],
        deletes: [...delta.deletes.values()],
        cursor: delta.cursor,
        watermark: delta.watermark,
      }).slice(1);
      deltaTails.set(delta, tail);
    }
    return tail;
  }

  class LiveConnection {
    readonly subscriptions = new Map<string, { poller: FeedPoller; listener: FeedListener }>();
    private readonly pending = new Map<string, Pending>();
    private pendingBytes = 0;
    private closed = false;

    constructor(
      private readonly socket: LiveSocket,
      private readonly principal: Principal,
    ) {}

    write(text: string, type: ServerMessage['type']): void {
      if (this.closed) return;
      this.socket.send(text);
      sent.inc({ type });
      sentBytes.inc(text.length);
    }

    send(message: ServerMessage): void {
      this.write(JSON.stringify(message), message.type);
    }

    async receive(text: string): Promise<void> {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return this.send({
          type: 'error',
          sub: null,
          code: 'bad_message',
          message: 'messages must be JSON objects',
        });
      }
      const result = clientMessage.safeParse(parsed);
      if (!result.success) {
        const sub =
          typeof (parsed as { sub?: unknown })?.sub === 'string' ? (parsed as { sub: string }).sub : null;
        const issue = result.error.issues[0]!;
        return this.send({
          type: 'error',
          sub,
          code: 'bad_message',
          message: `${issue.path.join('.') || 'message'}: ${issue.message}`,
        });
      }
      const message = result.data;
      if (message.type === 'unsubscribe') return this.unsubscribe(message.sub);
      if (message.type === 'auth')
        return this.send({ type: 'error', sub: null, code: 'bad_message', message: 'already authenticated' });
      const { sub } = message;
      const fail = (code: string, text: string) => this.send({ type: 'error', sub, code, message: text });
      if (this.subscriptions.has(sub)) return fail('duplicate_sub', `subscription '${sub}' is already open`);
      if (this.subscriptions.size >= options.maxSubscriptions)
        return fail(
          'too_many_subscriptions',
          `a connection may hold ${options.maxSubscriptions} subscriptions`,
        );
      const feed = options.feeds.get(message.feed);
      if (!feed)
        return fail(
          'unknown_feed',
          `no feed '${message.feed}'; feeds: ${[...options.feeds.keys()].join(', ')}`,
        );
      let params: Record<string, string | number>;
      try {
        params = checkParams(feed, message.params);
      } catch (err) {
        if (err instanceof FeedParamsError) return fail('bad_params', err.message);
        throw err;
      }
      const refusal = await this.refusal(feed, params);
      if (refusal) return fail('forbidden', refusal);
      if (this.closed || this.subscriptions.has(sub)) return;

      const id = feedId(feed, params);
      let poller = pollers.get(id);
      if (!poller) {
        poller = new FeedPoller(
          {
            clickhouse: options.clickhouse,
            database: options.database,
            feed,
            params,
            overlapSeconds: options.overlapSeconds ?? 5,
            resumeHorizonSeconds: options.resumeHorizonSeconds ?? 6 * 3600,
            maxRows: options.maxFeedRows,
            onQuery: (purpose) => queries.inc({ purpose }),
            onDelta: options.onDelta,
          },
          id,
        );
        pollers.set(id, poller);
      }
      const listener = this.listener(sub, feed);
      this.subscriptions.set(sub, { poller, listener });
      poller.join(listener, message.cursor);
    }

    /** Why this key may not watch the feed with these params, or undefined. */
    private async refusal(feed: Feed, params: Record<string, string | number>): Promise<string | undefined> {
      const p = this.principal;
      if (p.kind === 'platform') return undefined;
      if (feed.scope === 'platform') return `feed '${feed.name}' is for platform keys only`;
      if ('organizer' in feed.scope) {
        return params[feed.scope.organizer] === p.organizerId
          ? undefined
          : `an organizer key must set params.${feed.scope.organizer} to its own organizer ('${p.organizerId}')`;
      }
      const show = params[feed.scope.show];
      if (typeof show !== 'string')
        return `an organizer key must name one of its shows in params.${feed.scope.show}`;
      const owner = options.showOwners ? (await options.showOwners.ownersOf([show])).get(show) : undefined;
      if (owner === p.organizerId) return undefined;
      return owner ? `show '${show}' belongs to another organizer` : `unknown show '${show}'`;
    }

    private listener(sub: string, feed: Feed): FeedListener {
      const subJson = JSON.stringify(sub);
      const drop = () => this.unsubscribe(sub);
      return {
        snapshot: (rows, cursor, watermark) => {
          this.send({ type: 'snapshot', sub, feed: feed.name, key: feed.key, rows, cursor, watermark });
        },
        delta: (delta) => {
          if (this.pending.has(sub) || this.socket.bufferedAmount > lowWater)
            return this.coalesce(sub, feed, delta);
          this.write(`{"type":"delta","sub":${subJson},${deltaTail(delta)}`, 'delta');
        },
        mustRefetch: (reason) => {
          drop();
          this.send({ type: 'control', sub, action: 'must-refetch', reason });
        },
        failed: (code, message) => {
          drop();
          this.send({ type: 'error', sub, code, message });
        },
      };
    }

    private coalesce(sub: string, feed: Feed, delta: Delta): void {
      let p = this.pending.get(sub);
      if (!p) {
        p = {
          upserts: new Map(),
          deletes: new Map(),
          sizes: new Map(),
          bytes: 0,
          cursor: '',
          watermark: null,
        };
        this.pending.set(sub, p);
      }
      const resize = (key: string, size: number) => {
        const delta = size - (p.sizes.get(key) ?? 0);
        p.sizes.set(key, size);
        p.bytes += delta;
        this.pendingBytes += delta;
      };
      for (const [key, row] of delta.upserts) {
        p.deletes.delete(key);
        p.upserts.set(key, row);
        resize(key, JSON.stringify(row).length + 1);
      }
      for (const [key, row] of delta.deletes) {
        p.upserts.delete(key);
        p.deletes.set(key, row);
        resize(key, keyText(feed.key, row).length + 1);
      }
      this.pendingBytes += delta.cursor.length - p.cursor.length;
      p.bytes += delta.cursor.length - p.cursor.length;
      p.cursor = delta.cursor;
      p.watermark = delta.watermark;
      if (this.pendingBytes > options.maxPendingBytes) {
        slowCloses.inc();
        this.close(
          CLOSE_SLOW_CONSUMER,
          `slow consumer: more than ${options.maxPendingBytes} bytes of deltas pending; reconnect with your cursor`,
        );
      }
    }

    /** Sends coalesced deltas once the socket has room. */
    flush(): void {
      if (this.closed || this.pending.size === 0 || this.socket.bufferedAmount > lowWater) return;
      for (const [sub, p] of this.pending) {
        this.send({
          type: 'delta',
          sub,
          upserts: [...p.upserts.values()],
          deletes: [...p.deletes.values()],
          cursor: p.cursor,
          watermark: p.watermark,
        });
      }
      this.pending.clear();
      this.pendingBytes = 0;
    }

    unsubscribe(sub: string): void {
      const s = this.subscriptions.get(sub);
      if (!s) return;
      s.poller.leave(s.listener);
      this.subscriptions.delete(sub);
      const p = this.pending.get(sub);
      if (p) this.pendingBytes -= p.bytes;
      this.pending.delete(sub);
    }

    close(code: number, reason: string): void {
      this.socket.close(code, reason);
      this.dispose();
    }

    /** Forgets the connection (its socket closed). */
    dispose(): void {
      if (this.closed) return;
      this.closed = true;
      for (const sub of [...this.subscriptions.keys()]) this.unsubscribe(sub);
      connections.delete(this);
    }
  }

  return {
    /** Registers an open socket for a key that has `read` scope; sends `hello`. */
    connect(socket: LiveSocket, principal: Principal) {
      const connection = new LiveConnection(socket, principal);
      connections.add(connection);
      connection.send({ type: 'hello', protocol: PROTOCOL, heartbeat_ms: options.heartbeatMs });
      return {
        receive: (text: string) =>
          connection.receive(text).catch((err: unknown) => {
            logger.error({ err }, 'live message failed');
            connection.send({
              type: 'error',
              sub: null,
              code: 'internal',
              message: 'the server could not handle that message',
            });
          }),
        closed: () => connection.dispose(),
      };
    },
    stats,
    start(): void {
      polling.start();
      heartbeats.start();
    },
    async close(): Promise<void> {
      await heartbeats.close();
      await polling.close();
      for (const connection of [...connections]) connection.close(1001, 'server shutting down');
    },
  };
}

export type LiveHub = ReturnType<typeof createLiveHub>;
