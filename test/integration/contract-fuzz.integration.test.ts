// The /v1 contract as a client generated from the document sees it: schemathesis (an
// OpenAPI-driven property-based fuzzer, not written for this project) reads
// GET /v1/openapi.json from the real service on the real stack and runs every operation with
// the platform admin key: examples, boundary cases, random and stateful sequences, with every
// check it has (no 5xx, only declared statuses, responses that match their schemas,
// schema-valid requests accepted, schema-violating ones rejected, 405 with Allow for other
// methods). One check is off for POST /v1/events, which answers per record: see
// test/contract/schemathesis.toml. Fixed seed, bounded run; its summary is printed.
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../src/clients/kafka.js';
import type { ServiceProcess } from '../../scripts/service-process.js';
import { config, createTestDatabase, uniqueName } from './helpers.js';
import { createClickHouse } from '../../src/clients/clickhouse.js';
import { removeClickHouseAndTopics } from '../harness/service-harness.js';
import { migratedServiceChild } from '../harness/service-child.js';

const REPO = new URL('../../', import.meta.url).pathname;
const ADMIN_KEY = 'contract-fuzz-admin-key-0001';
const SEED = 1;
const EXAMPLES_PER_OPERATION = 30;

interface Report {
  seed: number;
  exit_code: number;
  complete: boolean;
  operations: { total: number; selected: number; tested: number };
  test_cases: { generated: number; with_failures: number; unique_failures: number };
  failures: unknown[];
  errors: unknown[];
}

/** Runs a command to its end (or kills it at the deadline); its output goes to `log`. */
function run(command: string, args: string[], log: string[], deadlineMs: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
    child.stdout.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('the /v1 contract under an OpenAPI fuzzer (schemathesis)', () => {
  const database = uniqueName('contract');
  const topicPrefix = `${database}.`;
  const dir = mkdtempSync(join(tmpdir(), 'ticketpulse-contract-'));
  let pgDatabase: { url: string; drop: () => Promise<void> };
  let service: ServiceProcess;

  beforeAll(async () => {
    pgDatabase = await createTestDatabase('contract');
    ({ service } = await migratedServiceChild({
      database,
      databaseUrl: pgDatabase.url,
      env: { ADMIN_API_KEY: ADMIN_KEY, LOG_LEVEL: 'warn' },
      logFile: join(dir, 'service.log'),
    }));
    await service.start();
  }, 180_000);

  afterAll(async () => {
    await service?.stop();
    const clickhouse = createClickHouse(config);
    const admin = createKafka(config, { retries: 1 }).admin();
    await removeClickHouseAndTopics({ clickhouse, admin, database, topicPrefix });
    await admin.disconnect();
    await clickhouse.close();
    await pgDatabase?.drop();
  }, 60_000);

  /** One request to the service, as bytes on the wire. */
  async function send(method: string, path: string, init: { type?: string; body?: string } = {}) {
    const res = await fetch(`${service.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_KEY}`,
        ...(init.type === undefined ? {} : { 'content-type': init.type }),
      },
      body: init.body,
    });
    const text = await res.text();
    return { status: res.status, allow: res.headers.get('allow'), text, code: errorCode(text) };
  }

  /** node:http, since fetch refuses TRACE. */
  function rawRequest(method: string, path: string): Promise<{ status: number; allow: string | undefined }> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${service.baseUrl}${path}`,
        { method, headers: { authorization: `Bearer ${ADMIN_KEY}` } },
        (res) => {
          res.resume();
          res.once('end', () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow }));
        },
      );
      req.once('error', reject);
      req.end();
    });
  }

  function errorCode(text: string): string | undefined {
    try {
      return (JSON.parse(text) as { error?: { code?: string } }).error?.code;
    } catch {
      return undefined;
    }
  }

  const ORGANIZER = '3f0d3c52-7c57-4a53-9d6a-0c7b4c1b7c01';
  const show = (overrides: Record<string, unknown> = {}) =>
    JSON.stringify({
      id: `fuzz-show-${Math.random().toString(36).slice(2, 10)}`,
      organizer_id: ORGANIZER,
      name: 'A show',
      country: 'DE',
      starts_at: '2027-03-01T20:00:00+01:00',
      ...overrides,
    });

  describe('what the fuzzer found, each a regression test', () => {
    beforeAll(async () => {
      const created = await send('POST', '/v1/organizers', {
        type: 'application/json',
        body: JSON.stringify({ id: ORGANIZER, name: 'Fuzz organizer' }),
      });
      expect(created.status).toBe(201);
      expect(
        (await send('POST', '/v1/shows', { type: 'application/json', body: show({ id: 'fuzz-show' }) }))
          .status,
      ).toBe(201);
    });

    it.each([
      ['POST', '/v1/organizers'],
      ['POST', '/v1/shows'],
      ['PATCH', '/v1/shows/fuzz-show'],
      ['PUT', `/v1/organizers/${ORGANIZER}/fraud-rules/large_amount`],
      ['PUT', `/v1/organizers/${ORGANIZER}/pricing-rule`],
    ])('a body that is not JSON is 400 invalid_json, not 500: %s %s', async (method, path) => {
      const res = await send(method, path, { type: 'application/json', body: '\x00' });
      expect([res.status, res.code]).toEqual([400, 'invalid_json']);
    });

    it.each([
      ['POST', '/v1/shows'],
      ['PATCH', '/v1/shows/fuzz-show'],
      ['PUT', '/v1/shows/fuzz-show/categories/GA'],
      ['POST', `/v1/organizers/${ORGANIZER}/keys`],
      ['POST', '/v1/events'],
    ])('another content type is 415, not 500: %s %s', async (method, path) => {
      const res = await send(method, path, { type: 'text/plain', body: '{}' });
      expect([res.status, res.code]).toEqual([415, 'unsupported_media_type']);
    });

    it.each([
      ['PATCH', '/v1/shows/fuzz-show'],
      ['PUT', `/v1/organizers/${ORGANIZER}/fraud-rules/velocity`],
    ])('a required body left out is 400 missing_body, not applied as {}: %s %s', async (method, path) => {
      const res = await send(method, path);
      expect([res.status, res.code]).toEqual([400, 'missing_body']);
    });

    it('a method the path does not have is 405 with Allow, and OPTIONS lists them', async () => {
      const trace = await rawRequest('TRACE', '/v1/shows');
      expect([trace.status, trace.allow]).toEqual([405, 'GET, HEAD, POST, OPTIONS']);
      const del = await send('DELETE', '/v1/shows/fuzz-show');
      expect([del.status, del.code, del.allow]).toEqual([
        405,
        'method_not_allowed',
        'GET, HEAD, PATCH, OPTIONS',
      ]);
      const options = await send('OPTIONS', '/v1/shows/fuzz-show/categories/GA');
      expect([options.status, options.allow]).toEqual([204, 'PUT, OPTIONS']);
      expect((await rawRequest('TRACE', '/v1/no-such-thing')).status).toBe(404);
    });

    it('the document states the checks a client must meet, and values it allows are accepted', async () => {
      const doc = (await (await fetch(`${service.baseUrl}/v1/openapi.json`)).json()) as {
        components: { schemas: Record<string, { properties: Record<string, Record<string, unknown>> }> };
        paths: Record<
          string,
          Record<
            string,
            { parameters?: { name: string; required: boolean; schema: Record<string, unknown> }[] }
          >
        >;
      };
      const create = doc.components.schemas.ShowCreate!.properties;
      expect(create.country!.enum).toContain('DE');
      expect(create.timezone!.enum).toContain('Europe/Berlin');
      expect(create.starts_at!.pattern).toBeTypeOf('string');
      const params = doc.paths['/v1/queries/top_categories']!.get!.parameters!;
      expect(params.find((p) => p.name === 'limit')).toMatchObject({
        required: true,
        schema: { type: 'integer', minimum: 0 },
      });
      expect(params.find((p) => p.name === 'from_time')!.schema.pattern).toBeTypeOf('string');
      // Allowed by the document: a leap day, lower-case t and z, no seconds, a JSON-number price.
      const leapDay = await send('POST', '/v1/shows', {
        type: 'application/json',
        body: show({
          starts_at: '2028-02-29t20:00z',
          categories: [{ category: 'A', capacity: 1, price: 0.1 + 0.2, currency: 'EUR' }],
        }),
      });
      expect(leapDay.status, leapDay.text).toBe(201);
      expect(JSON.parse(leapDay.text).categories[0].price).toBe('0.3000');
      // Refused by it, and so by the route: a day not on the calendar, an empty limit.
      const notADay = await send('POST', '/v1/shows', {
        type: 'application/json',
        body: show({ starts_at: '2027-02-29T20:00:00Z' }),
      });
      expect([notADay.status, notADay.code]).toEqual([400, 'invalid_request']);
      const from = encodeURIComponent('2027-01-01T00:00:00Z');
      const emptyLimit = await send(
        'GET',
        `/v1/queries/top_categories?from_time=${from}&to_time=${from}&limit=`,
      );
      expect([emptyLimit.status, emptyLimit.code]).toEqual([400, 'invalid_request']);
    });

    it('text Postgres cannot store is refused by the schema, with its field', async () => {
      const res = await send('POST', '/v1/organizers', {
        type: 'application/json',
        body: JSON.stringify({ name: 'a\u0000b' }),
      });
      expect([res.status, res.code]).toEqual([400, 'invalid_request']);
      expect(res.text).toContain('"path":"name"');
    });

    it('a category listed twice is 409; the platform key without organizer_id is 403', async () => {
      const twice = [1, 2].map(() => ({ category: 'GA', capacity: 1, price: '1', currency: 'EUR' }));
      const dup = await send('POST', '/v1/shows', {
        type: 'application/json',
        body: show({ categories: twice }),
      });
      expect([dup.status, dup.code]).toEqual([409, 'conflict']);
      const noOrganizer = await send('POST', '/v1/shows', {
        type: 'application/json',
        body: show({ organizer_id: undefined }),
      });
      expect([noOrganizer.status, noOrganizer.code]).toEqual([403, 'organizer_required']);
    });

    it('POST /v1/events: an empty array is refused by the document too (minItems), and its 400 is an Error body', async () => {
      const doc = (await (await fetch(`${service.baseUrl}/v1/openapi.json`)).json()) as {
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      };
      const responses = doc.paths['/v1/events']!.post!.responses;
      expect(Object.keys(responses).sort()).toEqual([
        '202',
        '400',
        '401',
        '403',
        '413',
        '415',
        '429',
        '502',
        '503',
      ]);
      const empty = await send('POST', '/v1/events', { type: 'application/json', body: '[]' });
      expect([empty.status, empty.code]).toEqual([400, 'empty_body']);
    });
  });

  it('finds no failure on any operation of the document', async () => {
    const reportPath = join(dir, 'report.json');
    const output: string[] = [];
    const args = [
      '-m',
      'schemathesis.cli',
      '--config-file',
      'test/contract/schemathesis.toml',
      'run',
      `${service.baseUrl}/v1/openapi.json`,
      '--header',
      `Authorization: Bearer ${ADMIN_KEY}`,
      '--seed',
      String(SEED),
      '--max-examples',
      String(EXAMPLES_PER_OPERATION),
      // One worker: with two, schemathesis runs hypothesis in two threads, and CPython 3.11's
      // ast.parse (hypothesis describes its lambdas with it) shares its recursion counter between
      // them (python/cpython#106905): "SystemError: AST constructor recursion depth mismatch",
      // seen once in a parallel `npm test`, counted as a fuzzer error.
      '--workers',
      '1',
      '--report',
      'json',
      '--report-json-path',
      reportPath,
    ];
    const code = await run('python3', args, output, 280_000);
    const text = output.join('');
    let report: Report;
    try {
      report = JSON.parse(readFileSync(reportPath, 'utf8')) as Report;
    } catch {
      throw new Error(`schemathesis wrote no report (exit ${code}):\n${text.slice(-4000)}`);
    }
    const document = (await (await fetch(`${service.baseUrl}/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const operations = Object.values(document.paths).reduce((n, path) => n + Object.keys(path).length, 0);
    console.log(
      `[contract] python3 -m schemathesis.cli --config-file test/contract/schemathesis.toml run <service>/v1/openapi.json ` +
        `--seed ${SEED} --max-examples ${EXAMPLES_PER_OPERATION}: ${report.operations.tested} of ${operations} operations tested, ` +
        `${report.test_cases.generated} requests generated, ${report.failures.length} failures, ${report.errors.length} errors`,
    );
    expect(report.failures.length, text.slice(-6000)).toBe(0);
    expect(report.errors, text.slice(-6000)).toEqual([]);
    expect(report.complete).toBe(true);
    expect(report.operations.tested).toBe(operations);
    expect(report.test_cases.generated).toBeGreaterThan(operations * 10);
    expect(code).toBe(0);
  }, 300_000);
});
