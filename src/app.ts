// buildApp(config): the fastify instance with its plugins and routes; it never listens (src/main.ts
// does), so tests use app.inject or listen on an ephemeral port themselves.

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import './http/context.ts';
import { registerClosingProblem } from './http/closing.ts';
import { registerJournal } from './http/journal.ts';
import { LPAR_PREFIX, lparScope } from './http/lpar-scope.ts';
import { registerMethodNotAllowed } from './http/method-not-allowed.ts';
import { metricsRoutes, registerMetrics } from './http/metrics.ts';
import { registerAuth } from './http/plugins/auth.ts';
import { registerOperationIds } from './http/plugins/operations.ts';
import { registerSwagger } from './http/plugins/swagger.ts';
import { PROBLEM_TYPE_BASE, registerProblemHandlers, sendProblem } from './http/problem.ts';
import { rawBodyParser } from './http/raw-body.ts';
import { registerRequestLog } from './http/request-log.ts';
import { catalogueRoutes } from './http/routes/catalogue.ts';
import { dlparRoutes } from './http/routes/dlpar.ts';
import { editRoutes } from './http/routes/edits.ts';
import { eventRoutes, lparEventRoutes } from './http/routes/events.ts';
import { exportRoutes } from './http/routes/exports.ts';
import { healthRoutes } from './http/routes/health.ts';
import { journalExportRoutes, journalRoutes } from './http/routes/journal.ts';
import { kernelRoutes } from './http/routes/kernel.ts';
import { lparRoutes, lparScopedRoutes } from './http/routes/lpars.ts';
import { migrationRoutes } from './http/routes/migrations.ts';
import { nodeRoutes } from './http/routes/nodes.ts';
import { overlayRoutes } from './http/routes/overlays.ts';
import { prrnRoutes } from './http/routes/prrn.ts';
import { slotRoutes } from './http/routes/slots.ts';
import { viewRoutes } from './http/routes/views.ts';
import { webRoutes } from './http/routes/web.ts';
import { SHARED_SCHEMAS } from './http/schemas/shared.ts';
import { buildSerializer } from './http/serializer.ts';
import { requestValidatorCompiler } from './http/validation.ts';
import { ServiceClock } from './journal/clock.ts';
import { ReplayDigests } from './journal/digests.ts';
import { Journal } from './journal/journal.ts';
import { Registry } from './lpar/registry.ts';

export interface BuildOptions {
  /** A pino destination stream (tests capture logs with it). */
  readonly logStream?: NodeJS.WritableStream;
}

/** A client's x-request-id is kept only when it is this safe to log and echo (issue 11). */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  // Per app, so two apps in one process (tests) number their requests apart.
  let requestCounter = 0;
  const app = Fastify({
    logger: options.logStream
      ? { level: config.LOG_LEVEL, stream: options.logStream }
      : { level: config.LOG_LEVEL },
    bodyLimit: config.LPARSIM_BODY_LIMIT_BYTES,
    // One line per request, when it is answered (http/request-log.ts), instead of fastify's two. Not
    // through the logController option fastify 5.12 prefers: with any logController given, a request
    // that reaches a closing server was reset instead of answered 503 (test/e2e/production.test.ts).
    disableRequestLogging: true,
    // A request that reaches a closing server is answered by our own hook below (a problem, as every
    // other error), not by fastify's fixed JSON body.
    return503OnClosing: false,
    // Serializers built with the shared schemas each response refers to, not all of them (http/serializer.ts).
    schemaController: { compilersFactory: { buildSerializer } },
    // The header is read here, not by fastify, which would take any value a client sends.
    requestIdHeader: false,
    genReqId: (req) => {
      const sent = req.headers['x-request-id'];
      if (typeof sent === 'string' && CLIENT_REQUEST_ID.test(sent)) return sent;
      return `req-${(++requestCounter).toString(36)}-${Date.now().toString(36)}`;
    },

    routerOptions: { maxParamLength: 4096 },
    // Errors Node's HTTP parser raises before there is a request (oversized headers, 431; a request
    // that timed out, 408; a malformed one, 400) are problems too, written to the socket as it closes.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const [status, title, detail] =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? [
              431,
              'Request header fields too large',
              'the request headers exceed the server limit (node --max-http-header-size)',
            ]
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? [408, 'Request timeout', 'the request was not received in time']
            : [400, 'Bad request', 'the request could not be parsed as HTTP/1.1'];
      const slug =
        status === 431 ? 'header-fields-too-large' : status === 408 ? 'request-timeout' : 'bad-request';
      // A problem like any other (the document's Problem): there is no request URL to name, so the
      // occurrence is named by the id this answer carries, which its log line carries too.
      const requestId = `req-${(++requestCounter).toString(36)}-${Date.now().toString(36)}`;
      const instance = `urn:lparsim:request:${requestId}`;
      app.log.info({ reqId: requestId, statusCode: status, code: err.code }, 'unparsable request');
      const body = JSON.stringify({
        type: `${PROBLEM_TYPE_BASE}${slug}`,
        title,
        status,
        detail,
        instance,
        requestId,
      });
      if (socket.writable)
        socket.write(
          `HTTP/1.1 ${status} ${title}\r\nConnection: close\r\nContent-Type: application/problem+json\r\nx-request-id: ${requestId}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      socket.destroy(err);
    },
    // Errors fastify raises before routing (bad URL encoding, bad content type) are problems too.
    frameworkErrors: (error, request, reply) => {
      sendProblem(reply, request, error.statusCode ?? 400, 'bad-request', 'Bad request', error.message);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Bodies are validated as the document says, with no coercion (a string is not a number, "false" is
  // not false); the URL's parts are text, so querystring, params and headers are coerced to their types.
  app.setValidatorCompiler(requestValidatorCompiler());
  app.decorate('lparsimConfig', config);
  const pathLimits = {
    maxComponents: config.LPARSIM_MAX_PATH_COMPONENTS,
    maxComponentBytes: config.LPARSIM_MAX_NAME_BYTES,
  };
  // Every reading of real time a model sees (journal/clock.ts): recorded with journaled requests.
  const clock = new ServiceClock();
  app.decorate('clock', clock);
  app.decorate(
    'registry',
    new Registry(
      {
        pathLimits,
        maxLpars: config.LPARSIM_MAX_LPARS,
        maxNodesPerLpar: config.LPARSIM_MAX_NODES_PER_LPAR,
        maxEventsPerLpar: config.LPARSIM_MAX_EVENTS_PER_LPAR,
        maxDmesgLines: config.LPARSIM_MAX_DMESG_LINES,
        maxMigrationsKept: config.LPARSIM_MAX_MIGRATIONS_KEPT,
        maxTreeDepth: config.LPARSIM_MAX_TREE_DEPTH,
        memoryBudgetBytes: config.LPARSIM_MEMORY_BUDGET_MB * 1024 * 1024,
        maxHistoryBytes: config.LPARSIM_MAX_HISTORY_BYTES,
      },
      () => clock.now(),
    ),
  );
  app.decorate('pathLimits', pathLimits);
  // One queue of replays for the service: imports are checked and exports digested one at a time.
  app.decorate('replays', new ReplayDigests(config));

  // Raw bodies: ofdt writes are bytes, whatever the client calls them.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(['application/octet-stream', 'text/plain'], rawBodyParser);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  registerRequestLog(app);
  registerClosingProblem(app);
  // Problem, the SSE events and every response document, as named components (schemas/shared.ts).
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  registerMethodNotAllowed(app);
  registerOperationIds(app);
  registerMetrics(app);
  registerProblemHandlers(app);
  await registerAuth(app, config.LPARSIM_TOKEN);
  // The lock and the histories always; the durable journal with LPARSIM_DATA_DIR.
  const journal = config.LPARSIM_DATA_DIR ? new Journal(config.LPARSIM_DATA_DIR) : null;
  registerJournal(app, journal, clock);
  if (journal) app.addHook('onClose', async () => journal.close());
  await registerSwagger(app);
  await app.register(healthRoutes);
  await app.register(metricsRoutes);
  await app.register(catalogueRoutes);
  await app.register(lparRoutes);
  await app.register(journalRoutes);
  await app.register(eventRoutes);
  await app.register(webRoutes);
  // Everything under /v1/lpars/{lpar}: the LPAR resolved once per request (http/lpar-scope.ts).
  await app.register(
    lparScope([
      lparScopedRoutes,
      journalExportRoutes,
      nodeRoutes,
      editRoutes,
      viewRoutes,
      exportRoutes,
      kernelRoutes,
      migrationRoutes,
      prrnRoutes,
      dlparRoutes,
      slotRoutes,
      overlayRoutes,
      lparEventRoutes,
    ]),
    { prefix: LPAR_PREFIX },
  );
  return app;
}
