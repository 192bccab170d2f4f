/**
 * `npm run kafka -- skip-poison --table <table> [--dry-run]`: moves a ClickHouse Kafka table
 * past records it cannot read (src/operations/poison-skip.ts): quarantines them in
 * `rejected_events` and advances the table's consumer group past them, losing nothing else.
 * Uses the same settings as the service (CLICKHOUSE_*, KAFKA_*). Exits 1 when it fails.
 *
 * `npm run kafka -- replay [--minutes 10] [--table <table>]`: publishes the last minutes of the
 * deduplicated topics again, after filling the dedup sets from the raw tables, so that what
 * ClickHouse consumed but never wrote is counted and nothing twice: the recovery after
 * ClickHouse stopped uncleanly (docs/operations.md). Run it once ClickHouse is back. For
 * `ticket_sales` it first gives the views the passes the stop cut between two of their writes
 * (src/operations/cut-pass-repair.ts), from a minute before those minutes on.
 *
 * @example npm run kafka -- skip-poison --table ticket_sales
 * @example npm run kafka -- replay --minutes 10
 */
import { Command } from 'commander';
import Table from 'cli-table3';
import { loadConfig } from '../src/config.js';
import { createClickHouse } from '../src/clients/clickhouse.js';
import { createKafka } from '../src/clients/kafka.js';
import { DEDUPLICATED_STREAMS } from '../src/kafka/topology.js';
import { createCutPassRepair, type CutPassReport } from '../src/operations/cut-pass-repair.js';
import { createPoisonSkip, KAFKA_TABLE_NAMES } from '../src/operations/poison-skip.js';

const config = loadConfig();

function tools(name: string) {
  const clickhouse = createClickHouse(config);
  const started = Date.now();
  const log = (line: string) =>
    console.log(`[${name} ${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`);
  const database = config.CLICKHOUSE_DATABASE;
  const skipper = createPoisonSkip({
    kafka: createKafka(config),
    clickhouse,
    database,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    log,
  });
  return { clickhouse, skipper, cutPasses: createCutPassRepair({ clickhouse, database, log }) };
}

/** One line per cut pass, then one per view: what it had and what was done. */
function printCutPasses(report: CutPassReport): void {
  console.log(`${report.table}: ${report.passes.length} passes cut between their writes`);
  for (const pass of report.passes) {
    console.log(`  pass ingested ${pass.ingestedAt.toISOString()}, ${pass.size} ids:`);
    for (const v of pass.views) {
      if (v.kind === 'had') console.log(`    ${v.view}: had it (${v.detail})`);
      else if (v.kind === 'repaired')
        console.log(`    ${v.view}: missed it (${v.detail}); ${v.rows} rows given`);
      else console.log(`    ${v.view}: LEFT ALONE, ${v.reason}`);
    }
  }
}

async function replay(opts: { minutes: string; table?: string }): Promise<void> {
  const minutes = Number(opts.minutes);
  if (!Number.isFinite(minutes) || minutes <= 0)
    throw new Error(`--minutes must be a positive number, not '${opts.minutes}'`);
  const tables = opts.table === undefined ? DEDUPLICATED_STREAMS : [opts.table];
  const { clickhouse, skipper, cutPasses } = tools('replay');
  const fromMs = Date.now() - minutes * 60_000;
  try {
    // Before step 1: once the raw ids are back in the dedup sets, a cut pass's copies are dropped.
    if (tables.includes('ticket_sales')) printCutPasses(await cutPasses.repair({ sinceMs: fromMs - 60_000 }));
    for (const table of tables) {
      const report = await skipper.replay(table, fromMs);
      const messages = report.republished.reduce((sum, p) => sum + p.messages, 0);
      console.log(
        `${report.table} (${report.topic}): ${report.remembered} ids remembered, ` +
          (messages > 0
            ? `${messages} messages published again (${report.republished.map((p) => `p${p.partition} ${p.from}..${BigInt(p.to) - 1n}`).join(', ')})`
            : 'nothing to read again'),
      );
    }
  } finally {
    await clickhouse.close();
  }
}

async function skipPoison(opts: { table: string; dryRun?: boolean }): Promise<void> {
  const { clickhouse, skipper } = tools('skip-poison');
  try {
    const report = await skipper.skip(opts.table, { dryRun: opts.dryRun === true });
    const table = new Table({
      head: ['partition', 'offset', 'error', 'record'],
      style: { head: [], border: [] },
    });
    for (const p of report.poison) {
      table.push([p.partition, p.offset, p.error.slice(0, 80), p.raw.slice(0, 60)]);
    }
    if (report.poison.length > 0) console.log(table.toString());
    const verb = opts.dryRun ? 'would quarantine' : 'quarantined';
    console.log(
      `${report.table} (${report.topic}): ${report.scanned} records behind, ${verb} ${report.poison.length}, ` +
        `${opts.dryRun ? 'would republish' : 'republished'} ${report.republished}; ` +
        (report.moved.map((m) => `p${m.partition} ${m.from} -> ${m.to}`).join(', ') || 'no offset moved'),
    );
  } finally {
    await clickhouse.close();
  }
}

const program = new Command('kafka').description("operations on ClickHouse's Kafka tables");
program
  .command('skip-poison')
  .description('quarantine the records a Kafka table cannot read and move its consumer group past them')
  .requiredOption('--table <table>', `the Kafka table: ${KAFKA_TABLE_NAMES.join(', ')}`)
  .option('--dry-run', 'only find and print them (does not stop the table)')
  .action(skipPoison);
program
  .command('replay')
  .description(
    "publish the last minutes of the deduplicated topics again, each id counted once, after giving ticket_sales' views the passes cut between their writes (after an unclean ClickHouse stop)",
  )
  .option('--minutes <minutes>', 'how far back', '10')
  .option('--table <table>', `only this table: ${DEDUPLICATED_STREAMS.join(', ')}`)
  .action(replay);

try {
  await program.parseAsync();
} catch (err) {
  console.error(`[kafka] ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
