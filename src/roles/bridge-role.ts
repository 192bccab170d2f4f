/**
 * The `bridge` role: Postgres dimensions → ClickHouse (the dimension sync, on the shared change
 * feed) and finished windows → InfluxDB (the mirror, when INFLUX_MIRROR_INTERVAL_MS > 0). One
 * process is enough; its writes are idempotent.
 */
import { createDimensionSync, type DimensionSync } from '../bridge/dimension-sync.js';
import { createInfluxMirror } from '../bridge/influx-mirror.js';
import type { Config } from '../config.js';
import type { RoleHandle, SharedClients } from './role.js';

export interface BridgeRole extends RoleHandle {
  role: 'bridge';
  /** The dimension sync (tests wait for it with `idle()` and force `resync()`). */
  dimensions: DimensionSync;
}

export function createBridgeRole(config: Config, shared: SharedClients): BridgeRole {
  const { clickhouse, influx, logger } = shared;
  const database = config.CLICKHOUSE_DATABASE;
  const dimensions = createDimensionSync({
    db: shared.db,
    changes: shared.entities.changes,
    clickhouse,
    database,
    logger,
  });
  const mirror =
    influx !== undefined
      ? createInfluxMirror({
          clickhouse,
          database,
          influx,
          logger,
          intervalMs: config.INFLUX_MIRROR_INTERVAL_MS,
          bufferPoints: config.INFLUX_BUFFER_POINTS,
          registry: shared.metrics.registry,
        })
      : undefined;
  return {
    role: 'bridge',
    dimensions,
    /** Resyncs every dimension (it waits for that), then follows changes; starts the mirror. */
    async start() {
      await dimensions.start();
      mirror?.start();
    },
    async close() {
      await mirror?.close();
      await dimensions.close();
    },
  };
}
