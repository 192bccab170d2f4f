// A /v1/live client for tests: keeps every subscription's table as snapshot + deltas build it
// (with the dashboard's LiveTable), records each message, and counts how often a row was
// upserted with the value it already had.
import WebSocket from 'ws';
import { eventually } from './helpers.js';
import { PROTOCOL } from '../../src/push/protocol.js';
import { keyOf, LiveTable } from '../../src/dashboard/public/live-table.js';

type Row = Record<string, unknown>;

/** A live token and where the client puts it (docs/live-protocol.md). */
export interface LiveAuth {
  token: string;
  via: 'protocol' | 'message';
}

export interface Sub {
  key: string[];
  table: LiveTable;
  cursor?: string;
  /** Upserts that carried exactly the row the table already held: duplicate applications. */
  duplicates: number;
  refetches: number;
}

export class LiveTestClient {
  readonly messages: Row[] = [];
  readonly subs = new Map<string, Sub>();
  closed: { code: number; reason: string } | undefined;
  /** Headers of the server's 101 response. */
  upgradeHeaders: Record<string, string | string[] | undefined> = {};
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => this.receive(JSON.parse(String(data)) as Row));
    socket.on('close', (code, reason) => (this.closed = { code, reason: String(reason) }));
  }

  /**
   * Opens `/v1/live` and resolves once the server said hello; rejects with the HTTP status when
   * refused before the upgrade, or with the close code and reason when closed before hello.
   * A string is a key for `?key=` (deprecated); a token goes in the subprotocol header or in a
   * first `auth` message.
   */
  static connect(
    baseUrl: string,
    auth: string | LiveAuth,
    headers: Record<string, string> = {},
  ): Promise<LiveTestClient> {
    const live = `${baseUrl.replace(/^http/, 'ws')}/v1/live`;
    const url = typeof auth === 'string' ? `${live}?key=${encodeURIComponent(auth)}` : live;
    const protocols =
      typeof auth !== 'string' && auth.via === 'protocol' ? [PROTOCOL, `token.${auth.token}`] : [];
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, protocols, { headers });
      const client = new LiveTestClient(socket);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      socket.once('upgrade', (res) => (client.upgradeHeaders = res.headers));
      socket.once('error', reject);
      socket.once('close', (code, reason) => reject(new Error(`closed ${code}: ${String(reason)}`)));
      const waitHello = () =>
        client.messages.some((m) => m.type === 'hello') ? resolve(client) : setTimeout(waitHello, 10);
      socket.once('open', () => {
        if (typeof auth !== 'string' && auth.via === 'message')
          socket.send(JSON.stringify({ type: 'auth', token: auth.token }));
        waitHello();
      });
    });
  }

  subscribe(sub: string, feed: string, params: Row, cursor?: string): void {
    this.socket.send(JSON.stringify({ type: 'subscribe', sub, feed, params, ...(cursor ? { cursor } : {}) }));
  }

  private receive(message: Row): void {
    this.messages.push(message);
    const id = message.sub as string;
    if (message.type === 'snapshot') {
      const key = message.key as string[];
      this.subs.set(id, {
        key,
        table: new LiveTable(key, message.rows as Row[]),
        cursor: message.cursor as string,
        duplicates: 0,
        refetches: 0,
      });
    } else if (message.type === 'delta') {
      const sub = this.subs.get(id);
      if (!sub) throw new Error(`delta for unknown sub ${id}`);
      for (const row of message.upserts as Row[]) {
        if (JSON.stringify(sub.table.rows.get(keyOf(sub.key, row))) === JSON.stringify(row)) sub.duplicates++;
      }
      sub.table.apply(message as { upserts: Row[]; deletes: Row[] });
      sub.cursor = message.cursor as string;
    } else if (message.type === 'control') {
      const sub = this.subs.get(id);
      if (sub) sub.refetches++;
    }
  }

  /** Rows of a sub sorted by key, for comparison with the view. */
  table(sub: string): Row[] {
    return this.subs.get(sub)?.table.sorted() ?? [];
  }

  /** Waits until `count` subscriptions have their snapshot; returns how many have. */
  snapshots(count: number, timeoutMs: number): Promise<number> {
    return eventually(
      async () => this.subs.size,
      (n) => n >= count,
      timeoutMs,
    );
  }

  /** The first `error` message, waiting for one until the deadline. */
  firstError(timeoutMs: number): Promise<Row | undefined> {
    return eventually(
      async () => this.messages.find((m) => m.type === 'error'),
      (e) => e !== undefined,
      timeoutMs,
    );
  }

  close(): void {
    this.socket.close();
  }
}
