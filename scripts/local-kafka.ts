/**
 * A broker for local runs (dev:kafka, benchmarks) when KAFKA_BROKERS is not set: real Apache Kafka through
 * scripts/kafka.sh (one KRaft node, cached jars), or librdkafka's mock cluster (kcat) when asked for.
 */
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ensureTopics } from '../services/ingest/src/kafka/topics.ts';
import { createKafkaClient, parseBrokerList } from '../services/shared/src/kafka-client.ts';
import { startKcatMockCluster } from './kafka-mock.ts';

const KAFKA_SCRIPT = fileURLToPath(new URL('./kafka.sh', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

export type BrokerKind = 'real' | 'mock';

export function brokerKind(value: string | undefined): BrokerKind {
  if (value === undefined || value === 'real' || value === 'mock') return value ?? 'real';
  throw new Error(`--broker must be "real" or "mock", got "${value}"`);
}

function kafkaScript(args: string[], say: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [KAFKA_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    // The script's progress lines (download, formatting, waiting) are what a user wants to see while it starts.
    child.stderr.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) say(line.trim());
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(stdout.trim()) : reject(new Error(`scripts/kafka.sh ${args[0]} exited with ${code}`)),
    );
  });
}

export interface LocalKafka {
  brokers: string;
  /** Fault injection on one node (scripts/kafka.sh node ACTION ID). */
  node(action: 'stop' | 'kill' | 'start' | 'freeze' | 'thaw', id: number): Promise<void>;
  stop(): Promise<void>;
}

/** A real KRaft cluster of 1 or 3 nodes in `dir` (fresh each time); `stop` ends it and removes its data. */
export async function startLocalKafka(dir: string, say: (line: string) => void, nodes: 1 | 3 = 1): Promise<LocalKafka> {
  const brokers = await kafkaScript(['start', '--nodes', String(nodes), '--dir', dir], say);
  let stopped = false;
  // The JVMs run in sessions of their own: they must not outlive whoever started them, however that process ends.
  const stopNow = () => {
    if (!stopped) spawnSync('bash', [KAFKA_SCRIPT, 'stop', '--dir', dir], { stdio: 'ignore' });
    stopped = true;
  };
  process.once('exit', stopNow);
  return {
    brokers,
    node: async (action, id) => void (await kafkaScript(['node', action, String(id), '--dir', dir], say)),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', stopNow);
      await kafkaScript(['stop', '--dir', dir], say).catch(() => {});
    },
  };
}

/**
 * The brokers a local run should use: KAFKA_BROKERS when set, otherwise a broker of its own (real by default).
 * The mock has no idempotent producer, so that switch is turned off for it only.
 */
export async function localBrokers(
  env: Record<string, string | undefined>,
  opts: { kind: BrokerKind; name: string; stops: Array<() => unknown>; say(message: string): void },
): Promise<{ brokers: string; idempotent: string }> {
  if (parseBrokerList(env.KAFKA_BROKERS).length > 0) {
    return { brokers: env.KAFKA_BROKERS as string, idempotent: env.KAFKA_IDEMPOTENT_PRODUCER ?? 'true' };
  }
  if (opts.kind === 'mock') {
    // One log per run, since the bootstrap list is read from it; it goes with the cluster.
    const logFile = `${ROOT}.data/${opts.name}-kafka-mock.${process.pid}.log`;
    const cluster = await startKcatMockCluster(logFile);
    opts.stops.push(() => rmSync(logFile, { force: true }), cluster.stop);
    opts.say(`KAFKA_BROKERS not set: librdkafka mock cluster at ${cluster.brokers} (idempotent producer off)`);
    return { brokers: cluster.brokers, idempotent: 'false' };
  }
  opts.say('KAFKA_BROKERS not set: starting a local Apache Kafka node (scripts/kafka.sh)');
  const kafka = await startLocalKafka(`${ROOT}.data/${opts.name}-kafka.${process.pid}`, opts.say);
  opts.stops.push(kafka.stop);
  opts.say(`Apache Kafka at ${kafka.brokers}`);
  return { brokers: kafka.brokers, idempotent: env.KAFKA_IDEMPOTENT_PRODUCER ?? 'true' };
}

/** Creates topics through the project's own topic code (brokers here do not auto-create them). */
export async function provisionTopics(brokers: string, topics: string[], numPartitions = 3): Promise<void> {
  const kafka = createKafkaClient({ clientId: 'local-topics', brokers: parseBrokerList(brokers) });
  await ensureTopics(
    kafka,
    topics.map((topic) => ({ topic, numPartitions })),
  );
}
