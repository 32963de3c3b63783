import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TopicNames } from '@payment-manager/testkit/kafka';

/** The API's consumers as a process of their own (./consumer-process.ts, production group timeouts), to SIGKILL. */
export function spawnConsumerProcess(opts: {
  databaseUrl: string;
  brokers: string[];
  topics: TopicNames;
  groups: { orders: string; disputes: string };
  /** Smaller transactions than production's, so a kill lands between two of them (default: production's). */
  maxWebhooksPerTransaction?: number;
}): ChildProcess {
  const { databaseUrl, brokers, topics, groups, maxWebhooksPerTransaction } = opts;
  return spawn(process.execPath, [fileURLToPath(new URL('./consumer-process.ts', import.meta.url))], {
    env: {
      ...process.env,
      PM_CONSUMER_SETTINGS: JSON.stringify({
        databaseUrl,
        brokers,
        maxWebhooksPerTransaction,
        kafka: {
          brokers,
          ordersTopic: topics.orders,
          disputesTopic: topics.disputes,
          ordersDlqTopic: topics.ordersDlq,
          disputesDlqTopic: topics.disputesDlq,
          ordersConsumerGroup: groups.orders,
          disputesConsumerGroup: groups.disputes,
        },
      }),
    },
    stdio: 'ignore',
  });
}
