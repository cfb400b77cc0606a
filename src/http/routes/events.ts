// Server-Sent Events: an LPAR's event stream, or all LPARs'. Last-Event-ID (or ?since=) resumes; with
// ?follow=false the backlog is sent and the response ends (for scripts and tests).

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { phandleHex } from '../../lpar/documents.ts';
import type { LparEvent } from '../../lpar/events.ts';
import { lookOnlyRoutes } from '../journal.ts';
import { LparId, ProblemResponse } from '../schemas/common.ts';

const EventsQuery = Type.Object(
  {
    since: Type.Optional(
      Type.Integer({ minimum: 0, description: 'replay events after this id (as Last-Event-ID)' }),
    ),
    follow: Type.Optional(Type.Boolean({ default: true, description: 'false: send the backlog and end' })),
  },
  { additionalProperties: false },
);

const HEARTBEAT_MS = 15_000;

function lastEventId(req: FastifyRequest, since: number | undefined): number {
  const header = req.headers['last-event-id'];
  const fromHeader = typeof header === 'string' && /^[0-9]{1,15}$/.test(header) ? Number(header) : undefined;
  return fromHeader ?? since ?? 0;
}

/**
 * An event as the streams send it, with `id` the stream's. The model reports a phandle as the number
 * it is; on the wire it is 0x-hex, as in every other document (docs/api.md, "phandle").
 */
function wireEvent(e: LparEvent, id: number) {
  const data = e.data as { readonly phandle?: unknown };
  if (typeof data.phandle !== 'number') return { ...e, id };
  return { ...e, id, data: { ...e.data, phandle: phandleHex(data.phandle) } };
}

/** Open streams of one app, ended when that app closes so shutdown is not held up (and no other app's). */
type OpenStreams = Set<() => void>;

function stream(
  openStreams: OpenStreams,
  req: FastifyRequest,
  reply: FastifyReply,
  backlog: ReadonlyArray<{ id: number; event: LparEvent }>,
  follow: boolean,
  /** Starts delivery; `end` finishes the response (the LPAR was deleted). Returns the unsubscribe. */
  subscribe: (send: (e: LparEvent, id: number) => void, end: () => void) => () => void,
): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-request-id': req.id,
  });
  // The headers go now: a stream with no backlog would otherwise answer only at the first heartbeat.
  res.flushHeaders();
  const send = (e: LparEvent, id: number) =>
    res.write(`id: ${id}\nevent: ${e.type}\ndata: ${JSON.stringify(wireEvent(e, id))}\n\n`);
  for (const { id, event } of backlog) send(event, id);
  if (!follow) {
    res.end();
    return;
  }
  let unsubscribe = () => {};
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  const close = () => {
    openStreams.delete(close);
    clearInterval(heartbeat);
    unsubscribe();
    if (!res.writableEnded) res.end();
  };
  unsubscribe = subscribe(send, close);
  openStreams.add(close);
  req.raw.on('close', close);
}

/** A Server-Sent Events stream: `id:`, `event:` (the type) and `data:` (the event as JSON) per event. */
const EVENT_STREAM = {
  description: 'Server-Sent Events',
  content: {
    'text/event-stream': { schema: Type.String({ description: 'id, event and data lines per event' }) },
  },
};

/**
 * Sets up a plugin of event-stream routes: they only look (http/journal.ts), and the streams they
 * hold open are ended when the service closes (so that a drain does not wait for them).
 */
function eventStreamRoutes(app: FastifyInstance): OpenStreams {
  lookOnlyRoutes(app);
  const openStreams: OpenStreams = new Set();
  app.addHook('preClose', async () => {
    for (const close of [...openStreams]) close();
  });
  return openStreams;
}

export const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const openStreams = eventStreamRoutes(app);
  app.get(
    '/v1/events',
    {
      schema: {
        tags: ['kernel'],
        summary: 'Events of all LPARs (Server-Sent Events, ids global to the instance)',
        description: 'Inspection (no side effects): as the per-LPAR stream, for every LPAR of the instance.',
        querystring: EventsQuery,
        produces: ['text/event-stream'],
        response: { 200: EVENT_STREAM, 400: ProblemResponse },
      },
    },
    async (req, reply) => {
      const hub = app.registry.events;
      const after = lastEventId(req, req.query.since);
      stream(openStreams, req, reply, hub.since(after), req.query.follow !== false, (send) =>
        hub.subscribe(send),
      );
    },
  );
};

/** GET …/events, under the per-LPAR scope (http/lpar-scope.ts). */
export const lparEventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const openStreams = eventStreamRoutes(app);
  app.get(
    '/events',
    {
      schema: {
        tags: ['kernel'],
        summary: "The LPAR's event stream (Server-Sent Events)",
        description:
          'Inspection (no side effects): replays the kept events after `Last-Event-ID` (or `since`), then follows unless `follow=false`; subscribing changes nothing in the model.',
        params: Type.Object({ lpar: LparId }),
        querystring: EventsQuery,
        produces: ['text/event-stream'],
        response: { 200: EVENT_STREAM, 400: ProblemResponse, 404: ProblemResponse },
      },
    },
    async (req, reply) => {
      const lpar = req.lpar;
      const after = lastEventId(req, req.query.since);
      const backlog = lpar.events.since(after).map((event) => ({ id: event.id, event }));
      stream(openStreams, req, reply, backlog, req.query.follow !== false, (send, end) => {
        const unsubscribe = lpar.events.subscribe((e) => send(e, e.id));
        const unclose = lpar.events.onClose(end);
        return () => {
          unsubscribe();
          unclose();
        };
      });
    },
  );
};
