// Bearer-token access (issue 11): with LPARSIM_TOKEN set, every route except /healthz and /readyz
// needs `Authorization: Bearer <token>`. @fastify/bearer-auth checks the header and compares the
// token in constant time; a refusal is a 401 problem with `WWW-Authenticate: Bearer`, sent before
// the body is read (an onRequest hook), so an unauthenticated client cannot make the service parse
// a 96 MiB upload.

import bearerAuth from '@fastify/bearer-auth';
import type { FastifyInstance } from 'fastify';
import { sendProblem } from '../problem.ts';

/** What a load balancer or orchestrator probes without a token. */
export const OPEN_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/** The scheme as the OpenAPI document declares it (components.securitySchemes). */
export const BEARER_SCHEME = {
  type: 'http',
  scheme: 'bearer',
  description: 'Required on every route but /healthz and /readyz when the service runs with LPARSIM_TOKEN.',
} as const;

export async function registerAuth(app: FastifyInstance, token: string | undefined): Promise<void> {
  if (!token) return;
  await app.register(bearerAuth, { keys: [token], addHook: false, verifyErrorLogLevel: 'warn' });
  const verify = app.verifyBearerAuth!;
  app.addHook('onRequest', (request, reply, done) => {
    if (OPEN_ROUTES.has(request.routeOptions.url ?? '') || request.routeOptions.config?.withoutToken) {
      done();
      return;
    }
    verify(request, reply, (err) => {
      if (!err) {
        done();
        return;
      }
      reply.header('www-authenticate', 'Bearer realm="lparsim"');
      // The plugin's messages name what was wrong with the header, never the token.
      sendProblem(
        reply,
        request,
        401,
        'unauthorized',
        'Unauthorized',
        `${err.message}: send Authorization: Bearer <LPARSIM_TOKEN>`,
      );
    });
  });
}
