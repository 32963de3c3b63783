/**
 * JSON Schema for the part of skaffold's v4beta11 configuration this repo uses, written from skaffold's
 * documented config reference (no npm package ships skaffold's generated schema, and we have no network
 * access to its docs site). Unknown fields are rejected at every level we describe, as skaffold itself
 * does, so a typo (e.g. `rawYAML`, `remotechart`) fails the test. Sections we do not use are absent on purpose:
 * adding one means extending this schema from the reference.
 */
const stringArray = { type: 'array', items: { type: 'string' } } as const;

const hostHook = {
  type: 'object',
  additionalProperties: false,
  required: ['command'],
  properties: { command: { ...stringArray, minItems: 1 }, os: stringArray, dir: { type: 'string' } },
} as const;

const hooks = {
  type: 'object',
  additionalProperties: false,
  properties: {
    before: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, required: ['host'], properties: { host: hostHook } },
    },
    after: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, required: ['host'], properties: { host: hostHook } },
    },
  },
} as const;

const helmRelease = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  oneOf: [{ required: ['chartPath'] }, { required: ['remoteChart'] }],
  properties: {
    name: { type: 'string' },
    chartPath: { type: 'string' },
    remoteChart: { type: 'string' },
    repo: { type: 'string' },
    version: { type: 'string' },
    namespace: { type: 'string' },
    createNamespace: { type: 'boolean' },
    valuesFiles: stringArray,
    setValues: { type: 'object' },
    setValueTemplates: { type: 'object' },
    wait: { type: 'boolean' },
    upgradeOnChange: { type: 'boolean' },
    skipBuildDependencies: { type: 'boolean' },
  },
} as const;

const deploy = {
  type: 'object',
  additionalProperties: false,
  properties: {
    kubeContext: { type: 'string' },
    statusCheck: { type: 'boolean' },
    statusCheckDeadlineSeconds: { type: 'integer', minimum: 1 },
    tolerateFailuresUntilDeadline: { type: 'boolean' },
    helm: {
      type: 'object',
      additionalProperties: false,
      properties: {
        releases: { type: 'array', items: helmRelease },
        flags: { type: 'object' },
        hooks,
      },
    },
    kubectl: {
      type: 'object',
      additionalProperties: false,
      properties: {
        defaultNamespace: { type: 'string' },
        flags: {
          type: 'object',
          additionalProperties: false,
          properties: {
            global: stringArray,
            apply: stringArray,
            delete: stringArray,
            disableValidation: { type: 'boolean' },
          },
        },
        remoteManifests: stringArray,
        hooks,
      },
    },
  },
} as const;

const build = {
  type: 'object',
  additionalProperties: false,
  properties: {
    local: {
      type: 'object',
      additionalProperties: false,
      properties: {
        push: { type: 'boolean' },
        useBuildkit: { type: 'boolean' },
        useDockerCLI: { type: 'boolean' },
        concurrency: { type: 'integer' },
        tryImportMissing: { type: 'boolean' },
      },
    },
    tagPolicy: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      maxProperties: 1,
      properties: {
        gitCommit: {
          type: 'object',
          additionalProperties: false,
          properties: {
            variant: { enum: ['Tags', 'CommitSha', 'AbbrevCommitSha', 'TreeSha', 'AbbrevTreeSha'] },
            prefix: { type: 'string' },
            ignoreChanges: { type: 'boolean' },
          },
        },
        sha256: { type: 'object' },
        inputDigest: { type: 'object' },
        dateTime: { type: 'object' },
        envTemplate: { type: 'object', required: ['template'] },
      },
    },
    artifacts: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['image', 'docker'],
        properties: {
          image: { type: 'string', pattern: '^[a-z0-9./_-]+$' },
          context: { type: 'string' },
          docker: {
            type: 'object',
            additionalProperties: false,
            properties: {
              dockerfile: { type: 'string' },
              target: { type: 'string' },
              buildArgs: { type: 'object', additionalProperties: { type: 'string' } },
              noCache: { type: 'boolean' },
              pullParent: { type: 'boolean' },
            },
          },
        },
      },
    },
  },
} as const;

const pipeline = {
  build,
  manifests: {
    type: 'object',
    additionalProperties: false,
    properties: { rawYaml: { ...stringArray, minItems: 1 }, hooks },
  },
  deploy,
  resourceSelector: {
    type: 'object',
    additionalProperties: false,
    properties: {
      allow: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['groupKind'],
          properties: {
            groupKind: { type: 'string', pattern: '^[A-Za-z]+(\\.[a-z0-9.-]+)?$' },
            image: stringArray,
            labels: stringArray,
            podSpec: stringArray,
          },
        },
      },
    },
  },
  portForward: {
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['resourceType', 'resourceName', 'port'],
      properties: {
        resourceType: {
          enum: [
            'service',
            'pod',
            'deployment',
            'replicaset',
            'statefulset',
            'daemonset',
            'job',
            'cronjob',
            'Service',
            'Pod',
            'Deployment',
          ],
        },
        resourceName: { type: 'string' },
        namespace: { type: 'string' },
        port: { type: ['integer', 'string'] },
        localPort: { type: 'integer' },
        address: { type: 'string' },
      },
    },
  },
} as const;

export const SKAFFOLD_V4BETA11_SUBSET_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'metadata'],
  properties: {
    apiVersion: { const: 'skaffold/v4beta11' },
    kind: { const: 'Config' },
    metadata: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: { name: { type: 'string' }, labels: { type: 'object' }, annotations: { type: 'object' } },
    },
    requires: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: { configs: stringArray, path: { type: 'string' }, activeProfiles: { type: 'array' } },
      },
    },
    ...pipeline,
    profiles: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string' },
          activation: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              properties: { env: { type: 'string' }, kubeContext: { type: 'string' }, command: { type: 'string' } },
            },
          },
          requiresAllActivations: { type: 'boolean' },
          patches: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['path'],
              properties: {
                op: { enum: ['add', 'remove', 'replace', 'move', 'copy', 'test'] },
                path: { type: 'string', pattern: '^/' },
                from: { type: 'string' },
                value: {},
              },
            },
          },
          ...pipeline,
        },
      },
    },
  },
} as const;
