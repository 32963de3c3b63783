/**
 * `npm run webhook:send` against a real local HTTP receiver that verifies Standard Webhooks signatures with the
 * same library the services use: what the script prints must be what the receiver got, and the payload must
 * pass the shared schemas.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseChargebackWebhook, parseOrderWebhook } from '@payment-manager/shared';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SCRIPT = path.join(ROOT, 'scripts/webhook-send.ts');
const SECRET = `whsec_${Buffer.from('compose-test-secret-0123456789ab').toString('base64')}`;
const OTHER_SECRET = `whsec_${Buffer.from('some-other-secret-0123456789abcd').toString('base64')}`;

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  verified: boolean;
}

let server: Server;
let baseUrl: string;
let received: Received[] = [];
/** The secret the receiver verifies with; null = verification off (accepts anything). */
let receiverSecret: string | null = SECRET;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let verified = false;
      let error = '';
      if (receiverSecret) {
        try {
          new Webhook(receiverSecret).verify(body, req.headers as Record<string, string>);
          verified = true;
        } catch (err) {
          error = (err as Error).message;
        }
      }
      received.push({ path: req.url ?? '', headers: req.headers, body, verified });
      const accepted = receiverSecret === null || verified;
      res.writeHead(accepted ? 202 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(accepted ? { status: 'accepted' } : { message: `invalid webhook signature: ${error}` }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

beforeEach(() => {
  received = [];
  receiverSecret = SECRET;
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const execFileAsync = promisify(execFile);

/** Runs a command with this test's node first on PATH (npm scripts call `node`, which must be Node 24). */
async function runCli(command: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  // A WEBHOOK_SECRET of the developer's shell must not leak into cases that pass --secret or none.
  const { WEBHOOK_SECRET: _ignored, ...inherited } = process.env;
  const childEnv: NodeJS.ProcessEnv = {
    ...inherited,
    PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
    ...env,
  };
  try {
    const { stdout, stderr } = await execFileAsync(command, args, { cwd: ROOT, env: childEnv, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw err;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const send = (args: string[], env?: Record<string, string>) => runCli(process.execPath, [SCRIPT, ...args], env);

/** The value after `label:` in the script's output. */
function printed(stdout: string, label: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith(`${label}:`));
  return line ? line.slice(label.length + 1).trim() : '';
}

describe('webhook:send', () => {
  it('npm run webhook:send posts a signed order webhook that verifies, and prints the ids it used', async () => {
    const result = await runCli('npm', [
      'run',
      '--silent',
      'webhook:send',
      '--',
      '--to',
      baseUrl,
      '--kind',
      'order',
      '--secret',
      SECRET,
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(received).toHaveLength(1);
    const [request] = received as [Received];
    expect(request.path).toBe('/webhooks/payments/orders');
    expect(request.verified).toBe(true);
    expect(request.headers['content-type']).toBe('application/json');

    const payload = JSON.parse(request.body) as Record<string, unknown>;
    const parsed = parseOrderWebhook(payload);
    expect(parsed.ok).toBe(true);
    expect(printed(result.stdout, 'webhook-id')).toBe(request.headers['webhook-id']);
    expect(printed(result.stdout, 'provider_event_id')).toBe(payload.provider_event_id);
    expect(printed(result.stdout, 'order_id')).toBe(payload.order_id);
    expect(printed(result.stdout, 'user_id')).toBe(payload.user_id);
    expect(payload.status).toBe('created');
    expect(printed(result.stdout, 'response')).toBe('202 {"status":"accepted"}');
  });

  it('signs a chargeback with the first WEBHOOK_SECRET entry and honours --status, --order-id and --user-id', async () => {
    const userId = '0b7d3c52-6f0e-4e59-9a0c-2f4f8f5e1a10';
    const result = await send(
      ['--to', baseUrl, '--kind', 'chargeback', '--status', 'closed', '--order-id', 'ord-cli-1', '--user-id', userId],
      { WEBHOOK_SECRET: `${SECRET}, ${OTHER_SECRET}` },
    );
    expect(result.code).toBe(0);
    const [request] = received as [Received];
    expect(request.path).toBe('/webhooks/payments/chargebacks');
    expect(request.verified).toBe(true);
    const parsed = parseChargebackWebhook(JSON.parse(request.body));
    expect(parsed.ok && parsed.value).toMatchObject({
      order_id: 'ord-cli-1',
      user_id: userId,
      status: 'closed',
      meta: { resolution: 'won' },
    });
    expect(printed(result.stdout, 'order_id')).toBe('ord-cli-1');
  });

  it('a default chargeback is an opened dispute with amount and currency', async () => {
    const result = await send(['--to', baseUrl, '--kind', 'chargeback', '--secret', SECRET]);
    expect(result.code).toBe(0);
    const parsed = parseChargebackWebhook(JSON.parse((received[0] as Received).body));
    expect(parsed.ok && parsed.value).toMatchObject({ status: 'opened', amount: 42, currency: 'EUR' });
  });

  it('keeps the path of a full --to URL', async () => {
    const result = await send(['--to', `${baseUrl}/custom/hook`, '--kind', 'order', '--secret', SECRET]);
    expect(result.code).toBe(0);
    expect((received[0] as Received).path).toBe('/custom/hook');
  });

  it('exits 1 and shows the answer when the receiver rejects the signature', async () => {
    receiverSecret = OTHER_SECRET;
    const result = await send(['--to', baseUrl, '--kind', 'order', '--secret', SECRET]);
    expect(result.code).toBe(1);
    expect(received).toHaveLength(1);
    expect(printed(result.stdout, 'response')).toMatch(/^401 \{"message":"invalid webhook signature/);
  });

  it('without any secret sends unsigned and says so', async () => {
    receiverSecret = null;
    const result = await send(['--to', baseUrl, '--kind', 'order']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/UNSIGNED/);
    const [request] = received as [Received];
    expect(request.headers['webhook-signature']).toBeUndefined();
    expect(request.headers['webhook-id']).toBe(printed(result.stdout, 'webhook-id'));
  });

  it('refuses an invalid sample (status outside the schema) without sending anything', async () => {
    const result = await send(['--to', baseUrl, '--kind', 'order', '--status', 'opened', '--secret', SECRET]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/invalid.*status/);
    expect(received).toHaveLength(0);
  });

  it('exits 2 with one line naming the problem and the --help hint on missing, unknown or bad arguments', async () => {
    for (const [args, problem] of [
      [['--kind', 'order'], /--to is required/],
      [['--to', baseUrl, '--kind', 'refund'], /--kind must be order or chargeback, got "refund"/],
      [['--to', baseUrl, '--bogus'], /Unknown option '--bogus'/],
      [['--to', baseUrl, '--kind', 'order', '--secret', 'whsec_abc'], /"whsec_" followed by base64/],
    ] as const) {
      const result = await send([...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(problem);
      expect(result.stderr).toMatch(/^webhook:send: .*\n\(run with --help for the options\)\n$/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    expect(received).toHaveLength(0);
  });

  it('prints every option with --help and exits 0', async () => {
    const result = await send(['--help']);
    expect(result.code).toBe(0);
    for (const option of ['--to', '--kind', '--secret', '--status', '--order-id', '--user-id', '--help']) {
      expect(result.stdout).toContain(option);
    }
    expect(result.stdout).toMatch(/^usage: npm run webhook:send -- \[options\]/);
  });
});
