// /proc/ppc64/ofdt and its JSON equivalents. The JSON forms are translated into the exact ofdt command
// bytes so that both run the same kernel path (K-OFDT).

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import { LparError } from '../../lpar/errors.ts';
import type { Lpar } from '../../lpar/lpar.ts';
import { enc } from '../../of/property.ts';
import { ERRNO_VALUES } from '../../pseries/reconfig.ts';
import { LparId, parsePhandle, RawBody } from '../schemas/common.ts';
import { AddNodeBody, OfdtDoc, PropertyBody, type PropertyValue } from '../schemas/nodes.ts';

const problemOrOk = {
  200: OfdtDoc,
  400: Type.Ref('Problem'),
  404: Type.Ref('Problem'),
  409: Type.Ref('Problem'),
};

export function propertyValueBytes(p: Static<typeof PropertyValue>): Uint8Array {
  if ('string' in p) return enc.string(p.string);
  if ('strings' in p) return enc.strings(p.strings);
  if ('u32' in p) return enc.u32(...p.u32);
  return Uint8Array.from(Buffer.from(p.hex, 'hex'));
}

function propertyBytes(p: Static<typeof PropertyValue>): Uint8Array {
  const value = propertyValueBytes(p);
  return enc.concat(new TextEncoder().encode(`${p.name} ${value.length} `), value);
}

/** Writes to ofdt; an errno answers problem+json with the status an HTTP client expects for it. */
function write(lpar: Lpar, bytes: Uint8Array) {
  const result = lpar.ofdt(bytes);
  if (!result.ok) {
    const status = result.errno === 'ENODEV' ? 404 : result.errno === 'EBUSY' ? 409 : 400;
    throw new LparError(
      'ofdt-errno',
      `ofdt ${result.command}: ${result.errno}`,
      `write(2) to /proc/ppc64/ofdt returned -${result.errno} (-${ERRNO_VALUES[result.errno]})`,
      {
        errno: result.errno,
        errnoValue: ERRNO_VALUES[result.errno],
        status,
      },
    );
  }
  return { command: result.command, bytes: bytes.length };
}

export const editRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/lpars/:lpar/proc/ppc64/ofdt',
    {
      schema: {
        tags: ['edits'],
        summary: 'One write(2) to /proc/ppc64/ofdt',
        description:
          'Kernel action: models ofdt_write and its do_* command as task `drmgr`, with every side effect of that command (lookups by path or through the phandle cache, references, attach and detach with sysfs and the reconfig notifier chain, dmesg). The body is the exact bytes a tool such as drmgr writes (application/octet-stream or text/plain). Errors answer problem+json with `errno` (EINVAL 400, ENODEV 404, EBUSY 409). A write the kernel fails leaves what the kernel leaves (e.g. its parse-failure line in dmesg, or a leaked lookup reference).',
        params: Type.Object({ lpar: LparId }),
        consumes: ['application/octet-stream', 'text/plain'],
        body: RawBody('the exact bytes of one write(2) to /proc/ppc64/ofdt'),
        response: problemOrOk,
      },
    },
    async (req) => {
      const lpar = app.registry.get(req.params.lpar);
      const body = req.body as unknown;
      const bytes =
        body instanceof Uint8Array ? new Uint8Array(body) : new TextEncoder().encode(String(body ?? ''));
      return write(lpar, bytes);
    },
  );
  app.post(
    '/v1/lpars/:lpar/nodes',
    {
      schema: {
        tags: ['edits'],
        summary: 'add_node with properties (JSON form of the ofdt command)',
        description:
          'Kernel action: the exact `add_node` bytes written to /proc/ppc64/ofdt as task `drmgr`. Models do_add_node: of_find_node_by_path for the path and its parent (references taken and put), a new OF_DYNAMIC node, of_attach_node (sysfs directory and files, safe_name renames, the reconfig notifier chain).',
        params: Type.Object({ lpar: LparId }),
        body: AddNodeBody,
        response: { ...problemOrOk, 201: OfdtDoc },
      },
    },
    async (req, reply) => {
      const lpar = app.registry.get(req.params.lpar);
      const parts: Uint8Array[] = [new TextEncoder().encode(`add_node ${req.body.path} `)];
      req.body.properties.forEach((p, i) => {
        parts.push(propertyBytes(p));
        if (i < req.body.properties.length - 1) parts.push(enc.bytes([0x20]));
      });
      const result = write(lpar, enc.concat(...parts));
      return reply.code(201).send(result);
    },
  );
  app.delete(
    '/v1/lpars/:lpar/nodes',
    {
      schema: {
        tags: ['edits'],
        summary: 'remove_node (JSON form of the ofdt command)',
        description:
          'Kernel action: the exact `remove_node` bytes written to /proc/ppc64/ofdt as task `drmgr`. Models do_remove_node: of_find_node_by_path, EBUSY while the node has children, else of_detach_node (phandle cache eviction where the model has one, sysfs removal and its put, the reconfig notifier chain); a put to 0 frees the node.',
        params: Type.Object({ lpar: LparId }),
        querystring: Type.Object(
          { path: Type.String({ minLength: 1, maxLength: 4096, pattern: '^/[\\x21-\\x7e]*$' }) },
          { additionalProperties: false },
        ),
        response: problemOrOk,
      },
    },
    async (req) =>
      write(app.registry.get(req.params.lpar), new TextEncoder().encode(`remove_node ${req.query.path}`)),
  );
  const propertyRoute = (
    method: 'POST' | 'PUT',
    command: 'add_property' | 'update_property',
    summary: string,
    description: string,
  ) =>
    app.route({
      method,
      url: '/v1/lpars/:lpar/properties',
      schema: {
        tags: ['edits'],
        summary,
        description,
        params: Type.Object({ lpar: LparId }),
        body: PropertyBody,
        response: problemOrOk,
      },
      handler: async (req) => {
        const body = req.body as Static<typeof PropertyBody>;
        const lpar = app.registry.get((req.params as { lpar: string }).lpar);
        const phandle = parsePhandle(body.phandle);
        const head = new TextEncoder().encode(`${command} ${phandle ?? body.phandle} `);
        return write(lpar, enc.concat(head, propertyBytes(body.property)));
      },
    });
  propertyRoute(
    'POST',
    'add_property',
    'add_property (node found by phandle through the cache; the lookup reference is never put)',
    'Kernel action: the exact `add_property` bytes written to /proc/ppc64/ofdt as task `drmgr`. Models do_add_property: of_find_node_by_phandle through the phandle cache (a stale hit edits a detached or freed node; the reference it takes is never put, as in the kernel), then of_add_property (its sysfs file, the reconfig notifier chain).',
  );
  propertyRoute(
    'PUT',
    'update_property',
    'update_property (node found by phandle through the cache)',
    'Kernel action: the exact `update_property` bytes written to /proc/ppc64/ofdt as task `drmgr`. Models do_update_property: of_find_node_by_phandle through the phandle cache (its reference never put), then of_update_property (the old value moves to the dead properties, the sysfs file is replaced, the reconfig notifier chain runs: nx-842 re-reads its properties).',
  );
  app.delete(
    '/v1/lpars/:lpar/properties',
    {
      schema: {
        tags: ['edits'],
        summary: 'remove_property (node found by phandle through the cache)',
        description:
          'Kernel action: the exact `remove_property` bytes written to /proc/ppc64/ofdt as task `drmgr`. Models do_remove_property: of_find_node_by_phandle through the phandle cache (its reference never put), then of_remove_property (the value moves to the dead properties, its sysfs file goes, the reconfig notifier chain runs).',
        params: Type.Object({ lpar: LparId }),
        querystring: Type.Object(
          {
            phandle: Type.String({ pattern: '^(0[xX][0-9a-fA-F]{1,8}|[0-9]{1,10})$' }),
            name: Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' }),
          },
          { additionalProperties: false },
        ),
        response: problemOrOk,
      },
    },
    async (req) =>
      write(
        app.registry.get(req.params.lpar),
        new TextEncoder().encode(`remove_property ${req.query.phandle} ${req.query.name}`),
      ),
  );
};
