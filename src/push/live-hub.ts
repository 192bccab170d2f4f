/**
 * The push role's core: the registry of `/v1/live` connections (src/push/live-connection.ts)
 * and of one FeedPoller per watched (feed, params), however many clients watch it, with the two
 * loops that drive them. Every poll interval each watched poller runs its query; a poller nobody
 * watches is dropped, so nothing is queried for it. After each poll, connections with coalesced
 * deltas waiting send them if their socket has room. Memory is therefore bounded by feeds ×
 * maxFeedRows plus connections × maxPendingBytes. Metrics: src/push/live-metrics.ts.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ShowOwners } from '../auth/show-owners.js';
import type { Principal } from '../auth/principal.js';
import type { ClickHouseClient } from '../clients/clickhouse.js';
import { repeat } from '../lifecycle/repeat.js';
import { feedId, type Feed } from './feeds.js';
import { FeedPoller, type Delta } from './feed-poller.js';
import { LiveConnection, type LiveSocket } from './live-connection.js';
import { createLiveMetrics, type LiveStats } from './live-metrics.js';
import { PROTOCOL, type ServerMessage } from './protocol.js';

export { CLOSE_SLOW_CONSUMER, type LiveSocket } from './live-connection.js';

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

export function createLiveHub(options: LiveHubOptions) {
  const { logger } = options;
  const pollers = new Map<string, FeedPoller>();
  const connections = new Set<LiveConnection>();
  const failing = new Set<string>();
  const metrics = createLiveMetrics(options.registry, stats);

  function stats(): LiveStats {
    let subscriptions = 0;
    for (const c of connections) subscriptions += c.subscriptions.size;
    let rows = 0;
    for (const p of pollers.values()) rows += p.rows;
    return { connections: connections.size, subscriptions, feeds: pollers.size, rows };
  }

  /** The poller of this feed and params, created for the first subscriber. */
  function pollerFor(feed: Feed, params: Record<string, string | number>): FeedPoller {
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
          onQuery: metrics.query,
          onDelta: options.onDelta,
        },
        id,
      );
      pollers.set(id, poller);
    }
    return poller;
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
    run: async function sendHeartbeats() {
      const text = JSON.stringify({
        type: 'heartbeat',
        at: new Date().toISOString(),
      } satisfies ServerMessage);
      for (const connection of connections) connection.write(text, 'heartbeat');
    },
    intervalMs: options.heartbeatMs,
    onError: (err) => logger.error({ err }, 'live heartbeat failed'),
  });

  const connectionDeps = {
    feeds: options.feeds,
    showOwners: options.showOwners,
    maxSubscriptions: options.maxSubscriptions,
    maxPendingBytes: options.maxPendingBytes,
    metrics,
    poller: pollerFor,
    disposed: (connection: LiveConnection) => connections.delete(connection),
  };

  return {
    /** Registers an open socket for a key that has `read` scope; sends `hello`. */
    connect(socket: LiveSocket, principal: Principal) {
      const connection = new LiveConnection(socket, principal, connectionDeps);
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
