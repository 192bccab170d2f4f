/**
 * Every (event_type, version) the API accepts, each with its `data` schema and the flat row
 * it becomes on the Kafka topic (the columns ClickHouse's Kafka engine tables read).
 * Adding version 2 of a type means adding an entry here; version 1 stays as it is.
 */
import { z } from 'zod';
import type { EventType } from './envelope.js';
import { isPlainText, jsonNumber, jsonString, jsonStringArray } from './json-text.js';
import { systemMetricV1, ticketSaleV1, userInteractionV1 } from './schemas-v1.js';

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
  /** Kafka message key: keeps one user's (or one metric's) events in order on one partition. */
  key(data: T): string;
  /**
   * The flat row written to the topic, as JSON text with its columns in a fixed order (the
   * bytes `JSON.stringify` gives for the same object). Money stays a decimal string (exact).
   */
  value(base: RowBase, data: T): string;
}

function version<T>(spec: SchemaVersion<T>): SchemaVersion<unknown> {
  return { ...spec, data: z.compile(spec.data) } as SchemaVersion<unknown>;
}

/** `{"id":…,"version":…,"timestamp_ms":…,"received_at_ms":…` — the row's opening, unclosed. */
function baseText(base: RowBase): string {
  return `{"id":${jsonString(base.id)},"version":${jsonNumber(base.version)},"timestamp_ms":${jsonNumber(base.timestamp_ms)},"received_at_ms":${jsonNumber(base.received_at_ms)}`;
}

export const SCHEMAS: Record<EventType, ReadonlyMap<number, SchemaVersion>> = {
  ticket_sale: new Map([
    [
      1,
      version({
        data: ticketSaleV1,
        key: (d) => d.user_id,
        value: function ticketSaleRow(base, d) {
          const { country, city = '' } = d.location;
          // Usually no text needs escaping: then quotes go in the template, half the pieces.
          if (
            isPlainText(base.id) &&
            isPlainText(d.event_id) &&
            isPlainText(d.order_id) &&
            isPlainText(d.user_id) &&
            isPlainText(d.category) &&
            isPlainText(d.amount) &&
            isPlainText(d.currency) &&
            isPlainText(d.channel) &&
            isPlainText(country) &&
            isPlainText(city)
          ) {
            return `{"id":"${base.id}","version":${jsonNumber(base.version)},"timestamp_ms":${jsonNumber(base.timestamp_ms)},"received_at_ms":${jsonNumber(base.received_at_ms)},"event_id":"${d.event_id}","order_id":"${d.order_id}","user_id":"${d.user_id}","category":"${d.category}","quantity":${jsonNumber(d.quantity)},"amount":"${d.amount}","currency":"${d.currency}","channel":"${d.channel}","country":"${country}","city":"${city}"}`;
          }
          return `${baseText(base)},"event_id":${jsonString(d.event_id)},"order_id":${jsonString(d.order_id)},"user_id":${jsonString(d.user_id)},"category":${jsonString(d.category)},"quantity":${jsonNumber(d.quantity)},"amount":${jsonString(d.amount)},"currency":${jsonString(d.currency)},"channel":${jsonString(d.channel)},"country":${jsonString(country)},"city":${jsonString(city)}}`;
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
        value: function userInteractionRow(base, d) {
          const { page = '', referrer = '' } = d;
          if (
            isPlainText(base.id) &&
            isPlainText(d.event_id) &&
            isPlainText(d.user_id) &&
            isPlainText(d.session_id) &&
            isPlainText(d.action) &&
            isPlainText(page) &&
            isPlainText(referrer)
          ) {
            return `{"id":"${base.id}","version":${jsonNumber(base.version)},"timestamp_ms":${jsonNumber(base.timestamp_ms)},"received_at_ms":${jsonNumber(base.received_at_ms)},"event_id":"${d.event_id}","user_id":"${d.user_id}","session_id":"${d.session_id}","action":"${d.action}","page":"${page}","referrer":"${referrer}"}`;
          }
          return `${baseText(base)},"event_id":${jsonString(d.event_id)},"user_id":${jsonString(d.user_id)},"session_id":${jsonString(d.session_id)},"action":${jsonString(d.action)},"page":${jsonString(page)},"referrer":${jsonString(referrer)}}`;
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
        value: function systemMetricRow(base, d) {
          return `${baseText(base)},"name":${jsonString(d.name)},"value":${jsonNumber(d.value)},"unit":${jsonString(d.unit ?? '')},"tag_keys":${jsonStringArray(Object.keys(d.tags))},"tag_values":${jsonStringArray(Object.values(d.tags))}}`;
        },
      }),
    ],
  ]),
};
