/**
 * Lag-aware routing of plain reads to a streaming replica (PG_REPLICA_URL, docs/data-tier.md).
 *
 * Staleness is measured without trusting any clock but ours: every check records the primary's WAL position with
 * the time just before asking, then asks the replica how far it has replayed. The replica holds everything the
 * primary had at the newest recorded time whose position it has replayed, so it is at most `now - that time`
 * behind. Reads go to the replica only while that bound is within `maxLagMs` and the replica answers; otherwise,
 * and for any read the replica fails, they go to the primary — the caller never sees the replica's trouble.
 */
import { metricsRegistry } from '@payment-manager/shared/observability';
import type pg from 'pg';
import { Counter, Gauge } from 'prom-client';
import type { Queryable } from './pool.ts';

export const replicaLagSeconds = new Gauge({
  name: 'dpm_pg_replica_lag_seconds',
  help: 'Upper bound of how far the read replica is behind the primary (seconds); -1 while it is unreachable.',
  registers: [metricsRegistry],
});

export const readsByPool = new Counter({
  name: 'dpm_pg_reads_total',
  help: 'Plain reads (GET endpoints) by the pool that served them: replica or primary.',
  labelNames: ['pool'] as const,
  registers: [metricsRegistry],
});

/** `X/Y` (hex) → a comparable number of bytes. */
function lsnToBigInt(lsn: string): bigint {
  const [high = '0', low = '0'] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

export interface ReplicaReadsOptions {
  primary: pg.Pool;
  replica: pg.Pool;
  /** Reads go to the primary while the replica may be further behind than this. */
  maxLagMs: number;
  /** How often lag is measured; default a quarter of maxLagMs, between 50 ms and 1 s. */
  checkIntervalMs?: number;
  log?: (message: string) => void;
}

export type ReadPool = 'replica' | 'primary';

export class ReplicaReads implements Queryable {
  readonly replica: pg.Pool;
  private readonly primary: pg.Pool;
  private readonly maxLagMs: number;
  private readonly checkIntervalMs: number;
  private readonly log: (message: string) => void;
  /** Primary WAL positions not yet known to be replayed, oldest first. */
  private samples: Array<{ at: number; lsn: bigint }> = [];
  /** When the primary was last at a position the replica has replayed; null until the first check succeeds. */
  private replayedUpTo: number | null = null;
  private reachable = false;
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private lastServed: ReadPool | null = null;

  constructor(options: ReplicaReadsOptions) {
    this.primary = options.primary;
    this.replica = options.replica;
    this.maxLagMs = options.maxLagMs;
    this.checkIntervalMs = options.checkIntervalMs ?? Math.min(1_000, Math.max(50, options.maxLagMs / 4));
    this.log = options.log ?? (() => {});
  }

  /** Measures now, then every checkIntervalMs; the timer never keeps the process alive. */
  start(): this {
    void this.check();
    this.timer = setInterval(() => void this.check(), this.checkIntervalMs);
    this.timer.unref();
    return this;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checking;
  }

  /** Upper bound of the replica's staleness in ms, or null while it is unreachable or not yet measured. */
  lagMs(): number | null {
    if (!this.reachable || this.replayedUpTo === null) return null;
    return Math.max(0, Date.now() - this.replayedUpTo);
  }

  /** Where the next read goes. */
  target(): ReadPool {
    const lag = this.lagMs();
    return lag !== null && lag <= this.maxLagMs ? 'replica' : 'primary';
  }

  // biome-ignore lint/suspicious/noExplicitAny: the same row typing as pg's own query()
  async query<R extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.target() === 'replica') {
      try {
        const result = await this.replica.query<R>(text, values);
        this.served('replica');
        return result;
      } catch (err) {
        // A read is safe to repeat: whatever went wrong on the replica, the primary answers this one.
        if (!(err as { code?: string }).code || /^(08|57P)/.test((err as { code: string }).code)) {
          this.markUnreachable(err as Error);
        }
      }
    }
    const result = await this.primary.query<R>(text, values);
    this.served('primary');
    return result;
  }

  /** One measurement; concurrent callers share it. Exposed for tests that cannot wait for the timer. */
  check(): Promise<void> {
    this.checking ??= this.measure().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async measure(): Promise<void> {
    const at = Date.now();
    try {
      const { rows } = await this.primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      this.samples.push({ at, lsn: lsnToBigInt(rows[0]?.lsn ?? '0/0') });
      // A replica stuck for hours must not grow this without bound; the oldest samples decide the bound anyway.
      if (this.samples.length > 10_000) this.samples.splice(1, this.samples.length - 10_000);
    } catch {
      // Without the primary's position this round proves nothing; the bound keeps growing until the next one.
    }
    let replayed: bigint | null;
    try {
      const { rows } = await this.replica.query<{ lsn: string | null; recovering: boolean }>(
        'SELECT pg_last_wal_replay_lsn()::text AS lsn, pg_is_in_recovery() AS recovering',
      );
      const row = rows[0];
      // Not in recovery: PG_REPLICA_URL names a primary (e.g. after a promotion), which is never behind.
      replayed = row?.recovering === false ? null : lsnToBigInt(row?.lsn ?? '0/0');
    } catch (err) {
      this.markUnreachable(err as Error);
      return;
    }
    if (!this.reachable) this.log('read replica reachable: plain reads may use it again');
    this.reachable = true;
    const covered = this.samples.filter((sample) => replayed === null || sample.lsn <= replayed);
    const newest = covered.at(-1);
    if (newest) {
      this.replayedUpTo = Math.max(this.replayedUpTo ?? 0, newest.at);
      this.samples = this.samples.filter((sample) => sample.at > newest.at);
    }
    const lag = this.lagMs();
    replicaLagSeconds.set(lag === null ? -1 : lag / 1000);
  }

  private markUnreachable(err: Error): void {
    if (this.reachable) this.log(`read replica unreachable, reads go to the primary: ${err.message}`);
    this.reachable = false;
    replicaLagSeconds.set(-1);
  }

  private served(pool: ReadPool): void {
    readsByPool.inc({ pool });
    if (pool !== this.lastServed) this.log(`plain reads now served by the ${pool}`);
    this.lastServed = pool;
  }
}
