import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the Silvergate provider in `npm run dev`, answering like the capture-OK and representment-OK
 * stubs of deploy/wiremock (docs/domain.md#provider-stubs), including their matching rules: exactly `Content-Type: application/json`
 * and the required body fields. Anything else gets a 404, as WireMock gives for an unmatched request.
 */

export const CAPTURE_PATH = '/api/v1/capture';
export const SUBMIT_REPRESENTMENT_PATH = '/api/v1/dispute-representments/create';

type Body = Record<string, unknown>;

const stubs: Record<string, { matches(body: Body): boolean; response: unknown }> = {
  [CAPTURE_PATH]: {
    matches: (body) => ['order_id', 'amount', 'currency', 'idempotency_key'].every((field) => body[field] != null),
    response: { transaction_id: 'txn-capture-123', status: 'success' },
  },
  [SUBMIT_REPRESENTMENT_PATH]: {
    matches: (body) =>
      body.order_id != null && Array.isArray(body.evidences_file_id) && body.evidences_file_id[0] != null,
    response: { id: 'sg-subm-1' },
  },
};

function parseObject(text: string): Body | null {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Body) : null;
  } catch {
    return null;
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

export interface ProviderStub {
  url: string;
  close(): Promise<void>;
}

export async function startProviderStub(port = 0, host = '127.0.0.1'): Promise<ProviderStub> {
  const server = createServer(async (request, response) => {
    const stub = request.method === 'POST' ? stubs[request.url ?? ''] : undefined;
    const body = parseObject(await readBody(request));
    if (stub && request.headers['content-type'] === 'application/json' && body && stub.matches(body)) {
      send(response, 200, stub.response);
      return;
    }
    send(response, 404, { error: `Request was not matched: ${request.method} ${request.url}` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: boundPort } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${boundPort}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
