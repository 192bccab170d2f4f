/**
 * `/dashboard`: the overview of the caller's shows (GET /v1/shows for names and currencies), live
 * over /v1/live from the named query `show_overview` (queries/show_overview.sql): per show net
 * tickets, net revenue, percent sold, the alerts of the last hour, tickets of the last 15 minutes
 * and when it last sold, busiest first. Each name links to the show's own page.
 */
import { apiKey, getJson, liveToken } from './api-key.js';
import { LiveClient } from './live-client.js';

const $ = (/** @type {string} */ id) =>
  /** @type {HTMLElement} */ (document.querySelector(`[data-testid="${id}"]`));
const list = $('show-list');
const message = $('picker-message');
const num = (/** @type {unknown} */ v) => Number(v ?? 0);
const utc = (/** @type {string} */ s) => Date.parse(`${s.replace(' ', 'T')}Z`);
const count = new Intl.NumberFormat('en-US');

/** @type {{ id: string, name: string, organizer: string, currency?: string }[]} */
let shows = [];

/** @param {string} tag @param {Record<string, string>} attrs @param {(Node | string)[]} children */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  el.append(...children);
  return el;
}

/** "3 min ago", "2 h ago", "—" (never). @param {string | undefined} minute */
function ago(minute) {
  const t = minute ? utc(minute) : 0;
  if (!t) return '—';
  const minutes = Math.max(0, Math.round((Date.now() - t) / 60_000));
  return minutes < 1 ? 'now' : minutes < 120 ? `${minutes} min ago` : `${Math.round(minutes / 60)} h ago`;
}

function draw() {
  /** @type {Map<string, Record<string, unknown>>} */
  const live = new Map(
    [...client.subs.keys()].flatMap((sub) =>
      (client.table(sub)?.sorted() ?? []).map((row) => [String(row.event_id), row]),
    ),
  );
  const rows = shows
    .map((show) => ({ show, row: live.get(show.id) ?? {} }))
    .sort(
      (a, b) =>
        num(b.row.tickets_15m) - num(a.row.tickets_15m) ||
        (b.row.last_sale_minute ? utc(String(b.row.last_sale_minute)) : 0) -
          (a.row.last_sale_minute ? utc(String(a.row.last_sale_minute)) : 0) ||
        num(b.row.net_tickets) - num(a.row.net_tickets) ||
        a.show.name.localeCompare(b.show.name),
    );
  list.replaceChildren(
    ...rows.map(({ show, row }) => {
      const money = new Intl.NumberFormat('en-US', {
        style: 'currency',
        currency: show.currency ?? 'EUR',
      });
      const pct = num(row.percent_sold);
      const alerts = num(row.alerts_last_hour);
      const cell = (/** @type {string} */ testid, /** @type {number} */ value, /** @type {string} */ text) =>
        h('td', { 'data-testid': testid, 'data-value': String(value) }, text);
      return h(
        'tr',
        { 'data-testid': 'show-row', 'data-show': show.id },
        h(
          'td',
          {},
          h(
            'a',
            { href: `/dashboard/${encodeURIComponent(show.id)}`, 'data-testid': 'show-link' },
            show.name,
          ),
        ),
        cell('net-tickets', num(row.net_tickets), count.format(num(row.net_tickets))),
        cell('net-revenue', num(row.net_revenue), money.format(num(row.net_revenue))),
        h(
          'td',
          { 'data-testid': 'percent-sold', 'data-value': String(pct) },
          h(
            'div',
            { class: 'gauge-track mini' },
            h('div', { class: 'gauge-fill', style: `width: ${Math.min(100, pct)}%` }),
          ),
          ` ${pct.toFixed(1)} %`,
        ),
        cell('alerts', alerts, alerts ? `⚠ ${alerts}` : '0'),
        cell('tickets-15m', num(row.tickets_15m), count.format(num(row.tickets_15m))),
        h(
          'td',
          { 'data-testid': 'last-sold' },
          ago(row.last_sale_minute ? String(row.last_sale_minute) : undefined),
        ),
      );
    }),
  );
}

const key = apiKey();
const client = new LiveClient(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/live`, {
  token: () => liveToken(/** @type {string} */ (key)),
  onStatus(status) {
    const pill = $('connection-status');
    pill.dataset.status = status;
    pill.textContent = status;
  },
  onChange: draw,
  onServerError(error) {
    message.textContent = `${error.sub ?? 'connection'}: ${error.message} (${error.code})`;
  },
});

async function main() {
  if (!key) {
    message.textContent = 'Open this page with ?key=<an API key with the read scope>.';
    return;
  }
  try {
    /** @type {{ id: string, name: string, organizer_id: string }[]} */
    const listed = await getJson('/v1/shows', key);
    shows = listed.map((s) => ({ id: s.id, name: s.name, organizer: s.organizer_id }));
    message.textContent = shows.length ? '' : 'This key’s organizer has no shows yet.';
    draw();
    // One subscription per organizer: an organizer's key sees its own; a platform key, all.
    for (const organizer of new Set(shows.map((s) => s.organizer)))
      client.subscribe(`overview:${organizer}`, 'show_overview', { organizer_id: organizer });
    client.start();
    setInterval(draw, 30_000); // "last sold" ages
    // Currencies from each show's categories, for the revenue column.
    for (const show of shows) {
      getJson(`/v1/shows/${encodeURIComponent(show.id)}`, key)
        .then((detail) => {
          show.currency = detail.categories?.[0]?.currency;
          draw();
        })
        .catch(() => undefined);
    }
  } catch (err) {
    message.textContent = `Could not list the shows: ${/** @type {Error} */ (err).message}`;
  }
}

void main();
