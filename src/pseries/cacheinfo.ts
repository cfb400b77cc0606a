// arch/powerpc/kernel/cacheinfo.c as far as it holds device nodes (E10, K-CACHEINFO): one cache
// object per cache node the CPUs reach, each holding a reference on its node (holder `cacheinfo`).
// A core's split L1 is two objects on the cpu node; a unified l2 or l3, reached through `l2-cache` or
// `next-level-cache` (looked up by phandle, so through the phandle cache), is one. Objects are per
// node, shared by the threads of a core. Mobility tears them all down before the device-tree update
// and rebuilds them after it where the profile has `cacheinfoRebuild`.

import { inFrameSteps, ofFindProperty } from '../of/base.ts';
import { completeSteps } from '../of/fdt.ts';
import type { DeviceNode } from '../of/node.ts';
import { ofParsePhandle } from '../of/phandle-cache.ts';
import { ofNodeGet, ofNodePut } from '../of/refs.ts';
import type { OfState } from '../of/state.ts';
import { CPUS_PER_STEP, logicalCpusSteps } from './topology.ts';

export const CACHEINFO_HOLDER = 'cacheinfo';
/** The holder of the transient references cache_chain_instantiate takes while it walks. */
const WALK_HOLDER = 'cache_chain_instantiate';

type CacheType = 'Data' | 'Instruction' | 'Unified';
const TYPE_CODE: Readonly<Record<CacheType, number>> = { Data: 0, Instruction: 1, Unified: 2 };

/**
 * The cache objects, as columns indexed by object id (the order new_cache made them), and each CPU's
 * chain as runs of consecutive CPUs that share one (the threads of a core do). Numbers in arrays, not
 * an object per cache and per run: a default tree has some 2,000 CPUs and 1,000 objects per LPAR,
 * which as objects, Maps and arrays cost about 200 bytes each, more than the nodes they point at.
 *
 * shared_cpu_map is kept as its weight (`users`): the map only ever gains a CPU whose chain holds the
 * object and loses one as that CPU goes offline, so the count decides release_cache exactly as the
 * map's emptiness does.
 */
export interface CacheInfo {
  /** The cache node each object holds (its reference, holder `cacheinfo`). */
  objectNodes: DeviceNode[];
  /** level << 2 | type (TYPE_CODE) of each object. */
  objectKinds: number[];
  /** How many online CPUs each object's shared_cpu_map has; 0 once released. */
  users: number[];
  /** Per run: first CPU, CPU count, then the chain as [start, end) in chainObjects. */
  runs: number[];
  /** Object ids of every run's chain, L1 first, one chain after another. */
  chainObjects: number[];
  /**
   * While cacheinfo_init runs: each cache node's objects (cache_lookup_or_instantiate's list), one id
   * or a split L1's two. Dropped when it ends; a teardown releases every object, so a rebuild starts
   * with none.
   */
  lookup: Map<DeviceNode, number | readonly [number, number]> | null;
}

const RUN_FIELDS = 4;

export function cacheInfoNew(): CacheInfo {
  return { objectNodes: [], objectKinds: [], users: [], runs: [], chainObjects: [], lookup: null };
}

/** new_cache → cache_init: the object takes its reference on the node. */
function newCache(of: OfState, info: CacheInfo, node: DeviceNode, type: CacheType, level: number): number {
  return of.k.fn('new_cache', () => {
    ofNodeGet(of, node, CACHEINFO_HOLDER);
    const id = info.objectNodes.length;
    info.objectNodes.push(node);
    info.objectKinds.push((level << 2) | TYPE_CODE[type]);
    info.users.push(0);
    return id;
  });
}

/** cache_lookup_or_instantiate: the objects of `node`, made on first sight (unified or split by `cache-unified`). */
function lookupOrInstantiate(
  of: OfState,
  info: CacheInfo,
  node: DeviceNode,
  level: number,
): number | readonly [number, number] {
  if (!info.lookup) info.lookup = new Map();
  const lookup = info.lookup;
  let objects = lookup.get(node);
  if (objects === undefined) {
    of.k.access(node, 'cache_do_one_devnode', 8);
    if (ofFindProperty(node, 'cache-unified')) objects = newCache(of, info, node, 'Unified', level);
    else {
      const data = newCache(of, info, node, 'Data', level);
      objects = [data, newCache(of, info, node, 'Instruction', level)] as const;
    }
    lookup.set(node, objects);
  }
  return objects;
}

/** of_find_next_cache_node: `l2-cache`, else `next-level-cache`, by phandle (with a reference). */
function ofFindNextCacheNode(of: OfState, np: DeviceNode): DeviceNode | null {
  return of.k.fn('of_find_next_cache_node', () => {
    if (ofFindProperty(np, 'l2-cache')) return ofParsePhandle(of, np, 'l2-cache', WALK_HOLDER);
    if (ofFindProperty(np, 'next-level-cache'))
      return ofParsePhandle(of, np, 'next-level-cache', WALK_HOLDER);
    return null;
  });
}

/** `cpu` joins each object's shared_cpu_map once, however often a looping chain reaches it. */
function addCpu(info: CacheInfo, objects: number | readonly [number, number], chain: number[]): void {
  for (const id of typeof objects === 'number' ? [objects] : objects) {
    if (!chain.includes(id)) info.users[id]! += 1;
    chain.push(id);
  }
}

/** The CPU's chain goes on the last run when it continues it with the same objects, else a new run. */
function recordChain(info: CacheInfo, cpu: number, chain: readonly number[]): void {
  const { runs, chainObjects } = info;
  const last = runs.length - RUN_FIELDS;
  if (last >= 0 && runs[last]! + runs[last + 1]! === cpu) {
    const start = runs[last + 2]!;
    const length = runs[last + 3]! - start;
    if (length === chain.length && chain.every((id, i) => chainObjects[start + i] === id)) {
      runs[last + 1]! += 1;
      return;
    }
  }
  runs.push(cpu, 1, chainObjects.length, chainObjects.length + chain.length);
  chainObjects.push(...chain); // a chain is a few levels long
}

/** cache_chain_instantiate for one logical CPU: its L1 on the cpu node, then each next level. */
function cacheChainInstantiate(of: OfState, info: CacheInfo, cpu: number, cpuNode: DeviceNode): void {
  of.k.fn('cache_chain_instantiate', () => {
    ofNodeGet(of, cpuNode, WALK_HOLDER); // of_get_cpu_node
    const chain: number[] = [];
    addCpu(info, lookupOrInstantiate(of, info, cpuNode, 1), chain);
    let node: DeviceNode = cpuNode;
    let level = 1;
    // do_subsidiary_caches: at most a few levels exist; the bound only guards against a loop.
    for (let guard = 0; guard < 8; guard++) {
      const next = ofFindNextCacheNode(of, node);
      if (!next) break;
      level += 1;
      const objects = lookupOrInstantiate(of, info, next, level);
      ofNodePut(of, next, WALK_HOLDER);
      addCpu(info, objects, chain);
      node = next;
    }
    recordChain(info, cpu, chain);
    ofNodePut(of, cpuNode, WALK_HOLDER);
  });
}

/** After cacheinfo_init: the lookup goes, and the columns lose the slack their growth left. */
function sealColumns(info: CacheInfo): void {
  info.lookup = null;
  info.objectNodes = info.objectNodes.slice();
  info.objectKinds = info.objectKinds.slice();
  info.users = info.users.slice();
  info.runs = info.runs.slice();
  info.chainObjects = info.chainObjects.slice();
}

/** cacheinfo_cpu_online for every CPU (boot, and cacheinfo_rebuild after a migration). */
export function cacheinfoInit(of: OfState, info: CacheInfo): void {
  completeSteps(cacheinfoInitSteps(of, info));
}

/** cacheinfoInit in steps of CPUS_PER_STEP CPUs (the boot's), each inside the cacheinfo_init frame. */
export function cacheinfoInitSteps(of: OfState, info: CacheInfo): Generator<void, void, undefined> {
  return inFrameSteps(of, 'cacheinfo_init', cpusOnlineSteps(of, info));
}

function* cpusOnlineSteps(of: OfState, info: CacheInfo): Generator<void, void, undefined> {
  let done = 0;
  for (const { cpu, node } of yield* logicalCpusSteps(of)) {
    cacheChainInstantiate(of, info, cpu, node);
    if (++done % CPUS_PER_STEP === 0) yield;
  }
  sealColumns(info);
}

/**
 * cacheinfo_teardown: cacheinfo_cpu_offline for every CPU; an object no CPU uses any more is
 * released (release_cache), dropping its node reference.
 */
export function cacheinfoTeardown(of: OfState, info: CacheInfo): void {
  of.k.fn('cacheinfo_teardown', () => {
    const { runs, chainObjects } = info;
    for (let r = 0; r < runs.length; r += RUN_FIELDS) {
      const chain = chainObjects.slice(runs[r + 2], runs[r + 3]);
      for (let cpu = runs[r]!; cpu < runs[r]! + runs[r + 1]!; cpu++) cacheCpuOffline(of, info, chain);
    }
    Object.assign(info, cacheInfoNew());
  });
}

/** One CPU leaves the objects of its chain (each once); the last one out releases an object. */
function cacheCpuOffline(of: OfState, info: CacheInfo, chain: readonly number[]): void {
  chain.forEach((id, i) => {
    if (chain.indexOf(id) !== i || info.users[id] === 0) return;
    info.users[id]! -= 1;
    if (info.users[id] === 0)
      of.k.fn('release_cache', () => ofNodePut(of, info.objectNodes[id]!, CACHEINFO_HOLDER));
  });
}

export function cacheinfoRebuild(of: OfState, info: CacheInfo): void {
  of.k.fn('cacheinfo_rebuild', () => cacheinfoInit(of, info));
}

/**
 * cacheinfo_cpu_online for one CPU brought up after boot (a DLPAR add): its chain finds the objects
 * that still exist by node (cache_lookup_by_node over the live objects) and makes the others.
 */
export function cacheinfoCpuOnline(of: OfState, info: CacheInfo, cpu: number, cpuNode: DeviceNode): void {
  of.k.fn('cacheinfo_cpu_online', () => {
    const lookup = new Map<DeviceNode, number | readonly [number, number]>();
    for (let id = 0; id < info.objectNodes.length; id++) {
      if (info.users[id] === 0) continue;
      const node = info.objectNodes[id]!;
      const seen = lookup.get(node);
      lookup.set(node, seen === undefined ? id : ([seen as number, id] as const));
    }
    info.lookup = lookup;
    cacheChainInstantiate(of, info, cpu, cpuNode);
    info.lookup = null;
  });
}

/** cacheinfo_cpu_offline for one CPU (a DLPAR remove): it leaves its chain's objects; its run is split. */
export function cacheinfoCpuOffline(of: OfState, info: CacheInfo, cpu: number): void {
  of.k.fn('cacheinfo_cpu_offline', () => {
    const { runs, chainObjects } = info;
    for (let r = 0; r < runs.length; r += RUN_FIELDS) {
      const first = runs[r]!;
      const count = runs[r + 1]!;
      if (cpu < first || cpu >= first + count) continue;
      const chain = chainObjects.slice(runs[r + 2], runs[r + 3]);
      // The run loses the CPU: the CPUs after it become a run of their own on the same chain.
      const after = first + count - cpu - 1;
      runs[r + 1] = cpu - first;
      if (after > 0) runs.push(cpu + 1, after, runs[r + 2]!, runs[r + 3]!);
      if (runs[r + 1] === 0) runs.splice(r, RUN_FIELDS);
      cacheCpuOffline(of, info, chain);
      return;
    }
  });
}
