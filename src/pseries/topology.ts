// The logical CPUs of the partition as device nodes see them (E10): drivers/base/cpu.c register_cpu
// gives each logical CPU's device an `of_node` with a reference on its core's node (holder
// `cpu:<n>`), dropped only when the CPU is unregistered, which nothing here does. The CPU numbering
// is the kernel's: logical CPU n is the n-th hardware thread in `ibm,ppc-interrupt-server#s` order,
// up to NR_CPUS.
//
// Memory: an LPAR has up to NR_CPUS of these, more than it has nodes in a small tree, so the devices
// are kept per core (the threads of a core are consecutive CPUs with one node and one link target)
// and /sys/devices/system/cpu serves its cpu<n> directories and their of_node links as virtual
// entries (KernfsVirtualEntries): the same listings and targets, without an object per CPU.

import {
  type KernfsDir,
  type KernfsLink,
  type KernfsNode,
  type KernfsVirtualEntries,
  kernfsAdd,
  kernfsMkdirP,
  kernfsNewDir,
  kernfsVirtualDir,
} from '../kernel/kernfs.ts';
import { inFrameSteps, ofFindProperty, ofNodeIsType, ofPeekNodeByPath } from '../of/base.ts';
import { completeSteps } from '../of/fdt.ts';
import type { DeviceNode } from '../of/node.ts';
import { ofNodePathPeek } from '../of/printk-of.ts';
import { u32Cells } from '../of/property.ts';
import { ofNodeGet } from '../of/refs.ts';
import type { OfState } from '../of/state.ts';

/** CONFIG_NR_CPUS of the distribution kernels (the Oops line prints it too). */
export const NR_CPUS = 2048;

/** One logical CPU's device, as CpuTopology.devices makes it on demand. */
export interface CpuDevice {
  readonly cpu: number;
  readonly node: DeviceNode;
  readonly holder: string;
}

/** CPUs registered (or /cpus children looked at) between the steps of a boot initcall. */
export const CPUS_PER_STEP = 64;

// Process-wide names for CPU numbers below NR_CPUS: every LPAR's holders and directories share them.
const CPU_HOLDERS: string[] = [];
const CPU_DIR_NAMES: string[] = [];

/** The holder name of CPU `cpu`'s device (its of_node reference). */
export function cpuHolder(cpu: number): string {
  if (cpu >= NR_CPUS) return `cpu:${cpu}`;
  CPU_HOLDERS[cpu] ??= `cpu:${cpu}`;
  return CPU_HOLDERS[cpu];
}

/** The sysfs directory name of CPU `cpu` (/sys/devices/system/cpu/cpu<n>). */
export function cpuDirName(cpu: number): string {
  if (cpu >= NR_CPUS) return `cpu${cpu}`;
  CPU_DIR_NAMES[cpu] ??= `cpu${cpu}`;
  return CPU_DIR_NAMES[cpu];
}

/** The CPU number a `cpu<n>` directory name gives, or -1. */
function cpuOfDirName(name: string): number {
  if (!name.startsWith('cpu') || name.length < 4 || name.length > 7) return -1;
  const digits = name.slice(3);
  if (digits !== String(Number.parseInt(digits, 10))) return -1; // no `cpu01`, `cpu+1`
  return Number.parseInt(digits, 10);
}

/** A string of one piece: a concatenation kept for the LPAR's life would keep its parts too. */
function flat(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/**
 * The registered CPU devices, per core: core i has CPUs ends[i-1] … ends[i]-1 (0 for i = 0), its node
 * (the device's of_node, referenced once per CPU) and the of_node link target as register_cpu made it.
 * It owns /sys/devices/system/cpu and its cpu<n> directories (virtual entries, made on demand; only
 * views read them, and a change would materialize them first).
 */
export class CpuTopology implements KernfsVirtualEntries {
  readonly nodes: DeviceNode[] = [];
  readonly targets: string[] = [];
  readonly ends: number[] = [];
  /** /sys/devices/system/cpu, whose entries this object serves. */
  readonly dir: KernfsDir;

  constructor(dir: KernfsDir) {
    this.dir = dir;
  }

  /** How many CPUs are registered. */
  get count(): number {
    return this.ends.at(-1) ?? 0;
  }

  /** The devices in CPU order, made on demand. */
  get devices(): CpuDevice[] {
    const out: CpuDevice[] = [];
    for (let cpu = 0; cpu < this.count; cpu++)
      out.push({ cpu, node: this.nodes[this.coreOf(cpu)]!, holder: cpuHolder(cpu) });
    return out;
  }

  /** register_cpu's record of one more CPU, on `node` (a new core unless it is the last CPU's node). */
  add(node: DeviceNode): number {
    const cpu = this.count;
    const last = this.nodes.length - 1;
    if (last >= 0 && this.nodes[last] === node) this.ends[last] = cpu + 1;
    else {
      this.nodes.push(node);
      this.targets.push(flat(`../../../../firmware/devicetree/base${ofNodePathPeek(node)}`));
      this.ends.push(cpu + 1);
    }
    return cpu;
  }

  /** The core index of CPU `cpu` (binary search over ends). */
  private coreOf(cpu: number): number {
    let lo = 0;
    let hi = this.ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ends[mid]! > cpu) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private cpuDir(cpu: number): KernfsDir {
    return kernfsVirtualDir(cpuDirName(cpu), this.dir, this);
  }

  private ofNodeLink(dir: KernfsDir, cpu: number): KernfsLink {
    const target = this.targets[this.coreOf(cpu)]!;
    return { kind: 'link', name: 'of_node', parent: dir, mode: 0o777, target };
  }

  /** The CPU a directory this object serves stands for (the cpu directory itself: -1). */
  private cpuOf(dir: KernfsDir): number {
    return dir === this.dir ? -1 : cpuOfDirName(dir.name);
  }

  virtualCount(dir: KernfsDir): number {
    return dir === this.dir ? this.count : 1;
  }

  virtualEntry(dir: KernfsDir, name: string): KernfsNode | undefined {
    const cpu = this.cpuOf(dir);
    if (cpu >= 0) return name === 'of_node' ? this.ofNodeLink(dir, cpu) : undefined;
    const n = cpuOfDirName(name);
    return n >= 0 && n < this.count ? this.cpuDir(n) : undefined;
  }

  virtualEntries(dir: KernfsDir): KernfsNode[] {
    const cpu = this.cpuOf(dir);
    if (cpu >= 0) return [this.ofNodeLink(dir, cpu)];
    const out: KernfsNode[] = [];
    for (let n = 0; n < this.count; n++) out.push(this.cpuDir(n));
    return out;
  }

  virtualAt(dir: KernfsDir, i: number): KernfsNode {
    return dir === this.dir ? this.cpuDir(i) : this.virtualEntries(dir)[i]!;
  }

  /** The cpu directories as entry objects from now on, each with its link (before any change). */
  materialize(dir: KernfsDir): void {
    if (dir !== this.dir) throw new Error('kernfs: a cpu<n> directory changes through its parent');
    const made: KernfsDir[] = [];
    for (let cpu = 0; cpu < this.count; cpu++) {
      const cpuDir = kernfsNewDir(cpuDirName(cpu));
      kernfsAdd(cpuDir, this.ofNodeLink(cpuDir, cpu));
      made.push(cpuDir);
    }
    dir.materialize(made);
  }
}

/**
 * The hardware threads of the attached cpu nodes, in tree order: what smp_setup_cpu_maps numbers
 * logical CPUs from. Read without references (this happens at early boot from the flat tree).
 */
export function logicalCpus(of: OfState): Array<{ cpu: number; node: DeviceNode }> {
  return completeSteps(logicalCpusSteps(of));
}

/**
 * logicalCpus in steps of CPUS_PER_STEP children of /cpus: an uploaded tree may give /cpus a quarter
 * of a million children, most of them no cpu.
 */
export function* logicalCpusSteps(
  of: OfState,
): Generator<void, Array<{ cpu: number; node: DeviceNode }>, undefined> {
  const cpus = ofPeekNodeByPath(of, '/cpus');
  const out: Array<{ cpu: number; node: DeviceNode }> = [];
  if (!cpus) return out;
  let seen = 0;
  for (let np = cpus.child; np && out.length < NR_CPUS; np = np.sibling) {
    if (++seen % CPUS_PER_STEP === 0) yield;
    if (!ofNodeIsType(np, 'cpu')) continue;
    const servers = ofFindProperty(np, 'ibm,ppc-interrupt-server#s');
    const threads = servers ? Math.max(1, u32Cells(servers.value).length) : 1;
    for (let t = 0; t < threads && out.length < NR_CPUS; t++) out.push({ cpu: out.length, node: np });
  }
  return out;
}

/** topology_init → register_cpu for every possible CPU: /sys/devices/system/cpu/cpu<n>/of_node. */
export function topologyInit(of: OfState): CpuTopology {
  return completeSteps(topologyInitSteps(of));
}

/** topologyInit in steps of CPUS_PER_STEP CPUs, each inside the topology_init frame. */
export function topologyInitSteps(of: OfState): Generator<void, CpuTopology, undefined> {
  return inFrameSteps(of, 'topology_init', registerCpusSteps(of));
}

function* registerCpusSteps(of: OfState): Generator<void, CpuTopology, undefined> {
  const base = kernfsMkdirP(of.sysfs, 'devices/system/cpu');
  const topology = new CpuTopology(base);
  base.setVirtual(topology);
  for (const { cpu, node } of yield* logicalCpusSteps(of)) {
    of.k.fn('register_cpu', () => {
      ofNodeGet(of, node, cpuHolder(cpu)); // of_get_cpu_node: the device keeps it
      topology.add(node);
    });
    if (topology.count % CPUS_PER_STEP === 0) yield;
  }
  return topology;
}
