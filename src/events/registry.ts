/**
 * Every (event_type, version) the API accepts, each with its `data` schema and the flat row
 * it becomes on the Kafka topic (the columns ClickHouse's Kafka engine tables read).
 * Adding version 2 of a type means adding an entry here; version 1 stays as it is.
 */
import type { z } from 'zod';
import type { EventType } from './envelope.js';
import { systemMetricV1, ticketSaleV1, userInteractionV1 } from './schemas-v1.js';

/** Envelope fields every row carries. */
export interface RowBase {
  id: string;
  version: number;
  /** The event's own time, UTC epoch ms. */
  timestamp_ms: number;
  /** When the API received it, UTC epoch ms. */
  received_at_ms: number;
}

/** One schema version: how to validate `data` and what to produce. */
export interface SchemaVersion<T = unknown> {
  data: z.ZodType<T>;
  /** Kafka message key: keeps one user's (or one metric's) events in order on one partition. */
  key(data: T): string;
  /** The flat JSON row written to the topic. Money stays a decimal string (exact). */
  row(base: RowBase, data: T): Record<string, unknown>;
}

function version<T>(spec: SchemaVersion<T>): SchemaVersion<unknown> {
  return spec as SchemaVersion<unknown>;
}

export const SCHEMAS: Record<EventType, ReadonlyMap<number, SchemaVersion>> = {
  ticket_sale: new Map([
    [
      1,
      version({
        data: ticketSaleV1,
        key: (d) => d.user_id,
        row: (base, d) => ({
          ...base,
          event_id: d.event_id,
          order_id: d.order_id,
          user_id: d.user_id,
          category: d.category,
          quantity: d.quantity,
          amount: d.amount,
          currency: d.currency,
          channel: d.channel,
          country: d.location.country,
          city: d.location.city ?? '',
        }),
      }),
    ],
  ]),
  user_interaction: new Map([
    [
      1,
      version({
        data: userInteractionV1,
        key: (d) => d.user_id,
        row: (base, d) => ({
          ...base,
          event_id: d.event_id,
          user_id: d.user_id,
          session_id: d.session_id,
          action: d.action,
          page: d.page ?? '',
          referrer: d.referrer ?? '',
        }),
      }),
    ],
  ]),
  system_metric: new Map([
    [
      1,
      version({
        data: systemMetricV1,
        key: (d) => d.name,
        row: (base, d) => ({
          ...base,
          name: d.name,
          value: d.value,
          unit: d.unit ?? '',
          tag_keys: Object.keys(d.tags),
          tag_values: Object.values(d.tags),
        }),
      }),
    ],
  ]),
};
