// The rules the OpenAPI document publishes, checked against the code that enforces them.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createAllowedMethods } from '../../src/api/allowed-methods.js';
import { DOCUMENTED_VERSIONS } from '../../src/api/v1/ingest-document.js';
import { instantPattern } from '../../src/events/calendar.js';
import { EVENT_TYPES } from '../../src/events/envelope.js';
import { SCHEMAS } from '../../src/events/registry.js';

describe('the rules the document publishes', () => {
  it('documents exactly the (event_type, version) pairs the registry accepts', () => {
    for (const type of EVENT_TYPES) {
      expect(Object.keys(DOCUMENTED_VERSIONS[type]).map(Number).sort()).toEqual(
        [...SCHEMAS[type].keys()].sort(),
      );
    }
  });

  it('the instant pattern admits calendar days only, in its years', () => {
    const instant = new RegExp(instantPattern(2000, 2099, 'optional'));
    for (const ok of [
      '2028-02-29T20:00:00+02:00',
      '2000-02-29t00:00z',
      '2027-12-31T23:59:59.123456789Z',
      '2099-04-30T00:00-14:00',
    ]) {
      expect(instant.test(ok), ok).toBe(true);
    }
    for (const bad of [
      '2027-02-29T20:00Z',
      '2100-02-28T00:00Z',
      '2026-04-31T00:00Z',
      '2026-13-01T00:00Z',
      '2026-01-01T24:00Z',
      '2026-01-01T20:00',
      '1999-12-31T23:59Z',
    ]) {
      expect(instant.test(bad), bad).toBe(false);
    }
    const required = new RegExp(instantPattern(1971, 2025, 'required'));
    expect(required.test('1972-02-29T00:00:00Z')).toBe(true);
    expect(required.test('1972-02-29T00:00Z')).toBe(false);
    expect(required.test('1970-06-01T00:00:00Z')).toBe(false);
  });

  it('405 lists the methods of the path, from the route table', () => {
    const app = new Hono();
    app.use(async (_c, next) => next());
    app.get('/v1/shows/:id', (c) => c.text('')).patch('/v1/shows/:id', (c) => c.text(''));
    app.put('/v1/shows/:id/categories/:category', (c) => c.text(''));
    const allowed = createAllowedMethods(app);
    expect(allowed('/v1/shows/x')).toEqual(['GET', 'HEAD', 'PATCH']);
    expect(allowed('/v1/shows/x/categories/GA')).toEqual(['PUT']);
    expect(allowed('/v1/nothing')).toEqual([]);
  });
});
