/**
 * The dashboard's API key: taken from `?key=` on the page address, kept in sessionStorage (so a
 * reload and the show links work) and then removed from the address bar and history.
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
