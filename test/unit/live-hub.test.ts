// The hub's logic above ClickHouse and the socket: one query per poll however many watch a
// feed, none for a feed nobody watches, and a slow client's deltas coalesced by key under a
// byte bound. ClickHouse and the sockets are fakes here; test/integration/live.integration.test.ts
// runs the same code on the real stack.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '../../src/clients/clickhouse.js';
import { VIEW_FEEDS, type Feed } from '../../src/push/feeds.js';
import { CLOSE_SLOW_CONSUMER, createLiveHub, type LiveSocket } from '../../src/push/live-hub.js';

const feeds = new Map<string, Feed>(VIEW_FEEDS.map((f) => [f.name, f]));
const platform = { kind: 'platform', name: 'test', scopes: ['read'] } as const;

/** capacity_status rows of one show whose `sold` the test moves; counts queries. */
function fakeClickHouse() {
  const state = { sold: { GA: 1, VIP: 1 } as Record<string, number>, queries: 0 };
  const client = {
    async query() {
      state.queries++;
      const rows = Object.entries(state.sold).map(([category, sold]) => ({
        event_id: 'show-1',
        category,
        capacity: 100,
        sold,
        _now: 1_800_000_000,
      }));
      return { json: async () => rows };
    },
  } as unknown as ClickHouseClient;
  return { client, state };
}

class FakeSocket implements LiveSocket {
  sent: Record<string, unknown>[] = [];
  bufferedAmount = 0;
  closed: { code: number; reason: string } | undefined;
  send(text: string) {
    this.sent.push(JSON.parse(text) as Record<string, unknown>);
  }
  close(code: number, reason: string) {
    this.closed = { code, reason };
  }
  of(type: string) {
    return this.sent.filter((m) => m.type === type);
  }
}

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function hub(client: ClickHouseClient, maxPendingBytes = 1024 * 1024) {
  return createLiveHub({
    clickhouse: client,
    database: 'db',
    feeds,
    logger: pino({ level: 'silent' }),
    pollIntervalMs: 10,
    heartbeatMs: 60_000,
    maxSubscriptions: 5,
    maxPendingBytes,
    maxFeedRows: 100,
  });
}

const subscribe = (sub: string) =>
  JSON.stringify({ type: 'subscribe', sub, feed: 'capacity_status', params: { event_id: 'show-1' } });

describe('live hub', () => {
  it('polls a feed once per interval however many watch it, and not at all once nobody does', async () => {
    const { client, state } = fakeClickHouse();
    const h = hub(client);
    h.start();
    const sockets = Array.from({ length: 50 }, () => new FakeSocket());
    const connections = sockets.map((s) => h.connect(s, platform));
    for (const c of connections) await c.receive(subscribe('s'));
    await until(() => sockets.every((s) => s.of('snapshot').length === 1));
    const before = state.queries;
    state.sold.GA = 7;
    await until(() => sockets.every((s) => s.of('delta').length === 1));
    // A handful of polls happened meanwhile, each one query, not 50.
    expect(state.queries - before).toBeLessThan(10);
    expect(sockets[0]!.of('delta')[0]).toMatchObject({
      upserts: [{ event_id: 'show-1', category: 'GA', sold: 7, capacity: 100 }],
      deletes: [],
    });
    for (const c of connections) c.closed();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const idle = state.queries;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(state.queries).toBe(idle);
    expect(h.stats()).toMatchObject({ connections: 0, subscriptions: 0, feeds: 0 });
    await h.close();
  });

  it("coalesces a slow client's deltas by key, the latest value winning, and sends them once it reads again", async () => {
    const { client, state } = fakeClickHouse();
    const h = hub(client);
    h.start();
    const socket = new FakeSocket();
    await h.connect(socket, platform).receive(subscribe('s'));
    await until(() => socket.of('snapshot').length === 1);
    socket.bufferedAmount = 10 * 1024 * 1024; // the client stopped reading
    for (const sold of [2, 3, 4, 5]) {
      state.sold.GA = sold;
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    state.sold.VIP = 9;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(socket.of('delta')).toEqual([]);
    socket.bufferedAmount = 0;
    await until(() => socket.of('delta').length === 1);
    const [delta] = socket.of('delta');
    expect(delta!.upserts).toEqual([
      { event_id: 'show-1', category: 'GA', capacity: 100, sold: 5 },
      { event_id: 'show-1', category: 'VIP', capacity: 100, sold: 9 },
    ]);
    await h.close();
  });

  it('closes a client whose pending deltas pass the byte bound, with the reason', async () => {
    const { client, state } = fakeClickHouse();
    const h = hub(client, 200);
    h.start();
    const socket = new FakeSocket();
    await h.connect(socket, platform).receive(subscribe('s'));
    await until(() => socket.of('snapshot').length === 1);
    socket.bufferedAmount = 10 * 1024 * 1024;
    for (let i = 0; i < 40; i++) state.sold[`C${i}`] = i;
    await until(() => socket.closed !== undefined);
    expect(socket.closed).toEqual({
      code: CLOSE_SLOW_CONSUMER,
      reason: 'slow consumer: more than 200 bytes of deltas pending; reconnect with your cursor',
    });
    expect(h.stats().connections).toBe(0);
    await h.close();
  });

  it('limits subscriptions per connection and reports bad messages by sub', async () => {
    const { client } = fakeClickHouse();
    const h = hub(client);
    const socket = new FakeSocket();
    const c = h.connect(socket, platform);
    for (let i = 0; i < 6; i++) await c.receive(subscribe(`s${i}`));
    await c.receive('{"type":"subscribe","sub":"x"}');
    await c.receive('not json');
    expect(socket.of('error').map((e) => [e.sub, e.code, e.message])).toEqual([
      ['s5', 'too_many_subscriptions', 'a connection may hold 5 subscriptions'],
      ['x', 'bad_message', 'feed: Invalid input: expected string, received undefined'],
      [null, 'bad_message', 'messages must be JSON objects'],
    ]);
    await h.close();
  });
});
