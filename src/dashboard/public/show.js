/**
 * `/dashboard/:show`: one show live. Six subscriptions on /v1/live, one per panel (panels.js);
 * each table change redraws its panel on the next frame.
 */
import { apiKey, getJson, liveToken } from './api-key.js';
import { LiveClient } from './live-client.js';
import {
  renderAlerts,
  renderCapacity,
  renderFunnel,
  renderPricing,
  renderSales,
  useCurrency,
} from './panels.js';

const FEEDS = [
  'sales_per_minute',
  'capacity_status',
  'capacity_alerts',
  'fraud_alerts',
  'engagement_per_minute',
  'pricing_signals',
];
const showId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] ?? '');
const $ = (/** @type {string} */ id) =>
  /** @type {HTMLElement} */ (document.querySelector(`[data-testid="${id}"]`));
/** Whether each alert feed has had its snapshot: from then on new alerts are highlighted. */
const alertsPrimed = { fraud_alerts: false, capacity_alerts: false };
const rows = (/** @type {string} */ sub) => client.table(sub)?.sorted() ?? [];
function drawAlerts() {
  renderAlerts(
    rows('fraud_alerts'),
    rows('capacity_alerts'),
    alertsPrimed.fraud_alerts && alertsPrimed.capacity_alerts,
  );
}

const render = {
  sales_per_minute: renderSales,
  capacity_status: renderCapacity,
  pricing_signals: renderPricing,
  engagement_per_minute: renderFunnel,
  capacity_alerts: drawAlerts,
  fraud_alerts: drawAlerts,
};

/** Subs whose table changed since the last frame. */
const dirty = new Set();
let frameScheduled = false;
/** Marks a panel for the next frame, and asks for one unless it is asked already. */
function markDirty(/** @type {string} */ sub) {
  dirty.add(sub);
  if (frameScheduled) return;
  frameScheduled = true;
  requestAnimationFrame(redraw);
}
/**
 * Draws the panels marked since the last frame. The set is emptied first and each panel drawn on
 * its own: a panel that throws is reported and the others still draw, and later changes still
 * ask for frames (a throw used to leave the set full, so no frame was ever asked again).
 */
function redraw() {
  frameScheduled = false;
  const subs = [...dirty];
  dirty.clear();
  for (const sub of subs) {
    try {
      render[sub](rows(sub));
    } catch (err) {
      console.error(`drawing ${sub} failed`, err);
      const box = $('live-error');
      box.textContent = `${sub}: drawing failed: ${/** @type {Error} */ (err).message}`;
      box.hidden = false;
    }
  }
}

function showStatus(
  /** @type {string} */ status,
  /** @type {{ retryInMs?: number, reason?: string }} */ detail,
) {
  const pill = $('connection-status');
  pill.dataset.status = status;
  pill.dataset.reconnects = String(client.reconnects);
  pill.textContent =
    status === 'reconnecting' && detail.retryInMs !== undefined
      ? `reconnecting in ${Math.ceil(detail.retryInMs / 1000)} s`
      : status === 'connecting'
        ? 'connecting…'
        : status;
  pill.title = detail.reason ?? '';
}

function showFreshness() {
  const el = $('freshness');
  const at = client.newestWatermark;
  const seconds = at === undefined ? undefined : Math.max(0, Math.round((Date.now() - at) / 1000));
  el.textContent = seconds === undefined ? '—' : `${seconds} s`;
  el.dataset.seconds = seconds === undefined ? '' : String(seconds);
  el.className = seconds === undefined ? '' : seconds > 10 ? 'stale' : 'fresh';
}

const key = apiKey();
// The key stays in this page: the socket authenticates with a token minted from it.
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/live`;
const client = new LiveClient(wsUrl, {
  token: () => liveToken(/** @type {string} */ (key)),
  onStatus: showStatus,
  onChange(sub) {
    if (sub in alertsPrimed) alertsPrimed[sub] = true;
    markDirty(sub);
  },
  onServerError(error) {
    const box = $('live-error');
    box.textContent = `${error.sub ?? 'connection'}: ${error.message} (${error.code})`;
    box.hidden = false;
  },
});

async function main() {
  $('show-name').textContent = showId;
  if (!key) {
    showStatus('closed', { reason: 'no key' });
    $('show-detail').textContent = 'Open this page with ?key=<an API key with the read scope>.';
    return;
  }
  for (const feed of FEEDS) client.subscribe(feed, feed, { event_id: showId });
  client.start();
  setInterval(showFreshness, 1000);
  // Name, venue and currency from the API; the live panels do not wait for it.
  try {
    const show = await getJson(`/v1/shows/${encodeURIComponent(showId)}`, key);
    $('show-name').textContent = show.name;
    const startsAt = new Date(show.starts_at).toLocaleString('en-US', {
      timeZone: show.timezone,
      dateStyle: 'medium',
      timeStyle: 'short',
    });
    $('show-detail').textContent = `${show.venue} · starts ${startsAt} (${show.timezone})`;
    const currency = show.categories?.[0]?.currency;
    if (currency) useCurrency(currency);
    markDirty('sales_per_minute');
  } catch (err) {
    $('show-detail').textContent = /** @type {Error} */ (err).message;
  }
}

void main();
