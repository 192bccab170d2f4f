/**
 * The `/v1/live` protocol, version 1: one JSON object per WebSocket text message, told apart
 * by `type`. docs/live-protocol.md documents it for clients.
 */
import { z } from 'zod';

export const PROTOCOL = 'ticketpulse.live.v1';

/**
 * Close codes of the protocol besides RFC 6455's: 4001 when the connection is not (or no longer)
 * authenticated (a bad, expired or revoked token, no `auth` message in time, or the key was
 * revoked while connected), 4008 for a slow consumer (src/push/live-connection.ts).
 */
export const CLOSE_UNAUTHORIZED = 4001;

const subId = z.string().min(1).max(64);

export const clientMessage = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('subscribe'),
      sub: subId,
      feed: z.string().min(1).max(128),
      params: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
      cursor: z
        .string()
        .max(64 * 1024)
        .optional(),
    })
    .strict(),
  z.object({ type: z.literal('unsubscribe'), sub: subId }).strict(),
  /** The first message of a connection whose handshake carried no credential (src/api/live-route.ts). */
  z.object({ type: z.literal('auth'), token: z.string().min(1).max(4096) }).strict(),
]);
export type ClientMessage = z.infer<typeof clientMessage>;

type Row = Record<string, unknown>;

/** Everything the server sends. */
export type ServerMessage =
  | { type: 'hello'; protocol: typeof PROTOCOL; heartbeat_ms: number }
  | {
      type: 'snapshot';
      sub: string;
      feed: string;
      key: string[];
      rows: Row[];
      cursor: string;
      watermark: string | null;
    }
  | { type: 'delta'; sub: string; upserts: Row[]; deletes: Row[]; cursor: string; watermark: string | null }
  | { type: 'control'; sub: string; action: 'must-refetch'; reason: string }
  | { type: 'error'; sub: string | null; code: string; message: string }
  | { type: 'heartbeat'; at: string };
