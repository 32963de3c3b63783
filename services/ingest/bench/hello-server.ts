/** Baseline for bench:ingest: bare fastify answering the same POST with 202, no logging, nothing else. */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/webhooks/payments/orders', async (_request, reply) => reply.status(202).send());
const url = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.stdout.write(`listening ${url}\n`);
