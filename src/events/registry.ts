/**
 * Every (event_type, version) the API accepts, each with its `data` schema and the flat row
 * it becomes on the Kafka topic (the columns ClickHouse's Kafka engine tables read, one array
 * element per event in a batch message: src/events/topic-messages.ts).
 * Adding version 2 of a type means adding an entry here; version 1 stays as it is.
 */
import { z } from 'zod';
import type { EventType } from './envelope.js';
import { jsonNumber, jsonString, jsonStringArray } from './json-text.js';
import { systemMetricV1, ticketRefundV1, ticketSaleV1, userInteractionV1 } from './schemas-v1.js';
import type { TicketRefundV1 } from './schemas-v1.js';

/** Envelope fields every row carries, first, in this order. */
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
  /** Compiled with `z.compile`: same answers and messages as the schema, several times faster. */
  data: z.ZodType<T>;
  /**
   * Kafka partition key: keeps one user's (or one metric's) events in order on one partition.
   * Refunds are keyed by buyer like sales: the same partition number of their own topic and, on
   * a cluster, the same shard as the buyer's sales (no order between the two topics, though).
   */
  key(data: T): string;
  /**
   * The event's flat row, as the JSON text of each column in `COLUMNS` order (the bytes
   * `JSON.stringify` gives for each value). Money stays a decimal string (exact).
   */
  cells(base: RowBase, data: T): string[];
}

/** The envelope's columns, first in every row: id, version, timestamp_ms, received_at_ms. */
function baseCells(base: RowBase): string[] {
  return [
    jsonString(base.id),
    jsonNumber(base.version),
    jsonNumber(base.timestamp_ms),
    jsonNumber(base.received_at_ms),
  ];
}

/** The envelope's columns, then the columns a sale and a refund share, in COLUMNS order. */
function orderCells(base: RowBase, d: Omit<TicketRefundV1, 'reason'>): string[] {
  return [
    ...baseCells(base),
    jsonString(d.event_id),
    jsonString(d.order_id),
    jsonString(d.user_id),
    jsonString(d.category),
    jsonNumber(d.quantity),
    jsonString(d.amount),
    jsonString(d.currency),
    jsonString(d.channel),
  ];
}

function version<T>(spec: SchemaVersion<T>): SchemaVersion<unknown> {
  return { ...spec, data: z.compile(spec.data) } as SchemaVersion<unknown>;
}

/**
 * The columns of each event type's row, in order: the columns of its `<stream>_queue` Kafka
 * table (migrations/clickhouse/0015_batch_messages.sql; `ticket_refunds_queue` from migration 0016),
 * where each is an array in a message.
 */
export const COLUMNS: Record<EventType, readonly string[]> = {
  ticket_sale: [
    'id',
    'version',
    'timestamp_ms',
    'received_at_ms',
    'event_id',
    'order_id',
    'user_id',
    'category',
    'quantity',
    'amount',
    'currency',
    'channel',
    'country',
    'city',
  ],
  ticket_refund: [
    'id',
    'version',
    'timestamp_ms',
    'received_at_ms',
    'event_id',
    'order_id',
    'user_id',
    'category',
    'quantity',
    'amount',
    'currency',
    'channel',
    'reason',
  ],
  user_interaction: [
    'id',
    'version',
    'timestamp_ms',
    'received_at_ms',
    'event_id',
    'user_id',
    'session_id',
    'action',
    'page',
    'referrer',
  ],
  system_metric: [
    'id',
    'version',
    'timestamp_ms',
    'received_at_ms',
    'name',
    'value',
    'unit',
    'tag_keys',
    'tag_values',
  ],
};

export const SCHEMAS: Record<EventType, ReadonlyMap<number, SchemaVersion>> = {
  ticket_sale: new Map([
    [
      1,
      version({
        data: ticketSaleV1,
        key: (d) => d.user_id,
        cells: function ticketSaleRow(base, d) {
          // Appended in place: this runs for every event the API accepts, and a second spread
          // would copy the row once more.
          const cells = orderCells(base, d);
          cells.push(jsonString(d.location.country), jsonString(d.location.city ?? ''));
          return cells;
        },
      }),
    ],
  ]),
  ticket_refund: new Map([
    [
      1,
      version({
        data: ticketRefundV1,
        key: (d) => d.user_id,
        cells: function ticketRefundRow(base, d) {
          const cells = orderCells(base, d);
          cells.push(jsonString(d.reason));
          return cells;
        },
      }),
    ],
  ]),
  user_interaction: new Map([
    [
      1,
      version({
        data: userInteractionV1,
        key: (d) => d.user_id,
        cells: function userInteractionRow(base, d) {
          return [
            ...baseCells(base),
            jsonString(d.event_id),
            jsonString(d.user_id),
            jsonString(d.session_id),
            jsonString(d.action),
            jsonString(d.page ?? ''),
            jsonString(d.referrer ?? ''),
          ];
        },
      }),
    ],
  ]),
  system_metric: new Map([
    [
      1,
      version({
        data: systemMetricV1,
        key: (d) => d.name,
        cells: function systemMetricRow(base, d) {
          return [
            ...baseCells(base),
            jsonString(d.name),
            jsonNumber(d.value),
            jsonString(d.unit ?? ''),
            jsonStringArray(Object.keys(d.tags)),
            jsonStringArray(Object.values(d.tags)),
          ];
        },
      }),
    ],
  ]),
};
