import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { badRequest } from '../../lpar/errors.ts';
import type { Lpar } from '../../lpar/lpar.ts';
import { sysfsTar } from '../../lpar/sysfs-tar.ts';
import {
  entryDocument,
  listDirectory,
  lookupView,
  readViewFile,
  type ViewRoot,
  viewPathParts,
} from '../../lpar/views.ts';
import { toDts } from '../../of/dts.ts';
import { type FdtReserveEntry, fdtEncode, NO_BOOT_PARAMS } from '../../of/fdt.ts';
import { ofFlattenLiveTree } from '../../of/unflatten.ts';
import { LparId, Open, problemResponses } from '../schemas/common.ts';

const ViewQuery = Type.Object(
  { stat: Type.Optional(Type.Boolean({ description: 'metadata only: no read, no side effects' })) },
  { additionalProperties: false },
);
const Listing = Open({
  path: Type.String(),
  type: Type.String(),
  items: Type.Optional(
    Type.Array(
      Open({
        name: Type.String(),
        type: Type.String(),
        size: Type.Integer(),
        mode: Type.String(),
        target: Type.Optional(Type.String()),
        broken: Type.Optional(Type.Boolean()),
      }),
    ),
  ),
});

/**
 * `/memreserve/` lines as `dtc -O dts` prints them (treesource.c dt_to_source: after `/dts-v1/;` and a
 * blank line, a tab, address and size as 0x%016llx), just before the root node `/ {`.
 */
function withMemreserve(dts: string, reservations: readonly FdtReserveEntry[]): string {
  if (reservations.length === 0) return dts;
  const hex = (v: bigint) => `0x${v.toString(16).padStart(16, '0')}`;
  const lines = reservations.map((r) => `/memreserve/\t${hex(r.address)} ${hex(r.size)};\n`).join('');
  const root = dts.startsWith('/ {\n') ? 0 : dts.indexOf('\n/ {\n') + 1;
  return `${dts.slice(0, root)}${lines}${dts.slice(root)}`;
}

export const viewRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const serve = (root: ViewRoot, prefix: string, summary: string) => {
    const handler = async (
      lpar: Lpar,
      raw: string,
      stat: boolean | undefined,
      reply: import('fastify').FastifyReply,
    ) => {
      let decoded: string;
      try {
        decoded = decodeURIComponent(raw);
      } catch {
        throw badRequest('Bad path', 'the path is not valid percent-encoding');
      }
      const parts = viewPathParts(decoded, app.pathLimits);
      const node = lookupView(lpar, root, parts);
      const path = `${prefix}/${parts.join('/')}`.replace(/\/$/, '') || '/';
      if (node.kind === 'dir')
        return reply.send({ path, ...entryDocument(lpar, node), items: listDirectory(lpar, node) });
      if (stat) return reply.send({ path, ...entryDocument(lpar, node) });
      const bytes = readViewFile(lpar, node);
      if (!bytes) return reply.send({ path, ...entryDocument(lpar, node) }); // a broken link: its metadata
      return reply.type('application/octet-stream').send(Buffer.from(bytes));
    };
    const schema = {
      tags: ['views'],
      summary,
      description:
        'Inspection (no side effects) for directory listings, `?stat=true` and property files (a property read is a plain copy of its value, as `of_node_property_read` is). Kernel action for files whose show function runs kernel code: `/sys/devices/vio/<dev>/devspec` models `devspec_show` as task `cat`, printing `%pOF` of the device node (from 5.5 that gets and puts every ancestor, so it can warn or read freed memory). A directory answers a JSON listing, a file its raw bytes.',
      querystring: ViewQuery,
      produces: ['application/json', 'application/octet-stream'],
      response: { 200: Listing, 409: Type.Ref('Problem'), ...problemResponses },
    };
    app.get(
      `/v1/lpars/:lpar${prefix}`,
      { schema: { ...schema, params: Type.Object({ lpar: LparId }) } },
      async (req, reply) => handler(app.registry.get(req.params.lpar), '', req.query.stat, reply),
    );
    app.get(
      `/v1/lpars/:lpar${prefix}/*`,
      {
        schema: { ...schema, params: Type.Object({ lpar: LparId, '*': Type.String({ maxLength: 65536 }) }) },
      },
      async (req, reply) =>
        handler(app.registry.get(req.params.lpar), req.params['*'], req.query.stat, reply),
    );
  };
  serve('sys', '/sys', 'The emulated /sys (firmware/devicetree/base, devices/vio)');
  serve('proc-device-tree', '/proc/device-tree', 'The emulated /proc/device-tree');

  const params = Type.Object({ lpar: LparId });
  app.get(
    '/v1/lpars/:lpar/sysfs.tar',
    {
      schema: {
        tags: ['views'],
        summary: '/sys/firmware/devicetree/base as a tar archive (for dtc -I fs)',
        description:
          'Inspection (no side effects): every directory and property file at one instant, values copied.',
        params,
        produces: ['application/x-tar'],
        response: { 200: Type.String({ format: 'binary' }), ...problemResponses },
      },
    },
    async (req, reply) => {
      const lpar = app.registry.get(req.params.lpar);
      return reply
        .type('application/x-tar')
        .header('content-disposition', `attachment; filename="${lpar.config.id}-sysfs.tar"`)
        .send(sysfsTar(lpar));
    },
  );
  app.get(
    '/v1/lpars/:lpar/tree.dtb',
    {
      schema: {
        tags: ['views'],
        summary: 'The attached tree as a flattened device tree',
        description:
          "Inspection (no side effects): the attached tree, with the boot blob's memory reservations and boot CPU.",
        params,
        produces: ['application/octet-stream'],
        response: { 200: Type.String({ format: 'binary' }), ...problemResponses },
      },
    },
    async (req, reply) => {
      const lpar = app.registry.get(req.params.lpar);
      // An uploaded blob's reservations and boot CPU go back out; a built-in tree has none, CPU 0.
      const boot = lpar.config.bootParams ?? NO_BOOT_PARAMS;
      return reply
        .type('application/octet-stream')
        .send(Buffer.from(fdtEncode(ofFlattenLiveTree(lpar.of.root!), boot)));
    },
  );
  app.get(
    '/v1/lpars/:lpar/tree.dts',
    {
      schema: {
        tags: ['views'],
        summary: 'The attached tree as device tree source',
        description: 'Inspection (no side effects): the attached tree as dtc would print it.',
        params,
        produces: ['text/plain'],
        response: { 200: Type.String(), ...problemResponses },
      },
    },
    async (req, reply) => {
      const lpar = app.registry.get(req.params.lpar);
      const reservations = (lpar.config.bootParams ?? NO_BOOT_PARAMS).reservations;
      return reply
        .type('text/plain; charset=utf-8')
        .send(withMemreserve(toDts(ofFlattenLiveTree(lpar.of.root!)), reservations));
    },
  );
};
