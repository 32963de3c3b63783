/**
 * A configuration mistake stops every process the same way: before it does any work, with one line naming the
 * variable and its bad value, and exit code 2 (EXIT_USAGE, services/shared/src/cli.ts) — the services as the
 * container runs them, and the tools. A typo in a boolean is an error, never silently true or false.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Case {
  entry: string;
  args?: string[];
  env: Record<string, string>;
  names: string;
}

const CASES: Case[] = [
  { entry: 'services/api/src/main.ts', env: { PG_URL: '' }, names: 'PG_URL' },
  {
    entry: 'services/ingest/src/main.ts',
    env: { WEBHOOK_MODE: 'kafka', KAFKA_BROKERS: '127.0.0.1:9', KAFKA_IDEMPOTENT_PRODUCER: 'fals' },
    names: 'KAFKA_IDEMPOTENT_PRODUCER',
  },
  {
    entry: 'services/ingest/src/cli/dlq-replay.ts',
    args: ['--topic', 'webhooks.orders.dlq'],
    env: { KAFKA_BROKERS: '127.0.0.1:9', KAFKA_IDEMPOTENT_PRODUCER: 'fals' },
    names: 'KAFKA_IDEMPOTENT_PRODUCER',
  },
  { entry: 'services/ingest/src/cli/create-topics.ts', env: { KAFKA_BROKERS: '' }, names: 'KAFKA_BROKERS' },
  {
    entry: 'cdk8s/main.ts',
    env: { PM_PROVIDER_STUB: 'ture', CDK8S_OUTDIR: '/nonexistent' },
    names: 'PM_PROVIDER_STUB',
  },
  // Synthesis with synth-time secrets but without one (cdk8s/src/secrets.ts).
  {
    entry: 'cdk8s/main.ts',
    env: { PM_SECRETS: 'env', CDK8S_OUTDIR: '/nonexistent' },
    names: 'PM_SECRETS=env needs PM_WEBHOOK_SECRET',
  },
  { entry: 'services/api/src/migrate.ts', env: { PG_URL: '' }, names: 'PG_URL' },
  { entry: 'scripts/chaos.ts', env: { CHAOS_ORDERS: 'lots' }, names: 'CHAOS_ORDERS' },
];

async function run(entry: string, args: string[], env: Record<string, string>) {
  try {
    await promisify(execFile)(process.execPath, [entry, ...args], {
      cwd: ROOT,
      timeout: 90_000,
      env: { ...process.env, PM_DEBUG: '', ...env },
    });
    return { code: 0, stderr: '' };
  } catch (err) {
    const failed = err as { code?: number; stderr?: string };
    if (typeof failed.code !== 'number') throw err;
    return { code: failed.code, stderr: failed.stderr ?? '' };
  }
}

describe('configuration errors', () => {
  it.each(CASES)(
    '$entry with a bad $names exits 2 naming it, without a stack trace',
    async ({ entry, args = [], env, names }) => {
      const result = await run(entry, args, env);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(names);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    },
    120_000,
  );
});
