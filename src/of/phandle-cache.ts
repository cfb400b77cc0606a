// The phandle lookup and its cache models (K-CACHE, spec section 11). Every lookup by phandle in the
// simulator goes through ofFindNodeByPhandle, so every caller sees the LPAR's cache as the kernel
// would, stale pointers included.

import type { PhandleCacheModel } from '../kernel/profiles.ts';
import { ofFindAllNodesNext, ofFindProperty, WALK_NODES_PER_STEP } from './base.ts';
import { completeSteps } from './fdt.ts';
import { type DeviceNode, nodeState, OF_DETACHED } from './node.ts';
import { readU32 } from './property.ts';
import { ofNodeGet, ofNodePut } from './refs.ts';
import type { OfState } from './state.ts';

export const OF_PHANDLE_ILLEGAL = 0xdeadbeef;
export const HASH128_BITS = 7;
const GOLDEN_RATIO_32 = 0x61c88647;
/** The holder name of the references the `pow2-refs` cache holds (K-REF-1). */
export const CACHE_HOLDER = 'phandle_cache';

export interface PhandleCacheCounters {
  lookups: number;
  hits: number;
  misses: number;
  /** A lookup found its slot holding another phandle. */
  collisions: number;
  /** A hit on a node that is not attached. */
  staleHits: number;
  /** A hit check that read a freed node. */
  useAfterFreeHits: number;
}

export interface PhandleCache {
  readonly model: PhandleCacheModel;
  slots: (DeviceNode | null)[];
  /** pow2 models: size - 1. */
  mask: number;
  /** Nodes at the last fill whose slot was already taken (overwritten in pow2, skipped in hash128). */
  fillCollisions: number;
  readonly counters: PhandleCacheCounters;
}

export function createPhandleCache(model: PhandleCacheModel): PhandleCache {
  return {
    model,
    slots: model === 'hash128' ? new Array(1 << HASH128_BITS).fill(null) : [],
    mask: 0,
    fillCollisions: 0,
    counters: { lookups: 0, hits: 0, misses: 0, collisions: 0, staleHits: 0, useAfterFreeHits: 0 },
  };
}

/** hash_32(h, 7): the top 7 bits of h * GOLDEN_RATIO_32 mod 2^32. */
export function hash32(value: number, bits: number): number {
  return Math.imul(value >>> 0, GOLDEN_RATIO_32) >>> (32 - bits);
}

export function roundupPowOfTwo(n: number): number {
  let size = 1;
  while (size < n) size *= 2;
  return size;
}

export function cacheSlotOf(cache: PhandleCache, handle: number): number | null {
  switch (cache.model) {
    case 'none':
      return null;
    case 'hash128':
      return hash32(handle, HASH128_BITS);
    default:
      return cache.slots.length === 0 ? null : (handle & cache.mask) >>> 0;
  }
}

function validPhandle(h: number): boolean {
  return h !== 0 && h !== OF_PHANDLE_ILLEGAL;
}

/** K-CACHE-2/3/4: the boot-time fill (of_populate_phandle_cache, or of_core_init for hash128). */
export function ofPopulatePhandleCache(of: OfState): void {
  completeSteps(ofPopulatePhandleCacheSteps(of));
}

/**
 * ofPopulatePhandleCache in steps of WALK_NODES_PER_STEP nodes: of_core_init fills the cache at boot,
 * when a quarter-million-node tree makes each of its walks a long one. Nothing changes the tree
 * between the steps (the boot runs alone on its LPAR), so the slots come out as in one piece.
 */
export function* ofPopulatePhandleCacheSteps(of: OfState): Generator<void, void, undefined> {
  const { cache } = of;
  cache.fillCollisions = 0;
  if (cache.model === 'none') return;
  if (cache.model === 'hash128') {
    // First node wins: a slot is filled only while empty.
    yield* eachOfAllnodesSteps(of, (np) => {
      if (!np.phandle) return;
      const slot = hash32(np.phandle, HASH128_BITS);
      if (cache.slots[slot]) cache.fillCollisions += 1;
      else cache.slots[slot] = np;
    });
    return;
  }
  let phandles = 0;
  yield* eachOfAllnodesSteps(of, (np) => {
    if (validPhandle(np.phandle)) phandles += 1;
  });
  const size = roundupPowOfTwo(phandles);
  cache.slots = new Array(size).fill(null);
  cache.mask = size - 1;
  yield* eachOfAllnodesSteps(of, (np) => {
    if (!validPhandle(np.phandle)) return;
    const slot = (np.phandle & cache.mask) >>> 0;
    // Last node wins; in pow2-refs the overwritten node keeps the reference taken for it forever.
    if (cache.slots[slot]) cache.fillCollisions += 1;
    if (cache.model === 'pow2-refs') ofNodeGet(of, np, CACHE_HOLDER);
    cache.slots[slot] = np;
  });
}

/** for_each_of_allnodes with `visit`, yielding every WALK_NODES_PER_STEP nodes. */
function* eachOfAllnodesSteps(
  of: OfState,
  visit: (np: DeviceNode) => void,
): Generator<void, void, undefined> {
  let visited = 0;
  for (let np = ofFindAllNodesNext(of, null); np; np = ofFindAllNodesNext(of, np)) {
    visit(np);
    if (++visited % WALK_NODES_PER_STEP === 0) yield;
  }
}

/** K-CACHE-5: what overlay apply and remove do; only the pow2 models have it. */
export function ofRebuildPhandleCache(of: OfState): boolean {
  const { cache } = of;
  if (cache.model !== 'pow2' && cache.model !== 'pow2-refs') return false;
  of.k.fn('of_populate_phandle_cache', () => {
    if (cache.model === 'pow2-refs') for (const np of cache.slots) ofNodePut(of, np, CACHE_HOLDER);
    cache.slots = [];
    ofPopulatePhandleCache(of);
  });
  of.k.emit({ type: 'phandle-cache.rebuilt', size: cache.slots.length });
  return true;
}

/**
 * __of_free_phandle_cache_entry / __of_phandle_cache_inv_entry, from __of_detach_node. The kernel
 * compares the slot's phandle with the detached node's phandle, not the node itself (see
 * docs/kernel-notes.md), so a detach also evicts another node with the same phandle.
 */
export function ofPhandleCacheInvEntry(of: OfState, handle: number): void {
  const { cache } = of;
  if (!handle || (cache.model !== 'pow2-refs' && cache.model !== 'hash128')) return;
  const slot = cacheSlotOf(cache, handle);
  if (slot === null) return;
  const np = cache.slots[slot];
  if (!np) return;
  of.k.access(np, '__of_detach_node', 4);
  if (np.phandle !== handle) return;
  if (cache.model === 'pow2-refs') ofNodePut(of, np, CACHE_HOLDER);
  cache.slots[slot] = null;
}

export type LookupHow = 'hit' | 'miss' | 'stale-hit';

export interface PhandleLookup {
  /** What of_find_node_by_phandle returned; the caller owns a reference on it. */
  readonly node: DeviceNode | null;
  readonly how: LookupHow;
  readonly slot: number | null;
  readonly useAfterFree: boolean;
}

/**
 * The miss path as the kernel runs it: the all-nodes walk (K-NODE-4, the order of ofFindAllNodesNext),
 * one tight pointer loop. `findByWalk` gives the same answer from the phandle index; this is the
 * reference it is checked against, and what the benchmark times.
 */
export function walkFor(of: OfState, handle: number, skipDetached: boolean): DeviceNode | null {
  const root = of.root;
  let np = root;
  while (np !== null) {
    if (np.phandle === handle && !(skipDetached && np.flags & OF_DETACHED)) return np;
    const child: DeviceNode | null = np.child;
    if (child !== null) {
      np = child;
      continue;
    }
    let sibling: DeviceNode | null = np.sibling;
    while (sibling === null) {
      np = np.parent;
      if (np === root || np === null) return null;
      sibling = np.sibling;
    }
    np = sibling;
  }
  return null;
}

/**
 * Is `np` reachable from the root, so that the all-nodes walk visits it? A node is linked under its
 * parent exactly when it has been attached and not detached since (attach links, detach unlinks and
 * flags); it is reachable when that holds up to the root.
 */
function reachable(of: OfState, np: DeviceNode): boolean {
  for (let cur: DeviceNode | null = np; cur; cur = cur.parent) {
    if (cur.freed || !cur.everAttached || cur.flags & OF_DETACHED) return false;
    if (cur === of.root) return true;
  }
  return false;
}

/** Ancestors from the root down to `np`. */
function lineage(np: DeviceNode): DeviceNode[] {
  const out: DeviceNode[] = [];
  for (let cur: DeviceNode | null = np; cur; cur = cur.parent) out.push(cur);
  return out.reverse();
}

/** Which of two reachable nodes the pre-order walk visits first. */
function walkOrderFirst(a: DeviceNode, b: DeviceNode): DeviceNode {
  const la = lineage(a);
  const lb = lineage(b);
  let i = 0;
  while (i < la.length && i < lb.length && la[i] === lb[i]) i++;
  if (i === la.length) return a; // a is an ancestor of b
  if (i === lb.length) return b;
  for (let c = la[i - 1]!.child; c; c = c.sibling) {
    if (c === la[i]) return a;
    if (c === lb[i]) return b;
  }
  return a;
}

/**
 * What walkFor(of, handle, skipDetached) returns, found through the phandle index: the first node in
 * walk order, among those reachable from the root, that carries the phandle. Detached nodes are never
 * reachable, so `skipDetached` changes nothing here, as it changes nothing for the walk of a tree
 * whose detached nodes are all unlinked.
 */
export function findByWalk(of: OfState, handle: number): DeviceNode | null {
  let found: DeviceNode | null = null;
  for (const np of of.phandleIndex.get(handle)) {
    if (!reachable(of, np)) continue;
    found = found ? walkOrderFirst(found, np) : np;
  }
  return found;
}

/** of_find_node_by_phandle (K-CACHE): returns the node with a reference taken for `holder`. */
export function ofFindNodeByPhandle(of: OfState, handle: number, holder: string): PhandleLookup {
  const { k, cache } = of;
  return k.fn('of_find_node_by_phandle', () => {
    handle >>>= 0;
    if (!handle) return { node: null, how: 'miss', slot: null, useAfterFree: false };
    cache.counters.lookups += 1;
    const slot = cacheSlotOf(cache, handle);
    let np: DeviceNode | null = null;
    let useAfterFree = false;
    let how: LookupHow = 'miss';

    if (slot !== null) {
      const cached = cache.slots[slot] ?? null;
      if (cached) {
        // The hit check reads the cached node's phandle: freed memory if the node is gone.
        useAfterFree = k.access(cached, 'of_find_node_by_phandle', 4);
        if (useAfterFree) cache.counters.useAfterFreeHits += 1;
        if (k.freedU32(cached, 'phandle', cached.phandle) === handle) np = cached;
        else cache.counters.collisions += 1;
      }
      // K-CACHE-3: pow2-refs refuses a detached hit, loudly.
      if (np && cache.model === 'pow2-refs' && np.flags & OF_DETACHED) {
        k.warn('of_find_node_by_phandle'); // WARN_ON(1): "did not uncache np on node removal"
        ofNodePut(of, np, CACHE_HOLDER);
        cache.slots[slot] = null;
        np = null;
      }
      if (np) {
        how = nodeState(np) === 'attached' ? 'hit' : 'stale-hit';
        cache.counters.hits += 1;
        if (how === 'stale-hit') cache.counters.staleHits += 1;
      }
    }

    if (!np) {
      cache.counters.misses += 1;
      // pow2 walks without checking OF_DETACHED and the later models skip detached nodes; the walk
      // reaches no detached node either way (K-NODE-4), so the index answers both.
      np = findByWalk(of, handle);
      if (np && slot !== null) {
        if (cache.model === 'pow2-refs') ofNodeGet(of, np, CACHE_HOLDER); // put when evicted
        cache.slots[slot] = np;
      }
    }

    ofNodeGet(of, np, holder);
    return { node: np, how, slot, useAfterFree };
  });
}

export interface CacheSlotView {
  readonly slot: number;
  readonly node: DeviceNode;
  readonly stale: boolean;
}

/** Occupied slots, read without side effects (the simulator looks; it does not dereference). */
export function cacheSlots(cache: PhandleCache): CacheSlotView[] {
  const out: CacheSlotView[] = [];
  cache.slots.forEach((node, slot) => {
    if (node) out.push({ slot, node, stale: nodeState(node) !== 'attached' });
  });
  return out;
}

/**
 * of_parse_phandle(np, name, 0): the node a phandle property points at, found through
 * of_find_node_by_phandle (so through this cache, stale entries and all), with a reference for `holder`.
 */
export function ofParsePhandle(of: OfState, np: DeviceNode, name: string, holder: string): DeviceNode | null {
  return of.k.fn('of_parse_phandle', () => {
    of.k.access(np, '__of_parse_phandle_with_args', 8);
    const pp = ofFindProperty(np, name);
    const handle = pp ? readU32(pp.value) : undefined;
    if (handle === undefined) return null;
    return ofFindNodeByPhandle(of, handle, holder).node;
  });
}
