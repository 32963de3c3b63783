/** What every benchmark needs around its measurement: child processes that cannot outlive it, checked options. */
import type { ChildProcess } from 'node:child_process';
import { failUsage } from '@payment-manager/shared/cli';
import pg from 'pg';

/** Child processes of a benchmark, killed however the benchmark ends (normal exit, error, Ctrl-C or a timeout). */
export function childrenKilledOnExit(): ChildProcess[] {
  const children: ChildProcess[] = [];
  // 'exit' handlers run synchronously, so kill() is all that can happen there; signals are turned into an exit.
  process.once('exit', () => {
    for (const child of children) child.kill();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  return children;
}

/**
 * A numeric command-line option: `--name value` must be a whole number of at least `min`. A typo ends the
 * benchmark at once with the option's name instead of a run that measures nothing.
 */
export function wholeNumberOption(name: string, value: string | undefined, min: number): number {
  const parsed = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isInteger(parsed) || parsed < min) {
    failUsage('bench', `--${name} must be a whole number ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

/** The PostgreSQL server a benchmark creates its databases on: PM_BENCH_PG_URL, else PM_TEST_PG_URL, else local. */
export function benchPostgres(env: Record<string, string | undefined> = process.env) {
  const adminUrl = env.PM_BENCH_PG_URL ?? env.PM_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  return {
    adminUrl,
    /** The admin URL pointed at database `name`. */
    urlFor(name: string): string {
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    /** One statement on the admin connection (CREATE/DROP DATABASE). */
    async admin(sql: string): Promise<void> {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    },
  };
}
