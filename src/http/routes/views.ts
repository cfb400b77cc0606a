import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import { badCursor } from '../../lpar/documents.ts';
import { badRequest } from '../../lpar/errors.ts';
import type { Lpar } from '../../lpar/lpar.ts';
import {
  entryDocument,
  listDirectoryPage,
  lookupView,
  readViewFile,
  type ViewRoot,
  viewPathParts,
} from '../../lpar/views.ts';
import {
  LparId,
  PAGE_LIMIT_DEFAULT,
  PAGE_LIMIT_MAX,
  PageQuery,
  ProblemResponse,
  Ref,
} from '../schemas/common.ts';
import { ViewEntry } from '../schemas/views.ts';

const ViewQuery = Type.Object(
  {
    stat: Type.Optional(Type.Boolean({ description: 'metadata only: no read, no side effects' })),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export const viewRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const serve = (root: ViewRoot, prefix: string, summary: string) => {
    const handler = async (
      lpar: Lpar,
      raw: string,
      query: Static<typeof ViewQuery>,
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
      if (node.kind === 'dir') {
        const page = listDirectoryPage(lpar, node, {
          ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
          limit: query.limit ?? PAGE_LIMIT_DEFAULT,
        });
        return reply.send({ path, ...entryDocument(lpar, node), ...page });
      }
      if (query.cursor !== undefined) throw badCursor(`${path} is not a directory: only listings page`);
      if (query.stat) return reply.send({ path, ...entryDocument(lpar, node) });
      const bytes = readViewFile(lpar, node);
      if (!bytes) return reply.send({ path, ...entryDocument(lpar, node) }); // a broken link: its metadata
      return reply.type('application/octet-stream').send(Buffer.from(bytes));
    };
    const schema = {
      tags: ['views'],
      summary,
      description: `Inspection (no side effects) for directory listings, \`?stat=true\` and property files (a property read is a plain copy of its value, as \`of_node_property_read\` is). Kernel action for files whose show function runs kernel code: \`/sys/devices/vio/<dev>/devspec\` models \`devspec_show\` as task \`cat\`, printing \`%pOF\` of the device node (from 5.5 that gets and puts every ancestor, so it can warn or read freed memory). A directory answers a JSON listing, a file its raw bytes. Listings page: \`limit\` entries (default ${PAGE_LIMIT_DEFAULT}, at most ${PAGE_LIMIT_MAX}) in the directory's own order (creation order), each page sorted by name, so a directory that fits in one page lists as \`ls\` does; \`next\` is the \`cursor\` of the next page, null on the last. A cursor resumes after its page's last entry, also after entries were added or removed (no unchanged entry is repeated). A page costs the page plus its position in the directory. A bad cursor, or one from another directory, is a 400.`,
      querystring: ViewQuery,
      produces: ['application/json', 'application/octet-stream'],
      response: {
        200: {
          description: "A directory's listing (or any entry's metadata with stat=true), or a file's bytes",
          content: {
            'application/json': { schema: Ref(ViewEntry) },
            'application/octet-stream': {
              schema: Type.String({
                format: 'binary',
                description: "the file's contents, as read(2) returns them",
              }),
            },
          },
        },
        400: ProblemResponse,
        404: ProblemResponse,
        409: ProblemResponse,
      },
    };
    // The root also takes the path as a query parameter: a multi-segment path in the URL cannot be
    // described in OpenAPI, `?path=` can (the same entry either way).
    app.get(
      `${prefix}`,
      {
        schema: {
          ...schema,
          params: Type.Object({ lpar: LparId }),
          querystring: Type.Object(
            {
              ...ViewQuery.properties,
              path: Type.Optional(
                Type.String({
                  maxLength: 65536,
                  description: `the entry under ${prefix}, as in the URL form ${prefix}/{path}: \`firmware/devicetree/base/cpus\``,
                }),
              ),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req, reply) => {
        const { path, ...query } = req.query;
        return handler(req.lpar, encodeURIComponent(path ?? ''), query, reply);
      },
    );
    app.get(
      `${prefix}/*`,
      {
        schema: { ...schema, params: Type.Object({ lpar: LparId, '*': Type.String({ maxLength: 65536 }) }) },
      },
      async (req, reply) => handler(req.lpar, req.params['*'], req.query, reply),
    );
  };
  serve('sys', '/sys', 'The emulated /sys (firmware/devicetree/base, devices/vio)');
  serve('proc-device-tree', '/proc/device-tree', 'The emulated /proc/device-tree');
};
