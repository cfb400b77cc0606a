// The answer to a request that arrives while the service shuts down (issue 11's drain).

import type { FastifyInstance } from 'fastify';
import { sendProblem } from './problem.ts';

/**
 * Once close() has begun, a request still read from an open connection (keep-alive, pipelined) is
 * refused with 503 and `connection: close`, so a load balancer sends it elsewhere, instead of running.
 * fastify sets the header itself; the body is the document's Problem, with a Retry-After.
 */
export function registerClosingProblem(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    if (!closing) return;
    reply.header('connection', 'close').header('retry-after', '1');
    return sendProblem(
      reply,
      request,
      503,
      'shutting-down',
      'Service shutting down',
      'the server is draining its requests before it exits; send the request again to another instance or after it restarts',
    );
  });
}
