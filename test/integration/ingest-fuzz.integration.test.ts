// Hostile input at volume: 10,000 generated requests to POST /v1/events on the real service
// (fast-check, fixed seed; FUZZ_SEED and FUZZ_RUNS explore further): deep nesting, huge
// strings, invalid UTF-8, wrong types, boundary numbers and instants, duplicate keys, wrong
// content types, truncated JSON, valid envelopes with one field mutated. Not one may answer
// 5xx or crash the process, and its memory stays bounded.
//
// The property the last bug broke: every record the API accepts is readable by ClickHouse. A
// record it accepted and ClickHouse could not parse (a text timestamp before 1970, which the
// Kafka tables read as UInt64) stops a Kafka table for everyone. So the service publishes
// through a recording sink (ServiceHooks.eventSink) instead of waiting 10,000 times for
// acks=all, and at the end ClickHouse parses every message it would have sent: the poison check
// (src/operations/poison-check.ts) runs them through a Memory copy of each Kafka table and every
// view that reads it. Findings become named regression tests (test/unit/validate-event.test.ts,
// test/unit/ingest-route.test.ts, test/unit/envelope-timestamp.test.ts).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventSink } from '../../src/events/event-sink.js';
import { batchByTopic } from '../../src/kafka/kafka-event-sink.js';
import { createPoisonCheck } from '../../src/operations/poison-check.js';
import {
  queueTableOf,
  shardTopicNames,
  topicNames,
  TOPIC_KINDS,
  type TopicName,
} from '../../src/kafka/topology.js';
import { isAccepted, validateEvent } from '../../src/events/validate-event.js';
import { COLUMNS } from '../../src/events/registry.js';
import { ticketSale, ticketRefund, userInteraction, systemMetric } from '../fixtures/events.js';
import { createTestPipeline, API_KEY, type TestPipeline } from './pipeline.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261126);

/** ClickHouse's parse check of each topic's Kafka table, and what it found. */
const checks = new Map<TopicName, Awaited<ReturnType<typeof createPoisonCheck>>>();
const unreadable: string[] = [];
/** Messages the service would have sent to Kafka and ClickHouse has not parsed yet, per topic. */
const pending = new Map<TopicName, string[]>();
const sent = new Map<TopicName, number>();
let pendingChars = 0;
/** Parsed every 8 MB, so the recording does not count against the RSS bound. */
const FLUSH_CHARS = 8 * 2 ** 20;

async function parseCheck(type: TopicName, values: string[]): Promise<string[]> {
  const found = await checks.get(type)!.find(values);
  return found.map(
    ({ index, error }) => `${type}: ${error.slice(0, 200)} in ${values[index]!.slice(0, 300)}`,
  );
}

async function flush(): Promise<void> {
  for (const [type, values] of pending) unreadable.push(...(await parseCheck(type, values)));
  pending.clear();
  pendingChars = 0;
}

let topics: Record<TopicName, string> | undefined;
const topicOf = new Map<string, TopicName>();
const recordingSink: EventSink = {
  async publish(accepted, rejected) {
    for (const { topic, messages } of batchByTopic(shardTopicNames(p.topicPrefix, 0), accepted, rejected)) {
      const type = topicOf.get(topic)!;
      const values = pending.get(type) ?? [];
      pending.set(type, values);
      for (const m of messages) {
        const value = String(m.value);
        values.push(value);
        pendingChars += value.length;
      }
      sent.set(type, (sent.get(type) ?? 0) + messages.length);
    }
    if (pendingChars > FLUSH_CHARS) await flush();
  },
};

let p: TestPipeline;
beforeAll(async () => {
  p = await createTestPipeline('fuzz', { hooks: { eventSink: recordingSink } });
  topics = topicNames(p.topicPrefix);
  for (const [type, name] of Object.entries(topics) as [TopicName, string][]) {
    topicOf.set(name, type);
    checks.set(
      type,
      await createPoisonCheck({
        clickhouse: p.clickhouse,
        database: p.database,
        queue: queueTableOf(type),
      }),
    );
  }
}, 60_000);
afterAll(async () => {
  for (const check of checks.values()) await check.drop();
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
  // Instants at the edges: the epoch east of UTC is before it (the bug this test exists for).
  '1970-01-01T00:00:00+14:00',
  '1969-12-31T23:59:59Z',
  '1970-01-01T00:00:00Z',
  '2105-12-31T23:59:59Z',
  '2106-02-07T06:28:16Z',
);
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  boundaryNumber,
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }), // lone surrogates included
);
const validEnvelope = fc
  .constantFrom(ticketSale, ticketRefund, userInteraction, systemMetric)
  .map((make) => make());

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

/**
 * Instants around the edges ClickHouse cares about, as text with an offset or as milliseconds:
 * the epoch (1970-01-01 east of UTC is before it, and the Kafka tables read UInt64) and the
 * end of DateTime's range.
 */
const edgeInstant = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(0, 4_291_747_199_000),
      fc.integer({ min: -2 * 86_400_000, max: 2 * 86_400_000 }),
      fc.integer({ min: -12, max: 14 }),
    )
    .map(([edge, delta, hours]) => {
      const local = new Date(edge + delta + hours * 3_600_000).toISOString().slice(0, 19);
      const sign = hours < 0 ? '-' : '+';
      return `${local}${sign}${String(Math.abs(hours)).padStart(2, '0')}:00`;
    }),
  fc.integer({ min: -2 * 86_400_000, max: 2 * 86_400_000 }),
);
/** A valid envelope dated at one of those edges. */
const edgeEnvelope = fc.tuple(validEnvelope, edgeInstant).map(([e, timestamp]) => ({ ...e, timestamp }));

const jsonBody = fc.oneof(
  fc.array(edgeEnvelope, { minLength: 1, maxLength: 5 }).map((a) => JSON.stringify(a)),
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
  it('never answers 5xx, never crashes, keeps memory bounded, and ClickHouse reads all it accepted', async () => {
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
    await flush();
    console.log(
      `fuzz: ${RUNS} bodies (seed ${SEED}), ${by(200)}×2xx, ${by(400)}×4xx, ${by(500)}×5xx; ` +
        `statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; RSS ${mb(rssBefore)}→${mb(rssMax)} MB; ` +
        `messages parsed by ClickHouse ${JSON.stringify(Object.fromEntries(sent))}`,
    );
    expect(fivexx).toEqual([]);
    expect(by(200)).toBeGreaterThan(0);
    // Bodies up to 6 MB pass through; the process must not keep them.
    expect(rssMax - rssBefore).toBeLessThan(1024 * 2 ** 20);
    // Every event topic and the quarantine got messages, and ClickHouse reads every one.
    expect([...sent.keys()].sort()).toEqual([...TOPIC_KINDS].sort());
    expect(unreadable).toEqual([]);
  }, 900_000);

  it('the parse check finds a record ClickHouse cannot read (a sale dated before 1970)', async () => {
    // What the validation once let through: 1970-01-01T00:00:00+14:00 is -50,400,000 ms.
    const sale = validateEvent(ticketSale(), Date.now());
    if (!isAccepted(sale)) throw new Error('the fixture sale is valid');
    const cells = [...sale.cells];
    cells[COLUMNS.ticket_sale.indexOf('timestamp_ms')] = '-50400000';
    const poisoned = { ...sale, cells };
    const [batch] = batchByTopic(shardTopicNames(p.topicPrefix, 0), [poisoned], []);
    const found = await parseCheck(
      'ticket_sale',
      batch!.messages.map((m) => String(m.value)),
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^ticket_sale: /);
  });
});
