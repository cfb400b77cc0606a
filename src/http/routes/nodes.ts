import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import {
  leaksPage,
  nodeDocument,
  nodeDocumentJson,
  nodeSummary,
  phandleHex,
  refcountsPage,
  stateCounts,
} from '../../lpar/documents.ts';
import { badRequest } from '../../lpar/errors.ts';
import type { Lpar, NodeRef } from '../../lpar/lpar.ts';
import { type DeviceNode, nodeState } from '../../of/node.ts';
import {
  Address,
  LparId,
  PAGE_LIMIT_DEFAULT,
  PAGE_LIMIT_MAX,
  PageQuery,
  PhandleString,
  parsePhandle,
  problemResponses,
  Ref,
} from '../schemas/common.ts';
import {
  LeaksPage,
  LookupDoc,
  NodeDoc,
  NodeState,
  NodeSummary,
  NodeSummaryPage,
  NodesQuery,
  nodeDocJson,
  PutBody,
  RefBody,
  RefcountsPage,
  RefDoc,
  RefList,
} from '../schemas/nodes.ts';

/**
 * Answers the node document of `np`: as nodeDocumentJson writes it (the bytes the route's 200
 * serializer would write, by the native JSON.stringify and without its shape checks), else through
 * nodeDocJson or that serializer.
 */
function sendNodeDoc(reply: FastifyReply, lpar: Lpar, np: DeviceNode): FastifyReply {
  return reply
    .type('application/json; charset=utf-8')
    .send(nodeDocumentJson(lpar, np) ?? serialized(reply, nodeDocument(lpar, np)));
}

/** A node document through nodeDocJson, or the route's 200 serializer when nodeDocJson does not take it. */
function serialized(reply: FastifyReply, doc: ReturnType<typeof nodeDocument>): string {
  return nodeDocJson(doc) ?? (reply.serializeInput(doc, '200') as string);
}

/**
 * The inspection routes: they read the model and never run a kernel action (Lpar.actions does not
 * move), so they need not wait behind an LPAR's changes for the journal's lock (src/http/journal.ts).
 */
const LOOKS = { lookOnly: true };

/** How node listings page, for their descriptions. */
const NODE_PAGES = `Pages in address (allocation) order: \`limit\` (default ${PAGE_LIMIT_DEFAULT}, at most ${PAGE_LIMIT_MAX}) and \`cursor\` (the \`next\` of the page before; \`next\` is null on the last page). A cursor names the last node of its page, and nodes are never forgotten, so it stays valid and resumes after changes without repeating a node. A page costs the page, not the tree: without \`state\` it starts at the cursor's node directly; \`state=attached\` scans forward from the cursor past the nodes that are not attached (so it also costs those); any other state reads only the set of nodes that are not attached. A bad cursor is a 400.`;

/** A node reference from a request body, with its phandle parsed. */
export function toNodeRef(ref: { path?: string; address?: string; phandle?: number | string }): NodeRef {
  if (ref.path !== undefined) return { path: ref.path };
  if (ref.address !== undefined) return { address: ref.address };
  const phandle = parsePhandle(ref.phandle ?? -1);
  if (phandle === null) throw badRequest('Bad phandle', `${JSON.stringify(ref.phandle)} is not a u32`);
  return { phandle };
}

export const nodeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/nodes',
    {
      config: LOOKS,
      schema: {
        tags: ['nodes'],
        summary: 'The attached node at ?path=, or a page of nodes, filtered by ?state=',
        description: `Inspection (no side effects): with \`path\`, the node document of the attached node there, found by walking the live tree the way of_find_node_by_path matches components but without its get and put: no reference, no event, no pid, nothing printed or counted. Otherwise a page of node summaries, optionally of one state, with \`total\` the number of that state. ${NODE_PAGES}`,
        params: Type.Object({ lpar: LparId }),
        querystring: NodesQuery,
        response: {
          200: Type.Union([Ref(NodeDoc), Ref(NodeSummaryPage)]),
          ...problemResponses,
        },
      },
    },
    async (req, reply) => {
      const lpar = req.lpar;
      const q = req.query;
      if (q.path !== undefined) {
        if (q.state !== undefined || q.cursor !== undefined || q.offset !== undefined)
          throw badRequest('Conflicting query', 'give path, or state with cursor or offset, not both');
        // Not through the response union: its serializer validates the document against NodeDoc to
        // choose a branch, which costs more than writing it.
        return sendNodeDoc(reply, lpar, lpar.resolve({ path: q.path }));
      }
      if (q.cursor !== undefined && q.offset !== undefined)
        throw badRequest('Conflicting query', 'give cursor or offset, not both');
      const page = refcountsPage(lpar, q.state, {
        cursor: q.cursor,
        limit: q.limit ?? PAGE_LIMIT_DEFAULT,
        skip: q.offset,
      });
      // Counts by state cost the nodes that are not attached, not the tree.
      const total = q.state === undefined ? lpar.of.nodes.size : stateCounts(lpar)[q.state];
      // The page's own serializer: the union's would validate the whole page against both branches.
      return reply
        .type('application/json; charset=utf-8')
        .send(reply.compileSerializationSchema(NodeSummaryPage)({ ...page, total }));
    },
  );
  app.get(
    '/nodes/:address',
    {
      config: LOOKS,
      schema: {
        tags: ['nodes'],
        summary: 'Any node ever allocated, whatever its state (a freed one with its last contents)',
        description:
          "Inspection (no side effects): the simulator looks at the node's memory, detached, released or freed, without a kernel access, so reading a freed node here is not a use-after-free and counts nothing.",
        params: Type.Object({ lpar: LparId, address: Address }),
        response: { 200: Ref(NodeDoc), ...problemResponses },
      },
    },
    async (req, reply) => {
      const lpar = req.lpar;
      return sendNodeDoc(reply, lpar, lpar.nodeByAddress(req.params.address));
    },
  );
  app.get(
    '/phandles/:phandle',
    {
      schema: {
        tags: ['nodes'],
        summary: 'What of_find_node_by_phandle returns now, and how',
        description:
          "Kernel action: models of_find_node_by_phandle then of_node_put, run as task `lparsim`. It takes and drops a reference (both in the ledger and on the event stream), counts the lookup (hit, miss, collision, stale hit), may fill the phandle cache (pow2-refs takes the cache's own reference), refuses a detached hit on pow2-refs with a WARNING and evicts it, and a hit check on a freed node is a use-after-free (a KASAN report with `kasan`). `found: false` answers 200: finding nothing is a result.",
        params: Type.Object({ lpar: LparId, phandle: PhandleString }),
        response: { 200: Ref(LookupDoc), 409: Type.Ref('Problem'), ...problemResponses },
      },
    },
    async (req) => {
      const lpar = req.lpar;
      const phandle = parsePhandle(req.params.phandle);
      if (phandle === null) throw badRequest('Bad phandle', `${req.params.phandle} is not a u32`);
      // Every use-after-free hit of the lookup (its cache check, get and put), as counts.useAfterFree
      // counts them: one meaning and one type for useAfterFree in every document.
      const uafBefore = lpar.k.counters.useAfterFree;
      const result = lpar.lookupPhandle(phandle);
      const node = result.node ? nodeDocument(lpar, result.node) : null;
      return {
        phandle: phandleHex(phandle),
        how: result.how,
        found: result.node !== null,
        slot: result.slot,
        useAfterFree: lpar.k.counters.useAfterFree - uafBefore,
        stale: result.node !== null && nodeState(result.node) !== 'attached',
        node,
      };
    },
  );
  app.post(
    '/refs',
    {
      schema: {
        tags: ['nodes'],
        summary: 'of_node_get by a named holder (by path or phandle: the kernel lookup takes it)',
        description:
          "Kernel action, run as a task named after the holder: by `address`, of_node_get on that node (whatever its state: a get on a freed node is a use-after-free, a get on a count of 0 behaves as the profile's refcount_t does); by `path`, of_find_node_by_path; by `phandle`, of_find_node_by_phandle through the phandle cache, with all its side effects. The reference stays until it is put.",
        params: Type.Object({ lpar: LparId }),
        body: RefBody,
        response: { 201: Ref(RefDoc), 409: Type.Ref('Problem'), ...problemResponses },
      },
    },
    async (req, reply) => {
      const lpar = req.lpar;
      const ref = lpar.get(toNodeRef(req.body.node), req.body.holder);
      return reply
        .code(201)
        .header('location', `/v1/lpars/${lpar.config.id}/refs/${ref.id}`)
        .send({ id: ref.id, holder: ref.holder, node: nodeSummary(lpar, ref.node) });
    },
  );
  app.get(
    '/refs',
    {
      config: LOOKS,
      schema: {
        tags: ['nodes'],
        summary: 'References taken over the API and not yet put',
        description: 'Inspection (no side effects).',
        params: Type.Object({ lpar: LparId }),
        response: { 200: Ref(RefList), ...problemResponses },
      },
    },
    async (req) => {
      const lpar = req.lpar;
      return {
        items: [...lpar.refs.values()].map((r) => ({
          id: r.id,
          holder: r.holder,
          node: nodeSummary(lpar, r.node),
        })),
      };
    },
  );
  app.delete(
    '/refs/:ref',
    {
      schema: {
        tags: ['nodes'],
        summary: 'of_node_put of a reference taken over the API',
        description:
          "Kernel action: models of_node_put by the reference's holder, run as a task of that name. A put to 0 runs the release: a node still attached prints `Bad of_node_put()`, a detached OF_DYNAMIC one is freed.",
        params: Type.Object({ lpar: LparId, ref: Type.String({ pattern: '^r[0-9]{1,12}$' }) }),
        response: { 200: Ref(RefDoc), 409: Type.Ref('Problem'), ...problemResponses },
      },
    },
    async (req) => {
      const lpar = req.lpar;
      const ref = lpar.putRef(req.params.ref);
      return { id: ref.id, holder: ref.holder, node: nodeSummary(lpar, ref.node) };
    },
  );
  app.post(
    '/refs/put',
    {
      schema: {
        tags: ['nodes'],
        summary: 'of_node_put by a named holder, balanced or not',
        description:
          'Kernel action: models of_node_put by a named holder, run as a task of that name, on a node named by path (found without a reference) or address. A put by a holder with nothing outstanding on the node still changes the count (K-REF-1) and is recorded as unbalanced; a put to 0 runs the release.',
        params: Type.Object({ lpar: LparId }),
        body: PutBody,
        response: { 200: Ref(NodeSummary), 409: Type.Ref('Problem'), ...problemResponses },
      },
    },
    async (req) => {
      const lpar = req.lpar;
      return nodeSummary(lpar, lpar.putByHolder(req.body.node, req.body.holder));
    },
  );
  app.get(
    '/refcounts',
    {
      config: LOOKS,
      schema: {
        tags: ['nodes'],
        summary: 'Every node with its count and holders, a page at a time',
        description: `Inspection (no side effects): counts and holders as the ledger has them; nothing is taken. ${NODE_PAGES}`,
        params: Type.Object({ lpar: LparId }),
        querystring: Type.Object(
          { state: Type.Optional(NodeState), ...PageQuery },
          { additionalProperties: false },
        ),
        response: { 200: Ref(RefcountsPage), ...problemResponses },
      },
    },
    async (req) =>
      refcountsPage(req.lpar, req.query.state, {
        cursor: req.query.cursor,
        limit: req.query.limit ?? PAGE_LIMIT_DEFAULT,
      }),
  );
  app.get(
    '/leaks',
    {
      config: LOOKS,
      schema: {
        tags: ['nodes'],
        summary: 'Detached, released-but-held and orphaned nodes, with holders and migrations survived',
        description:
          'Inspection (no side effects): read from the set of nodes that are not attached, so a page costs the leaks, not the tree. Pages in address order: `limit` (default 500, at most 5000) and `cursor` (the `next` of the page before; null on the last page).',
        params: Type.Object({ lpar: LparId }),
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: {
          200: Ref(LeaksPage),
          ...problemResponses,
        },
      },
    },
    async (req) =>
      leaksPage(req.lpar, {
        cursor: req.query.cursor,
        limit: req.query.limit ?? PAGE_LIMIT_DEFAULT,
      }),
  );
};
