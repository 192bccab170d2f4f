// Every hostile string, rendered by str(), comes back from the real ClickHouse unchanged:
// the server parsed it as one literal, nothing more.
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../src/clients/clickhouse.js';
import { array, decimal, float, int, sql, str, uuid } from '../../src/sql/literals.js';
import { HOSTILE_STRINGS } from '../fixtures/hostile-strings.js';
import { config } from './helpers.js';

describe('typed literals on the real ClickHouse', () => {
  const client = createClickHouse(config);
  afterAll(() => client.close());

  it('round-trips hostile strings exactly', async () => {
    const random = Array.from({ length: 200 }, () =>
      String.fromCodePoint(...Array.from({ length: 12 }, () => Math.floor(Math.random() * 0x2ff))),
    );
    const inputs = [...HOSTILE_STRINGS, ...random];
    const query = sql`SELECT ${array(inputs.map(str))} AS v`;
    const result = await client.query({ query: query.text, format: 'JSONEachRow' });
    const [row] = await result.json<{ v: string[] }>();
    expect(row!.v).toEqual(inputs);
  });

  it('round-trips numbers, decimals and UUIDs', async () => {
    const id = '5c5037db-82b4-4a0d-9be7-d43308f871d5';
    const query = sql`SELECT ${int(-9007199254740991)} AS i, ${float(0.1)} AS f, toString(${decimal('12345678.9012', 4)}) AS d, toString(${uuid(id)}) AS u`;
    const result = await client.query({ query: query.text, format: 'JSONEachRow' });
    expect(await result.json()).toEqual([{ i: '-9007199254740991', f: 0.1, d: '12345678.9012', u: id }]);
  });
});
