// Device-tree overlays (drivers/of/overlay.c): of_overlay_fdt_apply builds an of_changeset from the
// overlay's fragments and applies it to the live tree; of_overlay_remove reverts it, topmost first.
// The phandle cache is handled as each release's overlay code does: the pow2 kernels (4.17 to 5.5)
// refill the whole cache after an apply and throw it away around a removal's revert; the hash128
// kernels leave it to __of_detach_node, which evicts only the detached nodes' slots.

import { ofFindNodeByPath, ofFindProperty } from './base.ts';
import {
  type ChangesetEntry,
  type OfChangeset,
  ofChangesetAction,
  ofChangesetApplyEntries,
  ofChangesetApplyNotify,
  ofChangesetDestroy,
  ofChangesetInit,
  ofChangesetRevertEntries,
  ofChangesetRevertNotify,
} from './changeset.ts';
import { ofNodeAlloc, ofNodeSetPhandle, propertyInArena } from './dynamic.ts';
import { type FdtDecodeLimits, FdtError, FdtLimitError, fdtDecode } from './fdt.ts';
import { type DeviceNode, type NodeProperty, OF_DETACHED, OF_DYNAMIC, OF_OVERLAY } from './node.ts';
import {
  type OverlayNode,
  type OverlayProperty,
  overlayChild,
  overlayPath,
  overlayProperty,
  unflattenOverlay,
} from './overlay-tree.ts';
import { CACHE_HOLDER, ofFindNodeByPhandle, ofRebuildPhandleCache } from './phandle-cache.ts';
import { ofNodeFullName } from './printk-of.ts';
import { readU32 } from './property.ts';
import { INITIAL_HOLDER, ofNodePut } from './refs.ts';
import { ofResolvePhandles } from './resolver.ts';
import type { OfState } from './state.ts';

/** The holder of the references a fragment keeps on its target (find_target). */
export const OVERLAY_TARGET_HOLDER = 'overlay_fragment';

const ENODEV = 19;
const EBUSY = 16;
const EINVAL = 22;

export interface Fragment {
  readonly overlay: OverlayNode;
  readonly target: DeviceNode;
}

/** struct overlay_changeset */
export interface OverlayChangeset {
  readonly id: number;
  readonly tree: OverlayNode;
  readonly fragments: Fragment[];
  /** The last fragment is the overlay's __symbols__ (its target the live /__symbols__). */
  readonly symbolsFragment: boolean;
  readonly cset: OfChangeset;
  /** Nodes the changeset made (OF_OVERLAY), in the order it attaches them. */
  readonly newNodes: DeviceNode[];
}

/** The overlay code's globals of one LPAR: ovcs_list, ovcs_idr and devicetree_state_flags. */
interface OverlayGlobals {
  readonly list: OverlayChangeset[];
  applyFailed: boolean;
  revertFailed: boolean;
}

const GLOBALS = new WeakMap<OfState, OverlayGlobals>();

function globalsOf(of: OfState): OverlayGlobals {
  let g = GLOBALS.get(of);
  if (!g) {
    g = { list: [], applyFailed: false, revertFailed: false };
    GLOBALS.set(of, g);
  }
  return g;
}

/** The applied overlays, oldest first (the list `of_overlay_remove` checks for topmost). */
export function ofOverlayList(of: OfState): readonly OverlayChangeset[] {
  return globalsOf(of).list;
}

/** devicetree_corrupt(): a failed undo leaves the tree in a state the overlay code no longer trusts. */
export function devicetreeCorrupt(of: OfState): boolean {
  const g = globalsOf(of);
  return g.applyFailed || g.revertFailed;
}

function overlayErr(of: OfState, text: string): void {
  of.k.printk('err', `OF: overlay: ${text}`);
}

/** idr_alloc(&ovcs_idr, ovcs, 1, 0): the lowest id from 1 that no applied overlay holds. */
function idrAlloc(g: OverlayGlobals): number {
  const used = new Set(g.list.map((o) => o.id));
  let id = 1;
  while (used.has(id)) id++;
  return id;
}

function readString(value: Uint8Array): string | null {
  const nul = value.indexOf(0);
  return nul < 0 ? null : new TextDecoder().decode(value.subarray(0, nul));
}

/** find_target: `target` (a phandle, looked up through the cache) first, then `target-path`. */
function findTarget(of: OfState, info: OverlayNode): DeviceNode | null {
  const target = overlayProperty(info, 'target');
  const val = target ? readU32(target.value) : undefined;
  if (val !== undefined) {
    const np = ofFindNodeByPhandle(of, val, OVERLAY_TARGET_HOLDER).node;
    if (!np)
      overlayErr(of, `find target, node: ${overlayPath(info)}, phandle 0x${val.toString(16)} not found`);
    return np;
  }
  const pathProp = overlayProperty(info, 'target-path');
  const path = pathProp ? readString(pathProp.value) : null;
  if (path !== null) {
    const np = ofFindNodeByPath(of, path, OVERLAY_TARGET_HOLDER);
    if (!np) overlayErr(of, `find target, node: ${overlayPath(info)}, path '${path}' not found`);
    return np;
  }
  overlayErr(of, `find target, node: ${overlayPath(info)}, no target property`);
  return null;
}

/** init_overlay_changeset: the fragments (children with an __overlay__) and the __symbols__ fragment. */
function initOverlayChangeset(of: OfState, g: OverlayGlobals, tree: OverlayNode): OverlayChangeset | number {
  return of.k.fn('init_overlay_changeset', () => {
    const fragments: Fragment[] = [];
    const fail = (ret: number): number => {
      for (const f of fragments) ofNodePut(of, f.target, OVERLAY_TARGET_HOLDER);
      overlayErr(of, `init_overlay_changeset() failed, ret = ${ret}`);
      return ret;
    };
    for (const node of tree.children) {
      const overlay = overlayChild(node, '__overlay__');
      if (!overlay) continue;
      const target = findTarget(of, node);
      if (!target) return fail(-EINVAL);
      fragments.push({ overlay, target });
    }
    const symbols = overlayChild(tree, '__symbols__');
    if (symbols) {
      const target = ofFindNodeByPath(of, '/__symbols__', OVERLAY_TARGET_HOLDER);
      if (!target) {
        overlayErr(of, 'symbols in overlay, but not in live tree');
        return fail(-EINVAL);
      }
      fragments.push({ overlay: symbols, target });
    }
    if (fragments.length === 0) {
      overlayErr(of, 'no fragments or symbols in overlay');
      return fail(-EINVAL);
    }
    return {
      id: idrAlloc(g),
      tree,
      fragments,
      symbolsFragment: symbols !== undefined,
      cset: ofChangesetInit(),
      newNodes: [],
    };
  });
}

interface Target {
  readonly np: DeviceNode;
  readonly inLivetree: boolean;
}

const SKIPPED_IN_LIVETREE = new Set(['name', 'phandle', 'linux,phandle']);

function valuesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * dup_and_fixup_symbol_prop: an overlay symbol's path `/fragment@N/__overlay__/tail` becomes the
 * target's live path followed by `/tail`. Null where the kernel gives up (then -ENOMEM).
 */
function dupAndFixupSymbolProp(
  of: OfState,
  ovcs: OverlayChangeset,
  prop: OverlayProperty,
): NodeProperty | null {
  const path = readString(prop.value);
  if (path === null || path.length < 1) return null;
  const fragment = ovcs.fragments.find((f) => {
    const prefix = overlayPath(f.overlay);
    return path === prefix || path.startsWith(`${prefix}/`);
  });
  if (!fragment) return null;
  const tail = path.slice(overlayPath(fragment.overlay).length);
  const value = new TextEncoder().encode(`${ofNodeFullName(of, fragment.target)}${tail}\0`);
  return propertyInArena(of, prop.name, value);
}

/** add_changeset_property (5.0+). */
function addChangesetProperty(
  of: OfState,
  ovcs: OverlayChangeset,
  target: Target,
  prop: OverlayProperty,
  isSymbolsProp: boolean,
): number {
  if (target.inLivetree && SKIPPED_IN_LIVETREE.has(prop.name)) return 0;
  const existing = target.inLivetree ? ofFindProperty(target.np, prop.name) : undefined;
  let newProp: NodeProperty | null;
  if (isSymbolsProp) {
    if (existing) return -EINVAL;
    newProp = dupAndFixupSymbolProp(of, ovcs, prop);
  } else newProp = propertyInArena(of, prop.name, prop.value);
  if (!newProp) return -12; // -ENOMEM, as the kernel answers a failed duplicate
  let ret = 0;
  let leakCheck = false;
  const path = () => ofNodeFullName(of, target.np);
  if (!existing) {
    leakCheck = true;
    ret = ofChangesetAction(of, ovcs.cset, 'ADD_PROPERTY', target.np, newProp);
  } else if (prop.name === '#address-cells' || prop.name === '#size-cells') {
    if (!valuesEqual(existing.value, newProp.value)) {
      overlayErr(of, `ERROR: changing value of ${prop.name} is not allowed in ${path()}`);
      ret = -EINVAL;
    }
  } else {
    leakCheck = true;
    ret = ofChangesetAction(of, ovcs.cset, 'UPDATE_PROPERTY', target.np, newProp);
  }
  if (leakCheck && (target.np.flags & OF_OVERLAY) === 0)
    overlayErr(of, `WARNING: memory leak will occur if overlay removed, property: ${path()}/${newProp.name}`);
  return ret;
}

/** The first live child whose full name is `name` (for_each_child_of_node with a compare). */
function liveChildNamed(parent: DeviceNode, name: string): DeviceNode | null {
  for (let c = parent.child; c; c = c.sibling) if (c.fullName === name) return c;
  return null;
}

/**
 * add_changeset_node (5.0+): a node the target lacks is a new OF_OVERLAY node, empty, with the
 * overlay node's name and phandle, attached by the changeset and filled by the entries that follow;
 * a node the target has is descended into (both having a phandle is refused).
 */
function addChangesetNode(of: OfState, ovcs: OverlayChangeset, target: Target, node: OverlayNode): number {
  const existing = liveChildNamed(target.np, node.fullName);
  if (!existing) {
    const np = ofNodeAlloc(of, node.fullName, [], OF_DYNAMIC | OF_DETACHED | OF_OVERLAY);
    np.parent = target.np;
    const nameProp = overlayProperty(node, 'name');
    np.name = nameProp ? (readString(nameProp.value) ?? '<NULL>') : '<NULL>';
    // Only `phandle`, and only 4 bytes: the obsolete linux,phandle is ignored here.
    const ph = overlayProperty(node, 'phandle');
    if (ph && ph.value.length === 4) ofNodeSetPhandle(of, np, readU32(ph.value)!);
    ovcs.newNodes.push(np);
    const ret = ofChangesetAction(of, ovcs.cset, 'ATTACH_NODE', np, null);
    if (ret) return ret;
    const r = buildChangesetNextLevel(of, ovcs, { np, inLivetree: false }, node);
    // __of_node_dup's reference goes; the changeset entry's keeps the node. Where sysfs holds no
    // reference of its own (4.16, 4.18), __of_detach_node_sysfs puts this initial one at removal and
    // 4.x's add_changeset_node has no put: dropping it here too would free the node one put early.
    if (of.k.profile.sysfsHoldsRef) ofNodePut(of, np, INITIAL_HOLDER);
    return r;
  }
  if (node.phandle && existing.phandle) return -EINVAL;
  return buildChangesetNextLevel(of, ovcs, { np: existing, inLivetree: target.inLivetree }, node);
}

function buildChangesetNextLevel(
  of: OfState,
  ovcs: OverlayChangeset,
  target: Target,
  node: OverlayNode,
): number {
  for (const prop of node.props) {
    const ret = addChangesetProperty(of, ovcs, target, prop, false);
    if (ret) return ret;
  }
  for (const child of node.children) {
    const ret = addChangesetNode(of, ovcs, target, child);
    if (ret) return ret;
  }
  return 0;
}

function isNodeEntry(ce: ChangesetEntry): boolean {
  return ce.action === 'ATTACH_NODE' || ce.action === 'DETACH_NODE';
}

/** changeset_dup_entry_check: two fragments may not add the same node or touch the same property. */
function changesetDupEntryCheck(of: OfState, cs: OfChangeset): number {
  let dup = false;
  const entries = cs.entries;
  for (let i = 0; i < entries.length; i++) {
    const a = entries[i]!;
    for (let j = i + 1; j < entries.length; j++) {
      const b = entries[j]!;
      if (isNodeEntry(a) !== isNodeEntry(b) || a.np.fullName !== b.np.fullName) continue;
      const path = ofNodeFullName(of, a.np);
      if (path !== ofNodeFullName(of, b.np)) continue;
      if (isNodeEntry(a)) {
        overlayErr(of, `ERROR: multiple fragments add and/or delete node ${path}`);
        dup = true;
        break;
      }
      if (a.prop!.name === b.prop!.name) {
        overlayErr(
          of,
          `ERROR: multiple fragments add, update, and/or delete property ${path}/${a.prop!.name}`,
        );
        dup = true;
        break;
      }
    }
  }
  return dup ? -EINVAL : 0;
}

/** build_changeset: every fragment, then the symbols fragment, then the duplicate check. */
function buildChangeset(of: OfState, ovcs: OverlayChangeset): number {
  return of.k.fn('build_changeset', () => {
    const n = ovcs.symbolsFragment ? ovcs.fragments.length - 1 : ovcs.fragments.length;
    for (let i = 0; i < n; i++) {
      const f = ovcs.fragments[i]!;
      const ret = buildChangesetNextLevel(of, ovcs, { np: f.target, inLivetree: true }, f.overlay);
      if (ret) return ret;
    }
    if (ovcs.symbolsFragment) {
      const f = ovcs.fragments[ovcs.fragments.length - 1]!;
      for (const prop of f.overlay.props) {
        const ret = addChangesetProperty(of, ovcs, { np: f.target, inLivetree: true }, prop, true);
        if (ret) return ret;
      }
    }
    return changesetDupEntryCheck(of, ovcs.cset);
  });
}

/**
 * free_overlay_changeset: the changeset's references go (of_changeset_destroy, which frees the
 * overlay's nodes once they are detached), then the fragments' target references. Nodes the
 * changeset made but never attached are freed with it.
 */
function freeOverlayChangeset(of: OfState, ovcs: OverlayChangeset): void {
  of.k.fn('free_overlay_changeset', () => {
    ofChangesetDestroy(of, ovcs.cset, (np) => (np.flags & OF_OVERLAY) !== 0);
    for (const f of ovcs.fragments) ofNodePut(of, f.target, OVERLAY_TARGET_HOLDER);
  });
}

/** The pow2 models: the overlay code calls of_populate_phandle_cache / of_free_phandle_cache. */
function cacheRebuiltByOverlays(of: OfState): boolean {
  return of.cache.model === 'pow2' || of.cache.model === 'pow2-refs';
}

/**
 * of_free_phandle_cache: the whole cache goes (pow2-refs puts the reference of every slot). With no
 * cache, a lookup walks and stores nothing, and __of_detach_node has no slot to evict.
 */
function ofFreePhandleCache(of: OfState): void {
  of.k.fn('of_free_phandle_cache', () => {
    const { cache } = of;
    if (cache.model === 'pow2-refs') for (const np of cache.slots) ofNodePut(of, np, CACHE_HOLDER);
    cache.slots = [];
    cache.mask = 0;
  });
}

export type OverlayApplyResult =
  | { readonly ok: true; readonly id: number; readonly overlay: OverlayChangeset }
  | { readonly ok: false; readonly rc: number };

/** of_overlay_apply (after the blob is unflattened). */
function ofOverlayApply(of: OfState, tree: OverlayNode): OverlayApplyResult {
  return of.k.fn('of_overlay_apply', () => {
    const g = globalsOf(of);
    if (devicetreeCorrupt(of)) {
      overlayErr(of, 'devicetree state suspect, refuse to apply overlay');
      return { ok: false, rc: -EBUSY };
    }
    const resolved = ofResolvePhandles(of, tree);
    if (resolved) return { ok: false, rc: resolved };
    const ovcs = initOverlayChangeset(of, g, tree);
    if (typeof ovcs === 'number') return { ok: false, rc: ovcs };
    // No overlay notifiers are registered in this model: pre-apply changes nothing.
    let rc = buildChangeset(of, ovcs);
    if (!rc) {
      const r = ofChangesetApplyEntries(of, ovcs.cset);
      rc = r.rc;
      if (rc && r.undoRc) g.applyFailed = true;
    }
    if (rc) {
      freeOverlayChangeset(of, ovcs);
      return { ok: false, rc };
    }
    if (cacheRebuiltByOverlays(of)) ofRebuildPhandleCache(of);
    ofChangesetApplyNotify(of, ovcs.cset);
    g.list.push(ovcs);
    of.k.emit({ type: 'overlay.applied', id: ovcs.id, entries: ovcs.cset.entries.length });
    return { ok: true, id: ovcs.id, overlay: ovcs };
  });
}

const FDT_MAGIC = 0xd00dfeed;
const FDT_HEADER_SIZE = 40;

/**
 * of_overlay_fdt_apply: checks the header, unflattens the blob and applies it. Answers the new
 * overlay's id, or the negative errno the kernel returns (its messages are in dmesg). A blob over the
 * decoder's limits throws FdtLimitError (a request the service refuses, not a kernel answer). 4.16
 * has no of_overlay_fdt_apply: its callers unflatten and call of_overlay_apply themselves, which is
 * what the model does there (docs/kernel-notes.md note 41).
 */
export function ofOverlayFdtApply(
  of: OfState,
  blob: Uint8Array,
  limits: FdtDecodeLimits,
): OverlayApplyResult {
  return of.k.fn('of_overlay_fdt_apply', () => {
    const header = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    if (blob.length < FDT_HEADER_SIZE || header.getUint32(0) !== FDT_MAGIC) {
      overlayErr(of, 'Invalid overlay_fdt header');
      return { ok: false, rc: -EINVAL };
    }
    if (blob.length < header.getUint32(4)) return { ok: false, rc: -EINVAL };
    let tree: OverlayNode;
    try {
      tree = unflattenOverlay(fdtDecode(blob, limits));
    } catch (e) {
      if (e instanceof FdtLimitError || !(e instanceof FdtError)) throw e;
      overlayErr(of, 'unable to unflatten overlay_fdt');
      return { ok: false, rc: -EINVAL };
    }
    return ofOverlayApply(of, tree);
  });
}

/** find_node: `np` is `tree` or below it in the live tree. */
function findNode(tree: DeviceNode, np: DeviceNode): boolean {
  if (tree === np) return true;
  for (let c = tree.child; c; c = c.sibling) if (findNode(c, np)) return true;
  return false;
}

/** overlay_removal_is_ok: no later overlay touches a node at, above or below one of this one's. */
function overlayRemovalIsOk(of: OfState, g: OverlayGlobals, ovcs: OverlayChangeset): boolean {
  const later = g.list.slice(g.list.indexOf(ovcs) + 1).reverse();
  for (const ce of ovcs.cset.entries) {
    for (const other of later) {
      for (const ce2 of other.cset.entries) {
        if (findNode(ce2.np, ce.np) || findNode(ce.np, ce2.np)) {
          overlayErr(
            of,
            `node_overlaps_later_cs: #${ovcs.id} overlaps with #${other.id} @${ofNodeFullName(of, ce.np)}`,
          );
          overlayErr(of, `overlay #${ovcs.id} is not topmost`);
          return false;
        }
      }
    }
  }
  return true;
}

export type OverlayRemoveResult = { readonly ok: true } | { readonly ok: false; readonly rc: number };

/** of_overlay_remove: revert (topmost only), notify, free. 0 or a negative errno (messages in dmesg). */
export function ofOverlayRemove(of: OfState, id: number): OverlayRemoveResult {
  return of.k.fn('of_overlay_remove', () => {
    const g = globalsOf(of);
    if (devicetreeCorrupt(of)) {
      overlayErr(of, 'suspect devicetree state, refuse to remove overlay');
      return { ok: false, rc: -EBUSY };
    }
    const ovcs = g.list.find((o) => o.id === id);
    if (!ovcs) {
      overlayErr(of, `remove: Could not find overlay #${id}`);
      return { ok: false, rc: -ENODEV };
    }
    if (!overlayRemovalIsOk(of, g, ovcs)) return { ok: false, rc: -EBUSY };
    g.list.splice(g.list.indexOf(ovcs), 1);
    const rebuild = cacheRebuiltByOverlays(of);
    if (rebuild) ofFreePhandleCache(of);
    const r = ofChangesetRevertEntries(of, ovcs.cset);
    if (rebuild) ofRebuildPhandleCache(of);
    if (r.rc) {
      if (r.undoRc) g.revertFailed = true;
      return { ok: false, rc: r.rc };
    }
    ofChangesetRevertNotify(of, ovcs.cset);
    freeOverlayChangeset(of, ovcs);
    of.k.emit({ type: 'overlay.removed', id });
    return { ok: true };
  });
}
