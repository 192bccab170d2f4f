/**
 * `npm run bench:ingest -- [--rounds 5]`: events/s acknowledged through POST /v1/events (real
 * HTTP server, real Kafka) for batch sizes 1, 100 and 1000, against a baseline measured in
 * the same run: a bare kafkajs sendBatch loop with the same producer settings and the same
 * rows. Inside its timer the baseline serialises each row with JSON.stringify (what any
 * producer holding rows must do) and sends; the rows themselves are made before the timer.
 * Reports medians over rounds and the ratio ours/baseline. Rounds interleave the two so
 * machine noise hits both alike. The API is the real service (roles api and bridge, test/harness)
 * on topics and databases of its own, deleted after; ClickHouse consumes its topics meanwhile, as
 * in a deployment.
 */
import { Command } from 'commander';
import { CompressionTypes } from 'kafkajs';
import { ackedProducer, createKafka } from '../src/clients/kafka.js';
import { topicNames } from '../src/kafka/topology.js';
import { startServiceHarness } from '../test/harness/service-harness.js';
import { validateEvent, isAccepted } from '../src/events/validate-event.js';
import { describeRun, median } from './machine.js';
import { saleEvents } from './sale-events.js';

const opts = new Command('bench:ingest')
  .option('--rounds <n>', 'rounds per configuration', (v) => Number(v), 5)
  .option('--events <n>', 'events per round (batch 1 uses a tenth)', (v) => Number(v), 20_000)
  .parse()
  .opts<{ rounds: number; events: number }>();

const KEY = 'bench-key-123456';
const service = await startServiceHarness({
  name: `bench_ingest_${Date.now().toString(36)}`,
  ingestKey: KEY,
  env: {
    INGEST_KAFKA_TIMEOUT_MS: '30000',
    INGEST_MAX_BODY_BYTES: String(50 * 1024 * 1024),
    INGEST_MAX_RECORDS: '100000',
    INGEST_RETRY_AFTER_SECONDS: '1',
  },
});
const prefix = service.topicPrefix;
const kafka = createKafka(service.config);
const url = `${service.baseUrl}/v1/events`;

const baseline = ackedProducer(kafka);
await baseline.connect();
const topic = topicNames(prefix).ticket_sale;

/** Events/s through the API: one request per batch, one at a time. */
async function viaApi(events: unknown[], batch: number): Promise<number> {
  const bodies: string[] = [];
  for (let i = 0; i < events.length; i += batch) bodies.push(JSON.stringify(events.slice(i, i + batch)));
  const started = performance.now();
  for (const body of bodies) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body,
    });
    if (res.status !== 202) throw new Error(`API answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  }
  return events.length / ((performance.now() - started) / 1000);
}

/**
 * Events/s for bare kafkajs with the same settings: the rows the API would write (made before
 * the timer), serialised with JSON.stringify and sent inside it.
 */
async function viaKafkajs(events: unknown[], batch: number): Promise<number> {
  const now = Date.now();
  const rows = events.map(function rowOf(e) {
    const v = validateEvent(e, now);
    if (!isAccepted(v)) throw new Error('bench event invalid');
    return { key: v.key, row: v.row };
  });
  const started = performance.now();
  for (let i = 0; i < rows.length; i += batch) {
    const messages = rows.slice(i, i + batch).map(({ key, row }) => ({ key, value: JSON.stringify(row) }));
    await baseline.sendBatch({
      acks: -1,
      compression: CompressionTypes.GZIP,
      topicMessages: [{ topic, messages }],
    });
  }
  return events.length / ((performance.now() - started) / 1000);
}

console.log(describeRun(`npm run bench:ingest -- --rounds ${opts.rounds} --events ${opts.events}`));
console.log('\nbatch | api events/s (median) | kafkajs events/s (median) | ratio api/kafkajs | rounds');
console.log('----- | --------------------- | ------------------------- | ----------------- | ------');
for (const batch of [1, 100, 1000]) {
  const n = batch === 1 ? Math.max(100, Math.floor(opts.events / 10)) : opts.events;
  await viaApi(saleEvents(Math.min(n, 2000)), batch); // warm-up
  await viaKafkajs(saleEvents(Math.min(n, 2000)), batch);
  const api: number[] = [];
  const base: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < opts.rounds; round++) {
    const a = await viaApi(saleEvents(n), batch);
    const b = await viaKafkajs(saleEvents(n), batch);
    api.push(a);
    base.push(b);
    ratios.push(a / b);
    process.stderr.write(
      `  batch ${batch} round ${round + 1}/${opts.rounds}: api ${a.toFixed(0)}/s, kafkajs ${b.toFixed(0)}/s\n`,
    );
  }
  console.log(
    `${String(batch).padStart(5)} | ${median(api).toFixed(0).padStart(21)} | ${median(base).toFixed(0).padStart(25)} | ${median(ratios).toFixed(2).padStart(17)} | ${opts.rounds}`,
  );
}

await baseline.disconnect();
await service.close();
