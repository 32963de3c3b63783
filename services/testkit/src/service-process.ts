import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { parseEnv } from 'node:util';
import { REPO_ROOT } from './discovery.ts';
import { eventually } from './poll.ts';

/**
 * A service as its container runs it (`node --import <instrumentation> <main>`, see deploy/*.Dockerfile), with
 * the settings of docker-compose.yml's env files (deploy/env/common.env + <service>.env) and only the
 * machine-specific values overridden: addresses, database, topics. Its output is kept for failure messages.
 */
export interface ServiceProcess {
  url: string;
  /** stdout and stderr so far (pino JSON lines). */
  output(): string;
  /** SIGTERM and wait: the service drains and flushes its last spans, as in a rolling update. */
  stop(): Promise<void>;
}

const INSTRUMENTATION = './services/shared/src/observability/instrumentation.ts';
const MAIN = { api: 'services/api/src/main.ts', ingest: 'services/ingest/src/main.ts' } as const;

export function composeEnv(service: keyof typeof MAIN): Record<string, string> {
  const read = (file: string) => parseEnv(readFileSync(`${REPO_ROOT}deploy/env/${file}`, 'utf8'));
  return { ...read('common.env'), ...read(`${service}.env`) } as Record<string, string>;
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (!address || typeof address === 'string') throw new Error('no port from the kernel');
  return address.port;
}

function spawnService(service: keyof typeof MAIN, port: number, overrides: Record<string, string>): ChildProcess {
  const env = {
    // Only what node needs from the caller: no OTEL_* or PM_* of the test shell leaks into the service.
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...composeEnv(service),
    HOST: '127.0.0.1',
    PORT: String(port),
    ...overrides,
  };
  return spawn(process.execPath, ['--import', INSTRUMENTATION, MAIN[service]], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Starts the service like startServiceProcess and waits for it to exit on its own, for the start-up checks that
 * must stop it before it listens. Killed (and reported as such) if it is still running after `timeoutMs`.
 */
export async function runServiceUntilExit(
  service: keyof typeof MAIN,
  overrides: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number | null; output: string }> {
  const child = spawnService(service, await freePort(), overrides);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const timer = setTimeout(() => {
    output += `\n[testkit] ${service} still running after ${timeoutMs} ms: killed\n`;
    child.kill('SIGKILL');
  }, timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, output };
}

export async function startServiceProcess(
  service: keyof typeof MAIN,
  overrides: Record<string, string>,
): Promise<ServiceProcess> {
  const port = await freePort();
  const child = spawnService(service, port, overrides);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = once(child, 'exit');
  const url = `http://127.0.0.1:${port}`;
  const handle: ServiceProcess = {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`${service} exited with ${child.exitCode}:\n${output.slice(-2000)}`);
        const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2_000) });
        if (response.status !== 200) throw new Error(`${service} not ready: ${await response.text()}`);
      },
      { timeoutMs: 60_000, intervalMs: 250, message: `${service} did not become ready` },
    );
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}
