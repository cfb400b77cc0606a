import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { LOG_LEVELS } from '../../kernel/printk.ts';
import { dmesgDocument, driversDocument, phandleCacheDocument, vioDocument } from '../../lpar/documents.ts';
import { checkInvariants } from '../../lpar/invariants.ts';
import { LparId, problemResponses, Ref, StringEnum } from '../schemas/common.ts';
import { DmesgPage, Invariants, PhandleCacheDoc, VioDriverList, VioList } from '../schemas/kernel.ts';

const params = Type.Object({ lpar: LparId });

export const kernelRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/dmesg',
    {
      schema: {
        tags: ['kernel'],
        summary: 'The kernel log',
        description:
          'Inspection (no side effects): reading the log prints and advances nothing. `since` is a line number (the `next` of an earlier answer); `level` keeps that level and more severe; `format=text` answers dmesg text.',
        params,
        querystring: Type.Object(
          {
            since: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
            level: Type.Optional(StringEnum(LOG_LEVELS)),
            format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('text')])),
          },
          { additionalProperties: false },
        ),
        response: {
          200: {
            description: 'The log lines: a page of records (JSON), or dmesg text with format=text',
            content: {
              'application/json': {
                schema: Ref(DmesgPage),
              },
              'text/plain': {
                schema: Type.String({ description: 'one line per record, as dmesg prints it' }),
              },
            },
          },
          ...problemResponses,
        },
      },
    },
    async (req, reply) => {
      const doc = dmesgDocument(req.lpar, req.query.since ?? 0, req.query.level);
      if (req.query.format === 'text')
        return reply.type('text/plain; charset=utf-8').send(doc.items.map((l) => `${l.line}\n`).join(''));
      return doc;
    },
  );
  app.get(
    '/phandle-cache',
    {
      schema: {
        tags: ['kernel'],
        summary: 'The phandle cache: model, size, every occupied slot, counters',
        description:
          'Inspection (no side effects): the slots as they are, looked at without a lookup: no counter moves, no slot is filled or evicted, and a slot naming a detached or freed node is reported as stale instead of dereferenced.',
        params,
        response: {
          200: Ref(PhandleCacheDoc),
          ...problemResponses,
        },
      },
    },
    async (req) => phandleCacheDocument(req.lpar),
  );
  app.post(
    '/phandle-cache/rebuild',
    {
      schema: {
        tags: ['kernel'],
        summary: 'Throw the cache away and refill it as at boot (K-CACHE-5; pow2 and pow2-refs only)',
        description:
          'Kernel action: models of_populate_phandle_cache as overlay apply and remove run it, as task `lparsim`: pow2-refs puts the references its slots held and takes one per node it stores; the fill walks the attached tree and counts collisions. 409 on the models without a rebuild (none, hash128), changing nothing.',
        params,
        response: { 200: Ref(PhandleCacheDoc), 409: Type.Ref('Problem'), ...problemResponses },
      },
    },
    async (req) => {
      const lpar = req.lpar;
      lpar.rebuildPhandleCache();
      return phandleCacheDocument(lpar);
    },
  );
  app.get(
    '/vio',
    {
      schema: {
        tags: ['kernel'],
        summary: 'vio devices, their nodes and references',
        description: 'Inspection (no side effects): the bus as it is; no devspec is computed.',
        params,
        response: { 200: Ref(VioList), ...problemResponses },
      },
    },
    async (req) => ({
      items: vioDocument(req.lpar),
    }),
  );
  app.get(
    '/drivers',
    {
      schema: {
        tags: ['kernel'],
        summary: 'vio drivers and what they bound',
        description: 'Inspection (no side effects).',
        params,
        response: { 200: Ref(VioDriverList), ...problemResponses },
      },
    },
    async (req) => ({
      items: driversDocument(req.lpar),
    }),
  );
  app.get(
    '/invariants',
    {
      schema: {
        tags: ['kernel'],
        summary: 'Each invariant of the model with pass/fail and details',
        description:
          'Inspection (no side effects): every check reads the live model; reference ledgers are replayed on copies through the pure refcount step, so nothing warns, prints or counts.',
        params,
        response: {
          200: Ref(Invariants),
          ...problemResponses,
        },
      },
    },
    async (req) => checkInvariants(req.lpar),
  );
};
