/**
 * Every command-line tool of package.json answers `--help` with its options and exit code 0, and bad input with one
 * line naming the problem plus the --help hint and exit code 2 — never a stack trace (services/shared/src/cli.ts).
 * The tools run as `npm run` runs them; no services needed (each stops at the argument check).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SCRIPTS: Record<string, string> = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts;
/** npm scripts that run one TypeScript entry point: `[node require-node.mjs &&] node <file> [fixed args]`. */
const TOOLS = Object.entries(SCRIPTS)
  .map(([name, command]) => [name, /(?:^|&& )node (\S+\.ts)((?: [\w-]+)*)$/.exec(command)] as const)
  .filter((entry): entry is readonly [string, RegExpExecArray] => entry[1] !== null)
  .map(([name, match]) => ({
    name,
    entry: match[1] as string,
    fixedArgs: (match[2] ?? '').split(' ').filter(Boolean),
  }));

async function run(entry: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [entry, ...args], {
      cwd: ROOT,
      timeout: 90_000,
      // Without a terminal and with no broker or database configured, so nothing real can start by accident.
      env: { ...process.env, KAFKA_BROKERS: '', PG_URL: '', PM_DEBUG: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw err;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('command-line tools', () => {
  it('finds the tools of package.json', () => {
    expect(TOOLS.map((tool) => tool.name)).toEqual(
      expect.arrayContaining(['webhook:send', 'kafka:topics', 'dlq:replay', 'migrate', 'synth', 'chart', 'chaos']),
    );
    expect(TOOLS.map((tool) => tool.name)).toEqual(
      expect.arrayContaining(['fuzz', 'dev', 'dev:kafka', 'dev:http', 'cluster:check', 'bench:reads', 'bench:ingest']),
    );
  });

  // One tool at a time (its two runs in parallel): a tool needs seconds to load its modules on a busy two-core machine.
  it.each(TOOLS)(
    'npm run $name: --help prints usage and options (exit 0); an unknown option gives one line and the hint (exit 2)',
    async ({ name, entry, fixedArgs }) => {
      const [help, unknown] = await Promise.all([
        run(entry, [...fixedArgs, '--help']),
        run(entry, [...fixedArgs, '--no-such-option']),
      ]);
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^usage: npm run ${name} -- \\[options\\]`));
      expect(help.stdout).toMatch(/\n {2}-h, --help +print this help/);
      expect(unknown.code, unknown.stderr).toBe(2);
      expect(unknown.stderr).toMatch(
        /^[\w:-]+: Unknown option '--no-such-option'\n\(run with --help for the options\)\n$/,
      );
    },
    120_000,
  );
});
