// The entity API's field rules that are ours rather than zod's: real calendar dates, IANA
// zones, ISO codes, and show ids that match what events carry in data.event_id.
import { describe, expect, it } from 'vitest';
import { ShowCreate } from '../../src/api/v1/api-schemas.js';

const valid = {
  id: 'show-1',
  name: 'Show',
  country: 'DE',
  timezone: 'Europe/Berlin',
  starts_at: '2027-03-01T20:00:00+01:00',
  categories: [{ category: 'GA', capacity: 10, price: '49.90', currency: 'EUR' }],
};

function problems(body: Record<string, unknown>): string[] {
  const result = ShowCreate.safeParse(body);
  return result.success ? [] : result.error.issues.map((i) => i.path.join('.'));
}

describe('ShowCreate', () => {
  it('accepts a valid show and fills the defaults', () => {
    const parsed = ShowCreate.parse(valid);
    expect(parsed).toMatchObject({ venue: '', status: 'on_sale' });
  });

  it.each([
    ['2026-02-30T20:00:00Z', 'a day February does not have'],
    ['2026-13-01T20:00:00Z', 'month 13'],
    ['2026-03-01T20:00:00', 'no offset'],
    ['tomorrow', 'not a date'],
  ])('refuses starts_at %s (%s)', (startsAt) => {
    expect(problems({ ...valid, starts_at: startsAt })).toEqual(['starts_at']);
  });

  it('accepts 29 February in a leap year only', () => {
    expect(problems({ ...valid, starts_at: '2028-02-29T20:00:00Z' })).toEqual([]);
    expect(problems({ ...valid, starts_at: '2027-02-29T20:00:00Z' })).toEqual(['starts_at']);
  });

  it('refuses unknown codes and zones, and ids with outer whitespace', () => {
    expect(problems({ ...valid, country: 'XX', timezone: 'Mars/Olympus', id: ' show' }).sort()).toEqual([
      'country',
      'id',
      'timezone',
    ]);
    expect(
      problems({
        ...valid,
        categories: [{ category: 'GA', capacity: -1, price: '1.23456', currency: 'EURO' }],
      }).sort(),
    ).toEqual(['categories.0.capacity', 'categories.0.currency', 'categories.0.price']);
  });
});
