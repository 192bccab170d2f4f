/**
 * `npm run migrate` creates missing Kafka topics and applies pending Postgres and ClickHouse migrations;
 * `npm run migrate -- status` lists applied and pending files. Exits non-zero on failure.
 */
import { Command, Option } from 'commander';
import { loadConfig } from '../config.js';
import { createClickHouse } from '../clients/clickhouse.js';
import { createPostgresPool } from '../clients/postgres.js';
import { createMigrators, MIGRATION_TARGETS, runMigrators, type MigrationTarget } from './migrators.js';
import { formatResults, type MigrationResult } from './results.js';

type Target = MigrationTarget;

async function run(action: 'migrate' | 'status', targets: Target[]): Promise<number> {
  const config = loadConfig();
  const pool = createPostgresPool(config, 2);
  // DDL can take long: ON CLUSTER answers once every server ran it (the server waits up to
  // distributed_ddl_task_timeout, 180 s), and 18.16 drops a Kafka table only after its consumer left.
  const client = createClickHouse(config, { request_timeout: 300_000 });
  let results: MigrationResult[];
  try {
    results = await runMigrators(createMigrators(config, { pool, clickhouse: client }), action, targets);
  } catch (err) {
    const sofar = (err as { results?: MigrationResult[] }).results ?? [];
    if (sofar.length > 0) console.log(formatResults(sofar));
    console.error(`migrate: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await pool.end();
    await client.close();
  }
  console.log(formatResults(results));
  const count = (status: MigrationResult['status']) => results.filter((r) => r.status === status).length;
  console.log(
    `${count('applied')} applied, ${count('skipped')} skipped, ${count('failed')} failed, ${count('pending')} pending`,
  );
  return count('failed') > 0 ? 1 : 0;
}

const only = new Option('--only <target>', 'kafka (topics), postgres or clickhouse').choices([
  'kafka',
  'postgres',
  'clickhouse',
]);
const targetsOf = (opts: { only?: Target }): Target[] => (opts.only ? [opts.only] : [...MIGRATION_TARGETS]);

const program = new Command('migrate').description('forward-only, checksummed migrations');
program
  .command('up', { isDefault: true })
  .description('apply pending migrations')
  .addOption(only)
  .action(async (opts: { only?: Target }) => {
    process.exitCode = await run('migrate', targetsOf(opts));
  });
program
  .command('status')
  .description('list applied and pending migrations')
  .addOption(only)
  .action(async (opts: { only?: Target }) => {
    process.exitCode = await run('status', targetsOf(opts));
  });
await program.parseAsync();
