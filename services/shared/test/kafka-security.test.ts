/**
 * The Kafka connection settings every client of ours takes from the environment (readKafkaSecurity,
 * docs/kafka.md#security): what is accepted, what is a configuration error, and that the SCRAM password never
 * reaches a log line. Also the exact kafkajs pin the request-queue patch depends on. No broker needed: the
 * settings on a real SASL_SSL broker are services/api/test/kafka-secure.test.ts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/env.ts';
import { kafkajsSecurity, readKafkaSecurity } from '../src/kafka-client.ts';
import { assertPatchedKafkajsVersion, PATCHED_KAFKAJS_VERSION } from '../src/kafkajs-request-queue.ts';
import { loggerOptions } from '../src/observability/logger.ts';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const PASSWORD = 'scram-password-7f3a';
const scram = { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'payment-manager-api' };

function tempFile(name: string, content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pm-kafka-security-')), name);
  writeFileSync(file, content);
  return file;
}

describe('readKafkaSecurity', () => {
  it('is plaintext without any variable (development and tests)', () => {
    expect(readKafkaSecurity({})).toEqual({ tls: null, sasl: null });
    expect(kafkajsSecurity(readKafkaSecurity({}))).toEqual({});
  });

  it('reads TLS with a CA from a file or inline, and SCRAM with the password from a file or the variable', () => {
    const fromFiles = readKafkaSecurity({
      ...scram,
      KAFKA_SSL_CA_FILE: tempFile('ca.crt', CA),
      KAFKA_SASL_PASSWORD_FILE: tempFile('password', `${PASSWORD}\n`),
    });
    expect(kafkajsSecurity(fromFiles)).toEqual({
      ssl: { ca: [CA] },
      sasl: { mechanism: 'scram-sha-512', username: 'payment-manager-api', password: PASSWORD },
    });
    const inline = readKafkaSecurity({ ...scram, KAFKA_SSL_CA_PEM: CA, KAFKA_SASL_PASSWORD: PASSWORD });
    expect(kafkajsSecurity(inline).sasl).toEqual(kafkajsSecurity(fromFiles).sasl);
    expect(inline.tls?.ca?.trim()).toBe(CA.trim());
    // TLS with the system's roots (a managed Kafka with a public certificate).
    expect(kafkajsSecurity(readKafkaSecurity({ ...scram, KAFKA_SSL: 'true', KAFKA_SASL_PASSWORD: PASSWORD }))).toEqual({
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'payment-manager-api', password: PASSWORD },
    });
  });

  it.each([
    [{ ...scram, KAFKA_SASL_PASSWORD: PASSWORD }, /needs TLS/],
    [{ ...scram, KAFKA_SSL: 'true' }, /KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE is required/],
    [{ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SSL: 'true', KAFKA_SASL_PASSWORD: 'x' }, /KAFKA_SASL_USERNAME/],
    [{ ...scram, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SSL: 'true', KAFKA_SASL_PASSWORD: 'x' }, /must be one of/],
    [{ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }, /KAFKA_SASL_MECHANISM is not/],
    [{ KAFKA_SSL_CA_FILE: '/nonexistent/ca.crt' }, /cannot be read: ENOENT/],
    [{ KAFKA_SSL_CA_PEM: 'not a certificate' }, /holds no PEM certificate/],
    [{ KAFKA_SSL_CA_PEM: CA, KAFKA_SSL_CA_FILE: '/x' }, /not both/],
    [{ KAFKA_SSL_CA_PEM: CA, KAFKA_SSL: 'false' }, /contradicts/],
    [{ ...scram, KAFKA_SSL: 'true', KAFKA_SASL_PASSWORD: 'a', KAFKA_SASL_PASSWORD_FILE: '/x' }, /not both/],
  ])('refuses %j as a configuration error', (env, message) => {
    expect(() => readKafkaSecurity(env)).toThrow(ConfigError);
    expect(() => readKafkaSecurity(env)).toThrow(message);
  });

  it('never shows the password: not in JSON logs, not in inspect, not in a logged config', () => {
    const security = readKafkaSecurity({ ...scram, KAFKA_SSL_CA_PEM: CA, KAFKA_SASL_PASSWORD: PASSWORD });
    let written = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        written += chunk.toString();
        done();
      },
    });
    const logger = pino(loggerOptions({ level: 'info', service: 'test' }), sink);
    logger.info({ config: { kafka: { security } } }, 'config');
    logger.info({ env: { KAFKA_SASL_PASSWORD: PASSWORD } }, 'environment');
    expect(written).toContain('payment-manager-api');
    expect(written).not.toContain(PASSWORD);
    expect(inspect(security, { depth: 5 })).not.toContain(PASSWORD);
    expect(JSON.stringify(security)).not.toContain(PASSWORD);
  });
});

describe('kafkajs pin', () => {
  it('patches only the kafkajs release it was written for, with a message that says what to do', () => {
    expect(() => assertPatchedKafkajsVersion(PATCHED_KAFKAJS_VERSION)).not.toThrow();
    expect(() => assertPatchedKafkajsVersion('2.3.0')).toThrow(
      /kafkajs 2\.3\.0 is installed, but .*kafkajs-request-queue\.ts patches the internals of kafkajs 2\.2\.4: pin kafkajs to exactly "2\.2\.4"/,
    );
    expect(() => assertPatchedKafkajsVersion(undefined)).toThrow(/kafkajs \(unknown version\) is installed/);
  });

  it('is pinned exactly in every workspace that depends on kafkajs, and that version is installed', () => {
    const root = new URL('../../../', import.meta.url);
    const manifests = [
      'package.json',
      ...['api', 'ingest', 'shared', 'testkit'].map((w) => `services/${w}/package.json`),
    ];
    const pins = manifests
      .map((path) => [path, JSON.parse(readFileSync(new URL(path, root), 'utf8'))] as const)
      .map(([path, pkg]) => [path, pkg.dependencies?.kafkajs ?? pkg.devDependencies?.kafkajs] as const)
      .filter(([, range]) => range !== undefined);
    expect(pins.length).toBeGreaterThan(0);
    for (const [path, range] of pins) expect({ path, range }).toEqual({ path, range: PATCHED_KAFKAJS_VERSION });
    const installed = JSON.parse(readFileSync(new URL('node_modules/kafkajs/package.json', root), 'utf8'));
    expect(installed.version).toBe(PATCHED_KAFKAJS_VERSION);
  });
});
