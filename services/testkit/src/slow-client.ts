/** A client that sends part of a request and then nothing: what the edge timeouts of both services must cut. */
import { once } from 'node:events';
import { connect } from 'node:net';

/** Writes `partialRequest`, then waits for the server to close; resolves with when it did and what it answered. */
export async function slowClient(
  port: number,
  partialRequest: string,
): Promise<{ closedAfterMs: number; answer: string }> {
  const started = Date.now();
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  socket.write(partialRequest);
  let answer = '';
  socket.on('data', (data: Buffer) => {
    answer += data.toString();
  });
  socket.on('error', () => {});
  await once(socket, 'close');
  return { closedAfterMs: Date.now() - started, answer };
}

/** Short edge timeouts for tests (the defaults are seconds long). */
export const FAST_EDGE_TIMEOUTS = {
  requestTimeoutMs: 1000,
  headersTimeoutMs: 500,
  keepAliveTimeoutMs: 1000,
  idleTimeoutMs: 5000,
};

/** The slow-body probe of the security review: 100 bytes declared, one sent. */
export const SLOW_BODY_REQUEST = 'POST /webhooks/payments/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{';
