import { Ajv } from 'ajv';
import type { K8sObject } from './manifests.ts';

/**
 * Core objects against the Kubernetes OpenAPI schema as compiled by kubernetes-models 4.4.2 (generated from
 * Kubernetes 1.27; nothing GA was removed in 1.28, so a manifest valid there is valid on 1.28 — no
 * kubernetes-models release was generated from 1.28 itself: 4.5.x is 1.30). It checks types, required
 * fields, enums and formats, not unknown fields; unknown fields are caught by the typed cdk8s-plus-34 /
 * k8s 1.28 imports at `tsc` time for the cdk8s output.
 */
export async function validateCore(o: K8sObject): Promise<string | null> {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const modulePath = group
    ? `kubernetes-models/${group}/${version}/${o.kind}`
    : `kubernetes-models/${version}/${o.kind}`;
  // biome-ignore lint/suspicious/noExplicitAny: the model class is looked up by apiVersion/kind at run time
  let mod: any;
  try {
    mod = await import(modulePath);
  } catch {
    return `no Kubernetes 1.27/1.28 schema for ${o.apiVersion} ${o.kind} (${modulePath})`;
  }
  try {
    new mod[o.kind](o).validate();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Schema errors of every core object, one line each (empty = all valid). */
export async function coreSchemaErrors(objects: K8sObject[]): Promise<string[]> {
  const errors: string[] = [];
  for (const o of objects.filter((x) => isCoreApi(x.apiVersion))) {
    const error = await validateCore(o);
    if (error) errors.push(`${o.kind}/${o.metadata?.name}: ${error}`);
  }
  return errors;
}

/** Groups under *.k8s.io that Kubernetes itself does not serve: they come from CRDs (the Gateway API). */
const CRD_GROUPS_UNDER_K8S_IO = ['gateway.networking.k8s.io'];

export function isCoreApi(apiVersion: string): boolean {
  const group = apiVersion.includes('/') ? (apiVersion.split('/')[0] as string) : '';
  if (CRD_GROUPS_UNDER_K8S_IO.includes(group)) return false;
  return group === '' || !group.includes('.') || group.endsWith('.k8s.io');
}

/** CloudNativePG resources against @kubernetes-models/cloudnative-pg (generated from the operator's CRDs). */
export async function validateCnpg(o: K8sObject): Promise<string | null> {
  const mod = await import(`@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/${o.kind}`);
  try {
    new mod[o.kind](o).validate();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

interface CrdVersionSchema {
  group: string;
  kind: string;
  version: string;
  schema: object;
}

/** openAPIV3Schema of every CustomResourceDefinition version among `docs`. */
export function crdSchemas(docs: K8sObject[]): CrdVersionSchema[] {
  return docs
    .filter((d) => d.kind === 'CustomResourceDefinition')
    .flatMap((crd) =>
      // biome-ignore lint/suspicious/noExplicitAny: CRD JSON
      (crd.spec.versions ?? []).map((v: any) => ({
        group: crd.spec.group,
        kind: crd.spec.names.kind,
        version: v.name,
        schema: v.schema?.openAPIV3Schema ?? {},
      })),
    );
}

/**
 * kubectl applies with strict field validation by default: a field the structural schema does not declare is
 * an error, unless the schema preserves unknown fields there. JSON Schema allows extra properties, so close
 * every object schema that lists properties and does not carry x-kubernetes-preserve-unknown-fields.
 */
function strictStructural(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strictStructural);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] =
      key === 'properties'
        ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, strictStructural(v)]))
        : strictStructural(value);
  }
  if (out.properties && out['x-kubernetes-preserve-unknown-fields'] !== true && out.additionalProperties === undefined)
    out.additionalProperties = false;
  return out;
}

/** Validates a custom resource against its CRD's structural schema, with kubectl's strict field validation. */
export function crdValidator(schemas: CrdVersionSchema[]) {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  return (o: K8sObject): string | null | undefined => {
    const [group, version] = o.apiVersion.split('/');
    const found = schemas.find((s) => s.group === group && s.version === version && s.kind === o.kind);
    if (!found) return undefined;
    const schema = strictStructural(found.schema) as { properties?: Record<string, unknown> };
    // metadata is checked by the API server's ObjectMeta rules, not by the CRD schema.
    if (schema.properties) schema.properties.metadata = { type: 'object' };
    const validate = ajv.compile(schema);
    return validate(o) ? null : ajv.errorsText(validate.errors);
  };
}
