/**
 * The show page's panels: each draws one feed's rows into its element (found by data-testid).
 * Row values are ClickHouse JSON: DateTime as 'YYYY-MM-DD hh:mm:ss' (UTC), 64-bit integers and
 * Decimals possibly as strings, so every number goes through Number().
 */
import uPlot from '../vendor/uPlot.esm.js';

/** The purchase steps in order (as queries/conversion_funnel.sql); other actions follow them. */
const FUNNEL = ['page_view', 'add_to_cart', 'checkout_started', 'checkout_completed'];
const $ = (/** @type {string} */ id) =>
  /** @type {HTMLElement} */ (document.querySelector(`[data-testid="${id}"]`));
const num = (/** @type {unknown} */ v) => Number(v ?? 0);
const utc = (/** @type {string} */ s) => Date.parse(`${s.replace(' ', 'T')}Z`);
const count = new Intl.NumberFormat('en-US');
let money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** Amounts from now on in this ISO 4217 currency (the show's). @param {string} currency */
export function useCurrency(currency) {
  money = new Intl.NumberFormat('en-US', { style: 'currency', currency });
}

/** @param {string} id @param {number} value @param {string} text */
function setNumber(id, value, text) {
  const el = $(id);
  el.dataset.value = String(value);
  el.textContent = text;
}

/** @param {string} tag @param {Record<string, string>} attrs @param {(Node | string)[]} children */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  el.append(...children);
  return el;
}

/** @type {uPlot | undefined} */
let chart;
export function renderSales(/** @type {Record<string, unknown>[]} */ rows) {
  const perMinute = new Map();
  let tickets = 0;
  let revenue = 0;
  let orders = 0;
  let ticketsRefunded = 0;
  let netTickets = 0;
  let netRevenue = 0;
  for (const row of rows) {
    const t = utc(String(row.window_start)) / 1000;
    const m = perMinute.get(t) ?? { tickets: 0, revenue: 0, refunded: 0 };
    m.tickets += num(row.tickets);
    m.revenue += num(row.revenue);
    m.refunded += num(row.tickets_refunded);
    perMinute.set(t, m);
    tickets += num(row.tickets);
    revenue += num(row.revenue);
    orders += num(row.orders);
    ticketsRefunded += num(row.tickets_refunded);
    netTickets += num(row.net_tickets);
    netRevenue += num(row.net_revenue);
  }
  setNumber('total-tickets', tickets, count.format(tickets));
  setNumber('total-revenue', revenue, money.format(revenue));
  setNumber('total-orders', orders, count.format(orders));
  setNumber('total-tickets-refunded', ticketsRefunded, count.format(ticketsRefunded));
  setNumber('net-tickets', netTickets, count.format(netTickets));
  setNumber('net-revenue', netRevenue, money.format(netRevenue));
  const minutes = [...perMinute.keys()].sort((a, b) => a - b);
  const latest = minutes.length ? perMinute.get(minutes.at(-1)).tickets : 0;
  setNumber('latest-minute-tickets', latest, count.format(latest));

  // Every minute from the first window to the last (at most a day), quiet minutes as 0.
  const xs = [];
  if (minutes.length) {
    const last = minutes.at(-1);
    for (let t = Math.max(minutes[0], last - 86_400); t <= last; t += 60) xs.push(t);
  }
  const data = [
    xs,
    xs.map((t) => perMinute.get(t)?.tickets ?? 0),
    xs.map((t) => perMinute.get(t)?.revenue ?? 0),
    xs.map((t) => perMinute.get(t)?.refunded ?? 0),
  ];
  const box = $('sales-chart');
  if (!chart) {
    chart = new uPlot(
      {
        width: box.clientWidth,
        height: 240,
        series: [
          {},
          {
            label: 'tickets',
            scale: 'tickets',
            stroke: '#2563eb',
            fill: 'rgba(37, 99, 235, 0.12)',
            width: 2,
          },
          {
            label: 'revenue',
            scale: 'revenue',
            stroke: '#16a34a',
            width: 2,
            value: (_u, v) => (v == null ? '—' : money.format(v)),
          },
          {
            label: 'tickets refunded',
            scale: 'tickets',
            stroke: '#dc2626',
            dash: [6, 4],
            width: 2,
          },
        ],
        axes: [
          {},
          { scale: 'tickets', label: 'tickets / min' },
          { scale: 'revenue', side: 1, label: 'revenue / min', grid: { show: false }, size: 70 },
        ],
        scales: {
          tickets: { range: (_u, _min, max) => [0, Math.max(1, max)] },
          revenue: { range: (_u, _min, max) => [0, Math.max(1, max)] },
        },
      },
      data,
      box,
    );
    new ResizeObserver(() => chart.setSize({ width: box.clientWidth, height: 240 })).observe(box);
  } else chart.setData(data);
}

export function renderCapacity(/** @type {Record<string, unknown>[]} */ rows) {
  const box = $('capacity');
  if (!rows.length) return box.replaceChildren(h('p', { class: 'muted' }, 'no categories yet'));
  box.replaceChildren(
    ...rows
      .sort((a, b) => String(a.category).localeCompare(String(b.category)))
      .map((row) => {
        const pct = num(row.percent_sold);
        const level = pct >= 100 ? 'full' : pct >= 95 ? 'critical' : pct >= 80 ? 'high' : 'ok';
        return h(
          'div',
          { class: `gauge ${level}`, 'data-testid': `capacity-${row.category}`, 'data-percent': String(pct) },
          h(
            'div',
            { class: 'gauge-label' },
            h('strong', {}, String(row.category)),
            ` ${count.format(num(row.sold))} / ${count.format(num(row.capacity))} sold · ${count.format(num(row.remaining))} left${
              num(row.refunded) > 0 ? ` · ${count.format(num(row.refunded))} refunded` : ''
            }`,
          ),
          h(
            'div',
            {
              class: 'gauge-track',
              role: 'meter',
              'aria-valuenow': String(pct),
              'aria-valuemin': '0',
              'aria-valuemax': '100',
            },
            h('div', { class: 'gauge-fill', style: `width: ${Math.min(100, pct)}%` }),
          ),
          h('span', { class: 'gauge-pct' }, `${pct.toFixed(1)} %`),
        );
      }),
  );
}

export function renderPricing(/** @type {Record<string, unknown>[]} */ rows) {
  $('pricing').replaceChildren(
    h('tr', {}, h('th', {}, 'category'), h('th', {}, 'multiplier'), h('th', {}, 'reason')),
    ...rows
      .sort((a, b) => String(a.category).localeCompare(String(b.category)))
      .map((row) =>
        h(
          'tr',
          { 'data-testid': `pricing-${row.category}`, class: num(row.multiplier) > 1 ? 'surge' : '' },
          h('td', {}, String(row.category)),
          h('td', { class: 'multiplier' }, `×${num(row.multiplier).toFixed(2)}`),
          h('td', {}, String(row.reason)),
        ),
      ),
  );
}

export function renderFunnel(/** @type {Record<string, unknown>[]} */ rows) {
  const box = $('funnel');
  if (!rows.length) return box.replaceChildren(h('p', { class: 'muted' }, 'no interactions yet'));
  // Interactions add up across minutes; distinct users do not, so users are the latest minute's.
  const totals = new Map();
  let latest = '';
  for (const row of rows) if (String(row.window_start) > latest) latest = String(row.window_start);
  for (const row of rows) {
    const a = totals.get(row.action) ?? { interactions: 0, users: 0 };
    a.interactions += num(row.interactions);
    if (row.window_start === latest) a.users = num(row.unique_users);
    totals.set(row.action, a);
  }
  const order = (/** @type {string} */ a) => (FUNNEL.includes(a) ? FUNNEL.indexOf(a) : FUNNEL.length);
  const actions = [...totals.keys()].sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  const top = Math.max(...[...totals.values()].map((a) => a.interactions), 1);
  box.replaceChildren(
    h(
      'div',
      { class: 'funnel-head muted' },
      h('span', {}, 'action'),
      h('span', {}, 'interactions'),
      h('span', {}, `users ${latest.slice(11, 16)}`),
    ),
    ...actions.map((action) => {
      const a = totals.get(action);
      return h(
        'div',
        { class: `funnel-row${FUNNEL.includes(action) ? '' : ' aside'}`, 'data-testid': `funnel-${action}` },
        h('span', {}, action.replaceAll('_', ' ')),
        h(
          'span',
          { class: 'bar' },
          h('span', { style: `width: ${(a.interactions / top) * 100}%` }),
          count.format(a.interactions),
        ),
        h('span', {}, count.format(a.users)),
      );
    }),
  );
}

const seenAlerts = new Set();
/**
 * Fraud and capacity alerts together, newest first; once `primed` (both feeds loaded), an alert
 * not seen before is highlighted as it arrives.
 * @param {Record<string, unknown>[]} fraudRows
 * @param {Record<string, unknown>[]} capacityRows
 * @param {boolean} primed
 */
export function renderAlerts(fraudRows, capacityRows, primed) {
  const fraud = fraudRows.map((row) => ({
    key: `f${row.rule}${row.order_id}`,
    at: String(row.detected_at),
    kind: `fraud · ${String(row.rule).replaceAll('_', ' ')}`,
    text: `order ${row.order_id} by ${row.user_id}, ${money.format(num(row.amount))}: ${row.details}`,
  }));
  const capacity = capacityRows.map((row) => ({
    key: `c${row.category}${row.threshold}${row.crossed_at}`,
    at: String(row.detected_at),
    kind: `capacity · ${row.threshold} %`,
    text: `${row.category} reached ${row.threshold} % (${count.format(num(row.sold))} of ${count.format(num(row.capacity))}) at ${String(row.crossed_at).slice(11)} UTC`,
  }));
  const alerts = [...fraud, ...capacity]
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))
    .slice(0, 50);
  $('alerts').replaceChildren(
    ...(alerts.length
      ? alerts.map((alert) => {
          const fresh = primed && !seenAlerts.has(alert.key);
          seenAlerts.add(alert.key);
          return h(
            'li',
            {
              'data-testid': 'alert',
              class: `${alert.kind.startsWith('fraud') ? 'fraud' : 'capacity'}${fresh ? ' fresh' : ''}`,
            },
            h('time', {}, `${alert.at.slice(11)} UTC`),
            h('strong', {}, alert.kind),
            h('span', {}, alert.text),
          );
        })
      : [h('li', { class: 'muted' }, 'no alerts')]),
  );
}
