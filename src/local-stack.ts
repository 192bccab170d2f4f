/**
 * What the service knows of the local stack (`npm run stack`, scripts/stack/): the ports it
 * listens on, moved by TICKETPULSE_STACK_PORT_OFFSET, and so the default addresses of Kafka,
 * ClickHouse, Postgres and InfluxDB when their variables are unset. The stack's own settings
 * (its folder) are in scripts/stack/settings.ts.
 */
import { z } from 'zod';

/** Ports the local stack (`npm run stack -- up`) listens on with no offset; all on 127.0.0.1. */
const STACK_BASE_PORTS = {
  kafka: 19092,
  kafkaController: 19093,
  clickhouseHttp: 18123,
  clickhouseNative: 19000,
  postgres: 15432,
  influxdb: 18086,
  influxdbRpc: 18087,
} as const;

export type StackPorts = Record<keyof typeof STACK_BASE_PORTS, number>;

/**
 * The local stack's ports moved by `offset` (TICKETPULSE_STACK_PORT_OFFSET), so a second stack,
 * such as one the fault suite stops and kills, can run beside the shared one.
 */
export function stackPorts(offset: number): StackPorts {
  const moved = Object.entries(STACK_BASE_PORTS).map(([name, base]) => [name, base + offset]);
  return Object.fromEntries(moved) as StackPorts;
}

/**
 * TICKETPULSE_STACK_PORT_OFFSET: added to every port of the local stack and so to the defaults
 * of KAFKA_BROKERS, CLICKHOUSE_URL, DATABASE_URL and INFLUX_URL. At most 40,000, which keeps the highest
 * port (19093) valid.
 */
export const stackPortOffset = z.coerce.number().int().min(0).max(40_000).default(0);

/** The service addresses of the local stack on these ports: the defaults when unset. */
export function stackServiceDefaults(ports: StackPorts) {
  return {
    KAFKA_BROKERS: `127.0.0.1:${ports.kafka}`,
    CLICKHOUSE_URL: `http://127.0.0.1:${ports.clickhouseHttp}`,
    DATABASE_URL: `postgres://postgres@127.0.0.1:${ports.postgres}/ticketpulse`,
    INFLUX_URL: `http://127.0.0.1:${ports.influxdb}`,
  };
}
