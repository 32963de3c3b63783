/**
 * librdkafka's mock cluster started through kcat (real Kafka protocol, in memory; no CreateTopics, no idempotent
 * producer) for local dev runs and benchmarks when KAFKA_BROKERS is not set.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseBrokerList } from '../services/shared/src/kafka-client.ts';

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

/**
 * The brokers a benchmark should use: KAFKA_BROKERS when set, otherwise a mock cluster of its own (one log per
 * run, since the bootstrap list is read from it; it goes with the cluster).
 * The mock has no idempotent producer, so it is turned off for it.
 */
export async function benchBrokers(
  env: Record<string, string | undefined>,
  { stops, say }: { stops: Array<() => unknown>; say(message: string): void },
): Promise<{ brokers: string; idempotent: string }> {
  if (parseBrokerList(env.KAFKA_BROKERS).length > 0) {
    return { brokers: env.KAFKA_BROKERS as string, idempotent: env.KAFKA_IDEMPOTENT_PRODUCER ?? 'true' };
  }
  const logFile = fileURLToPath(new URL(`../.data/bench-kafka-mock.${process.pid}.log`, import.meta.url));
  const cluster = await startKcatMockCluster(logFile);
  stops.push(() => rmSync(logFile, { force: true }), cluster.stop);
  say(`KAFKA_BROKERS not set: librdkafka mock cluster at ${cluster.brokers} (idempotent producer off)`);
  return { brokers: cluster.brokers, idempotent: 'false' };
}
