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

interface CacheObject {
  readonly node: DeviceNode;
  readonly type: CacheType;
  readonly level: number;
  /**
   * shared_cpu_map: the CPUs using the object, ascending. Replaced, never changed in place, so that the
   * objects of a core share one exactly sized array (sealCpus); a Set would cost more than the node.
   */
  cpus: readonly number[];
}

/** CPUs first … first+count-1, consecutive, with the same chain (the threads of a core share theirs). */
interface ChainRun {
  readonly first: number;
  count: number;
  readonly chain: readonly CacheObject[];
}

export interface CacheInfo {
  /** Every cache object alive, keyed by its node: one, or a split L1's two (no array for one). */
  readonly byNode: Map<DeviceNode, CacheObject | readonly CacheObject[]>;
  /** Each online CPU's chain, L1 first (the kernel's cache_dir per CPU), in CPU order, by runs. */
  readonly chains: ChainRun[];
}

export function cacheInfoNew(): CacheInfo {
  return { byNode: new Map(), chains: [] };
}

/** An object's shared_cpu_map when no CPU uses it. */
const NO_CPUS: readonly number[] = Object.freeze([]);

/** new_cache → cache_init: the object takes its reference on the node. */
function newCache(of: OfState, info: CacheInfo, node: DeviceNode, type: CacheType, level: number): void {
  of.k.fn('new_cache', () => {
    ofNodeGet(of, node, CACHEINFO_HOLDER);
    const o: CacheObject = { node, type, level, cpus: [] };
    const had = objectsOf(info, node);
    info.byNode.set(node, had ? [...had, o] : o);
  });
}

/** The objects of `node`, if it has any. */
function objectsOf(info: CacheInfo, node: DeviceNode): readonly CacheObject[] | undefined {
  const v = info.byNode.get(node);
  return v === undefined || Array.isArray(v) ? (v as readonly CacheObject[] | undefined) : [v as CacheObject];
}

/** release_cache's unlinking: the node keeps its other object, if any. */
function forgetObject(info: CacheInfo, o: CacheObject): void {
  const rest = objectsOf(info, o.node)!.filter((x) => x !== o);
  if (rest.length === 0) info.byNode.delete(o.node);
  else info.byNode.set(o.node, rest.length === 1 ? rest[0]! : rest);
}

/** cache_lookup_or_instantiate: the objects of `node`, made on first sight (unified or split by `cache-unified`). */
function lookupOrInstantiate(
  of: OfState,
  info: CacheInfo,
  node: DeviceNode,
  level: number,
): readonly CacheObject[] {
  let objects = objectsOf(info, node);
  if (!objects) {
    of.k.access(node, 'cache_do_one_devnode', 8);
    if (ofFindProperty(node, 'cache-unified')) newCache(of, info, node, 'Unified', level);
    else {
      newCache(of, info, node, 'Data', level);
      newCache(of, info, node, 'Instruction', level);
    }
    objects = objectsOf(info, node)!;
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

/** `cpu` joins the objects' shared_cpu_map (a growing array while cacheinfo_init runs, see sealCpus). */
function addCpu(objects: readonly CacheObject[], cpu: number, chain: CacheObject[]): void {
  for (const o of objects) {
    if (!o.cpus.includes(cpu)) {
      if (Object.isFrozen(o.cpus)) o.cpus = [...o.cpus, cpu];
      else (o.cpus as number[]).push(cpu);
    }
  }
  chain.push(...objects);
}

/** The CPU's chain goes on the last run when it continues it with the same objects, else a new run. */
function recordChain(info: CacheInfo, cpu: number, chain: readonly CacheObject[]): void {
  const last = info.chains.at(-1);
  const same =
    last !== undefined &&
    last.first + last.count === cpu &&
    last.chain.length === chain.length &&
    last.chain.every((o, i) => o === chain[i]);
  if (same) last.count += 1;
  else info.chains.push({ first: cpu, count: 1, chain: Object.freeze(chain.slice()) }); // exactly sized
}

/** cache_chain_instantiate for one logical CPU: its L1 on the cpu node, then each next level. */
function cacheChainInstantiate(of: OfState, info: CacheInfo, cpu: number, cpuNode: DeviceNode): void {
  of.k.fn('cache_chain_instantiate', () => {
    ofNodeGet(of, cpuNode, WALK_HOLDER); // of_get_cpu_node
    const chain: CacheObject[] = [];
    addCpu(lookupOrInstantiate(of, info, cpuNode, 1), cpu, chain);
    let node: DeviceNode = cpuNode;
    let level = 1;
    // do_subsidiary_caches: at most a few levels exist; the bound only guards against a loop.
    for (let guard = 0; guard < 8; guard++) {
      const next = ofFindNextCacheNode(of, node);
      if (!next) break;
      level += 1;
      const objects = lookupOrInstantiate(of, info, next, level);
      ofNodePut(of, next, WALK_HOLDER);
      addCpu(objects, cpu, chain);
      node = next;
    }
    recordChain(info, cpu, chain);
    ofNodePut(of, cpuNode, WALK_HOLDER);
  });
}

/**
 * After cacheinfo_init: every shared_cpu_map becomes an exactly sized frozen array, one per distinct
 * set of CPUs (the objects of a core have the same). Bounded by the objects, a few per core.
 */
function sealCpus(info: CacheInfo): void {
  const shared = new Map<string, readonly number[]>();
  for (const v of info.byNode.values()) {
    for (const o of Array.isArray(v) ? (v as readonly CacheObject[]) : [v as CacheObject]) {
      if (Object.isFrozen(o.cpus)) continue;
      const key = o.cpus.join(',');
      let cpus = shared.get(key);
      if (!cpus) {
        cpus = Object.freeze(o.cpus.slice());
        shared.set(key, cpus);
      }
      o.cpus = cpus;
    }
  }
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
  sealCpus(info);
}

/**
 * cacheinfo_teardown: cacheinfo_cpu_offline for every CPU; an object no CPU uses any more is
 * released (release_cache), dropping its node reference.
 */
export function cacheinfoTeardown(of: OfState, info: CacheInfo): void {
  of.k.fn('cacheinfo_teardown', () => {
    for (const run of info.chains)
      for (let cpu = run.first; cpu < run.first + run.count; cpu++) cacheCpuOffline(of, info, run.chain, cpu);
    info.chains.length = 0;
  });
}

/** One CPU leaves the objects of its chain; the last one out releases an object. */
function cacheCpuOffline(of: OfState, info: CacheInfo, chain: readonly CacheObject[], cpu: number): void {
  for (const o of chain) {
    if (!o.cpus.includes(cpu)) continue;
    o.cpus = o.cpus.length === 1 ? NO_CPUS : o.cpus.filter((c) => c !== cpu);
    if (o.cpus.length > 0) continue;
    of.k.fn('release_cache', () => ofNodePut(of, o.node, CACHEINFO_HOLDER));
    forgetObject(info, o);
  }
}

export function cacheinfoRebuild(of: OfState, info: CacheInfo): void {
  of.k.fn('cacheinfo_rebuild', () => cacheinfoInit(of, info));
}
