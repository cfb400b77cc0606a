// Device-tree overlays (issue 14 point 4): apply a `dtc -@` blob, list, look at and remove overlays.
// Apply and remove are kernel actions (journaled, replayed); the GETs only look.
//
// A kernel refusal keeps the kernel's own answer: the negative errno of of_overlay_fdt_apply or
// of_overlay_remove is a problem+json carrying `errno`, `errnoValue`, `rc` and the `dmesg` lines the
// call printed (which stay in the LPAR's dmesg), with the status a caller expects for that errno:
// ENODEV 404, EBUSY 409, any other 422. What the service refuses before the kernel sees the blob (its
// size, node count or depth, the memory budget) is 413 or 507, as for an uploaded DTB.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { LparError, limitExceeded } from '../../lpar/errors.ts';
import { getOverlay, listOverlays } from '../../lpar/overlays.ts';
import { MEMORY_COSTS } from '../../lpar/registry.ts';
import { FdtError, FdtLimitError, fdtScan } from '../../of/fdt.ts';
import { LparId, problemResponses, RawBody, Ref } from '../schemas/common.ts';
import { OverlayApplied, OverlayDoc, OverlayId, OverlayList, OverlayRemoved } from '../schemas/overlays.ts';
import { oneWriteLimit } from '../write-limit.ts';

const LOOKS = { lookOnly: true };

const ERRNO_NOTE =
  'A kernel errno answers problem+json with `errno` (e.g. EINVAL), `errnoValue`, `rc` (the negative return) and `dmesg` (the lines the call printed, also kept in dmesg).';

export const overlayRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // An overlay blob is decoded in one piece, like an ofdt write: the same, smaller body limit.
  const limited = oneWriteLimit(app.lparsimConfig);
  const params = Type.Object({ lpar: LparId, overlay: OverlayId });

  app.post(
    '/overlays',
    {
      ...limited,
      schema: {
        tags: ['edits'],
        summary: 'Apply a device-tree overlay (of_overlay_fdt_apply)',
        description: `Kernel action as task lparsim: the body is an overlay blob as \`dtc -@ -I dts -O dtb overlay.dts\` writes it (a \`/plugin/;\` source; application/octet-stream). The model resolves its phandles (__fixups__ through the live /__symbols__, __local_fixups__), builds an of_changeset from its fragments (\`target\` or \`target-path\`) and applies it: new nodes are OF_OVERLAY, attached with sysfs and the reconfig chain; the phandle cache is handled as the kernel's overlay code does (docs/kernel-notes.md note 41). 201 with Location …/overlays/{id}, the overlay and what the apply did. ${ERRNO_NOTE} EBUSY (a tree the overlay code no longer trusts) is 409, EINVAL and the others 422. More nodes than the LPAR may still attach (LPARSIM_MAX_NODES_PER_LPAR) or deeper than LPARSIM_MAX_TREE_DEPTH is 413 and no room in the memory budget 507, before the kernel runs.`,
        params: Type.Object({ lpar: LparId }),
        consumes: ['application/octet-stream'],
        body: RawBody('an overlay blob (a /plugin/; DTB from dtc -@)'),
        response: {
          201: Ref(OverlayApplied),
          409: Type.Ref('Problem'),
          413: Type.Ref('Problem'),
          415: Type.Ref('Problem'),
          422: Type.Ref('Problem'),
          507: Type.Ref('Problem'),
          ...problemResponses,
        },
      },
    },
    async (req, reply) => {
      const body = req.body as unknown;
      if (!(body instanceof Uint8Array))
        throw new LparError(
          'unsupported-media-type',
          'Unsupported media type',
          `an overlay is the bytes of a flattened tree (dtc -@ -O dtb): send application/octet-stream, not ${JSON.stringify(String(req.headers['content-type'] ?? ''))}`,
        );
      const blob = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
      const lpar = req.lpar;
      const applied = await lpar.exclusive(() => {
        const { maxNodesPerLpar, maxTreeDepth } = app.registry.limits;
        const attached = lpar.of.nodes.size - lpar.of.unattached.size;
        const limits = { maxNodes: Math.max(0, maxNodesPerLpar - attached), maxDepth: maxTreeDepth };
        // Counted before the kernel runs, as an upload is: what it may add must fit. A blob that
        // cannot be read is left to the kernel, whose answer (and message) it is.
        let nodes = 0;
        try {
          nodes = fdtScan(blob, limits).nodes;
        } catch (e) {
          if (e instanceof FdtLimitError)
            throw limitExceeded(
              e.limit === 'nodes'
                ? `the overlay has more nodes than the ${limits.maxNodes} the LPAR may still attach (${attached} attached, at most ${maxNodesPerLpar} per LPAR: LPARSIM_MAX_NODES_PER_LPAR)`
                : `the overlay nests deeper than ${maxTreeDepth}; at most ${maxTreeDepth} levels (LPARSIM_MAX_TREE_DEPTH)`,
            );
          if (!(e instanceof FdtError)) throw e;
        }
        app.registry.assertMemoryFor(
          blob.length + nodes * MEMORY_COSTS.addedNode,
          `an overlay of ${blob.length} bytes (${nodes} nodes)`,
        );
        const doc = lpar.applyOverlay(blob, limits);
        // The values it added stay (at most the blob's bytes); its nodes are counted anyway.
        app.registry.chargeGrowth(lpar, blob.length);
        return doc;
      });
      req.log.info({ lpar: lpar.config.id, overlay: applied.id }, 'overlay applied');
      return reply
        .code(201)
        .header('location', `/v1/lpars/${lpar.config.id}/overlays/${applied.id}`)
        .send(applied);
    },
  );

  app.get(
    '/overlays',
    {
      config: LOOKS,
      schema: {
        tags: ['edits'],
        summary: 'The applied overlays, oldest first',
        description: 'Inspection (no side effects).',
        params: Type.Object({ lpar: LparId }),
        response: { 200: Ref(OverlayList), ...problemResponses },
      },
    },
    async (req) => listOverlays(req.lpar),
  );

  app.get(
    '/overlays/:overlay',
    {
      config: LOOKS,
      schema: {
        tags: ['edits'],
        summary: 'One applied overlay: its fragments, changeset entries and nodes',
        description: 'Inspection (no side effects). An id no applied overlay has is 404.',
        params,
        response: { 200: Ref(OverlayDoc), ...problemResponses },
      },
    },
    async (req) => getOverlay(req.lpar, req.params.overlay),
  );

  app.delete(
    '/overlays/:overlay',
    {
      schema: {
        tags: ['edits'],
        summary: 'Remove an overlay (of_overlay_remove)',
        description: `Kernel action as task lparsim: of_overlay_remove reverts the overlay's changeset, last entry first, if no later overlay touches its nodes (only the topmost may go), frees its nodes as their last references go and drops the fragments' target references; the phandle cache as the kernel's overlay code handles it. 200 with what was reverted. ${ERRNO_NOTE} ENODEV (no such overlay; the kernel says so in dmesg) is 404, EBUSY (not topmost, or a tree the overlay code no longer trusts) 409.`,
        params,
        response: { 200: Ref(OverlayRemoved), 409: Type.Ref('Problem'), ...problemResponses },
      },
    },
    async (req) => {
      const lpar = req.lpar;
      const removed = await lpar.exclusive(() => lpar.removeOverlay(req.params.overlay));
      req.log.info({ lpar: lpar.config.id, overlay: removed.id }, 'overlay removed');
      return removed;
    },
  );
};
