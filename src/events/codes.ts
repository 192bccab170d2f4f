/** ISO code checks from the runtime's own ICU data, so no list goes stale in our code. */

const regionNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
const currencies = new Set(Intl.supportedValuesOf('currency'));

/** ISO 3166-1 alpha-2 country code (upper case), e.g. `DE`. */
export function isCountryCode(code: string): boolean {
  // DisplayNames also knows numeric regions (e.g. 419) and some exceptional codes; two letters only.
  return /^[A-Z]{2}$/.test(code) && regionNames.of(code) !== undefined && code !== 'ZZ';
}

/** ISO 4217 currency code (upper case), e.g. `EUR`. */
export function isCurrencyCode(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && currencies.has(code);
}
