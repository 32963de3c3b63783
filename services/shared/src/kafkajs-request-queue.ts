/**
 * kafkajs 2.2.4 (its last release) schedules a check of its request queue with `setTimeout(fn, throttledUntil -
 * Date.now())`; `throttledUntil` starts at -1, so on the first request of every connection the delay is about minus
 * the current epoch time. Node 24 then prints "TimeoutNegativeWarning: -17… is a negative number" on every start
 * (tulios/kafkajs#1751; the fix, tulios/kafkajs#1755, was never released). Node already treats the delay as 1 ms, so
 * this replacement keeps kafkajs' behaviour exactly and only passes a delay that is never below 1 ms.
 * Imported for its effect by kafka-client.ts, which every Kafka client of ours is made by.
 */
import { createRequire } from 'node:module';

/** kafkajs' own constant (src/network/requestQueue/index.js): how soon a throttled, non-empty queue is re-checked. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

interface RequestQueueInternals {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/**
 * The one kafkajs release whose internals this module replaces; every package.json pins kafkajs to it exactly. An
 * upgrade must re-read src/network/requestQueue/index.js and change this constant together with the pins.
 */
export const PATCHED_KAFKAJS_VERSION = '2.2.4';

/** Throws before anything is patched when the installed kafkajs is not the release this patch was written for. */
export function assertPatchedKafkajsVersion(installed: string | undefined): void {
  if (installed !== PATCHED_KAFKAJS_VERSION) {
    throw new Error(
      `kafkajs ${installed ?? '(unknown version)'} is installed, but services/shared/src/kafkajs-request-queue.ts ` +
        `patches the internals of kafkajs ${PATCHED_KAFKAJS_VERSION}: pin kafkajs to exactly ` +
        `"${PATCHED_KAFKAJS_VERSION}" (npm install kafkajs@${PATCHED_KAFKAJS_VERSION} --save-exact) or review the patch for the new version`,
    );
  }
}

const require = createRequire(import.meta.url);
assertPatchedKafkajsVersion((require('kafkajs/package.json') as { version?: string }).version);
const RequestQueue: { prototype: RequestQueueInternals } = require('kafkajs/src/network/requestQueue/index.js');

RequestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(
  this: RequestQueueInternals,
) {
  let scheduleAt = this.throttledUntil - Date.now();
  if (!this.throttleCheckTimeoutId) {
    if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL_MS;
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      Math.max(1, scheduleAt),
    );
  }
};
