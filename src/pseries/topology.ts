// The logical CPUs of the partition as device nodes see them (E10): drivers/base/cpu.c register_cpu
// gives each logical CPU's device an `of_node` with a reference on its core's node (holder
// `cpu:<n>`), dropped only when the CPU is unregistered, which nothing here does. The CPU numbering
// is the kernel's: logical CPU n is the n-th hardware thread in `ibm,ppc-interrupt-server#s` order,
// up to NR_CPUS.

import { type KernfsDir, kernfsAdd, kernfsMkdirP, kernfsNewDir } from '../kernel/kernfs.ts';
import { inFrameSteps, ofFindProperty, ofNodeIsType, ofPeekNodeByPath } from '../of/base.ts';
import { completeSteps } from '../of/fdt.ts';
import type { DeviceNode } from '../of/node.ts';
import { ofNodePathPeek } from '../of/printk-of.ts';
import { u32Cells } from '../of/property.ts';
import { ofNodeGet } from '../of/refs.ts';
import type { OfState } from '../of/state.ts';

/** CONFIG_NR_CPUS of the distribution kernels (the Oops line prints it too). */
export const NR_CPUS = 2048;

export interface CpuDevice {
  readonly cpu: number;
  readonly node: DeviceNode;
  readonly holder: string;
  readonly dir: KernfsDir;
}

export interface CpuTopology {
  readonly devices: CpuDevice[];
}

/** CPUs registered (or /cpus children looked at) between the steps of a boot initcall. */
export const CPUS_PER_STEP = 64;

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
  const devices: CpuDevice[] = [];
  for (const { cpu, node } of yield* logicalCpusSteps(of)) {
    of.k.fn('register_cpu', () => {
      const holder = `cpu:${cpu}`;
      ofNodeGet(of, node, holder); // of_get_cpu_node: the device keeps it
      const dir = kernfsNewDir(`cpu${cpu}`);
      kernfsAdd(dir, {
        kind: 'link',
        name: 'of_node',
        parent: null,
        mode: 0o777,
        target: `../../../../firmware/devicetree/base${ofNodePathPeek(node)}`,
      });
      kernfsAdd(base, dir);
      devices.push({ cpu, node, holder, dir });
    });
    if (devices.length % CPUS_PER_STEP === 0) yield;
  }
  return { devices };
}
