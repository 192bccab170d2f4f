import { createClient } from '@clickhouse/client';
const ch = createClient({ url: 'http://127.0.0.1:18123' });
const db = 'exp_aj2';
for (const q of [`DROP DATABASE IF EXISTS ${db}`, `CREATE DATABASE ${db}`,
  `CREATE TABLE ${db}.t (id UUID, user_id String, amount Decimal(18,4), event_time DateTime, tags Array(String)) ENGINE = MergeTree ORDER BY id`,
  `CREATE TABLE ${db}.s (id UUID) ENGINE = Set`,
  `CREATE TABLE ${db}.q (id Array(String), user_id Array(String), amount Array(String), timestamp_ms Array(UInt64), tags Array(Array(String)), heartbeat UInt8) ENGINE = Memory`,
  `CREATE MATERIALIZED VIEW ${db}.mv TO ${db}.t AS SELECT id, user_id, amount, toDateTime(intDiv(timestamp_ms, 1000)) AS event_time, tags FROM ${db}.q ARRAY JOIN arrayMap(x -> toUUID(x), id) AS id, user_id, arrayMap(x -> toDecimal64(x, 4), amount) AS amount, timestamp_ms, tags WHERE heartbeat = 0 AND id NOT IN ${db}.s LIMIT 1 BY id`,
  `INSERT INTO ${db}.q FORMAT JSONEachRow {"id":["00000000-0000-4000-8000-000000000001","00000000-0000-4000-8000-000000000002","00000000-0000-4000-8000-000000000001"],"user_id":["a","b","c"],"amount":["1.5","2.25","9"],"timestamp_ms":[1700000000000,1700000001000,1],"tags":[["x"],[],["y","z"]]} {"heartbeat":1}`,
]) { await ch.command({ query: q }).catch((e) => { console.log(q.slice(0, 60), String(e).slice(0, 200)); }); }
console.log(await (await ch.query({ query: `SELECT * FROM ${db}.t`, format: 'JSONEachRow' })).json());
await ch.command({ query: `DROP DATABASE ${db}` }); await ch.close();
