/**
 * Every (event_type, version) the API accepts, each with its `data` schema and the flat row
 * it becomes on the Kafka topic (the columns ClickHouse's Kafka engine tables read).
 * Adding version 2 of a type means adding an entry here; version 1 stays as it is.
 */
import { z } from 'zod';
import type { EventType } from './envelope.js';
import { isCountryCode, isCurrencyCode } from './codes.js';
import { jsonNumber, jsonString, jsonStringArray } from './json-text.js';
import {
  ACTIONS,
  CHANNELS,
  isPlainId,
  moneyText,
  systemMetricV1,
  ticketSaleV1,
  userInteractionV1,
} from './schemas-v1.js';

/** A row's key and its columns after the envelope's (see `SchemaVersion.columns`). */
export interface RowColumns {
  key: string;
  columns: string;
}

/** One schema version: how to validate `data` and what to produce. */
export interface SchemaVersion<T = unknown> {
  /** Compiled with `z.compile`: same answers and messages as the schema, several times faster. */
  data: z.ZodType<T>;
  /** Kafka message key: keeps one user's (or one metric's) events in order on one partition. */
  key(data: T): string;
  /**
   * The row's columns after the envelope's (`rowStart`), as JSON text in a fixed order and
   * closing the object: what `JSON.stringify` writes for them. Money stays a decimal string.
   */
  columns(data: T): string;
  /**
   * Optional fast path for raw `data` that is plainly valid: the key and columns that
   * `data`, `key` and `columns` would give, without zod. Undefined means "ask the schema",
   * never "invalid": it may pass over valid data, but must not accept what the schema rejects
   * (test/unit/quick-accept.test.ts compares the two).
   */
  quick?(data: unknown): RowColumns | undefined;
}

function version<T>(spec: SchemaVersion<T>): SchemaVersion<unknown> {
  return { ...spec, data: z.compile(spec.data) } as SchemaVersion<unknown>;
}

/**
 * A row's opening: the envelope columns every row starts with, in this order, unclosed.
 * `timestampMs` is the event's own time, `receivedAtMs` when the API received it (UTC ms).
 */
export function rowStart(id: string, version: number, timestampMs: number, receivedAtMs: number): string {
  return `{"id":${jsonString(id)},"version":${jsonNumber(version)},"timestamp_ms":${jsonNumber(timestampMs)},"received_at_ms":${jsonNumber(receivedAtMs)}`;
}

const channels: ReadonlySet<unknown> = new Set(CHANNELS);
const actions: ReadonlySet<unknown> = new Set(ACTIONS);

/** A plain object (not null, not an array), as `z.object` requires. */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An optional text field that needs no checks beyond its length. */
function isOptionalText(value: unknown, max: number): value is string | undefined {
  return value === undefined || (typeof value === 'string' && value.length <= max);
}

function ticketSaleColumns(
  eventId: string,
  orderId: string,
  userId: string,
  category: string,
  quantity: number,
  amount: string,
  currency: string,
  channel: string,
  country: string,
  city: string,
): string {
  return `,"event_id":${jsonString(eventId)},"order_id":${jsonString(orderId)},"user_id":${jsonString(userId)},"category":${jsonString(category)},"quantity":${jsonNumber(quantity)},"amount":${jsonString(amount)},"currency":${jsonString(currency)},"channel":${jsonString(channel)},"country":${jsonString(country)},"city":${jsonString(city)}}`;
}

function userInteractionColumns(
  eventId: string,
  userId: string,
  sessionId: string,
  action: string,
  page: string,
  referrer: string,
): string {
  return `,"event_id":${jsonString(eventId)},"user_id":${jsonString(userId)},"session_id":${jsonString(sessionId)},"action":${jsonString(action)},"page":${jsonString(page)},"referrer":${jsonString(referrer)}}`;
}

export const SCHEMAS: Record<EventType, ReadonlyMap<number, SchemaVersion>> = {
  ticket_sale: new Map([
    [
      1,
      version({
        data: ticketSaleV1,
        key: (d) => d.user_id,
        columns: (d) =>
          ticketSaleColumns(
            d.event_id,
            d.order_id,
            d.user_id,
            d.category,
            d.quantity,
            d.amount,
            d.currency,
            d.channel,
            d.location.country,
            d.location.city ?? '',
          ),
        quick: function quickTicketSale(d) {
          if (!isObject(d) || !isObject(d.location)) return undefined;
          const { event_id, order_id, user_id, category, quantity, amount, currency, channel } = d;
          const { country, city } = d.location;
          if (!isPlainId(event_id) || !isPlainId(order_id) || !isPlainId(user_id) || !isPlainId(category)) {
            return undefined;
          }
          if (
            typeof quantity !== 'number' ||
            !Number.isSafeInteger(quantity) ||
            quantity < 1 ||
            quantity > 100
          ) {
            return undefined;
          }
          const money =
            typeof amount === 'string' || typeof amount === 'number' ? moneyText(amount) : undefined;
          if (money === undefined || typeof currency !== 'string' || !isCurrencyCode(currency))
            return undefined;
          if (!channels.has(channel) || typeof country !== 'string' || !isCountryCode(country))
            return undefined;
          if (!isOptionalText(city, 256)) return undefined;
          return {
            key: user_id,
            columns: ticketSaleColumns(
              event_id,
              order_id,
              user_id,
              category,
              quantity,
              money,
              currency,
              channel as string,
              country,
              city ?? '',
            ),
          };
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
        columns: (d) =>
          userInteractionColumns(
            d.event_id,
            d.user_id,
            d.session_id,
            d.action,
            d.page ?? '',
            d.referrer ?? '',
          ),
        quick: function quickUserInteraction(d) {
          if (!isObject(d)) return undefined;
          const { event_id, user_id, session_id, action, page, referrer } = d;
          if (!isPlainId(event_id) || !isPlainId(user_id) || !isPlainId(session_id)) return undefined;
          if (!actions.has(action) || !isOptionalText(page, 2048) || !isOptionalText(referrer, 2048)) {
            return undefined;
          }
          return {
            key: user_id,
            columns: userInteractionColumns(
              event_id,
              user_id,
              session_id,
              action as string,
              page ?? '',
              referrer ?? '',
            ),
          };
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
        columns: (d) =>
          `,"name":${jsonString(d.name)},"value":${jsonNumber(d.value)},"unit":${jsonString(d.unit ?? '')},"tag_keys":${jsonStringArray(Object.keys(d.tags))},"tag_values":${jsonStringArray(Object.values(d.tags))}}`,
      }),
    ],
  ]),
};
