// The organizer's dashboard in Debian's Chromium (playwright-core) on the real stack: sales
// posted through the API show on the page (the delay is printed; bench:freshness times the views
// behind it), alerts appear as they fire, a refund shows as refunded and net and gives seats back, and after a network drop the page reconnects and ends on
// the exact totals. Keeps a screenshot in test-artifacts/dashboard.png.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCapacityAlertRunner } from '../../src/capacity/alert-runner.js';
import { createRefundBooker } from '../../src/refunds/refund-booker.js';
import { ticketRefund, ticketSale, userInteraction } from '../fixtures/events.js';
import { config, eventually } from './helpers.js';
import { createTestPipeline, type TestPipeline } from './pipeline.js';
import { showBody } from '../fixtures/shows.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;
const ADMIN = 'test-admin-key-dashboard';
const ORGANIZER = randomUUID();
const SHOW = 'show-dash';

let p: TestPipeline;
let baseUrl: string;
let organizerKey: string;
let browser: Browser;
/** Tickets and revenue posted so far: what the page must end up showing. */
const posted = { tickets: 0, revenue: 0 };

/** An admin request to the service in-process. */
const call = (method: string, path: string, body?: unknown) => p.request(method, path, ADMIN, body);

/** POSTs events to the served API with the organizer's key, as a box office would. */
async function postEvents(events: unknown[]): Promise<void> {
  const res = await fetch(`${baseUrl}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${organizerKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  expect(res.status, await res.clone().text()).toBe(202);
}

/** Sales of the show, `minutesAgo` in the past; `[category, quantity, amount]` each. */
function sales(items: [string, number, number][], minutesAgo = 0) {
  const at = new Date(Date.now() - minutesAgo * 60_000).toISOString();
  return items.map(([category, quantity, amount], i) => {
    posted.tickets += quantity;
    posted.revenue += amount;
    return ticketSale(
      { timestamp: at },
      { event_id: SHOW, category, quantity, amount: amount.toFixed(2), user_id: `buyer-${i % 5}` },
    );
  });
}

/** A number the page shows (its data-value, which the text is formatted from). */
async function shown(page: Page, testId: string): Promise<number> {
  return Number(await page.getByTestId(testId).getAttribute('data-value'));
}

type Totals = typeof posted;
async function totals(page: Page): Promise<Totals> {
  return { tickets: await shown(page, 'total-tickets'), revenue: await shown(page, 'total-revenue') };
}
const reached = (want: Totals) => (got: Totals) =>
  got.tickets === want.tickets && Math.abs(got.revenue - want.revenue) < 0.005;

/** A TCP proxy in front of the server whose connections the test can cut: a network drop. */
async function dropProxy(target: URL) {
  const sockets = new Set<Socket>();
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    /** Destroys every connection and refuses new ones until `restore()`. */
    cut() {
      refusing = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      refusing = false;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (npm test installs it)`);
  p = await createTestPipeline('dashboard', {
    env: {
      TICKETPULSE_ROLES: 'api,bridge,push',
      ADMIN_API_KEY: ADMIN,
      LIVE_POLL_INTERVAL_MS: '100',
      // As the service does: a pause after the burst does not hold its rows back in the Kafka engine.
      KAFKA_HEARTBEAT_MS: String(config.KAFKA_HEARTBEAT_MS),
    },
  });
  baseUrl = await p.listen();
  expect((await call('POST', '/v1/organizers', { id: ORGANIZER, name: 'Acme Live' })).status).toBe(201);
  const show = await call(
    'POST',
    '/v1/shows',
    showBody(SHOW, ORGANIZER, { name: 'Neon Nights', venue: 'Arena Berlin' }),
  );
  expect(show.status).toBe(201);
  const key = await call('POST', `/v1/organizers/${ORGANIZER}/keys`, { scopes: ['read', 'ingest'] });
  expect(key.status).toBe(201);
  organizerKey = key.body.key as string;

  // A few minutes of history, some browsing, and the categories in ClickHouse (the bridge).
  const history = [4, 3, 2, 1].flatMap((ago) =>
    sales(
      [
        ['GA', 2 + ago, 49.9 * (2 + ago)],
        ['GA', 1, 49.9],
        ['VIP', 2, 299.8],
      ],
      ago,
    ),
  );
  const browsing = [
    'page_view',
    'page_view',
    'page_view',
    'add_to_cart',
    'checkout_started',
    'checkout_completed',
  ].flatMap((action, i) =>
    [0, 1, 2].map((u) => userInteraction({}, { event_id: SHOW, action, user_id: `fan-${u + i}` })),
  );
  await postEvents([...history, ...browsing]);
  await p.waitForSales(history.map((e) => e.id));
  await eventually(
    () => p.count('ticket_categories', `show_id = '${SHOW}'`),
    (n) => n === 2,
    30_000,
  );
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-background-networking'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await p?.close();
});

describe('dashboard', () => {
  it('shows sales posted through the API, and alerts as they fire', async () => {
    const page = await browser.newPage({
      viewport: { width: 1280, height: 1000 },
      locale: 'en-US',
      timezoneId: 'UTC',
    });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    const sockets = socketUrls(page);
    // The picker lists the key's show; the key moves to sessionStorage, out of the address bar,
    // and still serves the show page and a reload.
    await page.goto(`${baseUrl}/dashboard?key=${encodeURIComponent(organizerKey)}`);
    expect(page.url()).toBe(`${baseUrl}/dashboard`);
    await page.getByTestId('show-link').filter({ hasText: 'Neon Nights' }).click();
    await page.waitForURL(`${baseUrl}/dashboard/${SHOW}`);
    await page.reload();
    const before = await eventually(() => totals(page), reached(posted), 20_000);
    // The socket authenticated with a token: no key in its URL, nor in the page's.
    expect(page.url()).toBe(`${baseUrl}/dashboard/${SHOW}`);
    expect(sockets.length).toBeGreaterThan(0);
    for (const url of sockets) expect(url).toBe(`${baseUrl.replace(/^http/, 'ws')}/v1/live`);
    expect(before).toEqual({ tickets: posted.tickets, revenue: expect.closeTo(posted.revenue, 2) });
    expect(await page.getByTestId('connection-status').textContent()).toBe('live');
    expect(await page.getByTestId('show-name').textContent()).toBe('Neon Nights');

    // 78 VIP tickets (8 before) cross 80 % of 100; a 25,000 order is a large_amount fraud alert.
    const burst = sales([
      ['GA', 4, 199.6],
      ['VIP', 40, 5996],
      ['VIP', 38, 5696.2],
      ['GA', 2, 25_000],
    ]);
    await postEvents(burst);
    const postedAt = Date.now();
    const after = await eventually(() => totals(page), reached(posted), 15_000, 50);
    const seenMs = Date.now() - postedAt;
    expect(after).toEqual({ tickets: posted.tickets, revenue: expect.closeTo(posted.revenue, 2) });
    console.log(`[dashboard] posted sales on the page after ${seenMs} ms`);
    expect(await page.getByTestId('total-tickets').textContent()).toBe(
      posted.tickets.toLocaleString('en-US'),
    );

    // The rules run: both alerts arrive on the page, newest first.
    await p.waitForSales(burst.map((e) => e.id));
    await p.runFraudRules();
    // The capacity runner reads sales_totals, which another view of the same blocks writes: it
    // runs on each poll (a run is idempotent) until the crossing is there.
    const capacityAlerts = createCapacityAlertRunner({
      clickhouse: p.clickhouse,
      database: p.database,
      logger: pino({ level: 'silent' }),
      intervalMs: 250,
    });
    const runs: string[] = [];
    const alerts = await eventually(
      async () => {
        runs.push(JSON.stringify(await capacityAlerts.runOnce()));
        return page.getByTestId('alert').allTextContents();
      },
      (texts) => texts.length === 2,
      20_000,
      250,
    );
    // If the capacity alert is missing, say which side lost it.
    if (alerts.length !== 2) console.log(await alertDiagnosis(page, runs));
    expect(alerts.join('\n')).toMatch(/fraud · large amount.*25,000\.00/);
    expect(alerts.join('\n')).toMatch(/capacity · 80 %VIP reached 80 %/);
    const vip = await eventually(
      async () => Number(await page.getByTestId('capacity-VIP').getAttribute('data-percent')),
      (pct) => pct === 86,
      10_000,
    );
    expect(vip).toBe(86);
    expect(await page.getByTestId('funnel-page_view').textContent()).toContain('9');
    expect(await page.getByTestId('freshness').textContent()).toMatch(/^\d+ s$/);
    expect(await page.getByTestId('pricing-VIP').textContent()).toContain('×');

    // A partial refund of the 40-ticket VIP order: booked against it, it shows as refunded and
    // net, and its seats go back to the VIP gauge (86 % to 76 %).
    const vipOrder = burst[1]!.data;
    const refund = ticketRefund(
      {},
      {
        event_id: SHOW,
        order_id: vipOrder.order_id,
        user_id: vipOrder.user_id,
        category: 'VIP',
        quantity: 10,
        amount: '1499.00',
      },
    );
    await postEvents([refund]);
    const booker = createRefundBooker({
      clickhouse: p.clickhouse,
      database: p.database,
      logger: pino({ level: 'silent' }),
      intervalMs: 250,
      waitSeconds: 3600,
    });
    const net = await eventually(
      async () => {
        await booker.runOnce();
        return {
          refunded: await shown(page, 'total-tickets-refunded'),
          tickets: await shown(page, 'net-tickets'),
          revenue: await shown(page, 'net-revenue'),
          vip: Number(await page.getByTestId('capacity-VIP').getAttribute('data-percent')),
        };
      },
      (got) => got.refunded === 10 && got.vip === 76,
      20_000,
      250,
    );
    expect(net).toEqual({
      refunded: 10,
      tickets: posted.tickets - 10,
      revenue: expect.closeTo(posted.revenue - 1499, 2),
      vip: 76,
    });
    expect(await page.getByTestId('capacity-VIP').textContent()).toContain('10 refunded');
    // The page's figures are the views' figures.
    const [views] = await p.query<{ net_tickets: string; tickets_refunded: string }>(
      `SELECT toString(sum(net_tickets)) AS net_tickets, toString(sum(tickets_refunded)) AS tickets_refunded
       FROM ${p.database}.sales_per_minute WHERE event_id = '${SHOW}'`,
    );
    expect(views).toEqual({ net_tickets: String(net.tickets), tickets_refunded: '10' });

    mkdirSync(ARTIFACTS, { recursive: true });
    const path = `${ARTIFACTS}dashboard.png`;
    await page.screenshot({ path, fullPage: true });
    console.log(`[dashboard] screenshot: ${path}`);

    // The overview: the key's show with the views' net figures, live.
    await page.goto(`${baseUrl}/dashboard`);
    const row = page.locator(`[data-testid="show-row"][data-show="${SHOW}"]`);
    const overview = await eventually(
      async () => ({
        tickets: Number(await row.getByTestId('net-tickets').getAttribute('data-value')),
        revenue: Number(await row.getByTestId('net-revenue').getAttribute('data-value')),
        percent: Number(await row.getByTestId('percent-sold').getAttribute('data-value')),
        recent: Number(await row.getByTestId('tickets-15m').getAttribute('data-value')),
      }),
      (got) => got.tickets === net.tickets,
      20_000,
      250,
    );
    const [capacity] = await p.query<{ capacity: string; sold: string }>(
      `SELECT toString(sum(capacity)) AS capacity, toString(sum(sold)) AS sold
       FROM ${p.database}.capacity_status WHERE event_id = '${SHOW}'`,
    );
    expect(overview).toEqual({
      tickets: net.tickets,
      revenue: expect.closeTo(net.revenue, 2),
      percent: expect.closeTo((Number(capacity!.sold) * 100) / Number(capacity!.capacity), 6),
      // Every sale of this test is stamped within the last 4 minutes.
      recent: posted.tickets,
    });
    expect(await row.getByTestId('last-sold').textContent()).toMatch(/now|min ago/);
    const overviewPath = `${ARTIFACTS}overview.png`;
    await page.screenshot({ path: overviewPath, fullPage: true });
    console.log(`[dashboard] screenshot: ${overviewPath}`);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('reconnects after a network drop and ends on the exact totals', async () => {
    const proxy = await dropProxy(new URL(baseUrl));
    const page = await browser.newPage({ locale: 'en-US', timezoneId: 'UTC' });
    const sockets = socketUrls(page);
    let tokensMinted = 0;
    page.on('request', (request) => {
      if (request.url().endsWith('/v1/live/tokens') && request.method() === 'POST') tokensMinted++;
    });
    try {
      await page.goto(`${proxy.url}/dashboard/${SHOW}?key=${encodeURIComponent(organizerKey)}`);
      expect(page.url()).toBe(`${proxy.url}/dashboard/${SHOW}`);
      await eventually(() => totals(page), reached(posted), 20_000);
      const status = () => page.getByTestId('connection-status').getAttribute('data-status');

      proxy.cut();
      expect(await eventually(status, (s) => s === 'reconnecting', 10_000)).toBe('reconnecting');
      const missed = sales([
        ['GA', 3, 149.7],
        ['VIP', 1, 149.9],
      ]);
      await postEvents(missed);
      await p.waitForSales(missed.map((e) => e.id));
      proxy.restore();

      expect(await eventually(() => totals(page), reached(posted), 30_000)).toEqual({
        tickets: posted.tickets,
        revenue: expect.closeTo(posted.revenue, 2),
      });
      expect(await status()).toBe('live');
      expect(
        Number(await page.getByTestId('connection-status').getAttribute('data-reconnects')),
      ).toBeGreaterThan(0);
      // One token for the first connection and the reconnects: it had time left.
      expect(tokensMinted).toBe(1);
      expect(sockets.length).toBeGreaterThan(1);
      for (const url of sockets) expect(url).toBe(`${proxy.url.replace(/^http/, 'ws')}/v1/live`);
    } finally {
      await page.close();
      await proxy.close();
    }
  });
});

/**
 * Where a missing capacity alert stopped: the runner's passes, ClickHouse's rows for the show
 * (written or not), and what the page holds (its gauge, status and error banner).
 */
async function alertDiagnosis(page: Page, runs: string[]): Promise<string> {
  const rows = async (sql: string) => JSON.stringify(await p.query(sql));
  const where = `WHERE event_id = '${SHOW}' AND category = 'VIP'`;
  return [
    `[dashboard] capacity alert missing after ${runs.length} runner passes: first ${runs[0]}, last ${runs.at(-1)}`,
    `capacity_thresholds: ${await rows(`SELECT * FROM ${p.database}.capacity_thresholds ${where}`)}`,
    `capacity_threshold_events: ${await rows(`SELECT * FROM ${p.database}.capacity_threshold_events ${where}`)}`,
    `capacity_alerts: ${await rows(`SELECT * FROM ${p.database}.capacity_alerts WHERE event_id = '${SHOW}'`)}`,
    `sales_totals: ${await rows(`SELECT category, sum(tickets) AS t FROM ${p.database}.sales_totals WHERE event_id = '${SHOW}' GROUP BY category`)}`,
    `page: VIP gauge ${await page.getByTestId('capacity-VIP').getAttribute('data-percent')} %, status ${await page.getByTestId('connection-status').getAttribute('data-status')}, banner ${JSON.stringify(await page.getByTestId('live-error').textContent())}`,
  ].join('\n');
}

/** The URL of every WebSocket the page opens, as it opens them. */
function socketUrls(page: Page): string[] {
  const urls: string[] = [];
  page.on('websocket', (socket) => urls.push(socket.url()));
  return urls;
}
