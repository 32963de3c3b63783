/**
 * The restore drill (`npm run drill:restore`, docs/data-tier.md#backups-and-the-restore-drill) for real: WAL archived
 * with barman-cloud-wal-archive to an S3-compatible store, a barman-cloud-backup, a point-in-time restore with
 * barman-cloud-restore + barman-cloud-wal-restore into a new data directory; the rows before the target are there,
 * those after it are not. The same tooling CloudNativePG's Barman Cloud plugin runs.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const missing = !existsSync('/usr/lib/postgresql/15/bin/initdb')
  ? 'PostgreSQL 15 server binaries are missing (scripts/system-packages.sh installs postgresql-15)'
  : process.getuid?.() !== 0
    ? 'needs root: the drill runs PostgreSQL as the postgres user (CI and scripts/test-all.sh run as root)'
    : null;
// CI has both; there a missing one is a failure, not a skip.
const skip = missing !== null && process.env.CI !== 'true';

describe.skipIf(skip)(`restore drill${skip ? ` [skipped: ${missing}]` : ''}`, () => {
  it('recovers a new server to the target time: rows before it present, rows after it absent', async () => {
    if (missing) throw new Error(missing);
    const { stdout } = await promisify(execFile)('bash', [path.join(ROOT, 'scripts/restore-drill.sh')], {
      cwd: ROOT,
      // Under a minute on two busy cores (≈40 s measured); the first run also installs the virtualenv.
      timeout: 300_000,
    });
    const line = stdout.trim().split('\n').at(-1) ?? '';
    console.log(line);
    const counts = /^restore drill: OK base=(\d+)\/(\d+) before-target=(\d+)\/(\d+) after-target=(\d+)\/0 /.exec(line);
    expect(counts, stdout).not.toBeNull();
    const [, base, baseWant, before, beforeWant, after] = (counts as RegExpExecArray).map(Number);
    expect(base).toBe(baseWant);
    expect(before).toBe(beforeWant);
    expect(before).toBeGreaterThan(0);
    expect(after).toBe(0);
  }, 320_000);
});
