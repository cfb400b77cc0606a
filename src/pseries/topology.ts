// The logical CPUs of the partition as device nodes see them (E10): drivers/base/cpu.c register_cpu
// gives each logical CPU's device an `of_node` with a reference on its core's node (holder
// `cpu:<n>`), dropped only when the CPU is unregistered, which nothing here does. The CPU numbering
// is the kernel's: logical CPU n is the n-th hardware thread in `ibm,ppc-interrupt-server#s` order,
// up to NR_CPUS.

import { type KernfsDir, kernfsAdd, kernfsMkdirP, kernfsNewDir } from '../kernel/kernfs.ts';
import { ofFindProperty, ofNodeIsType, ofPeekNodeByPath } from '../of/base.ts';
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

/**
 * The hardware threads of the attached cpu nodes, in tree order: what smp_setup_cpu_maps numbers
 * logical CPUs from. Read without references (this happens at early boot from the flat tree).
 */
export function logicalCpus(of: OfState): Array<{ cpu: number; node: DeviceNode }> {
  const cpus = ofPeekNodeByPath(of, '/cpus');
  const out: Array<{ cpu: number; node: DeviceNode }> = [];
  if (!cpus) return out;
  for (let np = cpus.child; np && out.length < NR_CPUS; np = np.sibling) {
    if (!ofNodeIsType(np, 'cpu')) continue;
    const servers = ofFindProperty(np, 'ibm,ppc-interrupt-server#s');
    const threads = servers ? Math.max(1, u32Cells(servers.value).length) : 1;
    for (let t = 0; t < threads && out.length < NR_CPUS; t++) out.push({ cpu: out.length, node: np });
  }
  return out;
}

/** topology_init → register_cpu for every possible CPU: /sys/devices/system/cpu/cpu<n>/of_node. */
export function topologyInit(of: OfState): CpuTopology {
  return of.k.fn('topology_init', () => {
    const base = kernfsMkdirP(of.sysfs, 'devices/system/cpu');
    const devices: CpuDevice[] = [];
    for (const { cpu, node } of logicalCpus(of)) {
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
    }
    return { devices };
  });
}
