// Hostile input at volume: 10,000 generated requests to POST /v1/events on the real app and
// the real Kafka (fast-check, fixed seed; FUZZ_SEED and FUZZ_RUNS explore further): deep
// nesting, huge strings, invalid UTF-8, wrong types, boundary numbers, duplicate keys, wrong
// content types, truncated JSON, valid envelopes with one field mutated. Not one may answer
// 5xx or crash the process, and its memory stays bounded. Findings become named regression
// tests (test/unit/validate-event.test.ts, test/unit/ingest-route.test.ts).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ticketSale, userInteraction, systemMetric } from '../fixtures/events.js';
import { createTestPipeline, API_KEY, type TestPipeline } from './pipeline.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261126);

let p: TestPipeline;
beforeAll(async () => {
  p = await createTestPipeline('fuzz');
}, 60_000);
afterAll(async () => {
  await p?.close();
});

type Body = string | Uint8Array;

const boundaryNumber = fc.constantFrom(
  0,
  -0,
  -1,
  1,
  0.1,
  65535,
  65536,
  2 ** 31,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  1e308,
  5e-324,
  '1e400',
  'NaN',
  '-Infinity',
  '99999999999999999999.99999',
  '0x10',
);
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  boundaryNumber,
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }), // lone surrogates included
);
const validEnvelope = fc.constantFrom(ticketSale, userInteraction, systemMetric).map((make) => make());

/** A valid envelope with one field (top level or in data) replaced by something else, or removed. */
const mutatedEnvelope = fc
  .tuple(validEnvelope, fc.boolean(), fc.nat(20), anyValue, fc.boolean())
  .map(([envelope, inData, pick, value, remove]) => {
    const target = (inData ? envelope.data : envelope) as Record<string, unknown>;
    const keys = Object.keys(target);
    const key = keys[pick % keys.length]!;
    if (remove) delete target[key];
    else target[key] = value;
    return envelope;
  });

const jsonBody = fc.oneof(
  fc
    .array(fc.oneof(mutatedEnvelope, validEnvelope, anyValue), { maxLength: 20 })
    .map((a) => JSON.stringify(a)),
  mutatedEnvelope.map((e) => JSON.stringify(e)),
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
);

const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 6, arbitrary: jsonBody },
  // Deep nesting, up to far past any sane depth.
  fc.integer({ min: 1, max: 200_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 1, max: 50_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  // Huge strings, some past the body limit.
  fc
    .tuple(validEnvelope, fc.integer({ min: 1_000, max: 6_000_000 }))
    .map(([e, n]) => JSON.stringify([{ ...e, data: { ...e.data, page: 'x'.repeat(n) } }])),
  // Invalid UTF-8 and random bytes.
  fc.uint8Array({ maxLength: 2000 }),
  jsonBody.map((text) => {
    const bytes = new TextEncoder().encode(text);
    return new Uint8Array([
      ...bytes.slice(0, bytes.length / 2),
      0xc3,
      0x28,
      0xff,
      ...bytes.slice(bytes.length / 2),
    ]);
  }),
  // Duplicate keys: the same envelope field twice with different values.
  validEnvelope.map((e) => JSON.stringify([e]).replace('"id":', `"id":"${e.id}","id":`)),
  validEnvelope.map((e) => JSON.stringify([e]).replace('"data":{', '"data":{"quantity":"many",')),
  // Truncated JSON.
  fc
    .tuple(jsonBody, fc.double({ min: 0, max: 1, noNaN: true }))
    .map(([t, f]) => t.slice(0, Math.floor(t.length * f))),
  // NDJSON-ish and empty bodies.
  fc.array(validEnvelope, { maxLength: 5 }).map((a) => a.map((e) => JSON.stringify(e)).join('\n')),
  fc.constant(''),
);

// Mostly what a real client sends, so most bodies reach validation and Kafka.
const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/x-ndjson',
      'text/plain',
      'application/json; charset=latin1',
      'multipart/form-data; boundary=x',
      undefined,
    ),
  },
);
const authorization = fc.oneof(
  { weight: 9, arbitrary: fc.constant(`Bearer ${API_KEY}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('Bearer nope-nope', 'Basic x', `bearer  ${API_KEY} extra`, undefined),
  },
);

describe(`POST /v1/events under ${RUNS} generated requests (seed ${SEED})`, () => {
  it('never answers 5xx, never crashes, and keeps memory bounded', async () => {
    const statuses = new Map<number, number>();
    const rssBefore = process.memoryUsage().rss;
    let rssMax = rssBefore;
    const fivexx: string[] = [];
    await fc.assert(
      fc.asyncProperty(body, contentType, authorization, async (b, type, auth) => {
        const headers: Record<string, string> = {};
        if (type) headers['content-type'] = type;
        if (auth) headers.authorization = auth;
        const res = await p.app.request('/v1/events', { method: 'POST', headers, body: b });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        rssMax = Math.max(rssMax, process.memoryUsage().rss);
        if (res.status >= 500) {
          fivexx.push(
            `${res.status} for ${type} ${typeof b === 'string' ? b.slice(0, 120) : `${b.length} bytes`}`,
          );
          return false;
        }
        return true;
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    const mb = (n: number) => (n / 2 ** 20).toFixed(0);
    const by = (from: number) =>
      [...statuses].filter(([s]) => s >= from && s < from + 100).reduce((n, [, c]) => n + c, 0);
    console.log(
      `fuzz: ${RUNS} bodies (seed ${SEED}), ${by(200)}×2xx, ${by(400)}×4xx, ${by(500)}×5xx; ` +
        `statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; RSS ${mb(rssBefore)}→${mb(rssMax)} MB`,
    );
    expect(fivexx).toEqual([]);
    expect(by(200)).toBeGreaterThan(0);
    // Bodies up to 6 MB pass through; the process must not keep them.
    expect(rssMax - rssBefore).toBeLessThan(1024 * 2 ** 20);
  }, 900_000);
});
