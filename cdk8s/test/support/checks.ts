import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { containersOf, id, type K8sObject, matches, podTemplates, REPO_ROOT, securedPodSpecs } from './manifests.ts';

/**
 * The sysctls Pod Security `baseline` (and so `restricted`) allows on Kubernetes 1.34+: namespaced and harmless.
 * (k8s.io/pod-security-admission, policy/check_sysctls.go.)
 */
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
]);

/**
 * Pod Security `restricted` plus a read-only root file system, for every pod we define: the templates of our
 * workloads and the pod templates we hand to operators (CloudNativePG Cluster, Strimzi Kafka and entity operator).
 * The namespace enforces `restricted` too; this catches a violation before a cluster refuses the pod.
 */
export function podSecurityViolations(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const { where, spec } of securedPodSpecs(objects)) {
    const podCtx = spec.securityContext ?? {};
    for (const field of ['hostNetwork', 'hostPID', 'hostIPC'])
      if (spec[field] === true) problems.push(`${where}: ${field}`);
    for (const v of spec.volumes ?? []) if (v.hostPath) problems.push(`${where}: hostPath volume ${v.name}`);
    for (const s of podCtx.sysctls ?? [])
      if (!SAFE_SYSCTLS.has(s.name)) problems.push(`${where}: sysctl ${s.name} is not a safe sysctl`);
    const podSeccomp = podCtx.seccompProfile?.type;
    for (const c of containersOf(spec)) {
      const at = `${where} container ${c.name}`;
      const ctx = c.securityContext ?? {};
      if ((ctx.runAsNonRoot ?? podCtx.runAsNonRoot) !== true) problems.push(`${at}: runAsNonRoot is not true`);
      if ((ctx.runAsUser ?? podCtx.runAsUser) === 0) problems.push(`${at}: runs as UID 0`);
      if (ctx.readOnlyRootFilesystem !== true) problems.push(`${at}: readOnlyRootFilesystem is not true`);
      if (ctx.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation is not false`);
      if (ctx.privileged === true) problems.push(`${at}: privileged`);
      if (!(ctx.capabilities?.drop ?? []).includes('ALL')) problems.push(`${at}: capabilities.drop is not [ALL]`);
      if ((ctx.capabilities?.add ?? []).length > 0) problems.push(`${at}: adds capabilities`);
      const seccomp = ctx.seccompProfile?.type ?? podSeccomp;
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
        problems.push(`${at}: seccompProfile is not RuntimeDefault`);
      for (const p of c.ports ?? []) if (p.hostPort) problems.push(`${at}: hostPort ${p.hostPort}`);
    }
  }
  return problems;
}

/**
 * Policy every workload must meet: the security contexts of podSecurityViolations, resources, probes (long-running
 * pods), pinned non-latest images, and a PodDisruptionBudget for long-running pods.
 */
export function policyViolations(objects: K8sObject[]): string[] {
  const problems: string[] = podSecurityViolations(objects);
  const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
  for (const { owner, labels, spec } of podTemplates(objects)) {
    const where = id(owner);
    const longRunning = owner.kind === 'Deployment' || owner.kind === 'StatefulSet' || owner.kind === 'DaemonSet';
    for (const c of containersOf(spec)) {
      const at = `${where} container ${c.name}`;
      for (const kind of ['requests', 'limits'])
        for (const res of ['cpu', 'memory'])
          if (!c.resources?.[kind]?.[res]) problems.push(`${at}: no resources.${kind}.${res}`);
      const image: string = c.image ?? '';
      if (image.startsWith('payment-manager/') && !image.startsWith('payment-manager/postgres')) {
        // The images' ENTRYPOINT is tini; `command` would replace it and leave node as PID 1.
        if (c.command) problems.push(`${at}: overrides the ENTRYPOINT of ${image} (use args)`);
        for (const arg of c.args ?? [])
          if (/^\.?\/?services\/.+\.ts$/.test(arg) && !existsSync(join(REPO_ROOT, arg)))
            problems.push(`${at}: runs ${arg}, which is not in the repository`);
      }
      const tag = image.includes('@') ? 'digest' : (image.split('/').pop() ?? '').split(':')[1];
      if (!tag) problems.push(`${at}: image ${image} has no tag (implies latest)`);
      else if (tag === 'latest') problems.push(`${at}: image ${image} uses the latest tag`);
    }
    if (longRunning) {
      for (const c of spec.containers ?? []) {
        if (!c.livenessProbe) problems.push(`${where} container ${c.name}: no livenessProbe`);
        if (!c.readinessProbe) problems.push(`${where} container ${c.name}: no readinessProbe`);
      }
      const covered = pdbs.some(
        (p) => p.metadata.namespace === owner.metadata.namespace && matches(p.spec?.selector?.matchLabels, labels),
      );
      if (!covered) problems.push(`${where}: no PodDisruptionBudget selects its pods`);
    }
  }
  return problems;
}

/** A certificate-shaped stand-in for a CA an operator generates at run time (enough for the config loaders). */
const STAND_IN_CA = '-----BEGIN CERTIFICATE-----\n(generated by the operator)\n-----END CERTIFICATE-----\n';

/**
 * Secrets operators create from our custom resources, with stand-in values: Strimzi's cluster CA of a Kafka
 * (`<cluster>-cluster-ca-cert`) and the credentials of each SCRAM KafkaUser (a Secret named after the user).
 */
export function operatorSecrets(objects: K8sObject[]): Record<string, Record<string, string>> {
  const secrets: Record<string, Record<string, string>> = {};
  for (const kafka of objects.filter((o) => o.kind === 'Kafka' && o.apiVersion.startsWith('kafka.strimzi.io/')))
    secrets[`${kafka.metadata.name}-cluster-ca-cert`] = { 'ca.crt': STAND_IN_CA, 'ca.p12': '', 'ca.password': '' };
  for (const user of objects.filter((o) => o.kind === 'KafkaUser' && o.spec?.authentication?.type === 'scram-sha-512'))
    secrets[user.metadata.name] = { password: `<password of ${user.metadata.name}>`, 'sasl.jaas.config': '' };
  return secrets;
}

function keysOf(o: K8sObject): string[] {
  return [...Object.keys(o.data ?? {}), ...Object.keys(o.stringData ?? {}), ...Object.keys(o.binaryData ?? {})];
}

/**
 * Secrets the manifests reference but never contain (credentials are made outside them): Grafana's admin login and,
 * in the standalone stack's default (PM_GATEWAY_TLS=secret), the Gateway's certificate.
 */
export const EXTERNAL_SECRETS: Record<string, string[]> = {
  'payment-manager-grafana-admin': ['admin-user', 'admin-password'],
  'webhooks-tls': ['tls.crt', 'tls.key'],
};

export interface CrossRefOptions {
  /** Secrets created outside the manifests (by an operator or the user), with their keys. */
  externalSecrets?: Record<string, string[]>;
}

/**
 * References between objects resolve: Service selectors hit pods and their targetPorts exist, probe ports are
 * declared, ConfigMap/Secret names and keys exist, HTTPRoute parents and backends exist with that port, ServiceAccounts
 * and RBAC bindings resolve.
 */
export function crossReferenceProblems(objects: K8sObject[], opts: CrossRefOptions = {}): string[] {
  const problems: string[] = [];
  const generated = Object.fromEntries(
    Object.entries(operatorSecrets(objects)).map(([name, values]) => [name, Object.keys(values)]),
  );
  opts = { ...opts, externalSecrets: { ...generated, ...opts.externalSecrets } };
  const pods = podTemplates(objects);
  const inNs = (kind: string, ns: string | undefined, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === ns);

  for (const svc of objects.filter((o) => o.kind === 'Service' && o.spec?.selector)) {
    const targets = pods.filter(
      (p) => p.owner.metadata.namespace === svc.metadata.namespace && matches(svc.spec.selector, p.labels),
    );
    if (targets.length === 0) {
      problems.push(`${id(svc)}: selector ${JSON.stringify(svc.spec.selector)} matches no pod template`);
      continue;
    }
    for (const port of svc.spec.ports ?? []) {
      const target = port.targetPort ?? port.port;
      for (const t of targets) {
        const declared = (t.spec.containers ?? []).flatMap(
          (c: { ports?: { containerPort: number; name?: string }[] }) => c.ports ?? [],
        );
        const ok = declared.some(
          (d: { containerPort: number; name?: string }) => d.containerPort === target || d.name === target,
        );
        if (!ok) problems.push(`${id(svc)}: targetPort ${target} is not a container port of ${id(t.owner)}`);
      }
    }
  }

  for (const { owner, spec } of pods) {
    const ns = owner.metadata.namespace;
    for (const c of containersOf(spec)) {
      const at = `${id(owner)} container ${c.name}`;
      const declared: { containerPort: number; name?: string }[] = c.ports ?? [];
      for (const probeName of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const probe = c[probeName];
        const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
        if (port !== undefined && !declared.some((d) => d.containerPort === port || d.name === port))
          problems.push(`${at}: ${probeName} port ${port} is not a declared container port`);
      }
      for (const env of c.env ?? []) {
        const secretRef = env.valueFrom?.secretKeyRef;
        const cmRef = env.valueFrom?.configMapKeyRef;
        for (const [kind, ref] of [
          ['Secret', secretRef],
          ['ConfigMap', cmRef],
        ] as const) {
          if (!ref || ref.optional) continue;
          const target = inNs(kind, ns, ref.name);
          const keys = target ? keysOf(target) : kind === 'Secret' ? opts.externalSecrets?.[ref.name] : undefined;
          if (!keys) problems.push(`${at}: env ${env.name} references missing ${kind} ${ref.name}`);
          else if (!keys.includes(ref.key))
            problems.push(`${at}: env ${env.name} references missing key ${ref.name}/${ref.key}`);
        }
      }
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef && !from.configMapRef.optional && !inNs('ConfigMap', ns, from.configMapRef.name))
          problems.push(`${at}: envFrom ConfigMap ${from.configMapRef.name} is missing`);
        if (
          from.secretRef &&
          !from.secretRef.optional &&
          !inNs('Secret', ns, from.secretRef.name) &&
          !opts.externalSecrets?.[from.secretRef.name]
        )
          problems.push(`${at}: envFrom Secret ${from.secretRef.name} is missing`);
      }
      const volumes: string[] = (spec.volumes ?? []).map((v: { name: string }) => v.name);
      const claimTemplates: string[] = (owner.spec?.volumeClaimTemplates ?? []).map(
        (v: { metadata: { name: string } }) => v.metadata.name,
      );
      for (const m of c.volumeMounts ?? [])
        if (!volumes.includes(m.name) && !claimTemplates.includes(m.name))
          problems.push(`${at}: volumeMount ${m.name} has no volume`);
    }
    for (const v of spec.volumes ?? []) {
      if (v.configMap && !v.configMap.optional && !inNs('ConfigMap', ns, v.configMap.name))
        problems.push(`${id(owner)}: volume ${v.name} references missing ConfigMap ${v.configMap.name}`);
      if (
        v.secret &&
        !v.secret.optional &&
        !inNs('Secret', ns, v.secret.secretName) &&
        !opts.externalSecrets?.[v.secret.secretName]
      )
        problems.push(`${id(owner)}: volume ${v.name} references missing Secret ${v.secret.secretName}`);
    }
    const sa = spec.serviceAccountName;
    if (sa && sa !== 'default' && !inNs('ServiceAccount', ns, sa))
      problems.push(`${id(owner)}: ServiceAccount ${sa} is missing`);
  }

  for (const gateway of objects.filter((o) => o.kind === 'Gateway')) {
    const ns = gateway.metadata.namespace;
    for (const listener of gateway.spec?.listeners ?? [])
      for (const ref of listener.tls?.certificateRefs ?? []) {
        const issued = objects.some(
          (o) => o.kind === 'Certificate' && o.metadata.namespace === ns && o.spec?.secretName === ref.name,
        );
        if (!issued && !inNs('Secret', ns, ref.name) && !opts.externalSecrets?.[ref.name])
          problems.push(`${id(gateway)}: listener ${listener.name} certificate Secret ${ref.name} is missing`);
      }
  }

  for (const route of objects.filter((o) => o.kind === 'HTTPRoute')) {
    for (const parent of route.spec?.parentRefs ?? []) {
      const gateway = inNs('Gateway', route.metadata.namespace, parent.name);
      if (!gateway) problems.push(`${id(route)}: parent Gateway ${parent.name} is missing`);
      else if (
        parent.sectionName &&
        !(gateway.spec.listeners ?? []).some((l: { name: string }) => l.name === parent.sectionName)
      )
        problems.push(`${id(route)}: Gateway ${parent.name} has no listener ${parent.sectionName}`);
    }
    for (const rule of route.spec?.rules ?? []) {
      for (const backend of rule.backendRefs ?? []) {
        const svc = inNs('Service', route.metadata.namespace, backend.name);
        if (!svc) problems.push(`${id(route)}: backend Service ${backend.name} is missing`);
        else if (!(svc.spec.ports ?? []).some((p: { port: number }) => p.port === backend.port))
          problems.push(`${id(route)}: backend port ${backend.port} is not a port of ${id(svc)}`);
      }
    }
  }

  for (const rb of objects.filter((o) => o.kind === 'RoleBinding')) {
    if (rb.roleRef.kind === 'Role' && !inNs('Role', rb.metadata.namespace, rb.roleRef.name))
      problems.push(`${id(rb)}: Role ${rb.roleRef.name} is missing`);
    for (const s of rb.subjects ?? [])
      if (s.kind === 'ServiceAccount' && !inNs('ServiceAccount', s.namespace ?? rb.metadata.namespace, s.name))
        problems.push(`${id(rb)}: ServiceAccount ${s.namespace}/${s.name} is missing`);
  }
  return problems;
}

/** Env of a container as the kubelet would compute it: envFrom ConfigMaps, env values, Secrets, $(VAR). */
export function resolveEnv(objects: K8sObject[], owner: K8sObject, containerName: string): Record<string, string> {
  const ns = owner.metadata.namespace;
  const pod = podTemplates([owner])[0];
  const c = containersOf(pod?.spec ?? {}).find((x) => x.name === containerName);
  if (!c) throw new Error(`${id(owner)} has no container ${containerName}`);
  const find = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === ns);
  const secretValue = (name: string, key: string): string | undefined => {
    const s = find('Secret', name);
    if (s?.stringData?.[key] !== undefined) return s.stringData[key];
    if (s?.data?.[key] !== undefined) return Buffer.from(s.data[key], 'base64').toString('utf8');
    return s ? undefined : operatorSecrets(objects)[name]?.[key];
  };
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, find('ConfigMap', from.configMapRef.name)?.data ?? {});
    if (from.secretRef) {
      const s = find('Secret', from.secretRef.name);
      for (const key of s ? keysOf(s) : []) env[key] = secretValue(from.secretRef.name, key) ?? '';
    }
  }
  for (const e of c.env ?? []) {
    let value: string | undefined;
    if (e.value !== undefined)
      value = String(e.value).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name) => env[name] ?? m);
    else if (e.valueFrom?.secretKeyRef)
      value = secretValue(e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key);
    else if (e.valueFrom?.configMapKeyRef)
      value = find('ConfigMap', e.valueFrom.configMapKeyRef.name)?.data?.[e.valueFrom.configMapKeyRef.key];
    else if (e.valueFrom?.fieldRef) value = `<${e.valueFrom.fieldRef.fieldPath}>`;
    if (value !== undefined) env[e.name] = value;
  }
  return env;
}
