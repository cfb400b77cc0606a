// The routes of one LPAR (`/v1/lpars/{lpar}/…`) as one encapsulated plugin under that prefix: the LPAR
// is resolved once per request, by id or name (404 problem when there is none), and handed to the
// handler as `req.lpar`. It is resolved in preHandler, after the journal's lock is held
// (http/journal.ts, a root hook, runs first): the request before it may have deleted or rebooted it.

import type { FastifyPluginAsync } from 'fastify';
import type { Lpar } from '../lpar/lpar.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The LPAR the URL names; set for the routes of the per-LPAR scope only. */
    lpar: Lpar;
  }
}

export const LPAR_PREFIX = '/v1/lpars/:lpar';

/** The plugin that holds `routes` under LPAR_PREFIX (register it with that prefix). */
export function lparScope(routes: readonly FastifyPluginAsync[]): FastifyPluginAsync {
  return async (scope) => {
    scope.decorateRequest('lpar', null as unknown as Lpar);
    scope.addHook('preHandler', async (req) => {
      req.lpar = scope.registry.get((req.params as { lpar: string }).lpar);
    });
    for (const r of routes) await scope.register(r);
  };
}
