/**
 * librdkafka's mock cluster started through kcat (real Kafka protocol, in memory; no CreateTopics, no idempotent
 * producer), for dev runs and benchmarks that ask for it (`--mock`, `--broker mock`).
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface MockCluster {
  brokers: string;
  stop(): void;
  /** Process group of the mock (kcat and its feeder): SIGSTOP/SIGCONT freeze and thaw every broker at once. */
  processGroup: number;
}

export async function startKcatMockCluster(logFile: string, brokers = 3): Promise<MockCluster> {
  mkdirSync(dirname(logFile), { recursive: true });
  // `sleep | kcat -P` keeps the producer (and with it the mock cluster) alive until the group is killed. No `-d mock`:
  // the notice line already names the bootstrap list, and debug logging would cost CPU the benchmarks measure.
  const mock = spawn(
    'sh',
    ['-c', `sleep 1000000 | exec kcat -b x:1 -X test.mock.num.brokers=${brokers} -P -t keepalive 2>'${logFile}'`],
    { stdio: 'ignore', detached: true },
  );
  const stop = () => {
    try {
      if (mock.pid && mock.exitCode === null) process.kill(-mock.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  };
  // The cluster must not outlive whoever started it, however that process ends.
  process.once('exit', stop);
  for (let i = 0; i < 50; i++) {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    const match = /replaced with (\S+)/.exec(log);
    if (match?.[1]) return { brokers: match[1], stop, processGroup: mock.pid as number };
    if (mock.exitCode !== null) break;
    await sleep(100);
  }
  stop();
  throw new Error(`kcat mock cluster did not start (is kcat installed? see ${logFile})`);
}
