/** ISO code checks: countries from the iso-3166 package, currencies from the runtime's ICU data. */
import { iso31661 } from 'iso-3166';

/**
 * The 249 officially assigned ISO 3166-1 alpha-2 codes (the iso-3166 package). ICU's region
 * names also know UK, EU, SU and other reserved or deprecated codes that are not countries, and
 * `UK` beside `GB` would split the analytics. A Set lookup costs nothing measurable per event.
 */
export const COUNTRY_CODES: readonly string[] = iso31661.map((c) => c.alpha2).sort();
/** The runtime's ISO 4217 codes (three upper-case letters). */
export const CURRENCY_CODES: readonly string[] = Intl.supportedValuesOf('currency').filter((code) =>
  /^[A-Z]{3}$/.test(code),
);
const countries: ReadonlySet<string> = new Set(COUNTRY_CODES);
const currencies: ReadonlySet<string> = new Set(CURRENCY_CODES);

/** ISO 3166-1 alpha-2 country code (upper case), e.g. `DE`. */
export function isCountryCode(code: string): boolean {
  return countries.has(code);
}

/** ISO 4217 currency code (upper case), e.g. `EUR`. */
export function isCurrencyCode(code: string): boolean {
  return currencies.has(code);
}
