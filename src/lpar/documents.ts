// What the API shows of the model: plain JSON documents built from the live objects, without side
// effects (the simulator looks at memory; it does not dereference through the kernel).

import { printTainted } from '../kernel/kernel.ts';
import { formatLogLine, LOG_LEVELS, type LogLevel } from '../kernel/printk.ts';
import { type KernelOptions, type KernelProfile, switchesOf } from '../kernel/profiles.ts';
import { slabIndexOf } from '../kernel/slab.ts';
import { childrenOf } from '../of/base.ts';
import { type DeviceNode, flagNames, NODE_STATES, type NodeState, nodeState } from '../of/node.ts';
import { cacheSlotOf, cacheSlots, HASH128_BITS } from '../of/phandle-cache.ts';
import { decodeValue, toHex, u64Cells } from '../of/property.ts';
import { LparError } from './errors.ts';
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

/**
 * A phandle as every document writes it: lowercase 0x-hex, as users type it and as the kernel prints
 * it (`0x0` for a node without one). Requests accept numbers too (src/http/schemas/common.ts).
 */
export function phandleHex(phandle: number): string {
  return `0x${(phandle >>> 0).toString(16)}`;
}

export function refcountValue(np: DeviceNode): number | 'saturated' {
  return np.kobj.ref.saturated ? 'saturated' : np.kobj.ref.count;
}

export function holdersOf(np: DeviceNode): Array<{ holder: string; count: number }> {
  const out: Array<{ holder: string; count: number }> = [];
  for (const [holder, count] of np.holders) out.push({ holder, count });
  if (out.length > 1) out.sort((a, b) => a.holder.localeCompare(b.holder));
  return out;
}

/**
 * The puts by holders that held nothing on the node (K-REF-1). Every document that lists holders lists
 * these beside them: an unbalanced put takes away a reference some listed holder still counts, so
 * without them a node can show refcount 0 with a holder at 1 (docs/api.md, "refcount").
 */
export function unbalancedPutsOf(np: DeviceNode): Array<{ holder: string; count: number }> {
  const puts = np.unbalancedPuts;
  if (puts.size === 0) return [];
  const out: Array<{ holder: string; count: number }> = [];
  for (const [holder, count] of puts) out.push({ holder, count });
  return out;
}

/** One property as the node document shows it, its members in the schema's order (no spreads). */
function propertyDocument(name: string, value: Uint8Array) {
  const decoded = decodeValue(value);
  const length = value.length;
  const hex = toHex(value);
  if (decoded.kind !== 'u32')
    return 'value' in decoded
      ? { name, length, hex, type: decoded.kind, value: decoded.value }
      : { name, length, hex, type: decoded.kind };
  const u64 = u64Cells(value);
  return u64
    ? { name, length, hex, type: decoded.kind, value: decoded.value, u64 }
    : { name, length, hex, type: decoded.kind, value: decoded.value };
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
    phandle: phandleHex(np.phandle),
    state,
    refcount: refcountValue(np),
    flags: flagNames(np.flags),
    holders: holdersOf(np),
    unbalancedPuts: unbalancedPutsOf(np),
    sysfs: { inSysfs: np.kobj.inSysfs, name: np.kobj.sysfsName },
    parent: np.parent ? np.parent.address : null,
    freed: np.freed
      ? { comm: np.freed.comm, pid: np.freed.pid, trace: np.freed.trace, usec: np.freed.usec }
      : null,
    properties: np.properties.map((p) => propertyDocument(p.name, p.value)),
    deadProperties: np.deadProperties.map((p) => {
      const value = p.value;
      return { name: p.name, length: value.length, hex: toHex(value) };
    }),
    children: childrenOf(np).map((c) => ({ name: c.fullName, address: c.address, state: nodeState(c) })),
  };
}

// ---- The node document as JSON ---------------------------------------------------------------
// The node GET is what pollers ask for most. nodeDocument builds its document in the NodeDoc schema's
// shape (members in schema order, values of the schema's types), for which the schema serializer
// writes what JSON.stringify writes (src/http/schemas/nodes.ts nodeDocJson explains why); so the
// route has the native JSON.stringify write it, without nodeDocJson's shape checks. Measured in the
// service, building the objects and stringifying them costs less than concatenating the text by hand.

const isInt = Number.isInteger;

function holderCountsAreInts(list: ReadonlyArray<{ count: number }>): boolean {
  for (let i = 0; i < list.length; i++) if (!isInt(list[i]!.count)) return false;
  return true;
}

/**
 * JSON.stringify(nodeDocument(lpar, np)); null in the one case where that text is not the schema
 * serializer's (a count or time that is not an integer), for the caller to serialize it otherwise.
 */
export function nodeDocumentJson(lpar: Lpar, np: DeviceNode): string | null {
  const cached = lpar.documentCache.get(lpar.actions, np);
  if (cached !== undefined) return cached;
  const json = writeNodeDocumentJson(lpar, np);
  if (json !== null) lpar.documentCache.put(lpar.actions, np, json);
  return json;
}

function writeNodeDocumentJson(lpar: Lpar, np: DeviceNode): string | null {
  const doc = nodeDocument(lpar, np);
  const { refcount, freed } = doc;
  if (
    (refcount !== 'saturated' && !isInt(refcount)) ||
    !holderCountsAreInts(doc.holders) ||
    !holderCountsAreInts(doc.unbalancedPuts) ||
    (freed !== null && !(isInt(freed.pid) && isInt(freed.usec)))
  )
    return null;
  return JSON.stringify(doc);
}

export function nodeSummary(lpar: Lpar, np: DeviceNode) {
  return {
    address: np.address,
    fullName: np.fullName,
    path: attachedPath(lpar, np),
    lastKnownPath: lastKnownPath(np),
    phandle: phandleHex(np.phandle),
    state: nodeState(np),
    refcount: refcountValue(np),
    flags: flagNames(np.flags),
    holders: holdersOf(np),
    unbalancedPuts: unbalancedPutsOf(np),
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

/** An LPAR's counts (the `Counts` document): nodes by state, stale cache entries, the kernel's counters. */
export interface Counts {
  nodes: number;
  attached: number;
  detached: number;
  released: number;
  freed: number;
  orphaned: number;
  staleCacheEntries: number;
  useAfterFree: number;
  sysfsRenames: number;
  warnings: number;
  unbalancedPuts: number;
}

export function lparCounts(lpar: Lpar): Counts {
  const { counters } = lpar.k;
  return {
    nodes: lpar.of.nodes.size,
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
  const counts = lparCounts(lpar);
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
    counts,
    /** Deprecated alias of counts.nodes (docs/api.md). */
    nodes: counts.nodes,
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
      kernel.kasanRadixOnly
        ? 'kasan: KASAN reports as a build with KASAN would print them; this release builds KASAN for 64-bit powerpc on the radix MMU only, and a PowerVM LPAR runs the hash MMU, where such a build prints "KASAN not enabled as it requires radix!" and reports nothing (E2, note 51)'
        : 'kasan: KASAN reports as a build with KASAN would print them; 64-bit powerpc had no KASAN in this release (E2)',
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
    spareCores: o.spareCores ?? 0,
    spareMemoryGiB: o.spareMemoryGiB ?? 0,
  };
}

/** Detached, released-but-held and orphaned nodes: what leaked, who holds it, and for how long. */
export function leaks(lpar: Lpar) {
  const items = [];
  for (const np of lpar.of.unattached) if (isLeak(np)) items.push(leakedNode(lpar, np));
  return items;
}

/** A leaked node (the `LeakedNode` document): its summary and how many migrations it has survived. */
export function leakedNode(lpar: Lpar, np: DeviceNode) {
  return { ...nodeSummary(lpar, np), migrationsSurvived: np.migrationsSurvived };
}

export function refcounts(lpar: Lpar, state?: NodeState) {
  const items = [];
  for (const np of lpar.of.nodes.values())
    if (!state || nodeState(np) === state) items.push(nodeSummary(lpar, np));
  return items;
}

// ---- Pages -------------------------------------------------------------------------------------
// Whole-tree listings answer one page at a time and cost the page, not the tree (issue 10, point 5).
// A cursor is opaque to clients: base64url of a small JSON array whose first member says what kind of
// listing it resumes. Node listings (nodes?state=, /refcounts, /leaks) are in address order, which is
// allocation order, and their cursor is the address of the last node of the page; since nodes are
// never forgotten (addresses are not reused), such a cursor stays valid for the LPAR's lifetime, and
// resuming after a change returns every unchanged node exactly once.

/** A request for one page: resume after `cursor` (an encoded `next`), at most `limit` items. */
export interface PageRequest {
  readonly cursor?: string | undefined;
  readonly limit: number;
  /** Deprecated `offset`: matches to skip before the page (costs them). */
  readonly skip?: number | undefined;
}

export interface PageOf<T> {
  readonly items: T[];
  readonly next: string | null;
}

/** A cursor that does not resume anything here: 400, naming the query parameter. */
export function badCursor(message: string): LparError {
  return new LparError('bad-request', 'Bad cursor', `query parameter cursor: ${message}`, {
    errors: [{ where: 'querystring', path: '/cursor', message }],
  });
}

export function encodeCursor(value: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** The array a cursor encodes, of the given kind; 400 for anything this service did not hand out. */
export function decodeCursor(raw: string, kind: string): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw badCursor(`${JSON.stringify(raw)} is not a cursor this service handed out`);
  }
  if (!Array.isArray(value) || typeof value[0] !== 'string' || encodeCursor(value) !== raw)
    throw badCursor(`${JSON.stringify(raw)} is not a cursor this service handed out`);
  if (value[0] !== kind)
    throw badCursor(`${JSON.stringify(raw)} resumes another kind of listing (${JSON.stringify(value[0])})`);
  return value;
}

// Only device nodes are allocated from the slab, so the i-th node in allocation order is `of.nodes.at(i)`.

const NODE_CURSOR = 'node';

/** The address a node-listing cursor resumes after: a node of this LPAR. */
function nodeCursorAddress(lpar: Lpar, raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const [, address, extra] = decodeCursor(raw, NODE_CURSOR);
  if (typeof address !== 'string' || extra !== undefined || !lpar.of.nodes.has(address))
    throw badCursor(`${JSON.stringify(raw)} names no node of this LPAR`);
  return address;
}

/**
 * One page of nodes in address order after the cursor, optionally of one state.
 * - Without a state: straight to the cursor's allocation index, then `limit` lookups by address.
 * - `attached`: a scan forward from the cursor, which skips only nodes that are not attached, so it
 *   costs the page plus at most the not-attached nodes (the leaks), never the rest of the tree.
 * - any other state: only `of.unattached` (the nodes that are not attached) is looked at and the
 *   matches after the cursor are sorted by address: the cost of the leaks, not the tree.
 */
export function nodesPage(lpar: Lpar, state: NodeState | undefined, req: PageRequest): PageOf<DeviceNode> {
  const after = nodeCursorAddress(lpar, req.cursor);
  const skip = req.skip ?? 0;
  if (state !== undefined && state !== 'attached')
    return unattachedPage(lpar, after, req.limit, skip, (np) => nodeState(np) === state);
  const count = lpar.k.slab.count;
  const afterIndex = after === null ? -1 : slabIndexOf(after);
  if (after !== null && afterIndex < 0) throw new Error(`node address ${after} is not a slab address`);
  let i = afterIndex + 1;
  const nodes: DeviceNode[] = [];
  if (state === undefined) {
    i += skip;
    for (; i < count && nodes.length < req.limit; i++) {
      const np = lpar.of.nodes.at(i);
      if (np) nodes.push(np);
    }
    return { items: nodes, next: i < count ? pageNext(nodes) : null };
  }
  let skipped = 0;
  for (; i < count; i++) {
    const np = lpar.of.nodes.at(i);
    if (!np || nodeState(np) !== 'attached') continue;
    if (skipped < skip) skipped += 1;
    else if (nodes.length === req.limit) return { items: nodes, next: pageNext(nodes) };
    else nodes.push(np);
  }
  return { items: nodes, next: null };
}

function pageNext(nodes: readonly DeviceNode[]): string | null {
  const last = nodes.at(-1);
  return last ? encodeCursor([NODE_CURSOR, last.address]) : null;
}

/** Nodes of `of.unattached` that pass `keep`, after `after` in address order: costs that set only. */
function unattachedPage(
  lpar: Lpar,
  after: string | null,
  limit: number,
  skip: number,
  keep: (np: DeviceNode) => boolean,
): PageOf<DeviceNode> {
  const matches: DeviceNode[] = [];
  for (const np of lpar.of.unattached)
    if ((after === null || np.address > after) && keep(np)) matches.push(np);
  // Addresses are fixed-width hex, so string order is address order.
  matches.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const nodes = matches.slice(skip, skip + limit);
  return { items: nodes, next: matches.length > skip + limit ? pageNext(nodes) : null };
}

/** A page of `/refcounts` (or `nodes?state=`): node summaries in address order. */
export function refcountsPage(lpar: Lpar, state: NodeState | undefined, req: PageRequest) {
  const page = nodesPage(lpar, state, req);
  return { items: page.items.map((np) => nodeSummary(lpar, np)), next: page.next };
}

function isLeak(np: DeviceNode): boolean {
  const state = nodeState(np);
  return state === 'detached' || state === 'orphaned' || (state === 'released' && np.holders.size > 0);
}

/** A page of `/leaks` in address order, from the not-attached nodes only. */
export function leaksPage(lpar: Lpar, req: PageRequest) {
  const page = unattachedPage(lpar, nodeCursorAddress(lpar, req.cursor), req.limit, 0, isLeak);
  return {
    items: page.items.map((np) => leakedNode(lpar, np)),
    next: page.next,
  };
}

/** One occupied phandle-cache slot (the `CacheSlot` document); stale when its node is not attached. */
function cacheSlotDocument(lpar: Lpar, slot: number, node: DeviceNode, stale: boolean) {
  return {
    slot,
    phandle: phandleHex(node.phandle),
    address: node.address,
    path: attachedPath(lpar, node),
    lastKnownPath: lastKnownPath(node),
    state: nodeState(node),
    stale,
  };
}

/** The stale cache entries as cache slots, in slot order (a migration report's staleCacheSlots). */
export function staleCacheSlots(lpar: Lpar) {
  return staleEntries(lpar).map(({ slot, node }) => cacheSlotDocument(lpar, slot, node, true));
}

export function phandleCacheDocument(lpar: Lpar) {
  const cache = lpar.of.cache;
  const size = cache.model === 'none' ? 0 : cache.slots.length;
  const slots = cacheSlots(cache).map(({ slot, node, stale }) => cacheSlotDocument(lpar, slot, node, stale));
  const staleCacheEntries = slots.filter((s) => s.stale).length;
  const counters = { ...cache.counters };
  return {
    model: cache.model,
    size,
    mask: cache.model === 'pow2' || cache.model === 'pow2-refs' ? cache.mask : null,
    hashBits: cache.model === 'hash128' ? HASH128_BITS : null,
    holdsReferences: cache.model === 'pow2-refs',
    counts: { ...counters, fillCollisions: cache.fillCollisions, staleCacheEntries },
    slots,
    // Deprecated aliases, one release (docs/api.md): counts.fillCollisions, counts (the kernel's
    // counters) and counts.staleCacheEntries.
    fillCollisions: cache.fillCollisions,
    counters,
    staleEntries: staleCacheEntries,
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
