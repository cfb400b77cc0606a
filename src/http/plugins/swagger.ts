// The OpenAPI document is generated from the route schemas (@fastify/swagger); /docs serves it.

import { readFileSync } from 'node:fs';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { BEARER_SCHEME } from './auth.ts';
import { documentServerResponses, type OpenapiDocument, openapiPath, operationKey } from './contract.ts';
import { OPERATION_EXAMPLES } from './operations.ts';

export const OPENAPI_INFO = {
  title: 'lparsim',
  version: '0.1.0',
  description:
    'Simulates the Open Firmware device tree of a Linux LPAR on PowerVM, per kernel version, across live partition migrations. ' +
    'New here? Follow the walk-through with curl in the README (served at [/docs/readme](/docs/readme), section "A walk through with curl").',
  license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
};

export async function registerSwagger(app: FastifyInstance): Promise<void> {
  // The operations of routes that only look (http/journal.ts), seen as each route is documented.
  const lookOnly = new Set<string>();
  await app.register(swagger, {
    // Components are named by their $id (Problem, Event, EventNodeAttached…), not def-0, def-1.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
    // Wildcard routes (`…/sys/*`) are documented with a named `path` parameter.
    transform: ({ schema, url, route }) => {
      if (route.config?.lookOnly)
        for (const method of [route.method].flat()) lookOnly.add(operationKey(method, openapiPath(url)));
      if (!url.endsWith('/*') || !schema) return { schema, url };
      const params = schema.params as
        | { properties?: Record<string, unknown>; required?: string[] }
        | undefined;
      const properties = { ...(params?.properties ?? {}) };
      const wildcard = properties['*'];
      delete properties['*'];
      if (wildcard) properties.path = wildcard;
      const required = (params?.required ?? []).map((r) => (r === '*' ? 'path' : r));
      return {
        schema: { ...schema, params: { ...params, properties, required } },
        url: `${url.slice(0, -2)}/:path`,
      };
    },
    // What the server sends around the routes (plugins/contract.ts). Body examples go in after
    // generation: a body field named `properties` (addNode's) would be read as a schema's properties
    // if they went through the route schema.
    transformObject: (documentObject) => {
      const doc = (documentObject as { openapiObject: OpenapiDocument }).openapiObject;
      documentServerResponses(doc, lookOnly);
      for (const ops of Object.values(doc.paths ?? {}))
        for (const op of Object.values(ops)) {
          const example = op.operationId ? OPERATION_EXAMPLES[op.operationId]?.body : undefined;
          if (example === undefined || !op.requestBody?.content) continue;
          for (const media of Object.values(op.requestBody.content)) media.example = example;
        }
      return doc as never;
    },
    openapi: {
      openapi: '3.1.0',
      info: OPENAPI_INFO,
      servers: [{ url: '/' }],
      components: { securitySchemes: { bearerAuth: BEARER_SCHEME } },
      security: [{ bearerAuth: [] }],
      tags: [
        { name: 'health', description: 'Liveness, readiness, metrics' },
        { name: 'catalogue', description: 'Kernel profiles, tree profiles and managed systems' },
        { name: 'lpars', description: 'Simulated partitions' },
        { name: 'nodes', description: 'Device-tree nodes, references and lookups' },
        { name: 'edits', description: '/proc/ppc64/ofdt and its JSON equivalents' },
        { name: 'views', description: 'The emulated /sys and /proc, exports' },
        { name: 'kernel', description: 'dmesg, phandle cache, vio, drivers, invariants, events' },
        { name: 'migrations', description: 'Live partition migration' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', theme: { title: 'lparsim API' } });
  // The README the description links to (its walk-through), as the service's own copy of it: not an
  // API operation, so it is left out of the document.
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  app.get('/docs/readme', { schema: { hide: true }, config: { lookOnly: true } }, async (_req, reply) =>
    reply.type('text/markdown; charset=utf-8').send(readme),
  );
}
