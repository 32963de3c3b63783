/**
 * One-shot migrations command (`npm run migrate`, the Kubernetes migrations Job).
 *
 *   node services/api/src/migrate.ts              apply every pending migration
 *   node services/api/src/migrate.ts --down [N]   revert the last N applied migrations (default 1; "all" = every one)
 *
 * Connects with PG_MIGRATION_URL — the schema owner's role (docs/data-tier.md#roles) — or, when unset, PG_URL
 * (postgres:// URL or libpq key=value string), waiting for PostgreSQL like the API does.
 * Exit codes: 0 done, 1 migration failed or PostgreSQL unreachable, 2 bad usage or configuration.
 */
import { EXIT_FAILURE, EXIT_USAGE, parseCli, UsageError, usageLine } from '@payment-manager/shared/cli';
import { envReader } from '@payment-manager/shared/env';
import { runMigrations } from './db/migrations.ts';
import { createPool, parsePgUrl, waitForDatabase } from './db/pool.ts';

interface Command {
  direction: 'up' | 'down';
  count?: number;
}

function parseCommand(): Command {
  const { values, positionals } = parseCli({
    command: 'npm run migrate --',
    summary:
      'Applies every pending migration, or with --down reverts the last N applied ones (default 1, "all" = every one).',
    options: { down: { type: 'boolean', description: 'revert instead of apply' } },
    positionals: '[N|all]   (with --down)',
    environment: {
      PG_MIGRATION_URL: "the schema owner's URL (postgres:// or libpq key=value); PG_URL when unset",
      PG_URL: 'postgres:// URL or libpq key=value string of the database; required without PG_MIGRATION_URL',
    },
    examples: ['PG_URL=postgres://postgres@127.0.0.1:5432/payments npm run migrate', 'npm run migrate -- --down 2'],
  });
  if (!values.down) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (a count needs --down)`);
    return { direction: 'up' };
  }
  if (positionals.length > 1) throw new UsageError(`--down takes one count, got "${positionals.join(' ')}"`);
  const [countArg] = positionals;
  if (countArg === undefined) return { direction: 'down', count: 1 };
  if (countArg === 'all') return { direction: 'down', count: Number.POSITIVE_INFINITY };
  if (!/^[1-9]\d*$/.test(countArg)) throw new UsageError(`--down takes a positive count or "all", got "${countArg}"`);
  return { direction: 'down', count: Number(countArg) };
}

/** Where we connect, for the log; never the password. */
function describeTarget(pgUrl: string): string {
  const { host, port, database, user } = parsePgUrl(pgUrl);
  return `${user ?? '(default user)'}@${host || 'localhost'}:${port || 5432}/${database ?? '(default database)'}`;
}

async function main(): Promise<number> {
  let command: Command;
  let target: string;
  const read = envReader(process.env);
  const pgUrl = read.maybe('PG_MIGRATION_URL') ?? read.maybe('PG_URL');
  try {
    command = parseCommand();
    if (!pgUrl) throw new UsageError('PG_URL is not set (e.g. PG_URL=postgres://postgres@127.0.0.1:5432/payments)');
    target = describeTarget(pgUrl);
  } catch (err) {
    console.error(usageLine('migrate', (err as Error).message));
    return EXIT_USAGE;
  }
  const what =
    command.direction === 'up'
      ? 'applying pending migrations'
      : `reverting ${command.count === Number.POSITIVE_INFINITY ? 'all' : command.count} migration(s)`;
  console.log(`migrate: ${what} on ${target}`);
  try {
    // As a Job or compose one-shot it may start before PostgreSQL accepts connections (docs/domain.md#start-up-and-shutdown retries).
    const probe = createPool({ pgUrl, max: 1, applicationName: 'payment-manager-migrations' });
    try {
      await waitForDatabase(probe);
    } finally {
      await probe.end();
    }
    await runMigrations({
      databaseUrl: pgUrl,
      direction: command.direction,
      count: command.count,
      log: (message) => console.log(message),
    });
  } catch (err) {
    console.error(`migrate: failed: ${(err as Error).message}`);
    return EXIT_FAILURE;
  }
  console.log('migrate: done');
  return 0;
}

process.exitCode = await main();
