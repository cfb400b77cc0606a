// One processor core as PowerVM describes it: the cpu node with its threads, and the l2 and l3
// cache nodes beside it under /cpus, linked by phandle (E10). The boot tree (tree.ts) and the
// firmware's configure-connector for a DLPAR cpu add (firmware.ts) both build cores from here, so a
// core added later reads exactly like one the partition booted with.

import type { FdtNode } from '../of/fdt.ts';
import { enc, type Property } from '../of/property.ts';
import type { TreeProfile } from './tree.ts';

/** DRC index of core 0's connector; core i is CPU_DRC_BASE + i. */
export const CPU_DRC_BASE = 0x1000_0000;

/** Values every cpu, or every cache of a level, has alike: one Uint8Array each, shared by all. */
export interface SharedCpuValues {
  readonly cpuName: Uint8Array;
  readonly cpu: Uint8Array;
  readonly clockFrequency: Uint8Array;
  readonly timebaseFrequency: Uint8Array;
  readonly l1Size: Uint8Array;
  readonly cpuVersion: Uint8Array;
  readonly paFeatures: Uint8Array;
  readonly cache: Uint8Array;
  readonly l2: { readonly name: Uint8Array; readonly size: Uint8Array };
  readonly l3: { readonly name: Uint8Array; readonly size: Uint8Array };
}

export function sharedCpuValues(profile: TreeProfile): SharedCpuValues {
  return {
    cpuName: enc.string(profile.cpuNodeName),
    cpu: enc.string('cpu'),
    clockFrequency: enc.u32(profile.clockFrequency),
    timebaseFrequency: enc.u32(512_000_000),
    l1Size: enc.u32(0x8000),
    cpuVersion: enc.u32(profile.pvr),
    paFeatures: enc.bytes([
      0x40, 0x00, 0xf6, 0x3f, 0xc7, 0xc0, 0x80, 0xf0, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]),
    cache: enc.string('cache'),
    l2: { name: enc.string('l2-cache'), size: enc.u32(0x8_0000) },
    l3: { name: enc.string('l3-cache'), size: enc.u32(0xa0_0000) },
  };
}

/** Where a builder takes its cell values from (the boot tree carves them out of an arena). */
export interface CellEncoder {
  u32(...cells: number[]): Uint8Array;
  u32List(cells: readonly number[]): Uint8Array;
}

const PLAIN_CELLS: CellEncoder = {
  u32: (...cells) => enc.u32(...cells),
  u32List: (cells) => enc.u32(...cells),
};

/** One node of a core before its phandle and links: full name, `name` value, own properties. */
export interface CoreNodeSpec {
  readonly fullName: string;
  readonly nameValue: Uint8Array;
  readonly props: Array<[string, Uint8Array]>;
}

export interface CoreSpec {
  readonly cpu: CoreNodeSpec;
  readonly l2: CoreNodeSpec;
  readonly l3: CoreNodeSpec;
}

const EMPTY = new Uint8Array(0);

function cacheSpec(shared: SharedCpuValues, v: CellEncoder, level: 'l2' | 'l3', reg: number): CoreNodeSpec {
  const { name, size } = shared[level];
  return {
    fullName: `${level}-cache@${reg.toString(16)}`,
    nameValue: name,
    props: [
      ['device_type', shared.cache],
      ['reg', v.u32(reg)],
      ['cache-unified', EMPTY],
      ['d-cache-size', size],
      ['i-cache-size', size],
    ],
  };
}

/**
 * Core `core` with `threads` hardware threads: its cpu node (reg and interrupt servers from the
 * first thread number, its connector `ibm,my-drc-index`, chip and associativity), its l2 and l3.
 * The links (cpu → l2 → l3 by `l2-cache`) and phandles are the caller's.
 */
export function coreSpec(
  profile: TreeProfile,
  shared: SharedCpuValues,
  core: number,
  threads: number,
  v: CellEncoder = PLAIN_CELLS,
): CoreSpec {
  const reg = core * threads;
  const servers: number[] = [];
  for (let t = 0; t < threads; t++) servers.push(reg + t);
  const chip = Math.floor(core / 12);
  const l3 = cacheSpec(shared, v, 'l3', 0x3000 + core);
  const l2 = cacheSpec(shared, v, 'l2', 0x2000 + core);
  const cpu: CoreNodeSpec = {
    fullName: `${profile.cpuNodeName}@${reg.toString(16)}`,
    nameValue: shared.cpuName,
    props: [
      ['device_type', shared.cpu],
      ['reg', v.u32(reg)],
      ['ibm,ppc-interrupt-server#s', v.u32List(servers)],
      ['ibm,my-drc-index', v.u32(CPU_DRC_BASE + core)],
      ['ibm,chip-id', v.u32(chip)],
      ['ibm,associativity', v.u32(5, 0, 0, chip, chip, core)],
      ['clock-frequency', shared.clockFrequency],
      ['timebase-frequency', shared.timebaseFrequency],
      ['d-cache-size', shared.l1Size],
      ['i-cache-size', shared.l1Size],
      ['cpu-version', shared.cpuVersion],
      ['ibm,pa-features', shared.paFeatures],
    ],
  };
  return { cpu, l2, l3 };
}

/**
 * The nodes firmware's configure-connector hands back for a core's connector: the cpu node, then its
 * l2 and l3 as siblings (PowerVM's order, docs/kernel-notes.md note 42), each reading as a boot core
 * does: own properties, the `l2-cache` link, `ibm,phandle`, `phandle`.
 */
export function coreNodes(
  profile: TreeProfile,
  core: number,
  threads: number,
  phandles: { readonly cpu: number; readonly l2: number; readonly l3: number },
): FdtNode[] {
  const spec = coreSpec(profile, sharedCpuValues(profile), core, threads);
  const node = (s: CoreNodeSpec, phandle: number, link: number | null): FdtNode => {
    const props: Property[] = [{ name: 'name', value: s.nameValue }];
    for (const [name, value] of s.props) props.push({ name, value });
    if (link !== null) props.push({ name: 'l2-cache', value: enc.u32(link) });
    const ph = enc.u32(phandle);
    props.push({ name: 'ibm,phandle', value: ph }, { name: 'phandle', value: ph });
    return { name: s.fullName, props, children: [] };
  };
  return [
    node(spec.cpu, phandles.cpu, phandles.l2),
    node(spec.l2, phandles.l2, phandles.l3),
    node(spec.l3, phandles.l3, null),
  ];
}
