// What the server sends on every route, whatever the route's own schema declares (issue 12, point 11:
// the document is the truth). Statuses, media types and headers that come from the service around
// the routes (the request id, the token check, the journal, fastify's URL and body parsing) are
// written into the OpenAPI document here, when it is generated, so that no route file has to repeat
// them and none can forget one: a validating proxy (test/e2e/prism.test.ts) then finds nothing the
// server sends undeclared.

import { OPEN_ROUTES } from './auth.ts';

interface OpenapiResponse {
  description?: string;
  headers?: Record<string, unknown>;
  content?: Record<string, { schema?: unknown; example?: unknown }>;
}
export interface OpenapiOperation {
  operationId?: string;
  requestBody?: { content?: Record<string, { example?: unknown }> };
  responses?: Record<string, OpenapiResponse>;
}
export interface OpenapiDocument {
  paths?: Record<string, Record<string, OpenapiOperation>>;
}

const REQUEST_ID_HEADER = {
  description:
    "The request's id: the client's x-request-id when it is at most 128 of [A-Za-z0-9._-], else one the server made; its log lines carry it",
  schema: { type: 'string' },
};

const PROBLEM = { schema: { $ref: '#/components/schemas/Problem' } };

/** Methods whose body fastify reads whenever one is sent, whether the operation takes one or not. */
const BODY_METHODS: ReadonlySet<string> = new Set(['post', 'put', 'patch', 'delete']);

interface OperationAt {
  readonly path: string;
  readonly method: string;
  readonly lookOnly: boolean;
}

/**
 * The problems the service answers around the routes, by status: when each applies to an operation,
 * and what it means (the description, when the route did not document the status itself).
 */
const AROUND_THE_ROUTES: ReadonlyArray<{
  status: string;
  applies: (at: OperationAt) => boolean;
  description: string | ((at: OperationAt) => string);
  headers?: Record<string, unknown>;
}> = [
  {
    // frameworkErrors (app.ts): a path parameter that is not valid percent-encoding; an unreadable or
    // empty JSON body wherever a body is read.
    status: '400',
    applies: ({ path, method }) => path.includes('{') || BODY_METHODS.has(method),
    description:
      'A path parameter that is not valid percent-encoding, an unreadable body, or a request that fails validation',
  },
  {
    status: '401',
    applies: ({ path }) => !OPEN_ROUTES.has(path),
    description:
      'The service runs with LPARSIM_TOKEN and the request has no valid `Authorization: Bearer <token>` (plugins/auth.ts)',
    headers: {
      'www-authenticate': {
        description: 'Bearer realm="lparsim"',
        required: true,
        schema: { type: 'string' },
      },
    },
  },
  {
    status: '413',
    applies: ({ method }) => BODY_METHODS.has(method),
    description: 'The body is larger than the body limit (LPARSIM_BODY_LIMIT_BYTES, or the route’s own)',
  },
  {
    status: '415',
    applies: ({ method }) => BODY_METHODS.has(method),
    description: 'A body of a media type this operation does not read',
  },
  {
    // http/journal.ts: once an append to the durable journal failed, every request that may change
    // a model is refused, so that nothing acknowledged depends on a change the journal lacks.
    // http/closing.ts: during a shutdown's drain, any request read from a connection still open.
    status: '503',
    applies: () => true,
    description: ({ path, lookOnly }) =>
      lookOnly || !path.startsWith('/v1/')
        ? 'The service is shutting down: send the request again elsewhere or later (`connection: close`)'
        : 'The service is shutting down (send the request again elsewhere or later, `connection: close`), or the durable journal (LPARSIM_DATA_DIR) could not be written and this instance takes no more requests that may change a model until it is restarted',
    headers: {
      'retry-after': {
        description: 'Seconds to wait before sending the request again (sent while shutting down)',
        schema: { type: 'string' },
      },
    },
  },
];

/** `method path` of an operation, as the document names it (`get /v1/lpars/{lpar}`). */
export function operationKey(method: string, openapiPath: string): string {
  return `${method.toLowerCase()} ${openapiPath}`;
}

/** A fastify URL as the document writes it: `/v1/lpars/:lpar/sys/*` → `/v1/lpars/{lpar}/sys/{path}`. */
export function openapiPath(url: string): string {
  return url.replace(/\/\*$/, '/:path').replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

const LOCATION = { description: 'The URL of the LPAR', schema: { type: 'string' } };

/** Headers particular to one operation's answer, by operationId and status. */
const OPERATION_HEADERS: Readonly<Record<string, Readonly<Record<string, Record<string, unknown>>>>> = {
  importJournal: {
    '201': {
      'x-lparsim-digest': {
        description: "SHA-256 of the rebuilt LPAR's model: the same as the imported file's final digest",
        schema: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      },
    },
  },
  putLpar: { '200': { location: LOCATION } },
  rebootLpar: { '200': { location: LOCATION } },
};

function documentResponses(op: OpenapiOperation): void {
  for (const [status, response] of Object.entries(op.responses ?? {})) {
    response.headers = {
      'x-request-id': REQUEST_ID_HEADER,
      ...(response.headers ?? {}),
      ...(OPERATION_HEADERS[op.operationId ?? '']?.[status] ?? {}),
    };
    if (status === '201' && !response.headers.location)
      response.headers.location = { description: 'The URL of what was created', schema: { type: 'string' } };
    // An event stream's items: the Event union (OpenAPI 3.1 has no keyword for a stream's items).
    const sse = response.content?.['text/event-stream'] as Record<string, unknown> | undefined;
    if (sse) sse['x-itemSchema'] = { $ref: '#/components/schemas/Event' };
    // Problems are sent as application/problem+json; fastify documents a response schema under
    // application/json.
    const json = response.content?.['application/json'];
    if (Number(status) >= 400 && json && response.content) {
      delete response.content['application/json'];
      response.content['application/problem+json'] = json;
    }
  }
}

/**
 * Completes every operation of `doc` with what the server sends around its routes. `lookOnly` holds
 * the operations (operationKey) of routes that only look (http/journal.ts), which the journal never
 * refuses.
 */
export function documentServerResponses(doc: OpenapiDocument, lookOnly: ReadonlySet<string>): void {
  for (const [path, ops] of Object.entries(doc.paths ?? {}))
    for (const [method, op] of Object.entries(ops)) {
      const responses = op.responses ?? {};
      const at = { path, method, lookOnly: lookOnly.has(operationKey(method, path)) };
      for (const problem of AROUND_THE_ROUTES) {
        if (!problem.applies(at)) continue;
        const description =
          typeof problem.description === 'string' ? problem.description : problem.description(at);
        const response = responses[problem.status] ?? { description };
        response.content = { ...(response.content ?? {}) };
        if (!response.content['application/problem+json'] && !response.content['application/json'])
          response.content['application/problem+json'] = PROBLEM;
        if (problem.headers) response.headers = { ...(response.headers ?? {}), ...problem.headers };
        responses[problem.status] = response;
      }
      // In status order, whatever order the route and this table added them in.
      op.responses = Object.fromEntries(
        Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b) || a.localeCompare(b)),
      );
      documentResponses(op);
    }
}
