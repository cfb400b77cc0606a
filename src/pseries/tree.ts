// The built-in tree profiles `power9` and `power10` (spec/pseries-tree.md): the flattened tree a
// PowerVM partition boots with, generated from options and a seed. Same inputs, same bytes.
//
// Scale: generation is a step generator (generateTreeSteps) that yields every TREE_NODES_PER_STEP
// nodes, so the LPAR layer can let the event loop run; nothing recurses or spreads by tree size.
// Property values are views into a few shared buffers (a ValueArena per tree) and values every cpu
// or cache node has alike are one shared, never-mutated Uint8Array: far fewer allocations than one
// ArrayBuffer per value. Values are immutable in the model (updates replace them), so sharing is safe.

import { ChunkedMap, ChunkedSet } from '../kernel/chunked-map.ts';
import { completeSteps, type FdtNode } from '../of/fdt.ts';
import { enc, type Property, readU32 } from '../of/property.ts';
import { type CoreNodeSpec, CPU_DRC_BASE, coreSpec, sharedCpuValues } from './cpu-node.ts';
import { Prng } from './prng.ts';
import type { ManagedSystem, Processor } from './systems.ts';

export type TreeProfileName = 'power9' | 'power10';
export type PhandleScheme = 'phyp' | 'dtc';
export type PlatformFacility = 'random' | 'compression' | 'sym-encryption';
export const PLATFORM_FACILITIES: readonly PlatformFacility[] = ['random', 'compression', 'sym-encryption'];

export interface TreeProfile {
  readonly name: TreeProfileName;
  readonly processor: Processor;
  readonly cpuNodeName: string;
  readonly pvr: number;
  readonly clockFrequency: number;
}

export const TREE_PROFILES: readonly TreeProfile[] = [
  {
    name: 'power9',
    processor: 'POWER9',
    cpuNodeName: 'PowerPC,POWER9',
    pvr: 0x004e1202,
    clockFrequency: 3_450_000_000,
  },
  {
    name: 'power10',
    processor: 'POWER10',
    cpuNodeName: 'PowerPC,POWER10',
    pvr: 0x00800200,
    clockFrequency: 3_900_000_000,
  },
];

export interface TreeOptions {
  readonly cores: number;
  /** SMT mode: threads per core (PowerVM runs POWER9 and POWER10 partitions SMT8 by default). */
  readonly threadsPerCore: 1 | 2 | 4 | 8;
  readonly memoryGiB: number;
  /** Virtual adapters beyond vty, l-lan and v-scsi (more l-lan adapters). */
  readonly extraVirtualAdapters: number;
  /** Physical I/O adapters (`pci@…` nodes with two children each). */
  readonly pciAdapters: number;
  readonly platformFacilities: readonly PlatformFacility[];
  readonly phandleScheme: PhandleScheme;
  readonly seed: number;
  readonly partitionName: string;
  readonly partitionNo: number;
  /**
   * Cores the partition may gain by DLPAR beyond `cores` (its maximum processors): with any, /cpus
   * lists every core's connector (`ibm,drc-indexes`) and /rtas the maximum (`ibm,lrdr-capacity`).
   * Absent or 0: the tree is the one without them, byte for byte.
   */
  readonly spareCores?: number;
  /** Memory the partition may gain by DLPAR: unassigned LMBs after the assigned ones. */
  readonly spareMemoryGiB?: number;
}

export const DEFAULT_TREE_OPTIONS: TreeOptions = {
  cores: 8,
  threadsPerCore: 8,
  memoryGiB: 32,
  extraVirtualAdapters: 0,
  pciAdapters: 0,
  platformFacilities: PLATFORM_FACILITIES,
  phandleScheme: 'phyp',
  seed: 1,
  partitionName: 'lpar',
  partitionNo: 1,
};

/** DRC index of the connector behind `/ibm,platform-facilities`. */
export const PLATFORM_FACILITIES_DRC = 0x7000_0001;
export const LMB_SIZE = 0x1000_0000n; // 256 MiB
const LMB_DRC_BASE = 0x8000_0000;
const VIO_BASE = 0x3000_0000;

/** The fixed PowerVM phandles of the platform facilities (kept whatever the options). */
export const PFO_PHANDLES = {
  parent: 0xfffffff6,
  random: 0xfffffff5,
  compression: 0xfffffff4,
  'sym-encryption': 0xfffffff3,
} as const;

type PhandleClass = 'run' | 'scattered' | { fixed: number };

/** A node being generated: an FdtNode with mutable properties (links and phandles are appended). */
interface GenNode extends FdtNode {
  readonly props: Property[];
  readonly children: GenNode[];
}

/**
 * The children of every leaf: one frozen empty list instead of an array per node (most of a big tree
 * is leaves, and each array is one more object for the collector to copy and mark while it is built).
 */
const NO_CHILDREN = Object.freeze([]) as unknown as GenNode[];

/**
 * What generation knows of each node besides its content: its phandle class and the properties whose
 * value is another node's phandle (known only once phandles are assigned). Kept beside the nodes, so
 * the tree handed out has exactly the FdtNode fields.
 */
class GenContext {
  /**
   * The class of every node that is not `scattered`: the run and the fixed ones are a few dozen, the
   * scattered ones (cpus, caches, adapters) nearly all of a big tree, so a map of those would be
   * a quarter-million entries whose rehashes stall a step.
   */
  readonly classes = new Map<GenNode, PhandleClass>();
  /**
   * The phandle-valued links in the order they were made: property `linkNames[i]` of `linkFrom[i]`
   * names `linkTo[i]`. Parallel arrays, not a map by node: two links per core, looked up by no one.
   */
  readonly linkFrom: GenNode[] = [];
  readonly linkNames: string[] = [];
  readonly linkTo: GenNode[] = [];
  classOf(n: GenNode): PhandleClass {
    return this.classes.get(n) ?? 'scattered';
  }
  link(from: GenNode, name: string, to: GenNode): void {
    this.linkFrom.push(from);
    this.linkNames.push(name);
    this.linkTo.push(to);
  }
  gen(
    fullName: string,
    props: Array<[string, Uint8Array]>,
    children: GenNode[] = [],
    phandleClass: PhandleClass = 'run',
    nameValue?: Uint8Array,
  ): GenNode {
    const at = fullName.indexOf('@');
    const name = at < 0 ? fullName : fullName.slice(0, at);
    const all: Property[] = [{ name: 'name', value: nameValue ?? enc.string(name) }];
    for (const [n, v] of props) all.push({ name: n, value: v });
    const node: GenNode = { name: fullName, props: all, children: children.length ? children : NO_CHILDREN };
    if (phandleClass !== 'scattered') this.classes.set(node, phandleClass);
    return node;
  }
}

/** The phandle-valued properties of the tree (rewritten when dtc numbering replaces the phandles). */
const PHANDLE_LINKS = ['l2-cache', 'next-level-cache'];

/** Nodes generated (or walked) between the steps of generateTreeSteps. */
export const TREE_NODES_PER_STEP = 256;

const ARENA_SLAB = 64 * 1024;

/**
 * Property values carved out of shared buffers: one ArrayBuffer per 64 KiB of values instead of one
 * per value. The bytes are what `enc` makes; only where they live differs.
 */
class ValueArena {
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private off = 0;

  private take(n: number): number {
    if (this.off + n > this.buf.length) {
      this.buf = new Uint8Array(Math.max(ARENA_SLAB, n));
      this.view = new DataView(this.buf.buffer);
      this.off = 0;
    }
    const at = this.off;
    this.off += n;
    return at;
  }

  u32(...cells: number[]): Uint8Array {
    return this.u32List(cells);
  }

  u32List(cells: readonly number[]): Uint8Array {
    const at = this.take(cells.length * 4);
    for (let i = 0; i < cells.length; i++) this.view.setUint32(at + i * 4, cells[i]! >>> 0);
    return this.buf.subarray(at, at + cells.length * 4);
  }

  /** A u32 count followed by that many u32 cells (the `ibm,drc-*` lists). */
  countedU32(cells: readonly number[]): Uint8Array {
    const at = this.take(4 + cells.length * 4);
    this.view.setUint32(at, cells.length);
    for (let i = 0; i < cells.length; i++) this.view.setUint32(at + 4 + i * 4, cells[i]! >>> 0);
    return this.buf.subarray(at, at + 4 + cells.length * 4);
  }

  /** A NUL-terminated string (ASCII here; anything else as `enc.string` makes it). */
  string(s: string): Uint8Array {
    for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return enc.string(s);
    const at = this.take(s.length + 1); // the NUL is the slab's zero
    for (let i = 0; i < s.length; i++) this.buf[at + i] = s.charCodeAt(i);
    return this.buf.subarray(at, at + s.length + 1);
  }
}

// ---- per-system content (also what a destination hands back after a migration) ----

export function systemId(serial: string): Uint8Array {
  return enc.string(`IBM,02${serial}`);
}

export function locCode(system: ManagedSystem, partitionNo: number, slot: number): Uint8Array {
  const [type, model] = system.machineType.split('-');
  return enc.string(`U${type}.${model}.${system.serial}-V${partitionNo}-C${slot}`);
}

/** Bytes of `ibm,dynamic-memory` for `memoryGiB` (a count, then 24 bytes per 256 MiB LMB). */
export function dynamicMemoryBytes(memoryGiB: number, spareGiB = 0): number {
  return 4 + (lmbCount(memoryGiB) + lmbCount(spareGiB, 0)) * 24;
}

function lmbCount(gib: number, min = 1): number {
  return Math.max(min, Math.floor((gib * 1024) / 256));
}

/** DRC index of LMB i. */
export function lmbDrcIndex(i: number): number {
  return (LMB_DRC_BASE + i) >>> 0;
}

/** DRCONF_MEM_ASSIGNED; an unassigned LMB has no associativity (0xffffffff, as the kernel invalidates it). */
export const DRCONF_MEM_ASSIGNED = 0x8;
export const DRCONF_MEM_RESERVED = 0x80;
export const NO_AA_INDEX = 0xffffffff;

/**
 * `ibm,dynamic-memory` v1 (a count, then 24 bytes per 256 MiB LMB): LMB i is assigned when `assigned(i)`
 * says so (by default the first `memoryGiB` worth), unassigned after them up to `spareGiB` more.
 */
export function dynamicMemory(
  system: ManagedSystem,
  memoryGiB: number,
  spareGiB = 0,
  assigned: (i: number) => boolean = (i) => i < lmbCount(memoryGiB),
): Uint8Array {
  const lmbs = lmbCount(memoryGiB) + lmbCount(spareGiB, 0);
  const out = new Uint8Array(dynamicMemoryBytes(memoryGiB, spareGiB));
  const view = new DataView(out.buffer);
  view.setUint32(0, lmbs);
  for (let i = 0; i < lmbs; i++) {
    // address (u64), drc index, reserved, associativity index, flags (0x8: assigned)
    const off = 4 + i * 24;
    const on = assigned(i);
    view.setBigUint64(off, BigInt(i) * LMB_SIZE);
    view.setUint32(off + 8, lmbDrcIndex(i));
    view.setUint32(off + 12, 0);
    view.setUint32(off + 16, on ? system.memoryAssociativityIndex >>> 0 : NO_AA_INDEX);
    view.setUint32(off + 20, on ? DRCONF_MEM_ASSIGNED : 0);
  }
  return out;
}

export function associativityLookupArrays(system: ManagedSystem): Uint8Array {
  const n = 2;
  const cells = [n, 4];
  for (let i = 0; i < n; i++)
    cells.push(0, 0, system.memoryAssociativityIndex + i, system.memoryAssociativityIndex + i);
  return enc.u32(...cells);
}

/** The platform-facilities subtree as a system's firmware describes it (boot and configure-connector). */
export function platformFacilitiesNode(
  system: ManagedSystem,
  facilities: readonly PlatformFacility[],
): FdtNode {
  const cx = new GenContext();
  const gen = cx.gen.bind(cx);
  const pool = enc.u32(system.sharedInterruptPool);
  const dma = (liobn: number) => enc.concat(enc.u32(liobn), enc.u64(0n, 0x8000_0000n));
  const leaves: Record<PlatformFacility, GenNode> = {
    random: gen(
      'ibm,random-v1',
      [
        ['compatible', enc.string('ibm,random')],
        ['status', enc.string('okay')],
        ['ibm,resource-id', enc.u32(system.resourceIdBase + 1)],
        ['ibm,shared-interrupt-pool', pool],
      ],
      [],
      { fixed: PFO_PHANDLES.random },
    ),
    compression: gen(
      'ibm,compression-v1',
      [
        ['compatible', enc.string('ibm,compression')],
        ['status', enc.string('okay')],
        ['ibm,resource-id', enc.u32(system.resourceIdBase + 2)],
        ['ibm,max-sg-len', enc.u32(0x0ff0)],
        ['ibm,max-sync-cop', enc.u32(1, 0x1000, 0x1fe, 1, 0x1000, 0x1fe)],
        ['ibm,my-dma-window', dma(0x8000_0002)],
        ['ibm,shared-interrupt-pool', pool],
      ],
      [],
      { fixed: PFO_PHANDLES.compression },
    ),
    'sym-encryption': gen(
      'ibm,sym-encryption-v1',
      [
        ['compatible', enc.string('ibm,sym-encryption')],
        ['status', enc.string('okay')],
        ['ibm,resource-id', enc.u32(system.resourceIdBase + 3)],
        ['ibm,max-sg-len', enc.u32(0x0ff0)],
        // records: function code, mode, triplet count, then (key bits, data bytes, sg length) triplets
        [
          'ibm,max-sync-cop',
          enc.u32(
            0,
            1,
            3,
            128,
            0x1000,
            0x1fe,
            192,
            0x1000,
            0x1fe,
            256,
            0x1000,
            0x1fe,
            0,
            2,
            1,
            128,
            0x1000,
            0x1fe,
          ),
        ],
        ['ibm,my-dma-window', dma(0x8000_0003)],
        ['ibm,shared-interrupt-pool', pool],
      ],
      [],
      { fixed: PFO_PHANDLES['sym-encryption'] },
    ),
  };
  const pf = gen(
    'ibm,platform-facilities',
    [
      ['device_type', enc.string('ibm,platform-facilities')],
      ['#address-cells', enc.u32(1)],
      ['#size-cells', enc.u32(0)],
      ['ibm,my-drc-index', enc.u32(PLATFORM_FACILITIES_DRC)],
    ],
    PLATFORM_FACILITIES.filter((f) => facilities.includes(f)).map((f) => leaves[f]),
    { fixed: PFO_PHANDLES.parent },
  );
  const v = new ValueArena();
  appendPhandle(pf, v.u32(PFO_PHANDLES.parent));
  for (const c of pf.children) appendPhandle(c, v.u32((cx.classOf(c) as { fixed: number }).fixed));
  return pf;
}

/** A node's `ibm,phandle` and `phandle` (one shared value), after its own properties. */
function appendPhandle(n: GenNode, value: Uint8Array): void {
  n.props.push({ name: 'ibm,phandle', value }, { name: 'phandle', value });
}

/** The value of the node's phandle (appendPhandle's, its last two properties), or null without one. */
function phandleValueOf(n: GenNode): Uint8Array | null {
  const last = n.props.length - 1;
  return last >= 1 && n.props[last]!.name === 'phandle' && n.props[last - 1]!.name === 'ibm,phandle'
    ? n.props[last]!.value
    : null;
}

/**
 * Each phandle-valued link, as a property of its node between the node's own properties and its
 * phandle (so a node reads: own properties, links in the order they were made, `ibm,phandle`,
 * `phandle`). The value is the target's phandle value itself (values are never written in place),
 * 0 for a target without one.
 */
function* applyLinks(cx: GenContext, v: ValueArena): Generator<void, void, undefined> {
  for (let i = 0; i < cx.linkFrom.length; i++) {
    const from = cx.linkFrom[i]!;
    const prop = { name: cx.linkNames[i]!, value: phandleValueOf(cx.linkTo[i]!) ?? v.u32(0) };
    if (phandleValueOf(from)) from.props.splice(from.props.length - 2, 0, prop);
    else from.props.push(prop);
    if (i % TREE_NODES_PER_STEP === TREE_NODES_PER_STEP - 1) yield;
  }
}

// ---- the whole tree ----

const RTAS_TOKENS = [
  'display-character',
  'event-scan',
  'get-time-of-day',
  'set-time-of-day',
  'get-sensor-state',
  'set-indicator',
  'nvram-fetch',
  'nvram-store',
  'power-off',
  'system-reboot',
  'ibm,os-term',
  'ibm,get-system-parameter',
  'ibm,set-system-parameter',
  'ibm,update-nodes',
  'ibm,update-properties',
  'ibm,configure-connector',
  'ibm,suspend-me',
  'ibm,activate-firmware',
];

/** A core's node as the boot tree generates it (scattered phandle). */
function genSpec(cx: GenContext, spec: CoreNodeSpec): GenNode {
  return cx.gen(spec.fullName, spec.props, [], 'scattered', spec.nameValue);
}

/** Connectors listed, or their names encoded, between the steps of buildTree (one per core). */
const DRC_ENTRIES_PER_STEP = 4096;

/**
 * A u32 count and then the NUL-terminated strings (the `ibm,drc-names` and `ibm,drc-types` lists),
 * the bytes of `enc.concat(enc.u32(n), enc.strings(list))`, encoded DRC_ENTRIES_PER_STEP strings per
 * step: a quarter-million-node tree has some 83k cpu connectors. Each part ends with a NUL, so the
 * parts' UTF-8 put together is the whole list's.
 */
function* countedStringsSteps(list: readonly string[]): Generator<void, Uint8Array, undefined> {
  const parts: Uint8Array[] = [enc.u32(list.length)];
  let length = 4;
  for (let i = 0; i < list.length; i += DRC_ENTRIES_PER_STEP) {
    const part = enc.strings(list.slice(i, i + DRC_ENTRIES_PER_STEP));
    parts.push(part);
    length += part.length;
    yield;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

interface BuiltTree {
  readonly root: GenNode;
  readonly runOrder: GenNode[];
}

function* buildTree(
  profile: TreeProfile,
  system: ManagedSystem,
  o: TreeOptions,
  rng: Prng,
  v: ValueArena,
  cx: GenContext,
): Generator<void, BuiltTree, undefined> {
  const gen = cx.gen.bind(cx);
  const [mtype, mmodel] = system.machineType.split('-');
  const compatible = `IBM,${system.machineType}`;
  const shared = sharedCpuValues(profile);

  const vdeviceChildren: GenNode[] = [];
  const adapters: Array<{ unit: number; kind: 'vty' | 'l-lan' | 'v-scsi' }> = [
    { unit: VIO_BASE, kind: 'vty' },
    { unit: VIO_BASE + 2, kind: 'l-lan' },
    { unit: VIO_BASE + 3, kind: 'v-scsi' },
  ];
  for (let i = 0; i < o.extraVirtualAdapters; i++) adapters.push({ unit: VIO_BASE + 4 + i, kind: 'l-lan' });
  for (const a of adapters) {
    const slot = a.unit - VIO_BASE;
    const common: Array<[string, Uint8Array]> = [
      ['device_type', enc.string({ vty: 'serial', 'l-lan': 'network', 'v-scsi': 'vscsi' }[a.kind])],
      ['compatible', enc.string({ vty: 'hvterm1', 'l-lan': 'IBM,l-lan', 'v-scsi': 'IBM,v-scsi' }[a.kind])],
      ['reg', enc.u32(a.unit)],
      ['ibm,my-drc-index', enc.u32(a.unit)],
      ['ibm,loc-code', locCode(system, o.partitionNo, slot)],
      ['interrupts', enc.u32(0x1000 + slot, 0)],
    ];
    if (a.kind === 'l-lan') {
      const mac = enc.bytes([0xfa, 0x16, 0x3e, (rng.u32() >>> 24) & 0xff, slot & 0xff, o.partitionNo & 0xff]);
      common.push(
        ['local-mac-address', mac],
        ['ibm,my-dma-window', enc.concat(enc.u32(0x1000_0000 + slot), enc.u64(0n, 0x1000_0000n))],
      );
    }
    vdeviceChildren.push(gen(`${a.kind}@${a.unit.toString(16)}`, common, [], 'scattered'));
    if (vdeviceChildren.length % TREE_NODES_PER_STEP === 0) yield;
  }

  const cpuChildren: GenNode[] = [];
  for (let core = 0; core < o.cores; core++) {
    const spec = coreSpec(profile, shared, core, o.threadsPerCore, v);
    const l3 = genSpec(cx, spec.l3);
    // E10: PowerVM links each cpu to its l2 and each l2 to its l3 by phandle (`l2-cache`).
    const l2 = genSpec(cx, spec.l2);
    cx.link(l2, 'l2-cache', l3);
    const cpu = genSpec(cx, spec.cpu);
    cx.link(cpu, 'l2-cache', l2);
    cpuChildren.push(cpu, l2, l3);
    if (core % 128 === 127) yield;
  }

  // The dynamic-reconfiguration connectors: cpus, then the virtual adapters, then the facilities.
  const drcIndexes: number[] = [];
  const drcNames: string[] = [];
  const drcTypes: string[] = [];
  const drcPowerDomains: number[] = [];
  for (let c = 0; c < o.cores; c++) {
    drcIndexes.push(CPU_DRC_BASE + c);
    drcNames.push(`CPU ${c * o.threadsPerCore}`);
    drcTypes.push('CPU');
    if (c % DRC_ENTRIES_PER_STEP === DRC_ENTRIES_PER_STEP - 1) yield;
  }
  const slotDrcName = (a: { unit: number }) =>
    `U${mtype}.${mmodel}.${system.serial}-V${o.partitionNo}-C${a.unit - VIO_BASE}`;
  for (const a of adapters) {
    drcIndexes.push(a.unit);
    drcNames.push(slotDrcName(a));
    drcTypes.push('SLOT');
  }
  drcIndexes.push(PLATFORM_FACILITIES_DRC);
  drcNames.push('PFO');
  drcTypes.push('PFO');
  for (let i = 0; i < drcIndexes.length; i++) drcPowerDomains.push(0xffffffff);
  yield;
  const drcNamesValue = yield* countedStringsSteps(drcNames);
  const drcTypesValue = yield* countedStringsSteps(drcTypes);

  const eventSources = gen(
    'event-sources',
    [],
    [
      gen('epow-events', [['interrupts', enc.u32(0x1e0, 0)]]),
      gen('ibm,io-events', [['interrupts', enc.u32(0x1e1, 0)]]),
      gen('hot-plug-events', [['interrupts', enc.u32(0x1e2, 0)]]),
    ],
  );
  const memoryBytes = BigInt(Math.max(1, o.memoryGiB)) << 30n;
  const rma = memoryBytes < 0x8000_0000n ? memoryBytes : 0x8000_0000n;
  const memory = gen('memory@0', [
    ['device_type', enc.string('memory')],
    ['reg', enc.u64(0n, rma)],
  ]);
  const drconf = gen('ibm,dynamic-reconfiguration-memory', [
    ['ibm,lmb-size', enc.u64(LMB_SIZE)],
    ['ibm,dynamic-memory', dynamicMemory(system, o.memoryGiB, o.spareMemoryGiB ?? 0)],
    ['ibm,associativity-lookup-arrays', associativityLookupArrays(system)],
  ]);

  const pci: GenNode[] = [];
  for (let i = 0; i < o.pciAdapters; i++) {
    const buid = 0x8000_0002_0000_000n + BigInt(i) * 0x1_0000_0000n;
    const loc = locCode(system, o.partitionNo, 100 + i);
    const children = [0, 1].map((fn) =>
      gen(
        `ethernet@0${fn ? ',1' : ''}`,
        [
          ['device_type', enc.string('network')],
          ['reg', v.u32(fn << 8, 0, 0, 0, 0)],
          ['ibm,loc-code', loc],
        ],
        [],
        'scattered',
      ),
    );
    pci.push(
      gen(
        `pci@${buid.toString(16)}`,
        [
          ['device_type', enc.string('pci')],
          ['#address-cells', v.u32(3)],
          ['#size-cells', v.u32(2)],
          ['ibm,my-drc-index', v.u32(0x2000_0000 + i)],
        ],
        children,
        'scattered',
      ),
    );
    if (i % 64 === 63) yield;
  }

  const rngCells: number[] = [];
  for (let i = 0; i < 16; i++) rngCells.push(rng.u32());
  const rngSeed = enc.u32(...rngCells);
  const chosen = gen('chosen', [
    ['bootargs', enc.string('BOOT_IMAGE=/vmlinuz root=/dev/mapper/rhel-root ro')],
    ['linux,stdout-path', enc.string('/vdevice/vty@30000000')],
    [
      'ibm,architecture-vec-5',
      enc.bytes([
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00,
      ]),
    ],
    ['linux,initrd-start', enc.u64(0x3e00_0000n)],
    ['linux,initrd-end', enc.u64(0x3f80_0000n)],
    ['rng-seed', rngSeed],
  ]);
  const openprom = gen('openprom', [
    ['model', enc.string('IBM,FW950.80 (VL950_131)')],
    ['relative-addressing', enc.empty()],
  ]);
  const options = gen('options', [['ibm,fw-keystore-size', enc.u32(0x10000)]]);
  const aliases = gen('aliases', [
    ['vty', enc.string('/vdevice/vty@30000000')],
    ['net', enc.string('/vdevice/l-lan@30000002')],
  ]);
  const rtasProps: Array<[string, Uint8Array]> = [
    [
      'ibm,hypertas-functions',
      enc.strings([
        'hcall-pft',
        'hcall-term',
        'hcall-dabr',
        'hcall-interrupt',
        'hcall-tce',
        'hcall-vio',
        'hcall-splpar',
        'hcall-multi-tce',
        'hcall-vpa2',
        'hcall-rpt-invalidate',
      ]),
    ],
    ['rtas-version', enc.u32(1)],
    ['rtas-size', enc.u32(0x2000000)],
  ];
  RTAS_TOKENS.forEach((t, i) => {
    rtasProps.push([t, enc.u32(0x2000 + i)]);
  });
  const spareCores = o.spareCores ?? 0;
  // PAPR's maximum: the highest address (#address-cells), the memory increment, then the processors.
  if (spareCores > 0)
    rtasProps.push(['ibm,lrdr-capacity', enc.u32(0, 0, 0, Number(LMB_SIZE), o.cores + spareCores)]);
  const rtas = gen('rtas', rtasProps);
  // The virtual slots' connectors again, on /vdevice: rpaphp_check_drc_props matches a child's
  // ibm,my-drc-index in its parent's lists (K-SLOT-3; spec silent, docs/kernel-notes.md note 53).
  const slotDrcs = adapters.map((a) => a.unit);
  const vdevice = gen(
    'vdevice',
    [
      ['device_type', enc.string('vdevice')],
      ['#address-cells', enc.u32(1)],
      ['#size-cells', enc.u32(0)],
      ['compatible', enc.string('IBM,vdevice')],
      ['ibm,drc-indexes', v.countedU32(slotDrcs)],
      ['ibm,drc-names', enc.concat(enc.u32(adapters.length), enc.strings(adapters.map(slotDrcName)))],
      ['ibm,drc-types', enc.concat(enc.u32(adapters.length), enc.strings(adapters.map(() => 'SLOT')))],
      ['ibm,drc-power-domains', v.countedU32(adapters.map(() => 0xffffffff))],
    ],
    vdeviceChildren,
  );
  const cpusProps: Array<[string, Uint8Array]> = [
    ['#address-cells', enc.u32(1)],
    ['#size-cells', enc.u32(0)],
  ];
  if (spareCores > 0) {
    const all: number[] = [];
    for (let c = 0; c < o.cores + spareCores; c++) all.push(CPU_DRC_BASE + c);
    cpusProps.push(['ibm,drc-indexes', v.countedU32(all)]);
  }
  const cpus = gen('cpus', cpusProps, cpuChildren);
  const pfPlaceholder: GenNode = { name: 'ibm,platform-facilities', props: [], children: [] };
  cx.classes.set(pfPlaceholder, { fixed: PFO_PHANDLES.parent });

  const rootChildren = [
    openprom,
    options,
    aliases,
    chosen,
    rtas,
    vdevice,
    eventSources,
    cpus,
    memory,
    drconf,
    pfPlaceholder,
  ];
  for (const p of pci) rootChildren.push(p);
  const root = gen(
    '',
    [
      ['#address-cells', enc.u32(2)],
      ['#size-cells', enc.u32(2)],
      ['device_type', enc.string('chrp')],
      ['compatible', enc.string(compatible)],
      ['model', enc.string(compatible)],
      ['system-id', systemId(rng.hex(7))],
      ['ibm,partition-name', enc.string(o.partitionName)],
      ['ibm,partition-no', enc.u32(o.partitionNo)],
      ['ibm,lpar-capable', enc.empty()],
      ['ibm,migratable-partition', enc.empty()],
      ['ibm,powervm-partition', enc.empty()],
      ['ibm,drc-indexes', v.countedU32(drcIndexes)],
      ['ibm,drc-names', drcNamesValue],
      ['ibm,drc-types', drcTypesValue],
      ['ibm,drc-power-domains', v.countedU32(drcPowerDomains)],
    ],
    rootChildren,
  );

  // PowerVM's descending run: these first, in this order (spec/pseries-tree.md, Phandles).
  const runOrder = [
    root,
    openprom,
    options,
    aliases,
    chosen,
    rtas,
    vdevice,
    eventSources,
    cpus,
    ...eventSources.children,
    memory,
    drconf,
  ];
  return { root, runOrder };
}

function* preorder(root: GenNode): Generator<void, GenNode[], undefined> {
  const out: GenNode[] = [];
  const stack = [root];
  while (stack.length) {
    const n = stack.pop()!;
    out.push(n);
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
    if (out.length % (TREE_NODES_PER_STEP * 8) === 0) yield;
  }
  return out;
}

/**
 * Every node's phandle, appended as its `ibm,phandle` and `phandle` (appendPhandle) as it is chosen:
 * 1.. in pre-order for dtc; for phyp the descending run, then a value from `rng` for each scattered
 * node in pre-order, clear of the run and of the values taken.
 */
function* assignPhandles(
  cx: GenContext,
  tree: BuiltTree,
  all: GenNode[],
  scheme: PhandleScheme,
  rng: Prng,
  values: ValueArena,
): Generator<void, void, undefined> {
  if (scheme === 'dtc') {
    for (let i = 0; i < all.length; i++) {
      appendPhandle(all[i]!, values.u32(i + 1));
      if (i % (TREE_NODES_PER_STEP * 4) === TREE_NODES_PER_STEP * 4 - 1) yield;
    }
    return;
  }
  // 0xffffffff downwards: the run up to cpus, then the four fixed platform-facilities values, then on.
  let next = 0xffffffff;
  const inRun = new Set<GenNode>();
  // Every phandle taken, a quarter-million in a big tree: chunked so no step rehashes them all.
  const used = new ChunkedSet<number>();
  const take = (n: GenNode) => {
    appendPhandle(n, values.u32(next >>> 0));
    used.add(next >>> 0);
    inRun.add(n);
    next -= 1;
  };
  const [root, openprom, options, aliases, chosen, rtas, vdevice, eventSources, cpus, ...rest] =
    tree.runOrder;
  for (const n of [root, openprom, options, aliases, chosen, rtas, vdevice, eventSources, cpus]) take(n!);
  next = PFO_PHANDLES['sym-encryption'] - 1;
  for (const n of rest) take(n);
  for (let i = 0; i < all.length; i++) {
    const n = all[i]!;
    if (cx.classOf(n) === 'run' && !inRun.has(n)) take(n);
    if (i % (TREE_NODES_PER_STEP * 8) === 0) yield;
  }
  const runFloor = next - 16; // keep scattered values clear of the run, with margin
  for (let i = 0; i < all.length; i++) {
    const n = all[i]!;
    if (i % TREE_NODES_PER_STEP === 0) yield;
    if (cx.classOf(n) !== 'scattered') continue;
    let v: number;
    do v = rng.u32();
    while (
      v === 0 ||
      v === 0xdeadbeef ||
      v >= runFloor ||
      used.has(v) ||
      (v >= 0xfffffff3 && v <= 0xfffffff6)
    );
    used.add(v);
    appendPhandle(n, values.u32(v));
  }
}

/**
 * Nodes a tree generated with these options has, computed without generating it: the fixed nodes
 * (root, openprom, options, aliases, chosen, rtas, vdevice, its vty, l-lan and v-scsi, event-sources
 * and its three children, cpus, memory@0, the drconf node, the platform-facilities node: 18), one per
 * facility, three per core (cpu, l2, l3), one per extra virtual adapter, three per PCI adapter.
 */
export function treeNodeCount(
  o: Pick<TreeOptions, 'cores' | 'extraVirtualAdapters' | 'pciAdapters'> &
    Partial<Pick<TreeOptions, 'platformFacilities'>>,
): number {
  const facilities = (o.platformFacilities ?? PLATFORM_FACILITIES).length;
  return 18 + facilities + o.cores * 3 + o.extraVirtualAdapters + o.pciAdapters * 3;
}

/**
 * Generates the flattened tree of a fresh partition of `profile` booted on `system`, in steps (see the
 * file comment); the same options always give the same tree, however the steps are driven.
 */
export function* generateTreeSteps(
  profile: TreeProfile,
  system: ManagedSystem,
  options: TreeOptions,
): Generator<void, FdtNode, undefined> {
  const rng = new Prng(options.seed);
  const cx = new GenContext();
  const values = new ValueArena();
  const tree = yield* buildTree(profile, system, options, rng, values, cx);
  const all = yield* preorder(tree.root);
  yield* assignPhandles(cx, tree, all, options.phandleScheme, new Prng(options.seed ^ 0x70a5_11ce), values);
  yield* applyLinks(cx, values);
  const fdt = tree.root;
  // Splice in the platform facilities, whose content is the system's and whose phandles are fixed
  // for phyp (dtc numbers them in pre-order like every other node).
  const pfIndex = fdt.children.findIndex((c) => c.name === 'ibm,platform-facilities');
  fdt.children[pfIndex] = platformFacilitiesNode(system, options.platformFacilities) as GenNode;
  if (options.phandleScheme === 'dtc') yield* renumberFromOne(fdt, values);
  return fdt;
}

/** Generates the flattened tree of a fresh partition of `profile` booted on `system`. */
export function generateTree(profile: TreeProfile, system: ManagedSystem, options: TreeOptions): FdtNode {
  return completeSteps(generateTreeSteps(profile, system, options));
}

/** dtc numbering: 1..n in pre-order over the final tree; phandle-valued properties follow. In place. */
function* renumberFromOne(root: FdtNode, v: ValueArena): Generator<void, void, undefined> {
  const order: FdtNode[] = [];
  const stack = [root];
  while (stack.length) {
    const f = stack.pop()!;
    order.push(f);
    for (let i = f.children.length - 1; i >= 0; i--) stack.push(f.children[i]!);
    if (order.length % (TREE_NODES_PER_STEP * 8) === 0) yield;
  }
  const renumbered = new ChunkedMap<number, number>();
  for (let i = 0; i < order.length; i++) {
    const own = order[i]!.props.find((p) => p.name === 'phandle');
    if (own && own.value.length === 4) renumbered.set(readU32(own.value)!, i + 1);
    if (i % (TREE_NODES_PER_STEP * 4) === 0) yield;
  }
  for (let i = 0; i < order.length; i++) {
    const props = order[i]!.props;
    let value: Uint8Array | null = null;
    for (let j = 0; j < props.length; j++) {
      const p = props[j]!;
      if (p.name === 'ibm,phandle' || p.name === 'phandle') {
        value ??= v.u32(i + 1);
        props[j] = { name: p.name, value };
      } else if (PHANDLE_LINKS.includes(p.name))
        props[j] = { name: p.name, value: v.u32(renumbered.get(readU32(p.value) ?? 0) ?? 0) };
    }
    if (i % TREE_NODES_PER_STEP === 0) yield;
  }
}

export function treeProfile(name: string): TreeProfile | undefined {
  return TREE_PROFILES.find((p) => p.name === name);
}
