// The request log (issue 12, point 7): one line per request when it is answered, with method, URL,
// status, time and (from the request's logger) its id, instead of fastify's two lines. Probes that
// orchestrators send every few seconds log at debug.

import type { FastifyInstance } from 'fastify';

/** Health and metrics probes: their request lines are debug, not info. */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    const line = {
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      responseTimeMs: Math.round(reply.elapsedTime * 100) / 100,
    };
    if (PROBES.has(request.url.split('?')[0]!)) request.log.debug(line, 'request');
    else request.log.info(line, 'request');
  });
}
