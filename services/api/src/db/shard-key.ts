/**
 * The distribution column of every domain table (docs/data-tier.md): a 32-bit hash of the order id, the same
 * value as SQL's `public.order_shard_key(order_id)`. All rows of one order — its events, its dispute, the
 * dispute's events and evidence — carry it, so on Citus they share one shard and every statement that names
 * it is routed to that shard alone.
 */
import { createHash, randomUUID } from 'node:crypto';

function md5(text: string): Buffer {
  return createHash('md5').update(text, 'utf8').digest();
}

export function orderShardKey(orderId: string): number {
  return md5(orderId).readInt32BE(0);
}

/** The shard keys of several orders, without repeats (for `shard_key = ANY(...)` filters). */
export function orderShardKeys(orderIds: readonly string[]): number[] {
  return [...new Set(orderIds.map(orderShardKey))];
}

/**
 * A UUID v4 for a new dispute whose first 32 bits are its order's shard key, so a request that only knows the
 * dispute id still reaches the right shard. The remaining 90 bits are random; version and variant bits stay v4.
 */
export function newDisputeId(orderId: string): string {
  return `${md5(orderId).subarray(0, 4).toString('hex')}${randomUUID().slice(8)}`;
}

/**
 * The shard key a dispute id points at (its first 32 bits), or null when the id has no such prefix. Disputes
 * created before shard keys existed have random ids: callers fall back to a lookup by id alone.
 */
export function disputeShardKeyHint(disputeId: string): number | null {
  const prefix = /^([0-9a-f]{8})-/.exec(disputeId)?.[1];
  return prefix === undefined ? null : Buffer.from(prefix, 'hex').readInt32BE(0);
}
