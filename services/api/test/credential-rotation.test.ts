/**
 * Rotating credentials without downtime (docs/security.md, "Rotation"), with the API as its container runs it
 * (services/testkit/src/service-process.ts). A rollout is modelled as Kubernetes does it: the Secret is updated,
 * then a rolling restart starts pods with the new value while pods with the old one still serve.
 *
 * API keys: API_KEYS holds `role:sha256hex` entries, any number per role. Step 1 adds the new key next to the old
 * one (clients move at their pace; both are accepted, by old and new pods alike for the old key); step 2 removes
 * the old key, which is then refused. Webhook secrets: WEBHOOK_SECRET lists the new and the previous secret during
 * the window, then the new one only. (In-process checks of the window: webhook-signatures.test.ts and, for
 * ingest, ingest-kafka.test.ts.)
 */
import { randomUUID } from 'node:crypto';
import { useTestDatabase } from '@payment-manager/testkit/postgres';
import { type ServiceProcess, startServiceProcess } from '@payment-manager/testkit/service-process';
import { describeWith } from '@payment-manager/testkit/services';
import { orderWebhook } from '@payment-manager/testkit/webhooks';
import { Webhook } from 'standardwebhooks';
import { afterAll, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from '../src/http/auth.ts';

const OLD_KEY = generateApiKey();
const NEW_KEY = generateApiKey();
const OLD_SECRET = `whsec_${Buffer.from(`old-secret-${randomUUID()}`).toString('base64')}`;
const NEW_SECRET = `whsec_${Buffer.from(`new-secret-${randomUUID()}`).toString('base64')}`;

/** The value of the Secret at each stage of a rotation. */
const BEFORE = { API_KEYS: `reader:${hashApiKey(OLD_KEY)}`, WEBHOOK_SECRET: OLD_SECRET };
const WINDOW = {
  API_KEYS: `reader:${hashApiKey(OLD_KEY)},reader:${hashApiKey(NEW_KEY)}`,
  WEBHOOK_SECRET: `${NEW_SECRET}, ${OLD_SECRET}`,
};
const AFTER = { API_KEYS: `reader:${hashApiKey(NEW_KEY)}`, WEBHOOK_SECRET: NEW_SECRET };

describeWith(['postgres'], 'rotating API keys and webhook secrets without downtime (real API processes)', () => {
  const db = useTestDatabase();
  const pods: ServiceProcess[] = [];
  afterAll(async () => {
    await Promise.all(pods.map((pod) => pod.stop()));
  });

  /** One pod of the API with the Secret's value of the moment. */
  const pod = async (secret: Record<string, string>) => {
    const started = await startServiceProcess('api', {
      ...secret,
      OTEL_SDK_DISABLED: 'true',
      WEBHOOK_MODE: 'sync',
      PG_URL: db.databaseUrl,
      PG_REPLICA_URL: '',
      SILVERGATE_BASE_URL: 'http://127.0.0.1:9',
      LOG_LEVEL: 'warn',
    });
    pods.push(started);
    return started;
  };
  const read = async (api: ServiceProcess, key: string) =>
    (await fetch(`${api.url}/orders?limit=1`, { headers: { authorization: `Bearer ${key}` } })).status;
  /** Status of a signed order webhook: 202 accepted, 401 signature refused. */
  const webhook = async (api: ServiceProcess, secret: string) => {
    const raw = JSON.stringify(orderWebhook());
    const id = `msg_${randomUUID()}`;
    const at = new Date();
    const response = await fetch(`${api.url}/webhooks/payments/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(secret).sign(id, at, raw),
      },
      body: raw,
    });
    return response.status;
  };

  it('two keys of one role coexist during the window; the old one is refused once removed', async () => {
    const old = await pod(BEFORE);
    expect(await read(old, OLD_KEY)).toBe(200);
    expect(await read(old, NEW_KEY)).toBe(401);

    // The Secret now lists both; the rolling restart brings a pod with both while the old pod still serves.
    const windowPod = await pod(WINDOW);
    expect(await read(windowPod, OLD_KEY)).toBe(200);
    expect(await read(windowPod, NEW_KEY)).toBe(200);
    expect(await read(old, OLD_KEY)).toBe(200);
    await old.stop();

    // Clients have moved to the new key; the Secret drops the old one; the next restart enforces it.
    const after = await pod(AFTER);
    expect(await read(windowPod, NEW_KEY)).toBe(200);
    expect(await read(after, NEW_KEY)).toBe(200);
    expect(await read(after, OLD_KEY)).toBe(401);
  }, 180_000);

  it('webhooks signed with either secret are accepted during the window; the previous one is refused after', async () => {
    const windowPod = await pod(WINDOW);
    // The provider may still sign with the previous secret for a while: both pass the signature check.
    expect(await webhook(windowPod, OLD_SECRET)).toBe(202);
    expect(await webhook(windowPod, NEW_SECRET)).toBe(202);
    const after = await pod(AFTER);
    expect(await webhook(after, NEW_SECRET)).toBe(202);
    expect(await webhook(after, OLD_SECRET)).toBe(401);
  }, 180_000);
});
