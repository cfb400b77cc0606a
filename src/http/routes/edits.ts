// /proc/ppc64/ofdt and its JSON equivalents. The JSON forms are translated into the exact ofdt command
// bytes so that both run the same kernel path (K-OFDT).
//
// Before the kernel sees a write, the API checks what it can grow: an add_node must leave the tree
// within LPARSIM_MAX_NODES_PER_LPAR attached nodes and LPARSIM_MAX_TREE_DEPTH levels (so its tree.dtb
// can always be uploaded again), and the bytes it may keep must fit in the memory budget (507). A
// refused write changes nothing. Writes run in the LPAR's operation queue, after any export in progress.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import { LparError, limitExceeded } from '../../lpar/errors.ts';
import type { Lpar } from '../../lpar/lpar.ts';
import { MEMORY_COSTS, type Registry } from '../../lpar/registry.ts';
import { enc } from '../../of/property.ts';
import { ERRNO_VALUES } from '../../pseries/reconfig.ts';
import { LparId, parsePhandle, RawBody, Ref } from '../schemas/common.ts';
import {
  AddNodeBody,
  OfdtDoc,
  PropertyBody,
  type PropertyValue,
  propertyValueBytes,
} from '../schemas/nodes.ts';
import { oneWriteLimit } from '../write-limit.ts';

const problemOrOk = {
  200: Ref(OfdtDoc),
  400: Type.Ref('Problem'),
  404: Type.Ref('Problem'),
  409: Type.Ref('Problem'),
  413: Type.Ref('Problem'),
  507: Type.Ref('Problem'),
};

function propertyBytes(p: Static<typeof PropertyValue>): Uint8Array {
  const value = propertyValueBytes(p);
  return enc.concat(new TextEncoder().encode(`${p.name} ${value.length} `), value);
}

const ADD_NODE = new TextEncoder().encode('add_node ');

/** The path of an `add_node` command (up to the first space), or null for another command. */
function addNodePath(bytes: Uint8Array): string | null {
  for (let i = 0; i < ADD_NODE.length; i++) if (bytes[i] !== ADD_NODE[i]) return null;
  let end = bytes.indexOf(0x20, ADD_NODE.length);
  if (end < 0) end = bytes.length;
  return new TextDecoder().decode(bytes.subarray(ADD_NODE.length, end));
}

/**
 * Refuses, before the kernel runs, a write that would grow the LPAR past a limit: its attached nodes,
 * its depth (both what an upload of its tree.dtb is held to), or the memory budget.
 */
function checkGrowth(registry: Registry, lpar: Lpar, bytes: Uint8Array): void {
  const path = addNodePath(bytes);
  const { maxNodesPerLpar, maxTreeDepth } = registry.limits;
  if (path !== null) {
    const attached = lpar.of.nodes.size - lpar.of.unattached.size;
    if (attached + 1 > maxNodesPerLpar)
      throw limitExceeded(
        `the LPAR has ${attached} attached nodes; at most ${maxNodesPerLpar} per LPAR (LPARSIM_MAX_NODES_PER_LPAR)`,
      );
    let depth = 0;
    for (const c of path.split('/')) if (c.length > 0) depth += 1;
    if (depth >= maxTreeDepth)
      throw limitExceeded(
        `a node at depth ${depth} would nest deeper than ${maxTreeDepth - 1}; at most ${maxTreeDepth} levels (LPARSIM_MAX_TREE_DEPTH)`,
      );
  }
  registry.assertMemoryFor(
    bytes.length + (path !== null ? MEMORY_COSTS.addedNode : 0),
    `an ofdt write of ${bytes.length} bytes`,
  );
}

/**
 * Writes to ofdt in the LPAR's operation queue; an errno answers problem+json with the status an HTTP
 * client expects for it.
 */
function write(registry: Registry, lpar: Lpar, bytes: Uint8Array) {
  return lpar.exclusive(() => {
    checkGrowth(registry, lpar, bytes);
    const result = lpar.ofdt(bytes);
    // The values it added stay (at most the command's bytes); nodes it allocated are counted anyway.
    if (result.ok) registry.chargeGrowth(lpar, bytes.length);
    return answer(result, bytes);
  });
}

function answer(result: ReturnType<Lpar['ofdt']>, bytes: Uint8Array) {
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
  // A write is parsed in one piece by the kernel model (src/pseries/reconfig.ts): its own, smaller limit.
  const limited = oneWriteLimit(app.lparsimConfig);
  app.post(
    '/proc/ppc64/ofdt',
    {
      ...limited,
      schema: {
        tags: ['edits'],
        summary: 'One write(2) to /proc/ppc64/ofdt',
        description:
          'Kernel action: models ofdt_write and its do_* command as task `drmgr`, with every side effect of that command (lookups by path or through the phandle cache, references, attach and detach with sysfs and the reconfig notifier chain, dmesg). The body is the exact bytes a tool such as drmgr writes (application/octet-stream or text/plain; a JSON body is 415). Errors answer problem+json with `errno` (EINVAL 400, ENODEV 404, EBUSY 409). A write the kernel fails leaves what the kernel leaves (e.g. its parse-failure line in dmesg, or a leaked lookup reference).',
        params: Type.Object({ lpar: LparId }),
        consumes: ['application/octet-stream', 'text/plain'],
        body: RawBody('the exact bytes of one write(2) to /proc/ppc64/ofdt'),
        response: { ...problemOrOk, 415: Type.Ref('Problem') },
      },
    },
    async (req) => {
      const lpar = req.lpar;
      const body = req.body as unknown;
      // A write(2) is bytes: a body fastify parsed (JSON) is not what any tool writes, and its text
      // would not be the bytes the client meant.
      if (body !== undefined && !(body instanceof Uint8Array))
        throw new LparError(
          'unsupported-media-type',
          'Unsupported media type',
          `an ofdt write is the raw bytes of one write(2): send application/octet-stream or text/plain, not ${JSON.stringify(String(req.headers['content-type'] ?? ''))}; the JSON equivalents are POST …/nodes, …/properties`,
        );
      // A view of the body, not a copy: a write can be as large as the body limit.
      const bytes =
        body instanceof Uint8Array
          ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
          : new Uint8Array(0);
      return write(app.registry, lpar, bytes);
    },
  );
  app.post(
    '/nodes',
    {
      ...limited,
      schema: {
        tags: ['edits'],
        summary: 'add_node with properties (JSON form of the ofdt command)',
        description:
          'Kernel action: the exact `add_node` bytes written to /proc/ppc64/ofdt as task `drmgr`. Models do_add_node: of_find_node_by_path for the path and its parent (references taken and put), a new OF_DYNAMIC node, of_attach_node (sysfs directory and files, safe_name renames, the reconfig notifier chain).',
        params: Type.Object({ lpar: LparId }),
        body: AddNodeBody,
        response: { ...problemOrOk, 201: Ref(OfdtDoc) },
      },
    },
    async (req, reply) => {
      const lpar = req.lpar;
      const parts: Uint8Array[] = [new TextEncoder().encode(`add_node ${req.body.path} `)];
      req.body.properties.forEach((p, i) => {
        parts.push(propertyBytes(p));
        if (i < req.body.properties.length - 1) parts.push(enc.bytes([0x20]));
      });
      let size = 0;
      for (const p of parts) size += p.length;
      const bytes = new Uint8Array(size);
      size = 0;
      for (const p of parts) {
        bytes.set(p, size);
        size += p.length;
      }
      const result = await write(app.registry, lpar, bytes);
      return reply.code(201).send(result);
    },
  );
  app.delete(
    '/nodes',
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
    async (req) => write(app.registry, req.lpar, new TextEncoder().encode(`remove_node ${req.query.path}`)),
  );
  const propertyRoute = (
    method: 'POST' | 'PUT',
    command: 'add_property' | 'update_property',
    summary: string,
    description: string,
  ) =>
    app.route({
      method,
      url: '/properties',
      ...limited,
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
        const lpar = req.lpar;
        const phandle = parsePhandle(body.phandle);
        const head = new TextEncoder().encode(`${command} ${phandle ?? body.phandle} `);
        return write(app.registry, lpar, enc.concat(head, propertyBytes(body.property)));
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
    '/properties',
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
        app.registry,
        req.lpar,
        new TextEncoder().encode(`remove_property ${req.query.phandle} ${req.query.name}`),
      ),
  );
};
