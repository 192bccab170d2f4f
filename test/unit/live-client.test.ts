// The dashboard's /v1/live client against a scripted server on a real socket (the socket is the
// point): tables from snapshot + deltas, a resume with the last cursor after a drop, and a fresh
// subscribe after must-refetch.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { LiveClient } from '../../src/dashboard/public/live-client.js';
import { LiveTable } from '../../src/dashboard/public/live-table.js';

type Message = Record<string, unknown>;
type ClientOptions = NonNullable<ConstructorParameters<typeof LiveClient>[1]>;

const HELLO = JSON.stringify({ type: 'hello', protocol: 'ticketpulse.live.v1', heartbeat_ms: 5000 });

/**
 * A server that says hello, records what clients send and lets the test answer. With `auth`, it
 * says hello only after an `auth` message whose token `auth` accepts, and closes 4001 otherwise.
 */
async function scriptedServer(auth?: (token: string) => boolean) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  const received: Message[] = [];
  const sockets: WebSocket[] = [];
  wss.on('connection', (socket) => {
    sockets.push(socket);
    let authenticated = !auth;
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Message;
      received.push(message);
      if (authenticated) return;
      if (message.type === 'auth' && auth!(message.token as string)) {
        authenticated = true;
        socket.send(HELLO);
      } else socket.close(4001, 'the live token has expired');
    });
    if (authenticated) socket.send(HELLO);
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/v1/live`,
    received,
    sockets,
    send: (message: Message) => sockets.at(-1)!.send(JSON.stringify(message)),
    close: () => new Promise((resolve) => wss.close(resolve)),
  };
}

/** Polls until `done()` or the deadline. */
async function until(done: () => boolean, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(done()).toBe(true);
}

const KEY = ['event_id', 'category'];
const row = (category: string, sold: number) => ({ event_id: 'show-a', category, sold });

let cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

/** A client of `server`, retrying within 100 ms; both closed after the test. */
function clientOf(server: { url: string; close(): unknown }, options: ClientOptions) {
  const client = new LiveClient(server.url, { WebSocket, maxDelayMs: 100, ...options });
  cleanup.push(
    () => server.close(),
    () => client.close(),
  );
  return client;
}

describe('LiveTable', () => {
  it('keys rows by the key columns: an upsert replaces the whole row, a delete needs only the key', () => {
    const table = new LiveTable(KEY, [row('GA', 1), row('VIP', 2)]);
    table.apply({
      upserts: [row('GA', 5), row('FOH', 3)],
      deletes: [{ event_id: 'show-a', category: 'VIP' }],
    });
    expect(table.sorted()).toEqual([row('FOH', 3), row('GA', 5)]);
    expect(table.size).toBe(2);
  });
});

describe('LiveClient', () => {
  it('rebuilds tables, resumes with the last cursor after a drop, and refetches on must-refetch', async () => {
    const server = await scriptedServer();
    const statuses: string[] = [];
    const client = clientOf(server, {
      minDelayMs: 20,
      onStatus: (status) => statuses.push(status),
    });
    client.subscribe('cap', 'capacity_status', { event_id: 'show-a' });
    client.start();

    await until(() => server.received.length === 1);
    expect(server.received[0]).toEqual({
      type: 'subscribe',
      sub: 'cap',
      feed: 'capacity_status',
      params: { event_id: 'show-a' },
    });
    server.send({
      type: 'snapshot',
      sub: 'cap',
      feed: 'capacity_status',
      key: KEY,
      rows: [row('GA', 1)],
      cursor: 'c1',
      watermark: '2026-11-26T20:00:01Z',
    });
    server.send({
      type: 'delta',
      sub: 'cap',
      upserts: [row('GA', 4)],
      deletes: [],
      cursor: 'c2',
      watermark: '2026-11-26T20:00:03Z',
    });
    await until(() => client.subs.get('cap')?.cursor === 'c2');
    expect(client.table('cap')?.sorted()).toEqual([row('GA', 4)]);
    expect(client.newestWatermark).toBe(Date.parse('2026-11-26T20:00:03Z'));

    // A network drop: the client comes back by itself and asks only for what followed c2.
    server.sockets.at(-1)!.terminate();
    await until(() => server.received.length === 2);
    expect(server.received[1]).toMatchObject({ type: 'subscribe', sub: 'cap', cursor: 'c2' });
    expect(client.reconnects).toBe(1);
    expect(statuses).toEqual(['connecting', 'live', 'reconnecting', 'reconnecting', 'live']);
    expect(client.table('cap')?.sorted()).toEqual([row('GA', 4)]);

    // The server cannot resume: the table goes and the sub starts over without a cursor.
    server.send({ type: 'control', sub: 'cap', action: 'must-refetch', reason: 'test' });
    await until(() => server.received.length === 3);
    expect(server.received[2]).toEqual({ ...server.received[0] });
    expect(client.table('cap')).toBeUndefined();
    expect(client.refetches).toBe(1);
    server.send({
      type: 'snapshot',
      sub: 'cap',
      feed: 'capacity_status',
      key: KEY,
      rows: [row('GA', 6)],
      cursor: 'c3',
      watermark: null,
    });
    await until(() => client.subs.get('cap')?.cursor === 'c3');
    expect(client.table('cap')?.sorted()).toEqual([row('GA', 6)]);
  });

  it('authenticates with a token in a first auth message, keeps it, and fetches a new one after a 4001', async () => {
    let accepted = 't1';
    const server = await scriptedServer((token) => token === accepted);
    let minted = 0;
    const client = clientOf(server, {
      minDelayMs: 20,
      token: async () => ({ token: `t${++minted}`, expiresAt: Date.now() + 300_000 }),
    });
    client.subscribe('cap', 'capacity_status', { event_id: 'show-a' });
    client.start();
    await until(() => server.received.length === 2);
    expect(server.received).toEqual([
      { type: 'auth', token: 't1' },
      { type: 'subscribe', sub: 'cap', feed: 'capacity_status', params: { event_id: 'show-a' } },
    ]);

    // A drop: the token has time left, so the same one comes back.
    server.sockets.at(-1)!.terminate();
    await until(() => server.received.length === 4);
    expect(server.received[2]).toEqual({ type: 'auth', token: 't1' });
    expect(minted).toBe(1);

    // The server refuses it (expired, revoked): the next connection has a new one.
    accepted = 't2';
    server.sockets.at(-1)!.terminate();
    await until(() => server.received.filter((m) => m.token === 't2').length === 1);
    expect(minted).toBe(2);
    await until(() => client.status === 'live');
    expect(client.tokensFetched).toBe(2);
  });

  it('fetches a new token for a reconnect when the held one is about to expire, and stops when the key is refused', async () => {
    const server = await scriptedServer(() => true);
    let minted = 0;
    let keyRevoked = false;
    const errors: string[] = [];
    const client = clientOf(server, {
      minDelayMs: 20,
      onServerError: (e) => errors.push(`${e.code}: ${e.message}`),
      token: async () => {
        if (keyRevoked)
          throw Object.assign(new Error('the API key is not valid (unknown or revoked)'), { fatal: true });
        // Half its lifetime left counts as about to expire.
        return { token: `t${++minted}`, expiresAt: Date.now() + 10 };
      },
    });
    client.start();
    await until(() => client.status === 'live');
    await new Promise((resolve) => setTimeout(resolve, 20));
    server.sockets.at(-1)!.terminate();
    await until(() => server.received.filter((m) => m.type === 'auth').length === 2);
    expect(server.received.map((m) => m.token)).toEqual(['t1', 't2']);

    keyRevoked = true;
    await new Promise((resolve) => setTimeout(resolve, 20));
    server.sockets.at(-1)!.close(4001, 'the API key was revoked');
    await until(() => client.status === 'closed');
    expect(errors).toEqual(['unauthorized: the API key is not valid (unknown or revoked)']);
    expect(server.sockets.length).toBe(2);
  });
});
