/**
 * docker-compose.yml and the Dockerfiles, checked without a Docker engine: everything a `docker compose up`
 * would trip over first (missing files, missing env, a dependency that can never turn healthy, a port open to
 * the network, an unpinned image) is found here. When a compose CLI is installed it also parses the file.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseEnv, promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadApiConfig } from '../../services/api/src/config.ts';
import { loadIngestConfig } from '../../services/ingest/src/config.ts';
import { webhookTopics } from '../../services/ingest/src/kafka/topics.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

type Scalar = string | number | boolean | null;
interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  env_file?: string | Array<string | { path: string }>;
  environment?: Record<string, Scalar> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  ports?: Array<string | number | { host_ip?: string; published?: string | number; target: number }>;
  volumes?: Array<string | { type?: string; source?: string; target: string }>;
  healthcheck?: Healthcheck;
  profiles?: string[];
  restart?: string;
  user?: string;
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/**
 * Images that cannot carry a healthcheck, with the reason; nothing may wait for them to be healthy. Empty since every
 * image is built on our Debian base (bash can probe over /dev/tcp); kept so a future distroless image states why.
 */
const NO_HEALTHCHECK_POSSIBLE: Record<string, string> = {};

const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as ComposeFile;
const services = Object.entries(compose.services);
const serviceNames = new Set(Object.keys(compose.services));

// ---------------------------------------------------------------- Dockerfile model

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}
interface Dockerfile {
  file: string;
  context: string;
  globalArgs: Record<string, string>;
  stages: Stage[];
}

function parseDockerfile(file: string, context: string): Dockerfile {
  const logical = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const [, from = '', name] = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(args) ?? [];
      stages.push({ from, name, instructions: [] });
    } else if (stages.length === 0) {
      if (upper === 'ARG') {
        const [name = '', value = ''] = args.split('=');
        globalArgs[name] = value;
      }
    } else {
      stages.at(-1)?.instructions.push({ keyword: upper, args });
    }
  }
  return { file, context, globalArgs, stages };
}

function expandArgs(value: string, args: Record<string, string>): string {
  return value.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (_, a: string | undefined, b: string | undefined) => args[a ?? b ?? ''] ?? '',
  );
}

/** Sources of COPY/ADD instructions that read from the build context (not from another stage). */
function contextCopySources(dockerfile: Dockerfile): string[] {
  return dockerfile.stages.flatMap((stage) =>
    stage.instructions
      .filter((i) => (i.keyword === 'COPY' || i.keyword === 'ADD') && !/--from=/.test(i.args))
      .flatMap((i) => {
        const parts = i.args.split(/\s+/).filter((p) => !p.startsWith('--'));
        return parts.slice(0, -1);
      }),
  );
}

function finalStage(dockerfile: Dockerfile): Stage {
  const stage = dockerfile.stages.at(-1);
  if (!stage) throw new Error(`${dockerfile.file} has no FROM`);
  return stage;
}

function buildOf(service: Service): { context: string; dockerfile: string } | null {
  if (!service.build) return null;
  const spec = typeof service.build === 'string' ? { context: service.build } : service.build;
  const context = path.resolve(ROOT, spec.context ?? '.');
  return { context, dockerfile: path.resolve(context, spec.dockerfile ?? 'Dockerfile') };
}

const dockerfiles = new Map<string, Dockerfile>();
for (const [, service] of services) {
  const build = buildOf(service);
  if (build && existsSync(build.dockerfile) && !dockerfiles.has(build.dockerfile)) {
    dockerfiles.set(build.dockerfile, parseDockerfile(build.dockerfile, build.context));
  }
}

function imageHealthcheck(service: Service): boolean {
  const build = buildOf(service);
  const dockerfile = build && dockerfiles.get(build.dockerfile);
  if (!dockerfile) return false;
  return finalStage(dockerfile).instructions.some((i) => i.keyword === 'HEALTHCHECK' && !/^NONE\b/i.test(i.args));
}

function hasHealthcheck(service: Service): boolean {
  if (service.healthcheck?.disable) return false;
  return Boolean(service.healthcheck?.test) || imageHealthcheck(service);
}

const isOneShot = (service: Service) => service.restart === 'no';

// ---------------------------------------------------------------- environment

function envFiles(service: Service): string[] {
  const files = service.env_file === undefined ? [] : [service.env_file].flat();
  return files.map((entry) => path.resolve(ROOT, typeof entry === 'string' ? entry : entry.path));
}

/** What the container sees: env files in order, then `environment` on top (compose's precedence). */
function containerEnv(service: Service): Record<string, string> {
  const env: Record<string, string> = {};
  for (const file of envFiles(service)) Object.assign(env, parseEnv(readFileSync(file, 'utf8')));
  const inline = service.environment ?? {};
  const entries = Array.isArray(inline)
    ? inline.map((item) => {
        const at = item.indexOf('=');
        return [item.slice(0, at), item.slice(at + 1)] as const;
      })
    : Object.entries(inline).map(([key, value]) => [key, value === null ? '' : String(value)] as const);
  for (const [key, value] of entries) env[key] = value;
  return env;
}

function service(name: string): Service {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

/** The script a `node …` command runs (flags and the --import preload skipped). */
function nodeScript(command: string | string[] | undefined): string | undefined {
  const argv = typeof command === 'string' ? command.split(/\s+/) : (command ?? []);
  if (argv[0] !== 'node') return undefined;
  return argv.slice(1).find((arg, index, all) => !arg.startsWith('-') && all[index - 1] !== '--import');
}

// ---------------------------------------------------------------- .dockerignore

const dockerignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));

/** Docker's rule: the last matching pattern wins, and a pattern matching a parent directory covers its content. */
function ignoredByDocker(relative: string): boolean {
  const segments = relative.split('/');
  const candidates = segments.map((_, index) => segments.slice(0, index + 1).join('/'));
  let ignored = false;
  for (const rule of dockerignore) {
    const negated = rule.startsWith('!');
    const pattern = (negated ? rule.slice(1) : rule).replace(/^\/+/, '').replace(/\/+$/, '');
    if (candidates.some((candidate) => path.matchesGlob(candidate, pattern))) ignored = !negated;
  }
  return ignored;
}

// ================================================================ tests

describe('docker-compose.yml', () => {
  it('defines the whole platform: infrastructure, one-shots and both services', () => {
    for (const name of [
      'postgres',
      'kafka',
      'kafka-init',
      'wiremock',
      'otel-collector',
      'tempo',
      'loki',
      'prometheus',
      'grafana',
    ]) {
      expect(serviceNames, name).toContain(name);
    }
    for (const name of ['migrate', 'api', 'ingest']) {
      expect(service(name).profiles, `${name} belongs to the default stack`).toBeUndefined();
    }
    // `docker compose up -d infra` = infrastructure only: the aggregate waits for every infrastructure service.
    const infra = service('infra');
    expect(infra.profiles).toEqual(['infra']);
    const waitsFor = Object.keys(infra.depends_on ?? {});
    for (const name of ['postgres', 'kafka-init', 'wiremock', 'otel-collector', 'prometheus'])
      expect(waitsFor).toContain(name);
  });

  it('runs every service from a payment-manager image of the cdk8s version, except the grafana profile', () => {
    const version = (JSON.parse(readFileSync(path.join(ROOT, 'cdk8s/package.json'), 'utf8')) as { version: string })
      .version;
    for (const [name, s] of services) {
      if (s.profiles?.includes('grafana')) {
        // Grafana and Loki cannot be built from the registries we reach (docs/docker.md): upstream images, opt-in.
        expect(s.image, name).not.toMatch(/^payment-manager\//);
        continue;
      }
      expect(s.image, name).toMatch(new RegExp(`^payment-manager/[\\w-]+:${version.replaceAll('.', '\\.')}$`));
    }
    expect(service('grafana').profiles).toEqual(['grafana']);
    expect(service('loki').profiles).toEqual(['grafana']);
    // A service of the default stack may not wait for one that only a profile starts.
    for (const [name, s] of services.filter(([, s]) => !s.profiles)) {
      for (const target of Object.keys(s.depends_on ?? {})) {
        expect(service(target).profiles, `${name} depends on ${target}`).toBeUndefined();
      }
    }
  });

  it.each(services.filter(([, s]) => s.build))('%s: build context and Dockerfile exist', (_, s) => {
    const build = buildOf(s);
    expect(build && statSync(build.context).isDirectory()).toBe(true);
    expect(build && existsSync(build.dockerfile), build?.dockerfile).toBe(true);
  });

  it.each(services)('%s: every env_file exists', (_, s) => {
    for (const file of envFiles(s)) expect(existsSync(file), file).toBe(true);
  });

  it.each(services)('%s: every depends_on target exists and can signal readiness', (name, s) => {
    const deps = s.depends_on ?? {};
    expect(Array.isArray(deps), `${name}: use the long depends_on syntax with a condition`).toBe(false);
    for (const [target, { condition }] of Object.entries(deps as Record<string, { condition?: string }>)) {
      const dependency = compose.services[target];
      expect(dependency, `${name} depends on undefined service ${target}`).toBeDefined();
      if (!dependency) continue;
      if (condition === 'service_completed_successfully') {
        expect(isOneShot(dependency), `${target} must be a one-shot (restart: "no")`).toBe(true);
      } else if (condition === 'service_healthy') {
        expect(hasHealthcheck(dependency), `${target} needs a healthcheck (compose or image)`).toBe(true);
      } else {
        expect(condition, `${name} → ${target}`).toBe('service_started');
        expect(NO_HEALTHCHECK_POSSIBLE[target], `${name} may wait for ${target} only by healthcheck`).toBeDefined();
      }
    }
  });

  it.each(services.filter(([, s]) => !isOneShot(s)))('%s: long-running service has a healthcheck', (name, s) => {
    if (NO_HEALTHCHECK_POSSIBLE[name]) {
      expect(hasHealthcheck(s)).toBe(false);
      const waitedOnHealthy = services.some(
        ([, other]) => !Array.isArray(other.depends_on) && other.depends_on?.[name]?.condition === 'service_healthy',
      );
      expect(waitedOnHealthy).toBe(false);
      return;
    }
    expect(hasHealthcheck(s)).toBe(true);
  });

  it.each(services.filter(([, s]) => s.ports))('%s: every published port is bound to 127.0.0.1', (_, s) => {
    for (const port of s.ports ?? []) {
      // The host port is PM_<SERVICE>_PORT with the usual port as its default (a second stack, the compose test).
      if (typeof port === 'object') expect(port.host_ip).toBe('127.0.0.1');
      else expect(String(port)).toMatch(/^127\.0\.0\.1:(\d+|\$\{PM_\w+_PORT:-\d+\}):\d+(\/(tcp|udp))?$/);
    }
  });

  it.each(services.filter(([, s]) => s.volumes))('%s: mounted host paths exist, volumes are declared', (_, s) => {
    for (const volume of s.volumes ?? []) {
      const source = typeof volume === 'string' ? volume.split(':')[0] : volume.source;
      if (!source) continue;
      if (source.startsWith('.') || source.startsWith('/')) {
        const onHost = path.resolve(ROOT, source);
        expect(onHost.startsWith(`${ROOT}${path.sep}`), `${source} must be inside the repository`).toBe(true);
        expect(existsSync(onHost), `${source} is mounted but missing from the repository`).toBe(true);
      } else {
        expect(Object.keys(compose.volumes ?? {}), `named volume ${source}`).toContain(source);
      }
    }
  });

  it.each(services.filter(([, s]) => !s.build))('%s: image pinned to an exact version', (_, s) => {
    expect(s.image).toMatch(/^[\w./-]+(:[\w.-]*\d[\w.-]*|@sha256:[0-9a-f]{64})$/);
    expect(s.image).not.toMatch(/:latest$/);
  });

  it('runs the Kafka version everything else runs (the jars of deploy/kafka/VERSION, staged by scripts/images.sh)', () => {
    expect(readFileSync(path.join(ROOT, 'deploy/kafka/VERSION'), 'utf8').trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(service('kafka').image).toMatch(/^payment-manager\/kafka:/);
    // The image's jars are exactly what scripts/kafka.sh resolves from deploy/kafka/pom.xml with that version.
    expect(readFileSync(path.join(ROOT, 'scripts/images.sh'), 'utf8')).toContain('scripts/kafka.sh" fetch');
  });

  it('api and ingest run in kafka mode and agree on broker, topics and signing secret', () => {
    const api = containerEnv(service('api'));
    const ingest = containerEnv(service('ingest'));
    expect(api.WEBHOOK_MODE).toBe('kafka');
    expect(ingest.WEBHOOK_MODE ?? 'kafka').toBe('kafka');
    for (const key of ['KAFKA_BROKERS', 'KAFKA_ORDERS_TOPIC', 'KAFKA_DISPUTES_TOPIC', 'WEBHOOK_SECRET']) {
      expect(ingest[key], key).toBe(api[key]);
    }
    expect(api.WEBHOOK_SECRET).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
  });

  const required: Record<string, string[]> = {
    api: [
      'PG_URL',
      'SILVERGATE_BASE_URL',
      'SILVERGATE_CAPTURE_PATH',
      'SILVERGATE_SUBMIT_REPRESENTMENT_PATH',
      'KAFKA_BROKERS',
      'WEBHOOK_SECRET',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_SERVICE_NAME',
    ],
    migrate: ['PG_URL'],
    ingest: ['KAFKA_BROKERS', 'WEBHOOK_SECRET', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_SERVICE_NAME'],
    'kafka-init': ['KAFKA_BROKERS'],
  };
  it.each(Object.entries(required))('%s: required env vars are provided (env_file + environment)', (name, keys) => {
    const env = containerEnv(service(name));
    for (const key of keys) expect(env[key]?.trim(), key).toBeTruthy();
  });

  it('the services accept their compose environment (their own config loaders)', () => {
    const api = loadApiConfig(containerEnv(service('api')));
    expect(api.webhookMode).toBe('kafka');
    expect(api.kafka.brokers).toEqual(['kafka:29092']);
    // The paths the WireMock stubs of docs/domain.md#provider-stubs match.
    expect(api.silvergate.capturePath).toBe('/api/v1/capture');
    expect(api.silvergate.submitRepresentmentPath).toBe('/api/v1/dispute-representments/create');
    const ingest = loadIngestConfig(containerEnv(service('ingest')));
    expect(ingest.webhookMode).toBe('kafka');
    expect(ingest.kafka.idempotentProducer).toBe(true);
  });

  it('kafka-init creates exactly the topics ingest produces to and the API consumes and dead-letters', () => {
    const api = loadApiConfig(containerEnv(service('api'))).kafka;
    const ingest = loadIngestConfig(containerEnv(service('ingest'))).kafka;
    const created = webhookTopics(containerEnv(service('kafka-init')));
    expect(created.map((t) => t.topic).sort()).toEqual(
      [api.ordersTopic, api.disputesTopic, api.ordersDlqTopic, api.disputesDlqTopic].sort(),
    );
    expect([ingest.ordersTopic, ingest.disputesTopic]).toEqual([api.ordersTopic, api.disputesTopic]);
    expect(created.find((t) => t.topic === api.ordersTopic)?.numPartitions).toBe(3);
  });

  it.each(services.filter(([, s]) => s.env_file))(
    '%s: every host its env points at is a compose service',
    (name, s) => {
      for (const [key, value] of Object.entries(containerEnv(s))) {
        if (!/(_URL|_ENDPOINT|_BROKERS)$/.test(key) || !value) continue;
        for (const entry of value.split(',')) {
          const host = /^[a-z]+:\/\//.test(entry) ? new URL(entry).hostname : entry.split(':')[0];
          expect(serviceNames, `${name}: ${key} points at ${host}`).toContain(host);
        }
      }
    },
  );

  it('the API reaches Postgres with the credentials the Postgres container is created with', () => {
    const pg = containerEnv(service('postgres'));
    for (const name of ['api', 'migrate']) {
      const url = new URL(containerEnv(service(name)).PG_URL ?? '');
      expect(decodeURIComponent(url.username)).toBe(pg.POSTGRES_USER);
      expect(decodeURIComponent(url.password)).toBe(pg.POSTGRES_PASSWORD);
      expect(url.pathname).toBe(`/${pg.POSTGRES_DB}`);
    }
  });

  it('the mounted observability configs only point at services this file defines', () => {
    const hostsIn = (value: unknown): string[] => {
      if (typeof value === 'string') {
        // `${env:VAR:-default}` (collector) and `${VAR:-default}` (Tempo): the default is what compose gets.
        const resolved = value.replace(/\$\{(?:env:)?\w+:-([^}]*)\}/g, '$1');
        if (/^[a-z]+:\/\/[^$]/.test(resolved)) return [new URL(resolved).hostname];
        const hostPort = /^([a-z][\w-]*):\d+$/.exec(resolved);
        return hostPort?.[1] ? [hostPort[1]] : [];
      }
      if (Array.isArray(value)) return value.flatMap(hostsIn);
      if (value && typeof value === 'object') return Object.values(value).flatMap(hostsIn);
      return [];
    };
    const yamlFile = (relative: string) => parse(readFileSync(path.join(ROOT, relative), 'utf8')) as unknown;
    const datasources = readdirSync(path.join(ROOT, 'deploy/grafana/provisioning/datasources')).map((file) =>
      yamlFile(`deploy/grafana/provisioning/datasources/${file}`),
    );
    const collector = yamlFile('deploy/otel-collector/config.yaml') as { exporters?: unknown };
    const tempo = yamlFile('deploy/tempo/tempo.yaml') as { metrics_generator?: unknown };
    const prometheus = yamlFile('deploy/prometheus/prometheus.yml');
    const hosts = [datasources, collector.exporters, tempo.metrics_generator, prometheus].flatMap(hostsIn);
    expect(hosts.length).toBeGreaterThan(0);
    for (const host of hosts.filter((h) => h !== 'localhost')) expect(serviceNames, host).toContain(host);
  });

  it.each(services.filter(([, s]) => nodeScript(s.command)))(
    '%s: the command script exists and is in the image',
    (_, s) => {
      const script = nodeScript(s.command) as string;
      expect(existsSync(path.join(ROOT, script)), script).toBe(true);
      const build = buildOf(s);
      const dockerfile = build && dockerfiles.get(build.dockerfile);
      expect(dockerfile, 'one-shots run from a project image').toBeTruthy();
      if (dockerfile) expect(contextCopySources(dockerfile).some((src) => script.startsWith(`${src}/`))).toBe(true);
    },
  );
});

// ---------------------------------------------------------------- Dockerfiles

const nodeDockerfiles = ['deploy/api.Dockerfile', 'deploy/ingest.Dockerfile'];

describe('Dockerfiles', () => {
  it('compose builds exactly the project images', () => {
    expect([...dockerfiles.keys()].map((file) => path.relative(ROOT, file)).sort()).toEqual(
      ['deploy/api.Dockerfile', 'deploy/ingest.Dockerfile', 'deploy/postgres/Dockerfile'].sort(),
    );
  });

  describe.each([...dockerfiles.values()].map((d) => [path.relative(ROOT, d.file), d] as const))(
    '%s',
    (_, dockerfile) => {
      const last = finalStage(dockerfile);

      it('runs as a non-root user', () => {
        const user = last.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args ?? 'root';
        expect(user.split(':')[0]).not.toMatch(/^(root|0)$/);
      });

      it('has a HEALTHCHECK', () => {
        expect(last.instructions.some((i) => i.keyword === 'HEALTHCHECK' && !/^NONE\b/i.test(i.args))).toBe(true);
      });

      it('pins every base image to an exact version', () => {
        const stageNames = new Set(dockerfile.stages.map((s) => s.name).filter(Boolean));
        for (const stage of dockerfile.stages) {
          const image = expandArgs(stage.from, dockerfile.globalArgs);
          if (stageNames.has(image)) continue;
          expect(image).toMatch(/^[\w./-]+(:[\w.-]*\d[\w.-]*|@sha256:[0-9a-f]{64})$/);
          expect(image).not.toMatch(/:latest$/);
        }
      });

      it('copies only files that exist and that .dockerignore lets through', () => {
        for (const source of contextCopySources(dockerfile)) {
          expect(existsSync(path.join(dockerfile.context, source)), source).toBe(true);
          if (dockerfile.context === ROOT) expect(ignoredByDocker(source), `${source} is dockerignored`).toBe(false);
        }
      });
    },
  );

  // Every image scripts/images.sh builds, including those whose context it stages (binaries, jars).
  const imageDockerfiles = [
    'deploy/api.Dockerfile',
    'deploy/ingest.Dockerfile',
    ...['postgres', 'kafka', 'wiremock', 'otel-collector', 'tempo', 'prometheus', 'traefik'].map(
      (name) => `deploy/${name}/Dockerfile`,
    ),
  ];
  describe.each(imageDockerfiles)('%s (npm run images)', (file) => {
    const dockerfile = parseDockerfile(path.join(ROOT, file), ROOT);
    const last = finalStage(dockerfile);
    const args = (keyword: string) => last.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

    it('bases: a build argument whose default is a pinned upstream image', () => {
      expect(dockerfile.globalArgs.BASE_IMAGE).toMatch(/^debian:\d+\.\d+-slim$/);
      for (const stage of dockerfile.stages) {
        expect(stage.from, 'FROM a build argument or an earlier stage').toMatch(/^\$\{\w+_IMAGE\}$|^build$/);
      }
    });

    it('runs as a non-root user, with version and revision labels', () => {
      const user = args('USER').at(-1) ?? 'root';
      expect(user.split(':')[0]).toMatch(/^[1-9]\d*$/);
      const labels = args('LABEL').join(' ');
      for (const key of ['title', 'version', 'revision', 'created', 'source'])
        expect(labels).toContain(`org.opencontainers.image.${key}=`);
    });

    it('final stage installs no build tools', () => {
      const runs = args('RUN').join(' ');
      expect(runs).not.toMatch(/\b(build-essential|gcc|make|g\+\+|golang|maven|npm ci|npm install)\b/);
    });
  });

  describe.each(nodeDockerfiles)('%s', (file) => {
    const dockerfile = parseDockerfile(path.join(ROOT, file), ROOT);
    const last = finalStage(dockerfile);
    const all = dockerfile.stages.flatMap((s) => s.instructions);
    const args = (keyword: string) => last.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

    it('production runtime: NODE_ENV, tini as PID 1, OCI labels, production dependencies only', () => {
      expect(args('ENV').join(' ')).toMatch(/NODE_ENV=production/);
      expect(args('ENTRYPOINT').join(' ')).toMatch(/tini/);
      const labels = args('LABEL').join(' ');
      for (const key of ['title', 'description', 'source', 'version', 'revision', 'created']) {
        expect(labels).toContain(`org.opencontainers.image.${key}=`);
      }
      const install = all.find((i) => i.keyword === 'RUN' && /npm ci/.test(i.args))?.args ?? '';
      expect(install).toMatch(/--omit=dev/);
    });

    it('starts the service with the fixed process command, and the files it names are in the image', () => {
      const cmd = JSON.parse(args('CMD').at(-1) ?? '[]') as string[];
      expect(cmd.slice(0, 3)).toEqual(['node', '--import', './services/shared/src/observability/instrumentation.ts']);
      const copied = contextCopySources(dockerfile);
      for (const script of [cmd[2] ?? '', cmd[3] ?? '']) {
        const relative = script.replace(/^\.\//, '');
        expect(existsSync(path.join(ROOT, relative)), relative).toBe(true);
        expect(
          copied.some((src) => relative.startsWith(`${src}/`)),
          `${relative} is copied`,
        ).toBe(true);
      }
    });

    it('contains every workspace its source imports, with its dependencies installed', () => {
      const copied = contextCopySources(dockerfile).filter((src) => /^services\/[\w-]+\/src$/.test(src));
      const install = all.find((i) => i.keyword === 'RUN' && /npm ci/.test(i.args))?.args ?? '';
      const installed = [...install.matchAll(/--workspace[= ](\S+)/g)].map((m) => m[1]);
      const imported = new Set<string>();
      const walk = (dir: string): void => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const full = path.join(dir, entry.name);
          if (entry.isDirectory()) walk(full);
          else if (entry.name.endsWith('.ts')) {
            for (const m of readFileSync(full, 'utf8').matchAll(/from '@payment-manager\/([\w-]+)/g))
              imported.add(m[1] ?? '');
          }
        }
      };
      for (const src of copied) walk(path.join(ROOT, src));
      for (const workspace of imported) {
        expect(copied, `@payment-manager/${workspace} is imported`).toContain(`services/${workspace}/src`);
        expect(installed).toContain(`@payment-manager/${workspace}`);
      }
    });
  });

  it('the node healthcheck commands (images and compose) pass on 200 and fail on 503 or no listener', async () => {
    let status = 200;
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(status).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const commands: Array<{ where: string; argv: string[] }> = [];
    for (const file of nodeDockerfiles) {
      const healthcheck = finalStage(parseDockerfile(path.join(ROOT, file), ROOT)).instructions.find(
        (i) => i.keyword === 'HEALTHCHECK',
      );
      const argv = JSON.parse(/CMD\s+(\[.*\])/.exec(healthcheck?.args ?? '')?.[1] ?? '[]') as string[];
      commands.push({ where: file, argv });
    }
    for (const name of ['api', 'ingest']) {
      const test = service(name).healthcheck?.test;
      expect(Array.isArray(test) && test[0] === 'CMD', `${name}: exec-form healthcheck`).toBe(true);
      commands.push({ where: `compose ${name}`, argv: (test as string[]).slice(1) });
    }
    const exitCode = async (argv: string[], target: number) => {
      const [command, ...args] = argv;
      expect(command).toBe('node');
      // Compose healthchecks name the container port; point them at the local stand-in instead.
      const retargeted = args.map((arg) => arg.replace(/127\.0\.0\.1:300[01]/, `127.0.0.1:${target}`));
      try {
        await run(process.execPath, retargeted, { env: { ...process.env, PORT: String(target) }, timeout: 20_000 });
        return 0;
      } catch (err) {
        return (err as { code?: number }).code;
      }
    };
    try {
      for (const { where, argv } of commands) {
        status = 200;
        expect(await exitCode(argv, port), `${where} healthy`).toBe(0);
        status = 503;
        expect(await exitCode(argv, port), `${where} unhealthy`).toBe(1);
        expect(await exitCode(argv, 1), `${where} nothing listening`).toBe(1);
      }
    } finally {
      server.close();
    }
    expect(new Set(paths)).toEqual(new Set(['/health/live', '/health/ready']));
  });

  it('.dockerignore keeps dependencies, tests, tools, data and git history out of the build context', () => {
    for (const sample of [
      'node_modules/fastify/package.json',
      'services/api/node_modules/x/index.js',
      'services/api/test/orders.test.ts',
      'scripts/test/compose.test.ts',
      '.tools/node_modules/node/bin/node',
      '.data/pg/PG_VERSION',
      '.git/HEAD',
      '.env',
    ]) {
      expect(ignoredByDocker(sample), sample).toBe(true);
    }
  });
});

// ---------------------------------------------------------------- the compose CLI itself

async function composeCli(): Promise<string[] | null> {
  for (const candidate of [['docker', 'compose'], ['docker-compose']]) {
    try {
      await run(candidate[0] as string, [...candidate.slice(1), 'version'], { timeout: 20_000 });
      return candidate;
    } catch {
      // not installed, or the docker CLI without the compose plugin
    }
  }
  return null;
}

const cli = await composeCli();

describe('compose CLI', () => {
  const reason = cli ? cli.join(' ') : 'skipped: neither `docker compose` nor `docker-compose` is on PATH';
  it.skipIf(!cli).each([[[]], [['--profile', 'infra']], [['--profile', 'grafana']]])(
    `config --quiet %j (${reason})`,
    async (profileArgs) => {
      const [command, ...prefix] = cli as string[];
      const { stderr } = await run(
        command as string,
        [...prefix, '-f', 'docker-compose.yml', ...profileArgs, 'config', '--quiet'],
        {
          cwd: ROOT,
          timeout: 60_000,
        },
      );
      expect(stderr).not.toMatch(/error|invalid/i);
    },
  );
});
