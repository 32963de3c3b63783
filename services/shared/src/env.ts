/**
 * Typed readers for environment variables. Every failure names the variable and shows the bad value, so a
 * misconfigured process stops before listening with an actionable message (README.md#configuration).
 */
import { parseGoDuration } from './duration.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type Env = Record<string, string | undefined>;

/** A comma-separated list (KAFKA_BROKERS, …): items trimmed, blanks dropped. */
export function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

export function envReader(env: Env) {
  const optional = (name: string, fallback: string): string => {
    const value = env[name]?.trim();
    return value ? value : fallback;
  };
  const absoluteUrl = (name: string, raw: string): string => {
    try {
      new URL(raw);
    } catch {
      throw new ConfigError(`${name} must be an absolute URL, got "${raw}"`);
    }
    return raw.replace(/\/+$/, '');
  };
  return {
    optional,
    /** Unset or blank → undefined. */
    maybe(name: string): string | undefined {
      return env[name]?.trim() || undefined;
    },
    required(name: string): string {
      const value = env[name]?.trim();
      if (!value) throw new ConfigError(`${name} is required but not set`);
      return value;
    },
    integer(name: string, fallback: number, min: number, max: number): number {
      const raw = optional(name, String(fallback));
      const value = Number(raw);
      if (!Number.isInteger(value) || value < min || value > max) {
        throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
      }
      return value;
    },
    /** A positive Go duration, in milliseconds. */
    duration(name: string, fallback: string): number {
      const raw = optional(name, fallback);
      let ms: number;
      try {
        ms = parseGoDuration(raw);
      } catch (err) {
        throw new ConfigError(
          `${name} must be a Go duration such as 100ms, 10s or 1m30s, got "${raw}" (${(err as Error).message})`,
        );
      }
      if (ms <= 0) throw new ConfigError(`${name} must be positive, got "${raw}"`);
      return ms;
    },
    oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
      const raw = optional(name, fallback);
      if (!(allowed as readonly string[]).includes(raw)) {
        throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
      }
      return raw as T;
    },
    boolean(name: string, fallback: boolean): boolean {
      const raw = optional(name, String(fallback)).toLowerCase();
      if (['true', '1', 'yes'].includes(raw)) return true;
      if (['false', '0', 'no'].includes(raw)) return false;
      throw new ConfigError(`${name} must be true or false, got "${raw}"`);
    },
    /** Comma-separated list, blanks dropped. */
    list(name: string): string[] {
      return splitList(env[name]);
    },
    requiredUrl(name: string): string {
      const raw = env[name]?.trim();
      if (!raw) throw new ConfigError(`${name} is required but not set`);
      return absoluteUrl(name, raw);
    },
    url(name: string, fallback: string): string {
      return absoluteUrl(name, optional(name, fallback));
    },
    /** WEBHOOK_MODE and KAFKA_BROKERS, which kafka mode requires. */
    webhookTransport<T extends string>(fallback: T, modes: readonly T[]): { webhookMode: T; brokers: string[] } {
      const webhookMode = this.oneOf('WEBHOOK_MODE', fallback, modes);
      const brokers = this.list('KAFKA_BROKERS');
      if (webhookMode === 'kafka' && brokers.length === 0) {
        throw new ConfigError('KAFKA_BROKERS is required when WEBHOOK_MODE=kafka (e.g. localhost:9092)');
      }
      return { webhookMode, brokers };
    },
  };
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
