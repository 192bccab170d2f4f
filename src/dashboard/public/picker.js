/** `/dashboard`: the caller's shows (GET /v1/shows), each a link to its live dashboard. */
import { apiKey, getJson } from './api-key.js';

const list = /** @type {HTMLUListElement} */ (document.querySelector('[data-testid="show-list"]'));
const message = /** @type {HTMLElement} */ (document.querySelector('[data-testid="picker-message"]'));

async function main() {
  const key = apiKey();
  if (!key) {
    message.textContent = 'Open this page with ?key=<an API key with the read scope>.';
    return;
  }
  try {
    /** @type {{ id: string, name: string, venue: string, starts_at: string, status: string }[]} */
    const shows = await getJson('/v1/shows', key);
    message.textContent = shows.length ? '' : 'This key’s organizer has no shows yet.';
    for (const show of shows) {
      const item = document.createElement('li');
      const link = document.createElement('a');
      link.href = `/dashboard/${encodeURIComponent(show.id)}`;
      link.textContent = show.name;
      link.dataset.testid = 'show-link';
      const detail = document.createElement('span');
      detail.className = 'muted';
      detail.textContent = ` ${show.venue} · ${new Date(show.starts_at).toLocaleString()} · ${show.status}`;
      item.append(link, detail);
      list.append(item);
    }
  } catch (err) {
    message.textContent = `Could not list the shows: ${/** @type {Error} */ (err).message}`;
  }
}

void main();
