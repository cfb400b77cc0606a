// The built-in tree profiles `power9` and `power10` (spec/pseries-tree.md): the flattened tree a
// PowerVM partition boots with, generated from options and a seed. Same inputs, same bytes.

import type { FdtNode } from '../of/fdt.ts';
import { enc, type Property, readU32 } from '../of/property.ts';
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
const CPU_DRC_BASE = 0x1000_0000;
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

interface GenNode {
  readonly name: string;
  readonly props: Property[];
  readonly children: GenNode[];
  readonly phandleClass: PhandleClass;
  /** Properties whose value is another node's phandle, known only once phandles are assigned. */
  readonly links?: Array<readonly [string, GenNode]>;
}

/** The phandle-valued properties of the tree (rewritten when dtc numbering replaces the phandles). */
const PHANDLE_LINKS = ['l2-cache', 'next-level-cache'];

function gen(
  fullName: string,
  props: Array<[string, Uint8Array]>,
  children: GenNode[] = [],
  phandleClass: PhandleClass = 'run',
): GenNode {
  const at = fullName.indexOf('@');
  const name = at < 0 ? fullName : fullName.slice(0, at);
  return {
    name: fullName,
    props: [{ name: 'name', value: enc.string(name) }, ...props.map(([n, v]) => ({ name: n, value: v }))],
    children,
    phandleClass,
  };
}

// ---- per-system content (also what a destination hands back after a migration) ----

export function systemId(serial: string): Uint8Array {
  return enc.string(`IBM,02${serial}`);
}

export function locCode(system: ManagedSystem, partitionNo: number, slot: number): Uint8Array {
  const [type, model] = system.machineType.split('-');
  return enc.string(`U${type}.${model}.${system.serial}-V${partitionNo}-C${slot}`);
}

export function dynamicMemory(system: ManagedSystem, memoryGiB: number): Uint8Array {
  const lmbs = Math.max(1, Math.floor((memoryGiB * 1024) / 256));
  const parts: Uint8Array[] = [enc.u32(lmbs)];
  for (let i = 0; i < lmbs; i++) {
    // address (u64), drc index, reserved, associativity index, flags (0x8: assigned)
    parts.push(
      enc.u64(BigInt(i) * LMB_SIZE),
      enc.u32(LMB_DRC_BASE + i, 0, system.memoryAssociativityIndex, 0x8),
    );
  }
  return enc.concat(...parts);
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
  return withPhandleProps(
    pf,
    new Map([
      [pf, PFO_PHANDLES.parent],
      ...pf.children.map((c) => [c, (c.phandleClass as { fixed: number }).fixed] as const),
    ]),
  );
}

function withPhandleProps(root: GenNode, phandles: Map<GenNode, number>): FdtNode {
  const build = (n: GenNode): FdtNode => {
    const ph = phandles.get(n);
    const linked = (n.links ?? []).map(([name, target]) => ({
      name,
      value: enc.u32(phandles.get(target) ?? 0),
    }));
    const withLinks = linked.length ? [...n.props, ...linked] : n.props;
    const props =
      ph === undefined
        ? withLinks
        : [
            ...withLinks,
            { name: 'ibm,phandle', value: enc.u32(ph) },
            { name: 'phandle', value: enc.u32(ph) },
          ];
    return { name: n.name, props, children: n.children.map(build) };
  };
  return build(root);
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

function withLinks(n: GenNode, links: Array<readonly [string, GenNode]>): GenNode {
  return { ...n, links };
}

/** An `l2-cache@…` or `l3-cache@…` sibling of a core (scattered phandle). */
function cacheNode(level: 'l2' | 'l3', reg: number, size: number): GenNode {
  return gen(
    `${level}-cache@${reg.toString(16)}`,
    [
      ['device_type', enc.string('cache')],
      ['reg', enc.u32(reg)],
      ['cache-unified', enc.empty()],
      ['d-cache-size', enc.u32(size)],
      ['i-cache-size', enc.u32(size)],
    ],
    [],
    'scattered',
  );
}

interface BuiltTree {
  readonly root: GenNode;
  readonly runOrder: GenNode[];
}

function buildTree(profile: TreeProfile, system: ManagedSystem, o: TreeOptions, rng: Prng): BuiltTree {
  const [mtype, mmodel] = system.machineType.split('-');
  const compatible = `IBM,${system.machineType}`;

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
  }

  const cpuChildren: GenNode[] = [];
  for (let core = 0; core < o.cores; core++) {
    const reg = core * o.threadsPerCore;
    const servers = Array.from({ length: o.threadsPerCore }, (_, t) => reg + t);
    const l3 = cacheNode('l3', 0x3000 + core, 0xa0_0000);
    // E10: PowerVM links each cpu to its l2 and each l2 to its l3 by phandle (`l2-cache`).
    const l2 = withLinks(cacheNode('l2', 0x2000 + core, 0x8_0000), [['l2-cache', l3]]);
    const cpu = gen(
      `${profile.cpuNodeName}@${reg.toString(16)}`,
      [
        ['device_type', enc.string('cpu')],
        ['reg', enc.u32(reg)],
        ['ibm,ppc-interrupt-server#s', enc.u32(...servers)],
        ['ibm,my-drc-index', enc.u32(CPU_DRC_BASE + core)],
        ['ibm,chip-id', enc.u32(Math.floor(core / 12))],
        ['ibm,associativity', enc.u32(5, 0, 0, Math.floor(core / 12), Math.floor(core / 12), core)],
        ['clock-frequency', enc.u32(profile.clockFrequency)],
        ['timebase-frequency', enc.u32(512_000_000)],
        ['d-cache-size', enc.u32(0x8000)],
        ['i-cache-size', enc.u32(0x8000)],
        ['cpu-version', enc.u32(profile.pvr)],
        [
          'ibm,pa-features',
          enc.bytes([
            0x40, 0x00, 0xf6, 0x3f, 0xc7, 0xc0, 0x80, 0xf0, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
          ]),
        ],
      ],
      [],
      'scattered',
    );
    cpuChildren.push(withLinks(cpu, [['l2-cache', l2]]), l2, l3);
  }

  const drcIndexes = [
    ...Array.from({ length: o.cores }, (_, c) => CPU_DRC_BASE + c),
    ...adapters.map((a) => a.unit),
    PLATFORM_FACILITIES_DRC,
  ];
  const drcNames = [
    ...Array.from({ length: o.cores }, (_, c) => `CPU ${c * o.threadsPerCore}`),
    ...adapters.map((a) => `U${mtype}.${mmodel}.${system.serial}-V${o.partitionNo}-C${a.unit - VIO_BASE}`),
    'PFO',
  ];
  const drcTypes = [...Array.from({ length: o.cores }, () => 'CPU'), ...adapters.map(() => 'SLOT'), 'PFO'];
  const counted = (list: string[]) => enc.concat(enc.u32(list.length), enc.strings(list));

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
    ['ibm,dynamic-memory', dynamicMemory(system, o.memoryGiB)],
    ['ibm,associativity-lookup-arrays', associativityLookupArrays(system)],
  ]);

  const pci: GenNode[] = [];
  for (let i = 0; i < o.pciAdapters; i++) {
    const buid = 0x8000_0002_0000_000n + BigInt(i) * 0x1_0000_0000n;
    const children = [0, 1].map((fn) =>
      gen(
        `ethernet@0${fn ? ',1' : ''}`,
        [
          ['device_type', enc.string('network')],
          ['reg', enc.u32(fn << 8, 0, 0, 0, 0)],
          ['ibm,loc-code', locCode(system, o.partitionNo, 100 + i)],
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
          ['#address-cells', enc.u32(3)],
          ['#size-cells', enc.u32(2)],
          ['ibm,my-drc-index', enc.u32(0x2000_0000 + i)],
        ],
        children,
        'scattered',
      ),
    );
  }

  const rngSeed = enc.u32(...Array.from({ length: 16 }, () => rng.u32()));
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
  const rtas = gen('rtas', [
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
    ...RTAS_TOKENS.map((t, i): [string, Uint8Array] => [t, enc.u32(0x2000 + i)]),
  ]);
  const vdevice = gen(
    'vdevice',
    [
      ['device_type', enc.string('vdevice')],
      ['#address-cells', enc.u32(1)],
      ['#size-cells', enc.u32(0)],
      ['compatible', enc.string('IBM,vdevice')],
    ],
    vdeviceChildren,
  );
  const cpus = gen(
    'cpus',
    [
      ['#address-cells', enc.u32(1)],
      ['#size-cells', enc.u32(0)],
    ],
    cpuChildren,
  );
  const pfPlaceholder: GenNode = {
    name: 'ibm,platform-facilities',
    props: [],
    children: [],
    phandleClass: { fixed: PFO_PHANDLES.parent },
  };

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
      ['ibm,drc-indexes', enc.u32(drcIndexes.length, ...drcIndexes)],
      ['ibm,drc-names', counted(drcNames)],
      ['ibm,drc-types', counted(drcTypes)],
      ['ibm,drc-power-domains', enc.u32(drcIndexes.length, ...drcIndexes.map(() => 0xffffffff))],
    ],
    [
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
      ...pci,
    ],
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

function preorder(root: GenNode): GenNode[] {
  const out: GenNode[] = [];
  const stack = [root];
  while (stack.length) {
    const n = stack.pop()!;
    out.push(n);
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
  return out;
}

function assignPhandles(
  tree: BuiltTree,
  all: GenNode[],
  scheme: PhandleScheme,
  rng: Prng,
): Map<GenNode, number> {
  const phandles = new Map<GenNode, number>();
  if (scheme === 'dtc') {
    all.forEach((n, i) => {
      phandles.set(n, i + 1);
    });
    return phandles;
  }
  // 0xffffffff downwards: the run up to cpus, then the four fixed platform-facilities values, then on.
  let next = 0xffffffff;
  const inRun = new Set<GenNode>();
  const take = (n: GenNode) => {
    phandles.set(n, next >>> 0);
    inRun.add(n);
    next -= 1;
  };
  const [root, openprom, options, aliases, chosen, rtas, vdevice, eventSources, cpus, ...rest] =
    tree.runOrder;
  for (const n of [root, openprom, options, aliases, chosen, rtas, vdevice, eventSources, cpus]) take(n!);
  next = PFO_PHANDLES['sym-encryption'] - 1;
  for (const n of rest) take(n);
  for (const n of all) if (n.phandleClass === 'run' && !inRun.has(n)) take(n);
  const runFloor = next - 16; // keep scattered values clear of the run, with margin
  const used = new Set<number>(phandles.values());
  for (const n of all) {
    if (n.phandleClass !== 'scattered') continue;
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
    phandles.set(n, v);
  }
  return phandles;
}

/** Generates the flattened tree of a fresh partition of `profile` booted on `system`. */
export function generateTree(profile: TreeProfile, system: ManagedSystem, options: TreeOptions): FdtNode {
  const rng = new Prng(options.seed);
  const tree = buildTree(profile, system, options, rng);
  const all = preorder(tree.root);
  const phandles = assignPhandles(tree, all, options.phandleScheme, new Prng(options.seed ^ 0x70a5_11ce));
  const fdt = withPhandleProps(tree.root, phandles);
  // Splice in the platform facilities, whose content is the system's and whose phandles are fixed
  // for phyp (dtc numbers them in pre-order like every other node).
  const pfIndex = fdt.children.findIndex((c) => c.name === 'ibm,platform-facilities');
  fdt.children[pfIndex] = platformFacilitiesNode(system, options.platformFacilities);
  return options.phandleScheme === 'dtc' ? renumberFromOne(fdt) : fdt;
}

/** dtc numbering: 1..n in pre-order over the final tree; phandle-valued properties follow. */
function renumberFromOne(root: FdtNode): FdtNode {
  const renumbered = new Map<number, number>();
  let n = 1;
  const number = (f: FdtNode): void => {
    const own = f.props.find((p) => p.name === 'phandle');
    const ph = n++;
    if (own && own.value.length === 4) renumbered.set(readU32(own.value)!, ph);
    for (const c of f.children) number(c);
  };
  number(root);
  n = 1;
  const build = (f: FdtNode): FdtNode => {
    const ph = n++;
    return {
      name: f.name,
      props: f.props.map((p) => {
        if (p.name === 'ibm,phandle' || p.name === 'phandle') return { name: p.name, value: enc.u32(ph) };
        if (PHANDLE_LINKS.includes(p.name))
          return { name: p.name, value: enc.u32(renumbered.get(readU32(p.value) ?? 0) ?? 0) };
        return p;
      }),
      children: f.children.map(build),
    };
  };
  return build(root);
}

export function treeProfile(name: string): TreeProfile | undefined {
  return TREE_PROFILES.find((p) => p.name === name);
}
