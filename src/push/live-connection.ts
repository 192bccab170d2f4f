/**
 * One `/v1/live` connection: reads the client's messages, opens and closes its subscriptions on
 * the hub's pollers (src/push/live-hub.ts), and writes what they send. While the socket's send
 * buffer is full, deltas wait coalesced (src/push/pending-deltas.ts); past `maxPendingBytes`
 * the connection is closed (4008) with the reason.
 */
import type { Principal } from '../auth/principal.js';
import type { ShowOwners } from '../auth/show-owners.js';
import { feedRefusal } from './feed-access.js';
import type { Delta, FeedListener, FeedPoller } from './feed-poller.js';
import { checkParams, FeedParamsError, type Feed } from './feeds.js';
import type { LiveMetrics } from './live-metrics.js';
import { PendingDeltas } from './pending-deltas.js';
import { clientMessage, type ClientMessage, type ServerMessage } from './protocol.js';

/** What a connection needs of a socket (a `ws` WebSocket fits). */
export interface LiveSocket {
  send(text: string): void;
  /** Bytes queued but not yet written to the network. */
  readonly bufferedAmount: number;
  close(code: number, reason: string): void;
}

/** Close code for a client whose pending deltas passed the bound. */
export const CLOSE_SLOW_CONSUMER = 4008;

export interface LiveConnectionDeps {
  feeds: ReadonlyMap<string, Feed>;
  showOwners?: ShowOwners;
  maxSubscriptions: number;
  maxPendingBytes: number;
  metrics: LiveMetrics;
  /** The hub's poller for this feed and params, created when nobody watches it yet. */
  poller(feed: Feed, params: Record<string, string | number>): FeedPoller;
  /** Called once when the connection is closed or its socket is gone. */
  disposed(connection: LiveConnection): void;
}

type Subscribe = Extract<ClientMessage, { type: 'subscribe' }>;

/** Delta bodies serialized once and shared by every subscriber of the poller. */
const deltaTails = new WeakMap<Delta, string>();
function deltaTail(delta: Delta): string {
  let tail = deltaTails.get(delta);
  if (tail === undefined) {
    tail = JSON.stringify({
      upserts: [...delta.upserts.values()],
      deletes: [...delta.deletes.values()],
      cursor: delta.cursor,
      watermark: delta.watermark,
    }).slice(1);
    deltaTails.set(delta, tail);
  }
  return tail;
}

export class LiveConnection {
  readonly subscriptions = new Map<string, { poller: FeedPoller; listener: FeedListener }>();
  private readonly pending: PendingDeltas;
  /** Buffered bytes above which deltas wait instead of going to the socket. */
  private readonly lowWater: number;
  private closed = false;

  constructor(
    private readonly socket: LiveSocket,
    private readonly principal: Principal,
    private readonly deps: LiveConnectionDeps,
  ) {
    this.pending = new PendingDeltas(deps.maxPendingBytes);
    this.lowWater = Math.min(256 * 1024, Math.floor(deps.maxPendingBytes / 4));
  }

  write(text: string, type: ServerMessage['type']): void {
    if (this.closed) return;
    this.socket.send(text);
    this.deps.metrics.sent(type, text.length);
  }

  send(message: ServerMessage): void {
    this.write(JSON.stringify(message), message.type);
  }

  async receive(text: string): Promise<void> {
    const message = this.parse(text);
    if (!message) return;
    if (message.type === 'unsubscribe') return this.unsubscribe(message.sub);
    if (message.type === 'auth')
      return this.send({ type: 'error', sub: null, code: 'bad_message', message: 'already authenticated' });
    return this.subscribe(message);
  }

  /** The client's message, or undefined once it has been told why it is not one. */
  private parse(text: string): ClientMessage | undefined {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.send({ type: 'error', sub: null, code: 'bad_message', message: 'messages must be JSON objects' });
      return undefined;
    }
    const result = clientMessage.safeParse(parsed);
    if (result.success) return result.data;
    const sub =
      typeof (parsed as { sub?: unknown })?.sub === 'string' ? (parsed as { sub: string }).sub : null;
    const issue = result.error.issues[0]!;
    this.send({
      type: 'error',
      sub,
      code: 'bad_message',
      message: `${issue.path.join('.') || 'message'}: ${issue.message}`,
    });
    return undefined;
  }

  private async subscribe(message: Subscribe): Promise<void> {
    const { sub } = message;
    const { feeds, maxSubscriptions } = this.deps;
    const fail = (code: string, text: string) => this.send({ type: 'error', sub, code, message: text });
    if (this.subscriptions.has(sub)) return fail('duplicate_sub', `subscription '${sub}' is already open`);
    if (this.subscriptions.size >= maxSubscriptions)
      return fail('too_many_subscriptions', `a connection may hold ${maxSubscriptions} subscriptions`);
    const feed = feeds.get(message.feed);
    if (!feed)
      return fail('unknown_feed', `no feed '${message.feed}'; feeds: ${[...feeds.keys()].join(', ')}`);
    let params: Record<string, string | number>;
    try {
      params = checkParams(feed, message.params);
    } catch (err) {
      if (err instanceof FeedParamsError) return fail('bad_params', err.message);
      throw err;
    }
    const refusal = await feedRefusal(this.principal, feed, params, this.deps.showOwners);
    if (refusal) return fail(refusal.code, refusal.message);
    if (this.closed || this.subscriptions.has(sub)) return;
    const poller = this.deps.poller(feed, params);
    const listener = this.listener(sub, feed);
    this.subscriptions.set(sub, { poller, listener });
    poller.join(listener, message.cursor);
  }

  private listener(sub: string, feed: Feed): FeedListener {
    const subJson = JSON.stringify(sub);
    const drop = () => this.unsubscribe(sub);
    return {
      snapshot: (rows, cursor, watermark) => {
        this.send({ type: 'snapshot', sub, feed: feed.name, key: feed.key, rows, cursor, watermark });
      },
      delta: (delta) => {
        if (this.pending.has(sub) || this.socket.bufferedAmount > this.lowWater) {
          if (!this.pending.add(sub, feed.key, delta)) this.closeSlow();
          return;
        }
        this.write(`{"type":"delta","sub":${subJson},${deltaTail(delta)}`, 'delta');
      },
      mustRefetch: (reason) => {
        drop();
        this.send({ type: 'control', sub, action: 'must-refetch', reason });
      },
      failed: (code, message) => {
        drop();
        this.send({ type: 'error', sub, code, message });
      },
    };
  }

  private closeSlow(): void {
    this.deps.metrics.slowConsumerClosed();
    this.close(
      CLOSE_SLOW_CONSUMER,
      `slow consumer: more than ${this.deps.maxPendingBytes} bytes of deltas pending; reconnect with your cursor`,
    );
  }

  /** Sends coalesced deltas once the socket has room. */
  flush(): void {
    if (this.closed || this.socket.bufferedAmount > this.lowWater) return;
    for (const [sub, delta] of this.pending.take()) this.send({ type: 'delta', sub, ...delta });
  }

  unsubscribe(sub: string): void {
    const s = this.subscriptions.get(sub);
    if (!s) return;
    s.poller.leave(s.listener);
    this.subscriptions.delete(sub);
    this.pending.drop(sub);
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
    this.dispose();
  }

  /** Forgets the connection (its socket closed). */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const sub of [...this.subscriptions.keys()]) this.unsubscribe(sub);
    this.deps.disposed(this);
  }
}
