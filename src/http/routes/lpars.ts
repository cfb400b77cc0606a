import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { lparDocument } from '../../lpar/documents.ts';
import { badRequest, conflict } from '../../lpar/errors.ts';
import type { CreateLparInput } from '../../lpar/registry.ts';
import { canonical, inputFromBody } from '../create-body.ts';
import { LparParams, problemResponses, RawBody, Ref, StringEnum } from '../schemas/common.ts';
import { CreateLparBody, DeletedLpars, KernelName, LparDoc, LparList } from '../schemas/lpars.ts';

const createdResponses = {
  201: Ref(LparDoc),
  400: Type.Ref('Problem'),
  404: Type.Ref('Problem'),
  409: Type.Ref('Problem'),
  413: Type.Ref('Problem'),
  422: Type.Ref('Problem'),
  507: Type.Ref('Problem'),
};

export const lparRoutes: FastifyPluginAsyncTypebox = async (app) => {
  /**
   * Boots the LPAR and answers 201 with its Location. The boot runs in slices (Registry.createAsync):
   * other requests are served meanwhile, and the LPAR is not visible to them until it has booted.
   */
  const created = async (req: FastifyRequest, reply: FastifyReply, input: CreateLparInput) => {
    const lpar = await app.registry.createAsync(input);
    req.log.info(
      {
        lpar: lpar.config.id,
        kernel: lpar.config.kernel.name,
        nodes: lpar.of.nodes.size,
        dtb: input.dtb !== undefined,
      },
      'lpar created',
    );
    return reply.code(201).header('location', `/v1/lpars/${lpar.config.id}`).send(lparDocument(lpar));
  };

  app.post(
    '/v1/lpars',
    {
      schema: {
        tags: ['lpars'],
        summary: 'Create (boot) an LPAR',
        description:
          'Boots a new LPAR: unflatten, sysfs, the phandle cache, then the initcalls that hold nodes (cpu devices, cacheinfo, rng_init, the vio bus and its drivers). `switches` overrides any switch of the kernel profile for a what-if kernel. Changes nothing else. The node limit (413, LPARSIM_MAX_NODES_PER_LPAR) and the memory budget (507, LPARSIM_MEMORY_BUDGET_MB) are checked from the options before any work; the LPAR is not visible until it has booted.',
        body: CreateLparBody,
        response: createdResponses,
      },
    },
    async (req, reply) => created(req, reply, inputFromBody(req.body)),
  );
  app.put(
    '/v1/lpars/:lpar',
    {
      schema: {
        tags: ['lpars'],
        summary: 'Create an LPAR by name, idempotently',
        description:
          "The same body as POST /v1/lpars, with the LPAR's name in the URL (a `name` in the body must equal it). The first time it boots the LPAR (201, as POST); again with the same body it answers 200 with the LPAR as it is now and changes nothing; with a different body 409. So a compose client can be run any number of times.",
        params: Type.Object({ lpar: CreateLparBody.properties.name }),
        body: CreateLparBody,
        response: { ...createdResponses, 200: Ref(LparDoc) },
      },
    },
    async (req, reply) => {
      const name = req.params.lpar!;
      if (req.body.name !== undefined && req.body.name !== name)
        throw badRequest(
          'Name mismatch',
          `the body names ${JSON.stringify(req.body.name)}, the URL ${JSON.stringify(name)}`,
        );
      const input = { ...inputFromBody(req.body), name };
      const existing = app.registry.byNameOrNull(name);
      if (!existing) return created(req, reply, input);
      if (canonical(app.registry.creationInput(existing.config.id)) !== canonical(input))
        throw conflict(
          'LPAR exists with another definition',
          `an LPAR named ${JSON.stringify(name)} (${existing.config.id}) was created with a different body; delete it or PUT the same body`,
        );
      return reply
        .code(200)
        .header('location', `/v1/lpars/${existing.config.id}`)
        .send(lparDocument(existing));
    },
  );
  app.post(
    '/v1/lpars/from-dtb',
    {
      schema: {
        tags: ['lpars'],
        summary: 'Create an LPAR from a flattened device tree sent as the raw body',
        description:
          'For example the output of `dtc -I fs -O dtb /proc/device-tree` on a real partition: `curl --data-binary @tree.dtb -H "content-type: application/octet-stream" "…/v1/lpars/from-dtb?kernel=4.18"`. The blob is scanned before anything is built: a blob that cannot be read is 422; more nodes than LPARSIM_MAX_NODES_PER_LPAR or deeper nesting than LPARSIM_MAX_TREE_DEPTH is 413; no room in the memory budget is 507. Any tree.dtb lparsim exports can be sent back here under the default limits, unless ofdt writes gave nodes or properties names that are not one safe path component (docs/kernel-notes.md, note 33).',
        querystring: Type.Object(
          {
            kernel: KernelName,
            name: Type.Optional(CreateLparBody.properties.name),
            system: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            refcountFull: Type.Optional(Type.Boolean()),
            kasan: Type.Optional(Type.Boolean()),
            slubDebug: Type.Optional(Type.Boolean()),
            dynamicDebug: Type.Optional(Type.Boolean()),
            pfoDevices: Type.Optional(StringEnum(['kernel', 'fixed'] as const)),
            panicOnOops: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        consumes: ['application/octet-stream'],
        body: RawBody('a flattened device tree (version 16 or 17)'),
        response: createdResponses,
      },
    },
    async (req, reply) => {
      const body = req.body as unknown;
      if (!(body instanceof Uint8Array))
        throw badRequest('Bad dtb', 'send the blob as application/octet-stream');
      const q = req.query;
      const options = Object.fromEntries(
        (['refcountFull', 'kasan', 'slubDebug', 'dynamicDebug', 'pfoDevices', 'panicOnOops'] as const)
          .filter((k) => q[k] !== undefined)
          .map((k) => [k, q[k]]),
      );
      return created(req, reply, {
        profile: 'power9',
        kernel: q.kernel,
        dtb: body, // fastify's own buffer of the body: the registry keeps it
        dtbOwned: true,
        ...(q.name !== undefined ? { name: q.name } : {}),
        ...(q.system ? { system: q.system } : {}),
        options,
      });
    },
  );
  app.get(
    '/v1/lpars',
    {
      schema: {
        tags: ['lpars'],
        summary: 'All LPARs',
        description: 'Inspection (no side effects).',
        response: { 200: Ref(LparList) },
      },
    },
    async () => ({
      items: [...app.registry.lpars.values()].map(lparDocument),
    }),
  );
  app.delete(
    '/v1/lpars',
    {
      schema: {
        tags: ['lpars'],
        summary: 'Delete every LPAR',
        description:
          'Removes all LPARs and ends their event streams, as DELETE of each would; needs `?confirm=true` (400 otherwise, changing nothing). LPARs still booting finish and stay. Ids are not reused.',
        querystring: Type.Object({ confirm: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: {
          200: Ref(DeletedLpars),
          400: Type.Ref('Problem'),
        },
      },
    },
    async (req) => {
      if (req.query.confirm !== true)
        throw badRequest('Confirmation needed', 'DELETE /v1/lpars removes every LPAR: send ?confirm=true');
      const deleted = app.registry.deleteAll();
      req.log.info({ deleted }, 'all lpars deleted');
      return { deleted };
    },
  );
};

/** The routes on one LPAR itself (under the per-LPAR scope, http/lpar-scope.ts). */
export const lparScopedRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '',
    {
      schema: {
        tags: ['lpars'],
        summary: 'One LPAR with its counts',
        description: 'Inspection (no side effects).',
        params: LparParams,
        response: { 200: Ref(LparDoc), ...problemResponses },
      },
    },
    async (req) => lparDocument(req.lpar),
  );
  app.post(
    '/reboot',
    {
      schema: {
        tags: ['lpars'],
        summary: 'Reboot an LPAR',
        description:
          "Boots the same tree again (the built-in profile with the same options and seed, or the same blob) on the same kernel, on the managed system the LPAR runs on now, under the same id and name: a fresh kernel, OF state, dmesg and event log; migrations and references are gone. The old event streams end with `lpar.rebooted`. Waits behind the LPAR's running operations; checked against the memory budget (507) before any work.",
        params: LparParams,
        response: {
          200: Ref(LparDoc),
          409: Type.Ref('Problem'),
          413: Type.Ref('Problem'),
          507: Type.Ref('Problem'),
          ...problemResponses,
        },
      },
    },
    async (req, reply) => {
      const old = req.lpar;
      const lpar = await old.exclusive(() => app.registry.rebootAsync(old.config.id));
      req.log.info({ lpar: lpar.config.id, nodes: lpar.of.nodes.size }, 'lpar rebooted');
      return reply.code(200).header('location', `/v1/lpars/${lpar.config.id}`).send(lparDocument(lpar));
    },
  );
  app.delete(
    '',
    {
      schema: {
        tags: ['lpars'],
        summary: 'Delete an LPAR',
        description: 'Removes the LPAR and ends its event streams; other LPARs are untouched.',
        params: LparParams,
        response: { 204: Type.Null({ description: 'deleted' }), ...problemResponses },
      },
    },
    async (req, reply) => {
      app.registry.delete(req.lpar.config.id);
      return reply.code(204).send(null);
    },
  );
};
