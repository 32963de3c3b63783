/**
 * Kubernetes API helpers on @kubernetes/client-node shared by `npm run cluster:check` and the tests that run
 * against a real kube-apiserver (scripts/kube-apiserver.sh): server-side apply, readable rejections, polling.
 */
import {
  ApiException,
  ApiextensionsV1Api,
  HttpMethod,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
} from '@kubernetes/client-node';

/** Field manager of every server-side apply we do; kubectl shows it in managedFields. */
export const FIELD_MANAGER = 'payment-manager';

/** The kubeconfig at `path`, or the current context of $KUBECONFIG / ~/.kube/config. */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

export function describeObject(o: KubernetesObject): string {
  const ns = o.metadata?.namespace ? `${o.metadata.namespace}/` : '';
  return `${o.kind}/${ns}${o.metadata?.name}`;
}

/** The API server's own message (a Status object) rather than the client's generic "HTTP-Code: 422". */
export function apiErrorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as unknown;
    if (typeof body === 'string') {
      try {
        const status = JSON.parse(body) as { message?: string };
        if (status.message) return `${err.code}: ${status.message}`;
      } catch {
        // not JSON: fall through to the raw body
      }
      return `${err.code}: ${body.slice(0, 500)}`;
    }
    if (body && typeof body === 'object' && 'message' in body) return `${err.code}: ${String(body.message)}`;
    return `${err.code}: ${err.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

export interface ApplyOptions {
  /** Server-side dry run: every admission and validation step runs, nothing is persisted. */
  dryRun?: boolean;
}

/**
 * The client's object API plus server-side apply as `kubectl apply --server-side --force-conflicts` does it. Its
 * own `patch` would not do: it serializes known kinds through the client's models, which drop every field they do
 * not know (a misspelt field in a Deployment would never reach the server, and a CRD's
 * `x-kubernetes-int-or-string` is lost), and it cannot ask for `fieldValidation=Strict`, kubectl's default, which
 * makes an unknown or duplicate field an error instead of a warning.
 */
export class ObjectApi extends KubernetesObjectApi {
  static forConfig(kc: KubeConfig): ObjectApi {
    const client = kc.makeApiClient(ObjectApi);
    client.setDefaultNamespace(kc);
    return client;
  }

  async serverSideApply<T extends KubernetesObject>(object: T, options: ApplyOptions = {}): Promise<T> {
    const path = await this.specUriPath(object, 'patch');
    const context = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    context.setHeaderParam('Accept', 'application/json');
    context.setHeaderParam('Content-Type', PatchStrategy.ServerSideApply);
    context.setQueryParam('fieldManager', FIELD_MANAGER);
    context.setQueryParam('force', 'true');
    context.setQueryParam('fieldValidation', 'Strict');
    if (options.dryRun) context.setQueryParam('dryRun', 'All');
    context.setBody(JSON.stringify(object));
    return this.requestPromise<T>(context);
  }
}

export class Applier {
  readonly client: ObjectApi;
  constructor(kc: KubeConfig) {
    this.client = ObjectApi.forConfig(kc);
  }

  apply<T extends KubernetesObject>(object: T, options: ApplyOptions = {}): Promise<T> {
    return this.client.serverSideApply(object, options);
  }

  /** Applies in order and collects every rejection instead of stopping at the first. */
  async applyAll(objects: KubernetesObject[], options: ApplyOptions = {}): Promise<Rejection[]> {
    const rejections: Rejection[] = [];
    for (const object of objects) {
      try {
        await this.apply(object, options);
      } catch (err) {
        rejections.push({ object: describeObject(object), message: apiErrorMessage(err) });
      }
    }
    return rejections;
  }
}

export interface Rejection {
  object: string;
  message: string;
}

/** Polls `probe` until it returns a value other than undefined, or throws with `what` after `timeoutMs`. */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { timeoutMs, intervalMs = 500 }: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const cause = lastError ? ` (last error: ${apiErrorMessage(lastError)})` : '';
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits until every named CRD reports Established (its resources are then served). */
export async function waitForCrdsEstablished(kc: KubeConfig, names: string[], timeoutMs = 60_000): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  for (const name of names) {
    await pollUntil(
      `CustomResourceDefinition ${name} to be Established`,
      async () => {
        const crd = await api.readCustomResourceDefinition({ name });
        const established = crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
        return established ? true : undefined;
      },
      { timeoutMs, intervalMs: 250 },
    );
  }
}
