// The request log (issue 12, point 7): one line per request when it is answered, with method, URL,
// status, time and (from the request's logger) its id, instead of fastify's two lines. Probes that
// orchestrators send every few seconds log at debug. A request that failed also logs its error.

import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/** Health and metrics probes: their request lines are debug, not info. */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const line = {
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      responseTimeMs: Math.round(reply.elapsedTime * 100) / 100,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request');
    else if (PROBES.has(request.url.split('?')[0]!)) reply.log.debug(line, 'request');
    else reply.log.info(line, 'request');
  }
}
