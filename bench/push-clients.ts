/**
 * The client fleet of bench/push.ts, run as its own process so the server's RSS is its own.
 * Reads one JSON plan per stdin line: `{"url", "key", "subs": [{"feed", "params", "count"}]}`
 * opens that many /v1/live sockets (one subscription each) or, with `"bare": n`, n sockets to
 * a bare `ws` server; prints `ready` once all are subscribed. On the line `report` it prints
 * `{"received": {"<cursor>": [epoch ms, …]}, "bytes": [...]}` and closes them.
 */
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

interface Plan {
  url: string;
  key?: string;
  subs?: { feed: string; params: Record<string, string>; count: number }[];
  bare?: number;
}

const now = () => performance.timeOrigin + performance.now();
let received = new Map<string, number[]>();
let bytes: number[] = [];
let sockets: WebSocket[] = [];

function open(url: string, onOpen: (ws: WebSocket) => void, expectSnapshot: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    sockets.push(ws);
    ws.on('error', reject);
    ws.on('open', () => {
      onOpen(ws);
      if (!expectSnapshot) resolve();
    });
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text.startsWith('{"type":"snapshot"')) return resolve();
      if (!text.startsWith('{"type":"delta"')) return;
      const at = now();
      const cursor = /"cursor":"([^"]+)"/.exec(text)?.[1] ?? '';
      let times = received.get(cursor);
      if (!times) received.set(cursor, (times = []));
      times.push(at);
      bytes.push(Buffer.byteLength(text));
    });
  });
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'report') {
    process.stdout.write(JSON.stringify({ received: Object.fromEntries(received), bytes }) + '\n');
    for (const ws of sockets) ws.terminate();
    sockets = [];
    received = new Map();
    bytes = [];
    continue;
  }
  const plan = JSON.parse(line) as Plan;
  const opening: Promise<void>[] = [];
  if (plan.bare) {
    for (let i = 0; i < plan.bare; i++) opening.push(open(plan.url, () => undefined, false));
  }
  for (const sub of plan.subs ?? []) {
    for (let i = 0; i < sub.count; i++) {
      const url = `${plan.url.replace(/^http/, 'ws')}/v1/live?key=${encodeURIComponent(plan.key!)}`;
      opening.push(
        open(
          url,
          (ws) =>
            ws.send(JSON.stringify({ type: 'subscribe', sub: 's', feed: sub.feed, params: sub.params })),
          true,
        ),
      );
      // Connect in small groups: the server accepts a burst of 1,000 without trouble, the kernel's backlog may not.
      if (opening.length % 100 === 0) await Promise.all(opening);
    }
  }
  await Promise.all(opening);
  process.stdout.write('ready\n');
}
