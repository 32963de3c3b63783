/**
 * Commits processed offsets without making the next message of a partition wait for the broker round trip:
 * each handler marks its offset once its transaction committed, and one commit at a time carries the newest
 * marks of every partition. Only processed offsets are ever committed, so delivery stays at-least-once; a
 * mark that dies with the process is a redelivery, which provider_event_id deduplication absorbs (docs/kafka.md#delivery-semantics).
 */
import { withTimeout } from '@payment-manager/shared/resilience';
import type { Consumer } from 'kafkajs';

export interface OffsetCommitter {
  /** `offset` = the processed message's offset + 1 (Kafka's "next to read"). */
  mark(topic: string, partition: number, offset: string): void;
  /** Resolves once every mark made so far was committed (or its commit failed and was logged). */
  flush(): Promise<void>;
}

export function createOffsetCommitter(
  consumer: Pick<Consumer, 'commitOffsets'>,
  opts: {
    timeoutMs: number;
    onError(err: unknown, offsets: Array<{ topic: string; partition: number; offset: string }>): void;
  },
): OffsetCommitter {
  const marks = new Map<string, { topic: string; partition: number; offset: string }>();
  let inFlight: Promise<void> | null = null;

  function commitNext(): void {
    if (inFlight || marks.size === 0) return;
    const offsets = [...marks.values()];
    marks.clear();
    inFlight = withTimeout(consumer.commitOffsets(offsets), opts.timeoutMs, 'offset commit')
      .catch((err: unknown) => opts.onError(err, offsets))
      .finally(() => {
        inFlight = null;
        commitNext();
      });
  }

  return {
    mark(topic, partition, offset) {
      const key = `${topic}\u0000${partition}`;
      const previous = marks.get(key);
      // Per-partition order means marks only grow, but a redelivery after a rebalance must not move backwards.
      if (!previous || BigInt(offset) > BigInt(previous.offset)) marks.set(key, { topic, partition, offset });
      commitNext();
    },
    async flush() {
      while (inFlight || marks.size > 0) {
        commitNext();
        await inFlight;
      }
    },
  };
}
