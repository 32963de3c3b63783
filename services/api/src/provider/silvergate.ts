/** HTTP adapter for the payment provider "Silvergate" (docs/domain.md#the-payment-provider). No retries, one whole-request timeout. */

export interface CaptureRequest {
  order_id: string;
  amount: number;
  currency: string;
  idempotency_key: string;
}

export interface CaptureResponse {
  transaction_id: string;
  status: string;
}

export interface SilvergateClient {
  capture(request: CaptureRequest): Promise<CaptureResponse>;
  submitRepresentment(request: { order_id: string; evidences_file_id: string[] }): Promise<{ id: string }>;
}

export class ProviderError extends Error {
  override name = 'ProviderError';
}

export interface SilvergateOptions {
  baseUrl: string;
  capturePath: string;
  submitRepresentmentPath: string;
  timeoutMs: number;
}

export function createSilvergateClient(options: SilvergateOptions): SilvergateClient {
  async function post(path: string, body: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${options.baseUrl}${path}`, {
        method: 'POST',
        // Exactly this value: the provider stubs match the header by equality (docs/domain.md#the-payment-provider).
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (err) {
      const reason =
        (err as Error).name === 'TimeoutError' ? `timed out after ${options.timeoutMs} ms` : (err as Error).message;
      throw new ProviderError(`request to ${path} failed: ${reason}`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw new ProviderError(`reading response of ${path} failed: ${(err as Error).message}`);
    }
    if (!response.ok) {
      throw new ProviderError(`${path} answered ${response.status} ${response.statusText}: ${text.slice(0, 2048)}`);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new ProviderError(
        `${path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 2048)}`,
      );
    }
  }

  return {
    async capture(request) {
      const body = (await post(options.capturePath, request)) as Partial<CaptureResponse> | null;
      if (!body || typeof body.transaction_id !== 'string' || typeof body.status !== 'string') {
        throw new ProviderError('capture response lacks transaction_id or status');
      }
      return { transaction_id: body.transaction_id, status: body.status };
    },
    async submitRepresentment(request) {
      const body = (await post(options.submitRepresentmentPath, request)) as { id?: unknown } | null;
      if (!body || typeof body.id !== 'string' || body.id === '') {
        throw new ProviderError('representment response has no submission id');
      }
      return { id: body.id };
    },
  };
}
