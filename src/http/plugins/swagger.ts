// The OpenAPI document is generated from the route schemas (@fastify/swagger); /docs serves it.

import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { BEARER_SCHEME } from './auth.ts';
import { OPERATION_EXAMPLES } from './operations.ts';

interface OpenapiResponse {
  description?: string;
  headers?: Record<string, unknown>;
  content?: Record<string, { schema?: unknown; example?: unknown }>;
}
interface OpenapiOperation {
  operationId?: string;
  requestBody?: { content?: Record<string, { example?: unknown }> };
  responses?: Record<string, OpenapiResponse>;
}
interface OpenapiDocument {
  paths?: Record<string, Record<string, OpenapiOperation>>;
}

const REQUEST_ID_HEADER = {
  description:
    "The request's id: the client's x-request-id when it is at most 128 of [A-Za-z0-9._-], else one the server made; its log lines carry it",
  schema: { type: 'string' },
};

/**
 * What every response carries, as the server sends it (issue 12, point 11): x-request-id on all; a
 * Location on a 201; and problems as application/problem+json (fastify documents a response schema
 * under application/json, which is not what a problem is sent as).
 */
function documentResponses(op: OpenapiOperation): void {
  for (const [status, response] of Object.entries(op.responses ?? {})) {
    response.headers = { 'x-request-id': REQUEST_ID_HEADER, ...(response.headers ?? {}) };
    if (status === '201' && !response.headers.location)
      response.headers.location = { description: 'The URL of what was created', schema: { type: 'string' } };
    // An event stream's items: the Event union (OpenAPI 3.1 has no keyword for a stream's items).
    const sse = response.content?.['text/event-stream'] as Record<string, unknown> | undefined;
    if (sse) sse['x-itemSchema'] = { $ref: '#/components/schemas/Event' };
    const json = response.content?.['application/json'];
    if (Number(status) >= 400 && json && response.content) {
      delete response.content['application/json'];
      response.content['application/problem+json'] = json;
    }
  }
}

export const OPENAPI_INFO = {
  title: 'lparsim',
  version: '0.1.0',
  description:
    'Simulates the Open Firmware device tree of a Linux LPAR on PowerVM, per kernel version, across live partition migrations.',
  license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
};

export async function registerSwagger(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    // Components are named by their $id (Problem, Event, EventNodeAttached…), not def-0, def-1.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
    // Wildcard routes (`…/sys/*`) are documented with a named `path` parameter.
    transform: ({ schema, url }) => {
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
    // Body examples go in after generation: a body field named `properties` (addNode's) would be read
    // as a schema's properties if they went through the route schema.
    transformObject: (documentObject) => {
      const doc = (documentObject as { openapiObject: OpenapiDocument }).openapiObject;
      for (const ops of Object.values(doc.paths ?? {}))
        for (const op of Object.values(ops)) {
          documentResponses(op);
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
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
