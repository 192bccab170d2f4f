// Deterministic traffic for the fault suite: ticket sales and some interactions for one show,
// sent through the real API in batches by a client that follows the ingest contract: a 5xx or
// a network error is retried with the same body (the same ids) until it is accepted, after
// Retry-After. Records every id the API acknowledged.
import { createHash } from 'node:crypto';

/** A small seeded PRNG (mulberry32): the same seed gives the same traffic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A UUID (version 4 layout) derived from a name, so reruns send the same ids. */
function uuidFrom(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const CATEGORIES = [
  { category: 'GA', price: 4990 },
  { category: 'VIP', price: 19990 },
  { category: 'BALCONY', price: 7450 },
];
const ACTIONS = ['page_view', 'click', 'add_to_cart'];

export interface SaleRecord {
  id: string;
  minute: number;
  category: string;
  quantity: number;
  /** In hundredths, exact. */
  cents: number;
  userId: string;
}

export interface TrafficStats {
  requests: number;
  /** 5xx answers seen (each retried). */
  serverErrors: number;
  /** Requests that got no answer (connection refused or reset; each retried). */
  networkErrors: number;
  /** Answers that were neither 2xx nor retryable: the test fails on any. */
  unexpected: string[];
  /** Acknowledged sales, by id. */
  sales: Map<string, SaleRecord>;
  /** Acknowledged interaction ids. */
  interactions: Set<string>;
}

export interface TrafficOptions {
  /** The API's base URL, read per request (the service may move). */
  baseUrl: () => string;
  apiKey: string;
  /** `data.event_id` of every record: one show per fault keeps the reconciliation apart. */
  show: string;
  seed: number;
  /** Batches per second per worker, records per batch, workers. */
  batchesPerSecond?: number;
  batchSize?: number;
  workers?: number;
}

export function createTraffic(options: TrafficOptions) {
  const { show, apiKey } = options;
  const batchSize = options.batchSize ?? 10;
  const workers = options.workers ?? 2;
  const intervalMs = 1000 / (options.batchesPerSecond ?? 5);
  const random = prng(options.seed);
  let sequence = 0;
  let running = false;
  const loops: Promise<void>[] = [];
  const stats: TrafficStats = {
    requests: 0,
    serverErrors: 0,
    networkErrors: 0,
    unexpected: [],
    sales: new Map(),
    interactions: new Set(),
  };

  function batch(): { body: unknown[]; sales: SaleRecord[]; interactions: string[] } {
    const body: unknown[] = [];
    const sales: SaleRecord[] = [];
    const interactions: string[] = [];
    const now = Date.now();
    for (let i = 0; i < batchSize; i++) {
      const n = sequence++;
      const userId = `u-${Math.floor(random() * 200)}`;
      const id = uuidFrom(`${show}:${options.seed}:${n}`);
      if (n % 4 === 3) {
        interactions.push(id);
        body.push({
          id,
          event_type: 'user_interaction',
          timestamp: now,
          version: 1,
          data: {
            event_id: show,
            user_id: userId,
            session_id: `s-${userId}`,
            action: ACTIONS[n % ACTIONS.length],
          },
        });
        continue;
      }
      const { category, price } = CATEGORIES[Math.floor(random() * CATEGORIES.length)]!;
      const quantity = 1 + Math.floor(random() * 4);
      const cents = price * quantity;
      sales.push({ id, minute: Math.floor(now / 60_000) * 60, category, quantity, cents, userId });
      body.push({
        id,
        event_type: 'ticket_sale',
        timestamp: now,
        version: 1,
        data: {
          event_id: show,
          order_id: `o-${n}`,
          user_id: userId,
          category,
          quantity,
          amount: (cents / 100).toFixed(2),
          currency: 'EUR',
          channel: 'web',
          location: { country: 'DE', city: 'Berlin' },
        },
      });
    }
    return { body, sales, interactions };
  }

  /** Posts until accepted; waits Retry-After (at most 1 s) or 250 ms between attempts. */
  async function send(body: unknown[]): Promise<boolean> {
    const text = JSON.stringify(body);
    for (;;) {
      stats.requests += 1;
      let wait = 250;
      try {
        const response = await fetch(`${options.baseUrl()}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body: text,
          signal: AbortSignal.timeout(15_000),
        });
        const answer = await response.text();
        if (response.status >= 200 && response.status < 300) {
          const parsed = JSON.parse(answer) as { accepted: number; rejected: unknown[] };
          if (parsed.rejected.length > 0) stats.unexpected.push(`rejected records: ${answer.slice(0, 300)}`);
          return true;
        }
        if (response.status < 500) {
          stats.unexpected.push(`${response.status}: ${answer.slice(0, 300)}`);
          return false;
        }
        stats.serverErrors += 1;
        const retryAfter = Number(response.headers.get('retry-after'));
        if (Number.isFinite(retryAfter) && retryAfter > 0) wait = Math.min(1000, retryAfter * 1000);
      } catch {
        stats.networkErrors += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  async function worker(): Promise<void> {
    while (running) {
      const started = Date.now();
      const { body, sales, interactions } = batch();
      if (await send(body)) {
        for (const sale of sales) stats.sales.set(sale.id, sale);
        for (const id of interactions) stats.interactions.add(id);
      }
      const rest = intervalMs - (Date.now() - started);
      if (rest > 0 && running) await new Promise((resolve) => setTimeout(resolve, rest));
    }
  }

  return {
    stats,
    start(): void {
      running = true;
      for (let i = 0; i < workers; i++) loops.push(worker());
    },
    /** Stops making batches; resolves once every batch in flight has been accepted. */
    async stop(): Promise<TrafficStats> {
      running = false;
      await Promise.all(loops.splice(0));
      return stats;
    },
    /** Sends one batch now and waits until it is accepted. */
    async sendOne(): Promise<void> {
      const { body, sales, interactions } = batch();
      if (await send(body)) {
        for (const sale of sales) stats.sales.set(sale.id, sale);
        for (const id of interactions) stats.interactions.add(id);
      }
    },
  };
}

export type Traffic = ReturnType<typeof createTraffic>;

/**
 * Waits until `traffic` has `more` acknowledged sales beyond what it had when called, or the
 * deadline passes; returns the count reached and the one waited for, for the caller to assert.
 */
export async function acknowledgedMore(
  traffic: Traffic,
  more: number,
  timeoutMs: number,
): Promise<{ reached: number; target: number }> {
  const target = traffic.stats.sales.size + more;
  const deadline = Date.now() + timeoutMs;
  while (traffic.stats.sales.size < target && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { reached: traffic.stats.sales.size, target };
}
