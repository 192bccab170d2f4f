// @ts-check
/**
 * A /v1/live client (docs/live-protocol.md): one WebSocket, one LiveTable per subscription. It
 * reconnects after a drop with capped exponential backoff and jitter, resubscribes each sub
 * with the cursor of the last message it applied (so the server sends only what changed
 * since), and starts a sub over when the server says `must-refetch`. A connection silent for
 * three heartbeats counts as dropped. Runs in the browser and in Node (pass `ws` as WebSocket).
 *
 * With `token`, it authenticates with a live token in a first `auth` message: it keeps the
 * token while it has time left and fetches a new one for a reconnect when it is about to expire
 * or the server refused it (4001). The message rather than the subprotocol, because a refusal
 * before the upgrade reaches a browser only as a bare 1006, a refused message as 4001 with the
 * reason. A fetch that fails with `fatal` set (the key itself was refused) stops the client.
 */
import { LiveTable } from './live-table.js';

export const PROTOCOL = 'ticketpulse.live.v1';
/** Close code of a connection the server does not (or no longer) accept: get a new token. */
export const CLOSE_UNAUTHORIZED = 4001;
/** A token with less than this left (or half its lifetime, if shorter) is not used for a new connection. */
const TOKEN_MARGIN_MS = 30_000;

/**
 * @typedef {'connecting' | 'live' | 'reconnecting' | 'closed'} LiveStatus
 * @typedef {{ feed: string, params: Record<string, string | number>, cursor?: string,
 *   table?: LiveTable, error?: { code: string, message: string } }} LiveSub
 * @typedef {{ token: string, expiresAt: number }} LiveToken `expiresAt` in epoch ms
 * @typedef {{
 *   WebSocket?: any,
 *   token?: () => Promise<LiveToken>,
 *   minDelayMs?: number,
 *   maxDelayMs?: number,
 *   onChange?: (sub: string, table: LiveTable | undefined) => void,
 *   onStatus?: (status: LiveStatus, detail: { retryInMs?: number, reason?: string }) => void,
 *   onServerError?: (error: { sub: string | null, code: string, message: string }) => void,
 * }} LiveClientOptions
 */

export class LiveClient {
  /**
   * @param {string} url the `ws(s)://…/v1/live` address
   * @param {LiveClientOptions} [options]
   */
  constructor(url, options = {}) {
    this.url = url;
    this.options = options;
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
    /** @type {Map<string, LiveSub>} */
    this.subs = new Map();
    /** @type {LiveStatus} */
    this.status = 'closed';
    /** Connections opened after the first one. */
    this.reconnects = 0;
    /** `must-refetch` controls received. */
    this.refetches = 0;
    /** Epoch ms of the newest watermark received on any sub (undefined: none yet). */
    this.newestWatermark = undefined;
    /** @type {any} */
    this.socket = undefined;
    this.failures = 0;
    this.heartbeatMs = 5000;
    this.lastMessageAt = 0;
    this.stopped = true;
    this.retryTimer = undefined;
    this.watchdog = undefined;
    /** @type {(LiveToken & { mintedAt: number }) | undefined} */
    this.token = undefined;
    /** Tokens fetched so far. */
    this.tokensFetched = 0;
  }

  /** Opens the connection; subscriptions made before or after are sent once the server says hello. */
  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  /**
   * @param {string} sub the client's id for this subscription
   * @param {string} feed
   * @param {Record<string, string | number>} [params]
   */
  subscribe(sub, feed, params = {}) {
    this.subs.set(sub, { feed, params });
    this.sendSubscribe(sub);
  }

  /** @param {string} sub */
  unsubscribe(sub) {
    this.subs.delete(sub);
    if (this.status === 'live') this.socket.send(JSON.stringify({ type: 'unsubscribe', sub }));
  }

  /** @param {string} sub @returns {LiveTable | undefined} */
  table(sub) {
    return this.subs.get(sub)?.table;
  }

  close() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.watchdog);
    this.detach()?.close(1000, 'client closed');
    this.setStatus('closed', {});
  }

  /** @private */
  connect() {
    this.setStatus(this.failures === 0 && this.reconnects === 0 ? 'connecting' : 'reconnecting', {});
    if (!this.options.token) return this.open(undefined);
    this.freshToken().then(
      (token) => {
        if (!this.stopped) this.open(token);
      },
      (/** @type {Error & { fatal?: boolean }} */ err) => {
        if (this.stopped) return;
        if (!err.fatal) return this.retry(`no live token: ${err.message}`);
        this.stopped = true;
        this.options.onServerError?.({ sub: null, code: 'unauthorized', message: err.message });
        this.setStatus('closed', { reason: err.message });
      },
    );
  }

  /** The held token while it has time left, else a new one. @private */
  async freshToken() {
    const held = this.token;
    const now = Date.now();
    if (held && held.expiresAt - now > Math.min(TOKEN_MARGIN_MS, (held.expiresAt - held.mintedAt) / 2))
      return held.token;
    this.token = undefined;
    const minted = await /** @type {() => Promise<LiveToken>} */ (this.options.token)();
    this.tokensFetched++;
    this.token = { ...minted, mintedAt: now };
    return minted.token;
  }

  /** @param {string | undefined} token sent as the first message when given @private */
  open(token) {
    const socket = new this.WebSocket(this.url);
    this.socket = socket;
    this.lastMessageAt = Date.now();
    if (token) socket.onopen = () => socket.send(JSON.stringify({ type: 'auth', token }));
    socket.onmessage = (/** @type {{ data: unknown }} */ event) => {
      this.lastMessageAt = Date.now();
      this.receive(JSON.parse(String(event.data)));
    };
    socket.onclose = (/** @type {{ code: number, reason: string }} */ event) => {
      this.detach();
      if (event.code === CLOSE_UNAUTHORIZED) this.token = undefined;
      this.retry(`closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`);
    };
    socket.onerror = () => {}; // a close event follows
    clearInterval(this.watchdog);
    this.watchdog = setInterval(() => {
      if (this.socket && Date.now() - this.lastMessageAt > 3 * this.heartbeatMs) {
        this.detach()?.close();
        this.retry('no message for three heartbeats');
      }
    }, 1000);
  }

  /** Forgets the current socket (its late events are ignored) and returns it. @private */
  detach() {
    const socket = this.socket;
    if (socket) socket.onopen = socket.onmessage = socket.onclose = null;
    this.socket = undefined;
    return socket;
  }

  /** @param {string} reason @private */
  retry(reason) {
    clearInterval(this.watchdog);
    if (this.stopped) return;
    const ceiling = Math.min(
      this.options.maxDelayMs ?? 15_000,
      (this.options.minDelayMs ?? 500) * 2 ** this.failures,
    );
    const retryInMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.failures++;
    this.setStatus('reconnecting', { retryInMs, reason });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.reconnects++;
      this.connect();
    }, retryInMs);
  }

  /** @param {any} message @private */
  receive(message) {
    const sub = typeof message.sub === 'string' ? this.subs.get(message.sub) : undefined;
    switch (message.type) {
      case 'hello':
        if (message.protocol !== PROTOCOL) {
          this.options.onServerError?.({
            sub: null,
            code: 'protocol',
            message: `server speaks ${message.protocol}`,
          });
        }
        this.heartbeatMs = message.heartbeat_ms ?? this.heartbeatMs;
        this.failures = 0;
        this.setStatus('live', {});
        for (const id of this.subs.keys()) this.sendSubscribe(id);
        return;
      case 'snapshot':
        if (!sub) return;
        sub.table = new LiveTable(message.key, message.rows);
        return this.applied(message, sub);
      case 'delta':
        if (!sub) return;
        if (!sub.table) return this.refetch(message.sub, sub); // a delta without a table: start over
        sub.table.apply(message);
        return this.applied(message, sub);
      case 'control':
        if (sub && message.action === 'must-refetch') {
          this.refetches++;
          this.refetch(message.sub, sub);
        }
        return;
      case 'error':
        if (sub) sub.error = { code: message.code, message: message.message };
        this.options.onServerError?.(message);
        return;
      default: // heartbeat, and message types a later protocol version may add
        return;
    }
  }

  /** @param {any} message @param {LiveSub} sub @private */
  applied(message, sub) {
    sub.cursor = message.cursor;
    sub.error = undefined;
    if (message.watermark) {
      const at = Date.parse(message.watermark);
      if (!(at <= (this.newestWatermark ?? -Infinity))) this.newestWatermark = at;
    }
    this.options.onChange?.(message.sub, sub.table);
  }

  /** Drops a sub's table and subscribes again without a cursor. @param {string} id @param {LiveSub} sub @private */
  refetch(id, sub) {
    sub.table = undefined;
    sub.cursor = undefined;
    this.options.onChange?.(id, undefined);
    this.sendSubscribe(id);
  }

  /** @param {string} id @private */
  sendSubscribe(id) {
    const sub = this.subs.get(id);
    if (!sub || this.status !== 'live') return;
    const message = { type: 'subscribe', sub: id, feed: sub.feed, params: sub.params };
    this.socket.send(JSON.stringify(sub.cursor ? { ...message, cursor: sub.cursor } : message));
  }

  /** @param {LiveStatus} status @param {{ retryInMs?: number, reason?: string }} detail @private */
  setStatus(status, detail) {
    this.status = status;
    this.options.onStatus?.(status, detail);
  }
}
