// The hypervisor side of a migration, as data: what PowerVM's RTAS answers the partition after it
// resumes on a destination (spec/pseries-tree.md, "What a destination system hands back"). The kernel
// side (mobility.ts) sees only the bytes of the RTAS work areas, exactly as Linux does.

import { completeSteps, type FdtNode } from '../of/fdt.ts';
import type { BootImage } from '../of/image.ts';
import type { DeviceNode } from '../of/node.ts';
import { enc, type Property, readU32 } from '../of/property.ts';
import { CPU_DRC_BASE, coreNodes } from './cpu-node.ts';
import { type IoConnectors, recordIoConnectors } from './io-connectors.ts';
import {
  ALLOC_UNUSABLE,
  ALLOC_USABLE,
  ALLOCATION_STATE,
  DR_ENTITY_PRESENT,
  DR_ENTITY_SENSE,
  DR_ENTITY_UNUSABLE,
  type HotplugRtas,
  ISOLATE,
  ISOLATION_STATE,
  UNISOLATE,
} from './rtas.ts';
import type { ManagedSystem } from './systems.ts';
import {
  associativityLookupArrays,
  dynamicMemory,
  LMB_SIZE,
  lmbDrcIndex,
  PLATFORM_FACILITIES_DRC,
  type PlatformFacility,
  platformFacilitiesNode,
  systemId,
  type TreeOptions,
  type TreeProfile,
} from './tree.ts';

/** RTAS_DATA_BUF_SIZE: the work area every call fills. */
export const RTAS_DATA_BUF_SIZE = 4096;
export const RTAS_BUSY = -2;
export const RTAS_CALL_AGAIN = 1;

export const NODE_ACTION_MASK = 0xff000000;
export const NODE_COUNT_MASK = 0x00ffffff;
export const ACTION_DELETE = 0x01000000;
export const ACTION_UPDATE = 0x02000000;
export const ACTION_ADD = 0x03000000;
/** ibm,update-nodes: the kernel starts reading after this many header words. */
export const UPDATE_NODES_HEADER_WORDS = 4;
/** ibm,update-properties: phandle, state, reserved (u64), nprops. */
export const UPDATE_PROPS_HEADER_BYTES = 20;
export const PROP_REMOVE = 0x80000000;

// ibm,configure-connector return codes (dlpar.c)
export const CC_COMPLETE = 0;
export const CC_NEXT_SIBLING = 1;
export const CC_NEXT_CHILD = 2;
export const CC_NEXT_PROPERTY = 3;
export const CC_PREV_PARENT = 4;
export const CC_ERR_CFG_USE = -9003;

export type UpdateAction = 'delete' | 'update' | 'add';

/** One entry of firmware's work list; `drc` for add (the connector), `properties` for update. */
export interface FirmwareUpdate {
  readonly action: UpdateAction;
  readonly phandle: number;
  readonly drc?: number;
  /** For update: values as the destination has them; a null value removes the property. */
  readonly properties?: ReadonlyArray<{ readonly name: string; readonly value: Uint8Array | null }>;
}

export interface FirmwareFault {
  readonly call:
    | 'ibm,activate-firmware'
    | 'ibm,update-nodes'
    | 'ibm,update-properties'
    | 'ibm,configure-connector';
  /** The 1-based call of that function that fails. */
  readonly onCall: number;
  readonly status: number;
}

/** A node of the boot tree as firmware tracks it: its path, and its phandle (0: the tree gave it none). */
export interface RecordedNode {
  readonly path: string;
  readonly phandle: number;
}

/** What firmware knows of a partition: recorded from its boot tree, not read from the kernel. */
export interface PartitionRecord {
  readonly root: RecordedNode;
  readonly platformFacilities:
    | (RecordedNode & { readonly children: ReadonlyArray<RecordedNode & { readonly name: string }> })
    | null;
  readonly facilities: readonly PlatformFacility[];
  readonly drconf: RecordedNode | null;
  readonly memoryGiB: number;
  readonly cpus: RecordedNode | null;
  /** l2/l3 cache nodes under /cpus, in tree order, with the subtree firmware re-adds. */
  readonly cacheNodes: RecordedCaches;
  /** The I/O connectors of the boot tree (io-connectors.ts): what configure-connector hands back for them. */
  readonly ioConnectors: IoConnectors;
}

/** One recorded cache node: where it was, its phandle, the connector firmware re-adds it through. */
export interface RecordedCache extends RecordedNode {
  readonly drc: number;
}

/**
 * The cache nodes of the boot tree as firmware keeps them: for each, its phandle and where the boot
 * image holds the node (name and properties). The image is immutable and kept by the LPAR anyway
 * (image.ts), so firmware's copy of a node's boot content costs two numbers, not a second copy of its
 * properties; it is decoded only when a configure-connector asks for it. A connector is found from
 * its DRC index in O(1).
 */
export class RecordedCaches {
  private readonly image: BootImage;
  private readonly imageNodes: number[] = [];
  private readonly phandles: number[] = [];
  /** The rare cache node with children (an uploaded tree's), kept whole. */
  private readonly subtrees = new Map<number, FdtNode>();

  constructor(image: BootImage) {
    this.image = image;
  }

  get length(): number {
    return this.imageNodes.length;
  }

  /** A cache node of the boot tree, `imageNode` its place in the boot image. */
  add(node: FdtNode, imageNode: number, phandle: number): void {
    if (node.children.length > 0) this.subtrees.set(this.imageNodes.length, node);
    this.imageNodes.push(imageNode);
    this.phandles.push(phandle);
  }

  at(i: number): RecordedCache {
    const name = this.image.fullNames[this.imageNodes[i]!]!;
    return { path: `/cpus/${name}`, phandle: this.phandles[i]!, drc: CACHE_DRC_BASE + i };
  }

  *[Symbol.iterator](): Generator<RecordedCache, void, undefined> {
    for (let i = 0; i < this.imageNodes.length; i++) yield this.at(i);
  }

  /** The boot content of the cache node behind connector `drc` (a copy), or null. */
  nodeForDrc(drc: number): FdtNode | null {
    const i = drc - CACHE_DRC_BASE;
    if (!Number.isInteger(i) || i < 0 || i >= this.imageNodes.length) return null;
    const whole = this.subtrees.get(i);
    if (whole) return whole;
    const image = this.image;
    const n = this.imageNodes[i]!;
    const props: Property[] = [];
    const first = image.first(n);
    for (let k = first; k < first + image.count(n); k++)
      props.push({ name: image.name(k), value: image.value(k).slice() });
    return { name: image.fullNames[n]!, props, children: [] };
  }
}

function phandleOf(n: FdtNode): number {
  const p =
    n.props.find((x) => x.name === 'ibm,phandle') ??
    n.props.find((x) => x.name === 'phandle') ??
    n.props.find((x) => x.name === 'linux,phandle');
  return p ? (readU32(p.value) ?? 0) : 0;
}

const CACHE_DRC_BASE = 0x6000_0000;

const FACILITY_OF: Readonly<Record<string, PlatformFacility>> = {
  'ibm,random-v1': 'random',
  'ibm,compression-v1': 'compression',
  'ibm,sym-encryption-v1': 'sym-encryption',
};

/** `l2-cache…` / `l3-cache…`, alone or with a unit address (the cache nodes firmware re-adds). */
function isCacheName(name: string): boolean {
  return (
    name.length >= 8 &&
    name.charCodeAt(0) === 0x6c && // l
    (name.charCodeAt(1) === 0x32 || name.charCodeAt(1) === 0x33) && // 2 or 3
    name.startsWith('-cache', 2) &&
    (name.length === 8 || name.charCodeAt(8) === 0x40) // end or @
  );
}

/** Cache nodes recorded between the steps of recordPartitionSteps. */
const RECORD_NODES_PER_STEP = 1024;

/**
 * Records what firmware tracks of a partition from the tree it booted, in steps (the cpus node of a
 * big tree has hundreds of thousands of cache siblings). Run right after unflatten: `cpusImageNodes`
 * gives where the boot image holds each child of /cpus, in the boot tree's order.
 */
export function* recordPartitionSteps(
  boot: FdtNode,
  memoryGiB: number,
  image: BootImage,
  cpusImageNodes: Iterator<number>,
): Generator<void, PartitionRecord, undefined> {
  const child = (n: FdtNode | undefined, name: string) => n?.children.find((c) => c.name === name);
  const recorded = (n: FdtNode, path: string): RecordedNode => ({ path, phandle: phandleOf(n) });
  const pf = child(boot, 'ibm,platform-facilities');
  const cpus = child(boot, 'cpus');
  const drconf = child(boot, 'ibm,dynamic-reconfiguration-memory');
  const cacheNodes = new RecordedCaches(image);
  const siblings = cpus?.children ?? [];
  for (let i = 0; i < siblings.length; i++) {
    const node = siblings[i]!;
    const at = cpusImageNodes.next();
    if (at.done || image.fullNames[at.value] !== node.name)
      throw new Error(`recordPartition: the boot image does not hold /cpus/${node.name} as child ${i}`);
    if (isCacheName(node.name)) cacheNodes.add(node, at.value, phandleOf(node));
    if (i % RECORD_NODES_PER_STEP === RECORD_NODES_PER_STEP - 1) yield;
  }
  return {
    root: recorded(boot, '/'),
    platformFacilities: pf
      ? {
          ...recorded(pf, `/${pf.name}`),
          children: pf.children.map((c) => ({ name: c.name, ...recorded(c, `/${pf.name}/${c.name}`) })),
        }
      : null,
    facilities: (pf?.children ?? [])
      .map((c) => FACILITY_OF[c.name])
      .filter((f): f is PlatformFacility => f !== undefined),
    drconf: drconf ? recorded(drconf, `/${drconf.name}`) : null,
    memoryGiB,
    cpus: cpus ? recorded(cpus, '/cpus') : null,
    cacheNodes,
    ioConnectors: recordIoConnectors(boot),
  };
}

/** Where the boot image holds each child of /cpus of a freshly unflattened tree, in tree order. */
export function* cpusImageNodes(root: DeviceNode | null): Generator<number, void, undefined> {
  let cpus = root?.child ?? null;
  while (cpus && cpus.fullName !== 'cpus') cpus = cpus.sibling;
  for (let np = cpus?.child ?? null; np; np = np.sibling) yield np.properties.imageNode;
}

/** Records what firmware tracks of a partition from the tree it booted (see recordPartitionSteps). */
export function recordPartition(
  boot: FdtNode,
  memoryGiB: number,
  image: BootImage,
  cpusImageNodes: Iterator<number>,
): PartitionRecord {
  return completeSteps(recordPartitionSteps(boot, memoryGiB, image, cpusImageNodes));
}

/** One entry of a destination's work list, with the node its phandle names (for add: the parent) and why. */
export interface PlannedUpdate {
  readonly update: FirmwareUpdate;
  readonly target: RecordedNode;
  readonly why: string;
}

/** The work list a destination sends after a migration (spec/pseries-tree.md), entry by entry. */
export function planDestinationUpdates(
  record: PartitionRecord,
  destination: ManagedSystem,
  drcs?: PartitionDrcs,
): PlannedUpdate[] {
  const plan: PlannedUpdate[] = [];
  const entry = (target: RecordedNode, why: string, rest: Omit<FirmwareUpdate, 'phandle'>) =>
    plan.push({ update: { ...rest, phandle: target.phandle }, target, why });
  const pf = record.platformFacilities;
  const readdCaches = destination.readdCacheNodes && record.cacheNodes.length > 0;
  if (pf) {
    for (const c of pf.children) entry(c, 'deleted', { action: 'delete' });
    entry(pf, 'deleted', { action: 'delete' });
  }
  if (readdCaches) for (const c of record.cacheNodes) entry(c, 'deleted', { action: 'delete' });
  entry(record.root, 'updated (system-id)', {
    action: 'update',
    properties: [{ name: 'system-id', value: systemId(destination.serial) }],
  });
  if (record.drconf)
    entry(record.drconf, 'updated (ibm,dynamic-memory, ibm,associativity-lookup-arrays)', {
      action: 'update',
      properties: [
        {
          name: 'ibm,dynamic-memory',
          // With DLPAR connectors, the LMBs the partition owns now, not the ones it booted with.
          value: drcs
            ? dynamicMemory(destination, drcs.memoryGiB, drcs.spareMemoryGiB, (i) => drcs.lmbAssigned(i))
            : dynamicMemory(destination, record.memoryGiB),
        },
        { name: 'ibm,associativity-lookup-arrays', value: associativityLookupArrays(destination) },
      ],
    });
  if (pf)
    entry(record.root, `parent of the re-added ${pf.path}`, {
      action: 'add',
      drc: PLATFORM_FACILITIES_DRC,
    });
  if (readdCaches && record.cpus)
    for (const c of record.cacheNodes)
      entry(record.cpus, `parent of the re-added ${c.path}`, { action: 'add', drc: c.drc });
  return plan;
}

/** A node the work list must name that the boot tree gave no phandle, with what firmware does with it. */
export interface UnnamedNode {
  readonly path: string;
  readonly uses: readonly string[];
}

/**
 * The nodes of a plan firmware cannot name: a work-list entry carries only a phandle, and phandle 0 names
 * no node (of_find_node_by_phandle finds nothing), so firmware would delete or update nothing there.
 */
export function unnamedNodes(plan: readonly PlannedUpdate[]): UnnamedNode[] {
  const byPath = new Map<string, string[]>();
  for (const p of plan) {
    if (p.target.phandle !== 0) continue;
    const uses = byPath.get(p.target.path) ?? [];
    if (!uses.includes(p.why)) uses.push(p.why);
    byPath.set(p.target.path, uses);
  }
  return [...byPath].map(([path, uses]) => ({ path, uses }));
}

/** Encodes a work list into ibm,update-nodes work areas of RTAS_DATA_BUF_SIZE (the last one ends the list). */
export function encodeUpdateNodes(
  updates: readonly FirmwareUpdate[],
  bufSize = RTAS_DATA_BUF_SIZE,
): Uint8Array[] {
  const actionWord = { delete: ACTION_DELETE, update: ACTION_UPDATE, add: ACTION_ADD };
  // Consecutive entries of one action form a group.
  const groups: Array<{ action: UpdateAction; items: FirmwareUpdate[] }> = [];
  for (const u of updates) {
    const last = groups[groups.length - 1];
    if (last && last.action === u.action) last.items.push(u);
    else groups.push({ action: u.action, items: [u] });
  }
  const areas: Uint8Array[] = [];
  const capacity = bufSize / 4 - UPDATE_NODES_HEADER_WORDS - 1; // leave room for the terminating word
  let words: number[] = [];
  const flush = () => {
    const area = new Uint8Array(bufSize);
    const view = new DataView(area.buffer);
    words.forEach((w, i) => {
      view.setUint32((UPDATE_NODES_HEADER_WORDS + i) * 4, w >>> 0);
    });
    areas.push(area);
    words = [];
  };
  for (const g of groups) {
    const per = g.action === 'add' ? 2 : 1;
    let i = 0;
    while (i < g.items.length) {
      const room = Math.floor((capacity - words.length - 1) / per);
      if (room <= 0) {
        flush();
        continue;
      }
      const take = g.items.slice(i, i + room);
      words.push(actionWord[g.action] | take.length);
      for (const u of take) {
        words.push(u.phandle);
        if (per === 2) words.push(u.drc ?? 0);
      }
      i += take.length;
    }
  }
  flush();
  return areas;
}

/** One call's worth of update-properties answers for a node, split into work areas. */
export function encodeUpdateProperties(
  phandle: number,
  nodePath: string,
  props: FirmwareUpdate['properties'],
  bufSize = RTAS_DATA_BUF_SIZE,
): Uint8Array[] {
  const te = new TextEncoder();
  const areas: Uint8Array[] = [];
  let area = new Uint8Array(bufSize);
  let off = UPDATE_PROPS_HEADER_BYTES;
  let nprops = 0;
  const finish = () => {
    const view = new DataView(area.buffer);
    view.setUint32(0, phandle >>> 0);
    view.setUint32(16, nprops);
    areas.push(area);
    area = new Uint8Array(bufSize);
    off = UPDATE_PROPS_HEADER_BYTES;
    nprops = 0;
  };
  const u32 = (v: number) => {
    new DataView(area.buffer).setUint32(off, v >>> 0);
    off += 4;
  };
  // First descriptor of the first call: an empty name, then the node's path as the value.
  const path = te.encode(nodePath);
  area[off++] = 0;
  u32(path.length);
  area.set(path, off);
  off += path.length;
  nprops += 1;
  for (const p of props ?? []) {
    const name = te.encode(`${p.name}\0`);
    if (p.value === null) {
      if (off + name.length + 4 > bufSize) finish();
      area.set(name, off);
      off += name.length;
      u32(PROP_REMOVE);
      nprops += 1;
      continue;
    }
    let rest = p.value;
    for (;;) {
      if (off + name.length + 4 + 1 > bufSize) finish();
      area.set(name, off);
      off += name.length;
      const room = bufSize - off - 4;
      nprops += 1;
      if (rest.length <= room) {
        u32(rest.length);
        area.set(rest, off);
        off += rest.length;
        break;
      }
      // A partial value: its length as a negative number; the rest comes on the next call.
      u32(-room >>> 0);
      area.set(rest.subarray(0, room), off);
      off += room;
      rest = rest.subarray(room);
      finish();
    }
  }
  finish();
  return areas;
}

/** The ibm,configure-connector answers for a subtree: one step a call, as dlpar_configure_connector reads them. */
export type CcStep =
  | { readonly rc: typeof CC_NEXT_CHILD | typeof CC_NEXT_SIBLING; readonly name: string }
  | { readonly rc: typeof CC_NEXT_PROPERTY; readonly prop: Property }
  | { readonly rc: typeof CC_PREV_PARENT | typeof CC_COMPLETE }
  | { readonly rc: number };

export function configureConnectorSteps(top: FdtNode): CcStep[] {
  // Pre-order with an explicit stack: a node opens with NEXT_CHILD when it is its parent's first child
  // (the top too), NEXT_SIBLING otherwise, then its properties; a node with children ends with
  // PREV_PARENT after the last of them.
  const steps: CcStep[] = [];
  const stack: Array<{ node: FdtNode; next: number }> = [];
  const open = (n: FdtNode, first: boolean) => {
    steps.push({ rc: first ? CC_NEXT_CHILD : CC_NEXT_SIBLING, name: n.name });
    for (const p of n.props) steps.push({ rc: CC_NEXT_PROPERTY, prop: p });
    stack.push({ node: n, next: 0 });
  };
  open(top, true);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next < top.node.children.length) {
      const i = top.next++;
      open(top.node.children[i]!, i === 0);
      continue;
    }
    stack.pop();
    if (top.node.children.length > 0) steps.push({ rc: CC_PREV_PARENT });
  }
  steps.push({ rc: CC_COMPLETE });
  return steps;
}

/** The RTAS calls mobility makes, answered for one migration to `destination`. */
export class MigrationFirmware {
  private readonly updates: readonly FirmwareUpdate[];
  private readonly destination: ManagedSystem;
  private readonly record: PartitionRecord;
  private readonly faults: readonly FirmwareFault[];
  private readonly calls = new Map<string, number>();
  private updateNodeAreas: Uint8Array[] | null = null;
  private readonly propertyAreas = new Map<number, Uint8Array[]>();
  private readonly ccSteps = new Map<number, CcStep[]>();
  /** Every call made, for the migration report. */
  readonly log: Array<{ call: string; status: number; arg?: number }> = [];

  constructor(
    destination: ManagedSystem,
    record: PartitionRecord,
    updates: readonly FirmwareUpdate[],
    faults: readonly FirmwareFault[],
  ) {
    this.destination = destination;
    this.record = record;
    this.updates = updates;
    this.faults = faults;
  }

  private fault(call: FirmwareFault['call']): number | null {
    const n = (this.calls.get(call) ?? 0) + 1;
    this.calls.set(call, n);
    return this.faults.find((f) => f.call === call && f.onCall === n)?.status ?? null;
  }

  private done(call: string, status: number, arg?: number): number {
    this.log.push(arg === undefined ? { call, status } : { call, status, arg });
    return status;
  }

  /** ibm,activate-firmware: 0, or the injected status (-2 busy makes the kernel retry). */
  activateFirmware(): number {
    return this.done('ibm,activate-firmware', this.fault('ibm,activate-firmware') ?? 0);
  }

  /** ibm,update-nodes: fills `buf`; 1 while more follows, 0 at the end, negative on error. */
  updateNodes(buf: Uint8Array): number {
    const f = this.fault('ibm,update-nodes');
    if (f !== null) return this.done('ibm,update-nodes', f);
    this.updateNodeAreas ??= encodeUpdateNodes(this.updates, buf.length);
    const area = this.updateNodeAreas.shift() ?? new Uint8Array(buf.length);
    buf.set(area);
    return this.done('ibm,update-nodes', this.updateNodeAreas.length > 0 ? RTAS_CALL_AGAIN : 0);
  }

  /** ibm,update-properties for the phandle in the first word of `buf`. */
  updateProperties(buf: Uint8Array, nodePath: string): number {
    const phandle = new DataView(buf.buffer, buf.byteOffset).getUint32(0);
    const f = this.fault('ibm,update-properties');
    if (f !== null) return this.done('ibm,update-properties', f, phandle);
    let areas = this.propertyAreas.get(phandle);
    if (!areas) {
      const props =
        this.updates.find((u) => u.action === 'update' && u.phandle === phandle)?.properties ?? [];
      areas = encodeUpdateProperties(phandle, nodePath, props, buf.length);
      this.propertyAreas.set(phandle, areas);
    }
    buf.set(areas.shift() ?? new Uint8Array(buf.length));
    return this.done('ibm,update-properties', areas.length > 0 ? RTAS_CALL_AGAIN : 0, phandle);
  }

  /** ibm,configure-connector: the next step of the subtree behind `drc`. */
  configureConnector(drc: number): CcStep {
    const f = this.fault('ibm,configure-connector');
    if (f !== null) {
      this.done('ibm,configure-connector', f, drc);
      return { rc: f };
    }
    let steps = this.ccSteps.get(drc);
    if (!steps) {
      const subtree = this.subtreeFor(drc);
      steps = subtree ? configureConnectorSteps(subtree) : [{ rc: CC_ERR_CFG_USE }];
      this.ccSteps.set(drc, steps);
    }
    const step = steps.shift() ?? { rc: CC_ERR_CFG_USE };
    this.done('ibm,configure-connector', step.rc, drc);
    return step;
  }

  private subtreeFor(drc: number): FdtNode | null {
    const pf = this.record.platformFacilities;
    if (drc === PLATFORM_FACILITIES_DRC && pf) {
      // Same names and same phandles as before; values as the destination has them.
      const fresh = platformFacilitiesNode(this.destination, this.record.facilities);
      const phandles = new Map([
        [fresh.name, pf.phandle],
        ...pf.children.map((c) => [c.name, c.phandle] as const),
      ]);
      const renumber = (n: FdtNode): FdtNode => ({
        name: n.name,
        props: n.props.map((p) =>
          p.name === 'ibm,phandle' || p.name === 'phandle'
            ? { name: p.name, value: enc.u32(phandles.get(n.name) ?? 0) }
            : p,
        ),
        children: n.children.map(renumber),
      });
      return renumber(fresh);
    }
    return this.record.cacheNodes.nodeForDrc(drc);
  }
}

/**
 * Nodes a destination's work list makes the kernel allocate: the subtrees its add entries hand back
 * through configure-connector (the platform facilities with their children, each cache node alone).
 * What the memory budget charges a migration before it runs; deletes free nothing the budget counts
 * until the kernel releases them, so they are not subtracted.
 */
export function nodesAddedBy(record: PartitionRecord, updates: readonly FirmwareUpdate[]): number {
  let n = 0;
  for (const u of updates) {
    if (u.action !== 'add') continue;
    n += u.drc === PLATFORM_FACILITIES_DRC ? 1 + record.facilities.length : 1;
  }
  return n;
}

// ---- DLPAR: the partition's connectors as the hypervisor keeps them ----

/** One connector firmware may hand to or take back from the partition: a core, an LMB or an I/O slot. */
interface DrcEntry {
  readonly kind: 'cpu' | 'lmb' | 'io';
  /** The core number, the LMB number, or the I/O connector's DRC index. */
  readonly unit: number;
  allocation: number;
  isolation: number;
}

/**
 * The cpu and memory connectors of one partition, from its maximums (the tree's `spareCores` and
 * `spareMemoryGiB`), with each one's allocation and isolation state. It belongs to the partition, not
 * to a migration: an add after a migration finds what the migration left. The kernel reads only the
 * sensor and configure-connector answers.
 */
export class PartitionDrcs {
  readonly profile: TreeProfile;
  readonly threadsPerCore: number;
  private readonly seed: number;
  private readonly entries = new Map<number, DrcEntry>();
  /** LMBs in DRC order (LMB i has DRC lmbDrcIndex(i)). */
  readonly lmbs: number;
  readonly memoryGiB: number;
  readonly spareMemoryGiB: number;
  private readonly io: IoConnectors | null;

  /**
   * `io`: the I/O connectors firmware recorded from the boot tree (the partition owns each one, as
   * it booted with its adapter); absent, the partition has none.
   */
  constructor(profile: TreeProfile, o: TreeOptions, io?: IoConnectors) {
    this.profile = profile;
    this.threadsPerCore = o.threadsPerCore;
    this.seed = o.seed;
    this.memoryGiB = o.memoryGiB;
    this.spareMemoryGiB = o.spareMemoryGiB ?? 0;
    const owned = (yes: boolean) => ({
      allocation: yes ? ALLOC_USABLE : ALLOC_UNUSABLE,
      isolation: yes ? UNISOLATE : ISOLATE,
    });
    for (let c = 0; c < o.cores + (o.spareCores ?? 0); c++)
      this.entries.set(CPU_DRC_BASE + c, { kind: 'cpu', unit: c, ...owned(c < o.cores) });
    const assigned = o.memoryGiB > 0 ? Math.max(1, Math.floor((o.memoryGiB * 1024) / 256)) : 0;
    this.lmbs = assigned + Math.max(0, Math.floor((this.spareMemoryGiB * 1024) / 256));
    for (let i = 0; i < this.lmbs; i++)
      this.entries.set(lmbDrcIndex(i), { kind: 'lmb', unit: i, ...owned(i < assigned) });
    this.io = io ?? null;
    for (const drc of io?.drcs() ?? [])
      if (!this.entries.has(drc)) this.entries.set(drc, { kind: 'io', unit: drc, ...owned(true) });
  }

  /** dr-entity-sense: present while the partition owns the connector, unusable otherwise. */
  sense(drc: number): number | null {
    const e = this.entries.get(drc);
    if (!e) return null;
    return e.allocation === ALLOC_USABLE && e.isolation === UNISOLATE
      ? DR_ENTITY_PRESENT
      : DR_ENTITY_UNUSABLE;
  }

  /** set-indicator on a connector: 0, or -3 (no such indicator) for one the partition has not got. */
  set(indicator: number, drc: number, value: number): number {
    const e = this.entries.get(drc);
    if (!e) return -3;
    if (indicator === ALLOCATION_STATE) e.allocation = value;
    else if (indicator === ISOLATION_STATE) e.isolation = value;
    else return -3;
    return 0;
  }

  /** Whether LMB i is the partition's now (what a destination's ibm,dynamic-memory says after a migration). */
  lmbAssigned(i: number): boolean {
    return this.sense(lmbDrcIndex(i)) === DR_ENTITY_PRESENT;
  }

  /** The subtree configure-connector hands back for `drc`, or null (not a connector of this partition). */
  subtree(drc: number, system: ManagedSystem): FdtNode[] | null {
    const e = this.entries.get(drc);
    if (!e) return null;
    if (e.kind === 'io') {
      const node = this.io?.nodeForDrc(drc);
      return node ? [node] : null;
    }
    if (e.kind === 'cpu') {
      // Phandles no boot node has: the connector's own numbers (docs/kernel-notes.md note 42).
      const base = (this.seed * 0x9e37 + e.unit * 4) >>> 0;
      const ph = (k: number) => (0x4000_0000 | ((base + k) & 0x0fff_ffff)) >>> 0;
      return coreNodes(this.profile, e.unit, this.threadsPerCore, { cpu: ph(1), l2: ph(2), l3: ph(3) });
    }
    const addr = BigInt(e.unit) * LMB_SIZE;
    const assoc = system.memoryAssociativityIndex >>> 0;
    return [
      {
        name: `memory@${addr.toString(16)}`,
        props: [
          { name: 'name', value: enc.string('memory') },
          { name: 'device_type', value: enc.string('memory') },
          { name: 'reg', value: enc.u64(addr, LMB_SIZE) },
          { name: 'ibm,my-drc-index', value: enc.u32(drc) },
          { name: 'ibm,associativity', value: enc.u32(4, 0, 0, assoc, assoc) },
        ],
        children: [],
      },
    ];
  }
}

/** The RTAS calls a DLPAR request makes, answered from the partition's connectors on `system`. */
export class DlparFirmware implements HotplugRtas {
  private readonly drcs: PartitionDrcs;
  private readonly system: ManagedSystem;
  private readonly ccSteps = new Map<number, CcStep[]>();
  /** Every call made, for the request's report. */
  readonly log: Array<{ call: string; status: number; arg?: number }> = [];

  constructor(drcs: PartitionDrcs, system: ManagedSystem) {
    this.drcs = drcs;
    this.system = system;
  }

  private done(call: string, status: number, arg?: number): number {
    this.log.push(arg === undefined ? { call, status } : { call, status, arg });
    return status;
  }

  activateFirmware(): number {
    return this.done('ibm,activate-firmware', 0);
  }

  updateNodes(buf: Uint8Array): number {
    buf.fill(0);
    return this.done('ibm,update-nodes', 0);
  }

  updateProperties(buf: Uint8Array): number {
    buf.fill(0);
    return this.done('ibm,update-properties', 0);
  }

  getSensorState(sensor: number, index: number): { rc: number; state: number } {
    const state = sensor === DR_ENTITY_SENSE ? this.drcs.sense(index) : null;
    const rc = state === null ? -3 : 0;
    this.done('get-sensor-state', rc, index);
    return { rc, state: state ?? 0 };
  }

  setIndicator(indicator: number, index: number, value: number): number {
    return this.done('set-indicator', this.drcs.set(indicator, index, value), index);
  }

  /**
   * ibm,configure-connector: the next step of the connector's subtree. Several top nodes (a core's cpu
   * and its caches) come as siblings: the first opens with NEXT_CHILD, the others with NEXT_SIBLING.
   */
  configureConnector(drc: number): CcStep {
    let steps = this.ccSteps.get(drc);
    if (!steps) {
      const tops = this.drcs.sense(drc) === DR_ENTITY_PRESENT ? this.drcs.subtree(drc, this.system) : null;
      steps = [];
      if (!tops) steps.push({ rc: CC_ERR_CFG_USE });
      else
        tops.forEach((top, i) => {
          const part = configureConnectorSteps(top);
          part.pop(); // its COMPLETE
          if (i > 0) part[0] = { rc: CC_NEXT_SIBLING, name: (part[0] as { name: string }).name };
          steps!.push(...part);
        });
      steps.push({ rc: CC_COMPLETE });
      this.ccSteps.set(drc, steps);
    }
    const step = steps.shift() ?? { rc: CC_ERR_CFG_USE };
    if (steps.length === 0) this.ccSteps.delete(drc);
    this.done('ibm,configure-connector', step.rc, drc);
    return step;
  }
}
