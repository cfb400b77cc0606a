// What the API shows of the model: plain JSON documents built from the live objects, without side
// effects (the simulator looks at memory; it does not dereference through the kernel).

import { printTainted } from '../kernel/kernel.ts';
import { formatLogLine, LOG_LEVELS, type LogLevel } from '../kernel/printk.ts';
import { type KernelOptions, type KernelProfile, switchesOf } from '../kernel/profiles.ts';
import { childrenOf } from '../of/base.ts';
import { type DeviceNode, flagNames, NODE_STATES, type NodeState, nodeState } from '../of/node.ts';
import { cacheSlotOf, cacheSlots, HASH128_BITS } from '../of/phandle-cache.ts';
import { decodeValue, toHex, u64Cells } from '../of/property.ts';
import type { Lpar } from './lpar.ts';

/** The full path of an attached node (null otherwise), read without side effects. */
export function attachedPath(lpar: Lpar, np: DeviceNode): string | null {
  if (nodeState(np) !== 'attached') return null;
  const parts: string[] = [];
  let cur: DeviceNode | null = np;
  while (cur && cur !== lpar.of.root) {
    if (nodeState(cur) !== 'attached') return null;
    parts.push(cur.fullName);
    cur = cur.parent;
  }
  return cur === lpar.of.root ? `/${parts.reverse().join('/')}` : null;
}

/** The path by parent pointers, as %pOF would print it, without reporting anything. */
export function lastKnownPath(np: DeviceNode): string {
  const parts: string[] = [];
  for (let cur: DeviceNode | null = np; cur?.parent; cur = cur.parent) parts.push(cur.fullName);
  return `/${parts.reverse().join('/')}`;
}

export function refcountValue(np: DeviceNode): number | 'saturated' {
  return np.kobj.ref.saturated ? 'saturated' : np.kobj.ref.count;
}

export function holdersOf(np: DeviceNode): Array<{ holder: string; count: number }> {
  return [...np.holders]
    .map(([holder, count]) => ({ holder, count }))
    .sort((a, b) => a.holder.localeCompare(b.holder));
}

export function nodeDocument(lpar: Lpar, np: DeviceNode) {
  const state = nodeState(np);
  return {
    address: np.address,
    name: np.name,
    type: np.type,
    fullName: np.fullName,
    path: attachedPath(lpar, np),
    lastKnownPath: lastKnownPath(np),
    phandle: np.phandle >>> 0,
    state,
    refcount: refcountValue(np),
    flags: flagNames(np.flags),
    holders: holdersOf(np),
    unbalancedPuts: [...np.unbalancedPuts].map(([holder, count]) => ({ holder, count })),
    sysfs: { inSysfs: np.kobj.inSysfs, name: np.kobj.sysfsName },
    parent: np.parent ? np.parent.address : null,
    freed: np.freed
      ? { comm: np.freed.comm, pid: np.freed.pid, trace: np.freed.trace, usec: np.freed.usec }
      : null,
    properties: np.properties.map((p) => {
      const decoded = decodeValue(p.value);
      const u64 = decoded.kind === 'u32' ? u64Cells(p.value) : null;
      const base = { name: p.name, length: p.value.length, hex: toHex(p.value), ...(u64 ? { u64 } : {}) };
      return 'value' in decoded
        ? { ...base, type: decoded.kind, value: decoded.value }
        : { ...base, type: decoded.kind };
    }),
    deadProperties: np.deadProperties.map((p) => ({
      name: p.name,
      length: p.value.length,
      hex: toHex(p.value),
    })),
    children: childrenOf(np).map((c) => ({ name: c.fullName, address: c.address, state: nodeState(c) })),
  };
}

export function nodeSummary(lpar: Lpar, np: DeviceNode) {
  return {
    address: np.address,
    fullName: np.fullName,
    path: attachedPath(lpar, np),
    lastKnownPath: lastKnownPath(np),
    phandle: np.phandle >>> 0,
    state: nodeState(np),
    refcount: refcountValue(np),
    flags: flagNames(np.flags),
    holders: holdersOf(np),
  };
}

/** Counts by state; costs the nodes that are not attached, not the tree. */
export function stateCounts(lpar: Lpar): Record<NodeState, number> {
  const counts = Object.fromEntries(NODE_STATES.map((s) => [s, 0])) as Record<NodeState, number>;
  for (const np of lpar.of.unattached) counts[nodeState(np)] += 1;
  counts.attached = lpar.of.nodes.size - lpar.of.unattached.size;
  return counts;
}

/** Stale cache entries, found from the unattached nodes (each can sit only in its phandle's slot). */
export function staleEntries(lpar: Lpar): Array<{ slot: number; node: DeviceNode }> {
  const out: Array<{ slot: number; node: DeviceNode }> = [];
  const cache = lpar.of.cache;
  for (const np of lpar.of.unattached) {
    if (!np.phandle) continue;
    const slot = cacheSlotOf(cache, np.phandle);
    if (slot !== null && cache.slots[slot] === np) out.push({ slot, node: np });
  }
  return out.sort((a, b) => a.slot - b.slot);
}

export function lparCounts(lpar: Lpar) {
  const { counters } = lpar.k;
  return {
    ...stateCounts(lpar),
    staleCacheEntries: staleEntries(lpar).length,
    useAfterFree: counters.useAfterFree,
    sysfsRenames: counters.sysfsRenames,
    warnings: counters.warnings,
    unbalancedPuts: counters.unbalancedPuts,
  };
}

export function lparDocument(lpar: Lpar) {
  const c = lpar.config;
  return {
    id: c.id,
    name: c.name,
    profile: c.profile,
    kernel: c.kernel.name,
    kernelProfile: kernelProfileDocument(c.kernel),
    system: lpar.system.name,
    phandleScheme: c.phandleScheme,
    seed: c.seed,
    options: { ...c.kernelOptions, ...(c.treeOptions ? treeOptionsDocument(c.treeOptions) : {}) },
    whatIf: whatIfNotes(c.kernel, c.kernelOptions),
    health: {
      taint: printTainted(lpar.k.taints, c.kernel.taintFlags),
      oopses: lpar.k.oopses,
      panicked: lpar.k.panicked,
    },
    createdAt: c.createdAt,
    counts: lparCounts(lpar),
    nodes: lpar.of.nodes.size,
  };
}

/** The kernel as run: its base profile, whether switches were overridden, and every switch's value. */
function kernelProfileDocument(kernel: KernelProfile) {
  return {
    base: kernel.name,
    release: kernel.release,
    custom: kernel.overrides !== null,
    overrides: kernel.overrides ?? {},
    switches: switchesOf(kernel),
  };
}

/** What in this LPAR's configuration no real kernel of its profile did (E2, switch overrides). */
function whatIfNotes(kernel: KernelProfile, options: KernelOptions): string[] {
  const notes: string[] = [];
  if (options.kasan)
    notes.push(
      'kasan: KASAN reports as a build with KASAN would print them; 64-bit powerpc had no KASAN in these releases (E2)',
    );
  if (kernel.overrides)
    notes.push(
      `switches: a custom kernel, ${kernel.name} with ${Object.entries(kernel.overrides)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(', ')}`,
    );
  if (options.pfoDevices === 'fixed')
    notes.push('pfoDevices: fixed, a vio bus that follows node removal, which no kernel had (K-DRV-4)');
  return notes;
}

function treeOptionsDocument(o: NonNullable<Lpar['config']['treeOptions']>) {
  return {
    cores: o.cores,
    threadsPerCore: o.threadsPerCore,
    memoryGiB: o.memoryGiB,
    extraVirtualAdapters: o.extraVirtualAdapters,
    pciAdapters: o.pciAdapters,
    platformFacilities: [...o.platformFacilities],
  };
}

/** Detached, released-but-held and orphaned nodes: what leaked, who holds it, and for how long. */
export function leaks(lpar: Lpar) {
  const items = [];
  for (const np of lpar.of.unattached) {
    const state = nodeState(np);
    const held = np.holders.size > 0;
    if (state === 'detached' || state === 'orphaned' || (state === 'released' && held)) {
      items.push({ ...nodeSummary(lpar, np), migrationsSurvived: np.migrationsSurvived });
    }
  }
  return items;
}

export function refcounts(lpar: Lpar, state?: NodeState) {
  const items = [];
  for (const np of lpar.of.nodes.values())
    if (!state || nodeState(np) === state) items.push(nodeSummary(lpar, np));
  return items;
}

export function phandleCacheDocument(lpar: Lpar) {
  const cache = lpar.of.cache;
  const size = cache.model === 'none' ? 0 : cache.slots.length;
  const slots = cacheSlots(cache).map(({ slot, node, stale }) => ({
    slot,
    phandle: node.phandle >>> 0,
    address: node.address,
    path: attachedPath(lpar, node),
    lastKnownPath: lastKnownPath(node),
    state: nodeState(node),
    stale,
  }));
  return {
    model: cache.model,
    size,
    mask: cache.model === 'pow2' || cache.model === 'pow2-refs' ? cache.mask : null,
    hashBits: cache.model === 'hash128' ? HASH128_BITS : null,
    holdsReferences: cache.model === 'pow2-refs',
    fillCollisions: cache.fillCollisions,
    counters: { ...cache.counters },
    staleEntries: slots.filter((s) => s.stale).length,
    slots,
  };
}

export function dmesgDocument(lpar: Lpar, since: number, level?: LogLevel) {
  const maxRank = level ? LOG_LEVELS.indexOf(level) : LOG_LEVELS.length - 1;
  const lines = lpar.k.log.since(since).filter((l) => LOG_LEVELS.indexOf(l.level) <= maxRank);
  return {
    items: lines.map((l) => ({
      seq: l.seq,
      usec: l.usec,
      level: l.level,
      text: l.text,
      line: formatLogLine(l),
    })),
    next: lpar.k.log.last,
  };
}

export function vioDocument(lpar: Lpar) {
  return [...lpar.vio.devices.values()].map((dev) => ({
    name: dev.name,
    driver: dev.driver?.name ?? null,
    holder: dev.holder,
    node: {
      address: dev.node.address,
      state: nodeState(dev.node),
      path: attachedPath(lpar, dev.node),
      lastKnownPath: lastKnownPath(dev.node),
      refcount: refcountValue(dev.node),
    },
  }));
}

export function driversDocument(lpar: Lpar) {
  return lpar.vio.drivers.map((d) => ({
    name: d.name,
    compatible: d.compatible,
    namePrefix: d.namePrefix,
    devices: [...lpar.vio.devices.values()].filter((dev) => dev.driver === d).map((dev) => dev.name),
    listensForUpdates:
      lpar.of.reconfigChain.some((l) => l.name === 'nx842_OF_notifier') && d.name === 'nx-compress-pseries',
  }));
}
