/** Our fast murmur2 partitioner must place every key exactly where kafkajs' (Java-compatible) default does. */
import { randomBytes, randomUUID } from 'node:crypto';
import { keyHashPartitioner, murmur2 } from '@payment-manager/shared/kafka-client';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { expect, it } from 'vitest';

const metadata = (count: number): PartitionMetadata[] =>
  Array.from({ length: count }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    partitionErrorCode: 0,
    replicas: [1],
    isr: [1],
  }));

it('matches the Java client murmur2 on known vectors', () => {
  // Values from Kafka's UtilsTest / DefaultPartitionerTest.
  expect(murmur2(Buffer.from('21'))).toBe(-973932308);
  expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
  expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
  expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
  expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
  expect(murmur2(Buffer.from([97, 98, 99]))).toBe(479470107);
});

it('assigns the same partition as kafkajs DefaultPartitioner for any key and partition count', () => {
  const ours = keyHashPartitioner();
  const theirs = Partitioners.DefaultPartitioner();
  const keys = [
    ...Array.from({ length: 500 }, () => randomUUID()),
    ...Array.from({ length: 200 }, (_, i) => randomBytes(i % 37).toString('hex')),
    'ünïcödé-user-✓',
    '',
  ];
  for (const partitions of [1, 3, 4, 7, 12]) {
    for (const key of keys) {
      const args = { topic: 't', partitionMetadata: metadata(partitions), message: { key, value: 'v' } };
      expect(ours(args), `${key} over ${partitions}`).toBe(theirs(args));
    }
  }
});

it('keeps an explicit partition and round-robins keyless messages over available partitions', () => {
  const partition = keyHashPartitioner();
  const partitionMetadata = metadata(3);
  expect(partition({ topic: 't', partitionMetadata, message: { key: 'k', value: 'v', partition: 2 } })).toBe(2);
  const seen = new Set(
    Array.from({ length: 6 }, () => partition({ topic: 't', partitionMetadata, message: { value: 'v' } })),
  );
  expect([...seen].sort()).toEqual([0, 1, 2]);
});
