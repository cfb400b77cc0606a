// RFC 9457 problem details: every error the service answers goes through here.

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LparError, type ProblemKind } from '../lpar/errors.ts';

export const PROBLEM_TYPE_BASE = 'https://lparsim.dev/problems/';

const STATUS: Readonly<Record<ProblemKind, number>> = {
  'bad-request': 400,
  'not-found': 404,
  conflict: 409,
  limit: 413,
  'ofdt-errno': 400,
  unprocessable: 422,
  'task-killed': 409,
  panicked: 409,
  'insufficient-storage': 507,
  'unsupported-media-type': 415,
  // The durable journal failed (a full or broken disk): not a bug of the request or of lparsim.
  unavailable: 503,
};

/** A title a person reads, for errors fastify raises (their codes, FST_ERR_…, are not titles). */
const FASTIFY_TITLES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'Request body too large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Unsupported media type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Bad Content-Length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'Empty JSON body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'Invalid JSON body',
  FST_ERR_BAD_URL: 'Malformed URL',
};

function humanTitle(status: number, code: string | undefined): string {
  const known = code ? FASTIFY_TITLES[code] : undefined;
  if (known) return known;
  if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || /json/i.test(code ?? '')) return 'Invalid JSON body';
  return status === 413
    ? 'Request body too large'
    : status === 415
      ? 'Unsupported media type'
      : 'Bad request';
}

export function sendProblem(
  reply: FastifyReply,
  request: FastifyRequest,
  status: number,
  slug: string,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: `${PROBLEM_TYPE_BASE}${slug}`,
      title,
      status,
      detail,
      instance: request.url,
      requestId: request.id,
      ...extra,
    });
}

type AjvError = NonNullable<FastifyError['validation']>[number];

/**
 * Ajv's errors as a person reads them: an unknown key is named (not only its parent), a wrong enum
 * or union of constants lists the allowed values once, instead of one `must be equal to constant`
 * per member and an `anyOf`.
 */
function validationErrors(where: string, validation: readonly AjvError[]) {
  const constants = new Map<string, unknown[]>();
  // A union of objects that each need one key ({path} | {address}): "one of the keys path, address".
  const alternatives = new Map<string, string[]>();
  const unions = new Set(validation.filter((v) => v.keyword === 'anyOf').map((v) => v.instancePath));
  const push = <T>(map: Map<string, T[]>, key: string, value: T) =>
    map.set(key, [...(map.get(key) ?? []), value]);
  for (const v of validation) {
    const p = v.params as { allowedValue?: unknown; missingProperty?: unknown } | undefined;
    if (v.keyword === 'const') push(constants, v.instancePath, p?.allowedValue);
    if (v.keyword === 'required' && unions.has(v.instancePath) && typeof p?.missingProperty === 'string')
      push(alternatives, v.instancePath, p.missingProperty);
  }
  const oneOf = (values: readonly unknown[]) =>
    `must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}`;
  const out: Array<{ where: string; path: string; message: string | undefined }> = [];
  for (const v of validation) {
    const params = v.params as { additionalProperty?: unknown; allowedValues?: unknown } | undefined;
    const extra = params?.additionalProperty;
    const path = v.instancePath;
    if (typeof extra === 'string')
      out.push({ where, path: `${path}/${extra}`, message: `unknown key ${JSON.stringify(extra)}` });
    else if (Array.isArray(params?.allowedValues))
      out.push({ where, path, message: oneOf(params.allowedValues) });
    else if (alternatives.has(path)) {
      if (v.keyword === 'anyOf')
        out.push({
          where,
          path,
          message: `must be an object with one of the keys ${alternatives.get(path)!.join(', ')}`,
        });
    } else if (constants.has(path)) {
      if (v.keyword === 'anyOf' || v.keyword === 'oneOf')
        out.push({ where, path, message: oneOf(constants.get(path)!) });
    } else out.push({ where, path, message: v.message });
  }
  return out;
}

export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | LparError, request, reply) => {
    if (error instanceof LparError) {
      const status = (error.extra.status as number | undefined) ?? STATUS[error.kind];
      const { status: _s, ...extra } = error.extra;
      return sendProblem(reply, request, status, error.kind, error.title, error.message, extra);
    }
    const fe = error as FastifyError;
    if (fe.validation) {
      const where = fe.validationContext ?? 'request';
      const errors = validationErrors(where, fe.validation);
      const detail = errors.map((e) => `${e.where}${e.path.replaceAll('/', '.')}: ${e.message}`).join('; ');
      return sendProblem(reply, request, 400, 'validation', 'Invalid request', detail, { errors });
    }
    const status = fe.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const slug =
        status === 413 ? 'body-too-large' : status === 415 ? 'unsupported-media-type' : 'bad-request';
      let detail = fe.message;
      if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        // Name the limit: ofdt writes have their own (src/http/routes/edits.ts), everything else the body limit.
        const variable =
          (request.routeOptions.config as { bodyLimitVariable?: string } | undefined)?.bodyLimitVariable ??
          'LPARSIM_BODY_LIMIT_BYTES';
        detail = `the body is larger than ${request.routeOptions.bodyLimit} bytes (${variable})`;
      }
      if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
        detail = `content-type ${JSON.stringify(request.headers['content-type'] ?? '')} is not read here: JSON bodies are application/json, raw bodies (ofdt writes, DTBs) application/octet-stream, histories application/x-ndjson`;
      return sendProblem(reply, request, status, slug, humanTitle(status, fe.code), detail);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(
      reply,
      request,
      500,
      'internal',
      'Internal error',
      'the service failed; this is a bug (see the logs by request id)',
    );
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = app.allowedMethods(path);
    if (allowed.length > 0)
      return sendProblem(
        reply.header('allow', allowed.join(', ')),
        request,
        405,
        'method-not-allowed',
        'Method not allowed',
        `${path} answers ${allowed.join(', ')}, not ${request.method}`,
        { allow: allowed },
      );
    return sendProblem(
      reply,
      request,
      404,
      'not-found',
      'Not found',
      `no route for ${request.method} ${path}`,
    );
  });
}
