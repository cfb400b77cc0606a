import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { badRequest } from '../../lpar/errors.ts';
import type { Lpar } from '../../lpar/lpar.ts';
import {
  entryDocument,
  listDirectory,
  lookupView,
  readViewFile,
  type ViewRoot,
  viewPathParts,
} from '../../lpar/views.ts';
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
};
