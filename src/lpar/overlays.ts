// Device-tree overlays on one LPAR (issue 14 point 4, docs/kernel-notes.md note 41): the model's
// of_overlay_fdt_apply and of_overlay_remove (of/overlay.ts) run as kernel actions, and their results
// become documents. A negative errno from the kernel is answered as that errno, with the lines the
// kernel printed for it (they stay in dmesg too); the overlays themselves live in the OF state.

import { ERRNO } from '../kernel/errno.ts';
import { type FdtDecodeLimits, FdtLimitError } from '../of/fdt.ts';
import { nodeState } from '../of/node.ts';
import { type OverlayChangeset, ofOverlayFdtApply, ofOverlayList, ofOverlayRemove } from '../of/overlay.ts';
import { overlayPath } from '../of/overlay-tree.ts';
import { cacheSlots } from '../of/phandle-cache.ts';
import { attachedPath, lastKnownPath, lparCounts, phandleHex, staleCacheSlots } from './documents.ts';
import { kernelRefused, type LparError, limitExceeded, notFound } from './errors.ts';
import type { Lpar } from './lpar.ts';
import { difference } from './migrations.ts';

/**
 * The task overlays run as: mainline Linux has no user-space interface that applies an overlay blob
 * (a driver or an out-of-tree configfs does), so the API's own task (lpar.ts API_TASK) stands for the
 * caller. Spelt out, not imported: lpar.ts imports this module.
 */
export const OVERLAY_TASK = 'lparsim';

/**
 * What the overlay code does with the phandle cache on this kernel (note 41): the pow2 kernels refill
 * it after an apply and throw it away and refill it around a removal's revert; with the hash128 cache
 * only __of_detach_node evicts a detached node's slot; without a cache there is nothing to do.
 */
function cacheHandling(lpar: Lpar): 'rebuild' | 'detach' | 'none' {
  const model = lpar.of.cache.model;
  if (model === 'pow2' || model === 'pow2-refs') return 'rebuild';
  return model === 'hash128' ? 'detach' : 'none';
}

function nodeBrief(lpar: Lpar, np: OverlayChangeset['newNodes'][number]) {
  return {
    address: np.address,
    fullName: np.fullName,
    path: attachedPath(lpar, np),
    lastKnownPath: lastKnownPath(np),
    phandle: phandleHex(np.phandle),
    state: nodeState(np),
  };
}

function entriesOf(ovcs: OverlayChangeset) {
  return ovcs.cset.entries.map((ce) => ({
    action: ce.action,
    node: { address: ce.np.address, path: lastKnownPath(ce.np) },
    property: ce.prop?.name ?? null,
  }));
}

/** An applied overlay as the API shows it, read without side effects. */
export function overlayDocument(lpar: Lpar, ovcs: OverlayChangeset) {
  return {
    id: ovcs.id,
    lpar: lpar.config.id,
    fragments: ovcs.fragments.map((f, i) => ({
      overlay: overlayPath(f.overlay),
      symbols: ovcs.symbolsFragment && i === ovcs.fragments.length - 1,
      target: { address: f.target.address, path: lastKnownPath(f.target), state: nodeState(f.target) },
    })),
    entries: entriesOf(ovcs),
    newNodes: ovcs.newNodes.map((np) => nodeBrief(lpar, np)),
    phandleCache: { model: lpar.of.cache.model, handling: cacheHandling(lpar) },
  };
}

export function listOverlays(lpar: Lpar) {
  return { items: ofOverlayList(lpar.of).map((o) => overlayDocument(lpar, o)) };
}

function findOverlay(lpar: Lpar, id: number): OverlayChangeset {
  const ovcs = ofOverlayList(lpar.of).find((o) => o.id === id);
  if (!ovcs) throw notFound('Overlay', `no overlay #${id} is applied in LPAR ${lpar.config.id}`);
  return ovcs;
}

export function getOverlay(lpar: Lpar, id: number) {
  return overlayDocument(lpar, findOverlay(lpar, id));
}

/** What an apply or a removal did around it: its dmesg, the cache's refills, the counts' change. */
function reportSince(
  lpar: Lpar,
  before: { dmesg: number; events: number; counts: ReturnType<typeof lparCounts> },
) {
  const counts = lparCounts(lpar);
  return {
    dmesg: lpar.k.log.since(before.dmesg).map((l) => l.text),
    cacheRebuilds: lpar.events.since(before.events).filter((e) => e.type === 'phandle-cache.rebuilt').length,
    staleCacheSlots: staleCacheSlots(lpar),
    countsDelta: difference(counts, before.counts),
  };
}

function mark(lpar: Lpar) {
  return { dmesg: lpar.k.log.last, events: lpar.events.lastId, counts: lparCounts(lpar) };
}

/** The decoder's limit as the service's refusal (413), as an oversized from-dtb upload is. */
function limitRefusal(e: FdtLimitError, limits: FdtDecodeLimits): LparError {
  return limitExceeded(
    e.limit === 'nodes'
      ? `the overlay has more than ${limits.maxNodes} nodes, more than the LPAR may still attach (LPARSIM_MAX_NODES_PER_LPAR)`
      : `the overlay nests deeper than ${limits.maxDepth}; at most ${limits.maxDepth} levels (LPARSIM_MAX_TREE_DEPTH)`,
  );
}

/**
 * of_overlay_fdt_apply of `blob` as a kernel action. Answers the new overlay's document with what the
 * apply did; a kernel refusal is a problem carrying the errno (EBUSY 409, others 422) after the kernel
 * ran, a blob over `limits` a 413 before it did.
 */
export function applyOverlay(lpar: Lpar, blob: Uint8Array, limits: FdtDecodeLimits) {
  lpar.assertAlive();
  const before = mark(lpar);
  let result: ReturnType<typeof ofOverlayFdtApply>;
  try {
    result = lpar.run(OVERLAY_TASK, () => ofOverlayFdtApply(lpar.of, blob, limits));
  } catch (e) {
    if (e instanceof FdtLimitError) throw limitRefusal(e, limits);
    throw e;
  }
  const report = reportSince(lpar, before);
  if (!result.ok)
    throw kernelRefused({
      lpar: lpar.config.id,
      what: 'overlay apply',
      call: 'of_overlay_fdt_apply',
      rc: result.rc,
      dmesg: report.dmesg,
      status: result.rc === -ERRNO.EBUSY ? 409 : 422,
    });
  const doc = overlayDocument(lpar, result.overlay);
  const cached = new Set(cacheSlots(lpar.of.cache).map((s) => s.node));
  return {
    ...doc,
    report: { ...report, newNodesCached: result.overlay.newNodes.filter((np) => cached.has(np)).length },
  };
}

/**
 * of_overlay_remove of overlay `id` as a kernel action: what was reverted (the entries, last first)
 * and the overlay's nodes as they are now. -ENODEV is a 404, -EBUSY (not topmost, or a tree the
 * overlay code no longer trusts) a 409, both with the kernel's lines.
 */
export function removeOverlay(lpar: Lpar, id: number) {
  lpar.assertAlive();
  const ovcs = ofOverlayList(lpar.of).find((o) => o.id === id);
  const entries = ovcs ? entriesOf(ovcs).reverse() : [];
  const before = mark(lpar);
  const result = lpar.run(OVERLAY_TASK, () => ofOverlayRemove(lpar.of, id));
  const report = reportSince(lpar, before);
  if (!result.ok)
    throw kernelRefused({
      lpar: lpar.config.id,
      what: 'overlay remove',
      call: 'of_overlay_remove',
      rc: result.rc,
      dmesg: report.dmesg,
      status: result.rc === -ERRNO.ENODEV ? 404 : 409,
    });
  return {
    id,
    lpar: lpar.config.id,
    reverted: entries,
    nodes: (ovcs?.newNodes ?? []).map((np) => nodeBrief(lpar, np)),
    report,
  };
}
