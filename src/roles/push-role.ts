/**
 * The `push` role: the live WebSocket `/v1/live` (a hub polling the watched feeds) and the
 * dashboard, on the shared HTTP server. Stateless.
 */
import type { Config } from '../config.js';
import { createDashboardRoutes } from '../dashboard/dashboard-routes.js';
import { feedCatalog } from '../push/feeds.js';
import { createLiveHub } from '../push/live-hub.js';
import type { RoleHandle, SharedClients } from './role.js';

export function createPushRole(config: Config, shared: SharedClients): RoleHandle {
  const { clickhouse, logger, entities } = shared;
  const hub = createLiveHub({
    clickhouse,
    database: config.CLICKHOUSE_DATABASE,
    feeds: feedCatalog(shared.queries),
    showOwners: entities.showOwners,
    logger,
    pollIntervalMs: config.LIVE_POLL_INTERVAL_MS,
    heartbeatMs: config.LIVE_HEARTBEAT_MS,
    maxSubscriptions: config.LIVE_MAX_SUBSCRIPTIONS,
    maxPendingBytes: config.LIVE_MAX_PENDING_BYTES,
    maxFeedRows: config.LIVE_MAX_FEED_ROWS,
    registry: shared.metrics.registry,
    onDelta: shared.hooks.onLiveDelta,
  });
  return {
    role: 'push',
    routes: {
      live: {
        hub,
        keys: entities.keys,
        tokens: shared.liveTokens,
        revocations: entities.revocations,
        logger,
        allowedOrigins: config.LIVE_ALLOWED_ORIGINS,
        maxMessageBytes: config.LIVE_MAX_MESSAGE_BYTES,
        authTimeoutMs: config.LIVE_AUTH_TIMEOUT_MS,
      },
      routes: [createDashboardRoutes()],
    },
    async start() {
      hub.start();
    },
    close: () => hub.close(),
  };
}
