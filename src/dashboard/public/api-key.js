/**
 * The dashboard's API key: taken from `?key=` on the page address, kept in sessionStorage (so a
 * reload and the show links work) and then removed from the address bar and history. The live
 * socket never sees it: it gets a short-lived token minted with it (`liveToken`).
 */
const STORAGE_KEY = 'ticketpulse.key';

/** @returns {string | null} */
export function apiKey() {
  const url = new URL(location.href);
  const given = url.searchParams.get('key');
  if (given) {
    sessionStorage.setItem(STORAGE_KEY, given);
    url.searchParams.delete('key');
    history.replaceState(null, '', url);
  }
  return sessionStorage.getItem(STORAGE_KEY);
}

/**
 * GET a /v1 route with the key as a bearer token; rejects with the API's error message.
 * @param {string} path
 * @param {string} key
 */
export async function getJson(path, key) {
  const response = await fetch(path, { headers: { authorization: `Bearer ${key}` } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body?.error?.message ?? `${path} answered ${response.status}`);
  return body;
}

/**
 * Exchanges the key for a live token (POST /v1/live/tokens). Rejects with `fatal` set when the
 * key itself is refused (401, 403): asking again will not help.
 * @param {string} key
 * @returns {Promise<{ token: string, expiresAt: number }>}
 */
export async function liveToken(key) {
  const response = await fetch('/v1/live/tokens', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = /** @type {Error & { fatal?: boolean }} */ (
      new Error(body?.error?.message ?? `/v1/live/tokens answered ${response.status}`)
    );
    error.fatal = response.status === 401 || response.status === 403;
    throw error;
  }
  return { token: body.token, expiresAt: Date.parse(body.expires_at) };
}
