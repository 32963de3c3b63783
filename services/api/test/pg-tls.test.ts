/**
 * `sslmode=verify-full` against a real PostgreSQL 15 with ssl=on (docs/data-tier.md#tls): a CA and a server
 * certificate for `localhost` are made here with openssl, as CloudNativePG makes `<cluster>-ca` and a server
 * certificate for the `-rw`/`-ro` service names. The API's own pool and migration runner connect with the CA; a
 * wrong CA, a host name the certificate does not carry, and a connection without TLS are refused.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@payment-manager/shared/net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../src/db/migrations.ts';
import { createPool } from '../src/db/pool.ts';

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid?.() === 0;
const unavailable = !existsSync(`${PG_BIN}/initdb`)
  ? `PostgreSQL 15 server binaries missing in ${PG_BIN} (scripts/system-packages.sh installs postgresql-15)`
  : !asRoot
    ? 'needs root to run a throw-away PostgreSQL as the postgres user (CI and scripts/test-all.sh run as root)'
    : null;

/** Runs a PostgreSQL binary as the postgres system user (initdb refuses root). */
const asPostgres = (binary: string, args: string[]) => run('runuser', ['-u', 'postgres', '--', binary, ...args]);

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

/** A CA and a leaf certificate for `names` signed by it (the shape of CloudNativePG's CA and server certificate). */
async function makeCertificates(dir: string, caName: string, names: string[]): Promise<void> {
  await openssl(
    dir,
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
      '-keyout',
      `${caName}.key`,
      '-out',
      `${caName}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=${caName}`,
    ]),
  );
  writeFileSync(join(dir, 'server.ext'), `subjectAltName=${names.map((name) => `DNS:${name}`).join(',')}\n`);
  await openssl(
    dir,
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      `/CN=${names[0]}`,
    ]),
  );
  await openssl(
    dir,
    ['x509', '-req', '-in', 'server.csr', '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`].concat([
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '2',
      '-extfile',
      'server.ext',
    ]),
  );
}

describe.skipIf(unavailable !== null)(
  `PostgreSQL over TLS with verify-full${unavailable ? ` [skipped: ${unavailable}]` : ''}`,
  () => {
    let dir = '';
    let port = 0;
    let ca = '';
    let otherCa = '';
    const url = (host: string, rootCert: string) =>
      `postgres://postgres@${host}:${port}/postgres?sslmode=verify-full&sslrootcert=${encodeURIComponent(rootCert)}`;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'pm-pg-tls-'));
      const certs = join(dir, 'certs');
      await run('mkdir', ['-p', certs, join(dir, 'other')]);
      await makeCertificates(certs, 'ca', ['localhost']);
      // A CA of the same shape that did not sign the server's certificate.
      await openssl(
        join(dir, 'other'),
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'].concat([
          '-nodes',
          '-keyout',
          'ca.key',
          '-out',
          'ca.crt',
          '-days',
          '2',
          '-subj',
          '/CN=ca',
        ]),
      );
      ca = join(certs, 'ca.crt');
      otherCa = join(dir, 'other', 'ca.crt');
      port = await freePort();
      const data = join(dir, 'data');
      await run('chown', ['-R', 'postgres', dir]);
      // As a Kubernetes Secret volume presents it to the standalone stack's PostgreSQL (defaultMode 0440): root's,
      // group postgres (the pod's fsGroup), which PostgreSQL accepts for a root-owned key.
      await run('chown', ['root:postgres', join(certs, 'server.key')]);
      await run('chmod', ['0440', join(certs, 'server.key')]);
      await run('chmod', ['0755', dir]);
      await asPostgres(`${PG_BIN}/initdb`, ['-D', data, '-U', 'postgres', '--auth=trust']);
      writeFileSync(
        join(data, 'postgresql.conf'),
        [
          `port = ${port}`,
          `listen_addresses = '127.0.0.1'`,
          `unix_socket_directories = '${dir}'`,
          'ssl = on',
          `ssl_cert_file = '${join(certs, 'server.crt')}'`,
          `ssl_key_file = '${join(certs, 'server.key')}'`,
          'fsync = off',
          '',
        ].join('\n'),
        { flag: 'a' },
      );
      // TLS or nothing, as CloudNativePG's pg_hba (hostssl) has it.
      writeFileSync(
        join(data, 'pg_hba.conf'),
        'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n',
      );
      await asPostgres(`${PG_BIN}/pg_ctl`, ['-D', data, '-l', join(dir, 'server.log'), '-w', 'start']);
    }, 60_000);

    afterAll(async () => {
      if (dir && existsSync(join(dir, 'data', 'postmaster.pid'))) {
        await asPostgres(`${PG_BIN}/pg_ctl`, ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']).catch(() => {});
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('the API pool connects with verify-full and the CA, in URL and key=value form, and the session is TLS', async () => {
      for (const pgUrl of [
        url('localhost', ca),
        `host=localhost port=${port} user=postgres dbname=postgres sslmode=verify-full sslrootcert=${ca}`,
      ]) {
        const pool = createPool({ pgUrl, max: 1 });
        try {
          const { rows } = await pool.query<{ ssl: boolean }>(
            'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
          );
          expect(rows[0]?.ssl).toBe(true);
        } finally {
          await pool.end();
        }
      }
    });

    it('migrations connect the same way', async () => {
      await runMigrations({ databaseUrl: url('localhost', ca) });
      const pool = createPool({ pgUrl: url('localhost', ca), max: 1 });
      try {
        const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pgmigrations');
        expect(rows[0]?.n).toBeGreaterThan(0);
      } finally {
        await pool.end();
      }
    });

    it('refuses a server whose certificate another CA signed', async () => {
      const pool = createPool({ pgUrl: url('localhost', otherCa), max: 1, onIdleClientError: () => {} });
      try {
        await expect(pool.query('SELECT 1')).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
      } finally {
        await pool.end();
      }
    });

    it('refuses a host name the certificate does not carry', async () => {
      // The certificate names localhost only; 127.0.0.1 is the same server under a name it was not issued for.
      const pool = createPool({ pgUrl: url('127.0.0.1', ca), max: 1, onIdleClientError: () => {} });
      try {
        await expect(pool.query('SELECT 1')).rejects.toThrow(/does not match|altnames|Hostname\/IP/i);
      } finally {
        await pool.end();
      }
    });

    it('the server refuses a connection without TLS', async () => {
      const pool = createPool({
        pgUrl: `postgres://postgres@localhost:${port}/postgres?sslmode=disable`,
        max: 1,
        onIdleClientError: () => {},
      });
      try {
        await expect(pool.query('SELECT 1')).rejects.toThrow(/no encryption|pg_hba\.conf rejects/);
      } finally {
        await pool.end();
      }
    });
  },
);
