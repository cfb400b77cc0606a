// arch/powerpc/platforms/pseries/hotplug-cpu.c as /sys/kernel/dlpar drives it (K-DLPAR-4): a cpu add
// acquires the connector, builds the core from configure-connector and attaches it; the SMP notifier
// (pseries_smp_notifier) marks its threads present, and dlpar_online_cpu brings them online, which
// brings up each CPU's cacheinfo chain. A remove runs the same steps backwards. What differs between
// releases is in the profile's `dlpar` facts; the messages are the release's (pr_fmt
// "pseries-hotplug-cpu: ").

import { ERRNO } from '../kernel/errno.ts';
import type { KernelProfile } from '../kernel/profiles.ts';
import { ofFindAllNodesNext, ofFindProperty, ofNodeIsType, ofPeekNodeByPath } from '../of/base.ts';
import { ofChangesetAction, ofChangesetApply, ofChangesetDestroy, ofChangesetInit } from '../of/changeset.ts';
import type { DeviceNode } from '../of/node.ts';
import { ofParsePhandle } from '../of/phandle-cache.ts';
import { ofNodeFullName } from '../of/printk-of.ts';
import { readU32, u32Cells } from '../of/property.ts';
import { ofNodeGet, ofNodePut } from '../of/refs.ts';
import { type OfState, ofReconfigNotifierRegister } from '../of/state.ts';
import { type CacheInfo, cacheinfoCpuOffline, cacheinfoCpuOnline } from './cacheinfo.ts';
import {
  dlparAcquireDrc,
  dlparAttachNode,
  dlparConfigureConnector,
  dlparDetachNode,
  dlparFreeCcNodes,
  dlparReleaseDrc,
  dlparUnisolateDrc,
} from './dlpar.ts';
import type { HotplugRtas } from './rtas.ts';
import { logicalCpus, NR_CPUS } from './topology.ts';

const PR = 'pseries-hotplug-cpu: ';

/** The kernel's CPU masks as hotplug sees them: possible, present (with hard ids) and online. */
export interface CpuMaps {
  readonly possible: number;
  /** Hard (interrupt server) id of each present logical CPU; -1 where none is present. */
  readonly hardIds: Int32Array;
  readonly online: Uint8Array;
  /** The cpu node each online CPU's cacheinfo chain was built from. */
  readonly nodes: Array<DeviceNode | null>;
}

function intserv(np: DeviceNode): number[] | null {
  const p = ofFindProperty(np, 'ibm,ppc-interrupt-server#s');
  return p ? u32Cells(p.value) : null;
}

/**
 * The maps at the first DLPAR request, as boot left them: smp_setup_cpu_maps makes possible the
 * CPUs /rtas `ibm,lrdr-capacity` allows (its processor cell times the boot core's threads), else only
 * the ones present; every present CPU is online. Registers pseries_smp_notifier.
 */
export function cpuMapsInit(of: OfState): CpuMaps {
  const present = logicalCpus(of);
  let possible = present.length;
  const rtas = ofPeekNodeByPath(of, '/rtas');
  const lrdr = rtas ? ofFindProperty(rtas, 'ibm,lrdr-capacity') : undefined;
  const threads = present[0] ? (intserv(present[0].node)?.length ?? 1) : 1;
  if (lrdr && lrdr.value.length >= 20) possible = Math.min(NR_CPUS, readU32(lrdr.value, 4)! * threads);
  possible = Math.max(possible, present.length);
  const maps: CpuMaps = {
    possible,
    hardIds: new Int32Array(possible).fill(-1),
    online: new Uint8Array(possible),
    nodes: new Array(possible).fill(null),
  };
  for (const { cpu, node } of present) {
    maps.hardIds[cpu] = intserv(node)?.[cpu - firstCpuOf(present, node)] ?? cpu;
    maps.online[cpu] = 1;
    maps.nodes[cpu] = node;
  }
  ofReconfigNotifierRegister(of, {
    name: 'pseries_smp_notifier',
    notify: (action, rd) => {
      if (action === 'ATTACH_NODE') pseriesAddProcessor(of, maps, rd.dn);
      else if (action === 'DETACH_NODE') pseriesRemoveProcessor(of, maps, rd.dn);
    },
  });
  return maps;
}

function firstCpuOf(list: ReadonlyArray<{ cpu: number; node: DeviceNode }>, node: DeviceNode): number {
  return list.find((c) => c.node === node)!.cpu;
}

function presentCpuOf(maps: CpuMaps, thread: number): number {
  for (let cpu = 0; cpu < maps.possible; cpu++) if (maps.hardIds[cpu] === thread) return cpu;
  return -1;
}

/** pseries_add_processor: the first nthreads-aligned run of possible, not present CPUs. */
function pseriesAddProcessor(of: OfState, maps: CpuMaps, np: DeviceNode): number {
  return of.k.fn('pseries_add_processor', () => {
    const servers = intserv(np);
    if (!servers) return 0;
    const n = servers.length;
    let free = 0;
    for (let cpu = 0; cpu < maps.possible; cpu++) if (maps.hardIds[cpu] === -1) free++;
    let start = -1;
    if (free > 0)
      for (let s = 0; s + n <= maps.possible && start < 0; s += n) {
        let ok = true;
        for (let i = s; i < s + n; i++) if (maps.hardIds[i] !== -1) ok = false;
        if (ok) start = s;
      }
    if (start < 0) {
      // 5.16 reworded the search (find_cpu_id_range) and kept only the first message.
      // 5.16's pr_err carries the file's prefix; the printk before it did not.
      const prefix = of.k.profile.dlpar.drmemFollowsUpdates ? PR : '';
      if (free === 0 || of.k.profile.dlpar.drmemFollowsUpdates)
        of.k.printk(
          'err',
          `${prefix}Cannot add cpu ${ofNodeFullName(of, np)}; this system configuration supports ${maps.possible} logical cpus.`,
        );
      else
        of.k.printk(
          'err',
          `Unable to find space in cpu_present_mask for processor ${np.name} with ${n} thread(s)`,
        );
      return -ERRNO.ENOSPC;
    }
    for (let i = 0; i < n; i++) maps.hardIds[start + i] = servers[i]!;
    return 0;
  });
}

/** pseries_remove_processor: the CPUs of the node's threads stop being present. */
function pseriesRemoveProcessor(of: OfState, maps: CpuMaps, np: DeviceNode): void {
  of.k.fn('pseries_remove_processor', () => {
    for (const thread of intserv(np) ?? []) {
      const cpu = presentCpuOf(maps, thread);
      if (cpu < 0) {
        of.k.printk('warn', `Could not find cpu to remove with physical id 0x${thread.toString(16)}`);
        continue;
      }
      maps.hardIds[cpu] = -1;
      maps.nodes[cpu] = null;
    }
  });
}

/** What a cpu request works with. */
export interface CpuHotplugContext {
  readonly of: OfState;
  readonly maps: CpuMaps;
  readonly rtas: HotplugRtas;
  readonly cacheinfo: CacheInfo;
}

function onlineCount(maps: CpuMaps): number {
  let n = 0;
  for (let cpu = 0; cpu < maps.possible; cpu++) n += maps.online[cpu]!;
  return n;
}

/** dlpar_online_cpu: device_online for each thread's CPU (cacheinfo_cpu_online with it). */
function dlparOnlineCpu(c: CpuHotplugContext, dn: DeviceNode): number {
  const { of, maps } = c;
  return of.k.fn('dlpar_online_cpu', () => {
    const servers = intserv(dn);
    if (!servers) return -ERRNO.EINVAL;
    for (const thread of servers) {
      const cpu = presentCpuOf(maps, thread);
      if (cpu < 0) {
        of.k.printk('warn', `Could not find cpu to online with physical id 0x${thread.toString(16)}`);
        continue;
      }
      if (maps.online[cpu]) continue;
      of.k.fn('device_online', () => {
        maps.online[cpu] = 1;
        maps.nodes[cpu] = dn;
        cacheinfoCpuOnline(of, c.cacheinfo, cpu, dn);
      });
    }
    return 0;
  });
}

/** dlpar_offline_cpu: device_offline for each online thread; cpu_down refuses the last online CPU. */
function dlparOfflineCpu(c: CpuHotplugContext, dn: DeviceNode): number {
  const { of, maps } = c;
  return of.k.fn('dlpar_offline_cpu', () => {
    const servers = intserv(dn);
    if (!servers) return -ERRNO.EINVAL;
    for (const thread of servers) {
      const cpu = presentCpuOf(maps, thread);
      if (cpu < 0) {
        of.k.printk('warn', `${PR}Could not find cpu to offline with physical id 0x${thread.toString(16)}`);
        continue;
      }
      if (!maps.online[cpu]) break;
      if (onlineCount(maps) === 1) {
        if (of.k.profile.dlpar.cpuRemoveLastCheck)
          of.k.printk('warn', `${PR}Unable to remove last online CPU ${dn.name}`);
        return -ERRNO.EBUSY;
      }
      of.k.fn('device_offline', () => {
        cacheinfoCpuOffline(of, c.cacheinfo, cpu);
        maps.online[cpu] = 0;
      });
    }
    return 0;
  });
}

function drcOf(np: DeviceNode): number | null {
  const p = ofFindProperty(np, 'ibm,my-drc-index');
  return p && p.value.length >= 4 ? readU32(p.value)! : null;
}

function cpuExists(parent: DeviceNode, drc: number): boolean {
  for (let np = parent.child; np; np = np.sibling) if (drcOf(np) === drc) return true;
  return false;
}

/** The connectors `ibm,drc-indexes` of /cpus lists; 4.16 to 5.0 read its count cell as one too. */
function cpuDrcList(profile: KernelProfile, parent: DeviceNode): number[] {
  const p = ofFindProperty(parent, 'ibm,drc-indexes');
  if (!p) return [];
  const cells = u32Cells(p.value);
  return profile.dlpar.cpuDrcListSkipsCount ? cells.slice(1) : cells;
}

const hex = (n: number) => (n >>> 0).toString(16);

/**
 * 6.1+ pseries_cpuhp_attach_nodes: the new cpu node and every sibling configure-connector gave it (its
 * caches) in one changeset. Before, dlpar_attach_node attaches the cpu node alone and the siblings are
 * never attached.
 */
function attachCore(c: CpuHotplugContext, dn: DeviceNode, parent: DeviceNode): number {
  const { of } = c;
  if (!of.k.profile.dlpar.cpuCacheNodes) return dlparAttachNode(of, dn, parent);
  return of.k.fn('pseries_cpuhp_attach_nodes', () => {
    const cs = ofChangesetInit();
    for (let np: DeviceNode | null = dn; np; np = np.sibling)
      ofChangesetAction(of, cs, 'ATTACH_NODE', np, null);
    const rc = ofChangesetApply(of, cs);
    ofChangesetDestroy(of, cs, () => false);
    return rc;
  });
}

/** pseries_cpuhp_cache_use_count: cpu and cache nodes whose next cache is `cache`. */
function cacheUseCount(of: OfState, cache: DeviceNode): number {
  let n = 0;
  for (let np = ofFindAllNodesNext(of, null); np; np = ofFindAllNodesNext(of, np)) {
    if (!ofNodeIsType(np, 'cpu') && !ofNodeIsType(np, 'cache')) continue;
    if (!ofFindProperty(np, 'l2-cache')) continue;
    const next = ofParsePhandle(of, np, 'l2-cache', 'pseries_cpuhp_cache_use_count');
    ofNodePut(of, next, 'pseries_cpuhp_cache_use_count');
    if (next === cache) n++;
  }
  return n;
}

/** 6.1+ pseries_cpuhp_detach_nodes: the cpu node and each cache only it uses, in one changeset. */
function detachCore(c: CpuHotplugContext, dn: DeviceNode): number {
  const { of } = c;
  if (!of.k.profile.dlpar.cpuCacheNodes) return dlparDetachNode(of, dn);
  return of.k.fn('pseries_cpuhp_detach_nodes', () => {
    const cs = ofChangesetInit();
    const holder = 'pseries_cpuhp_detach_nodes';
    ofChangesetAction(of, cs, 'DETACH_NODE', dn, null);
    let np: DeviceNode | null = dn;
    for (let guard = 0; guard < 8 && np; guard++) {
      const next: DeviceNode | null = ofFindProperty(np, 'l2-cache')
        ? ofParsePhandle(of, np, 'l2-cache', holder)
        : null;
      if (!next) break;
      if (cacheUseCount(of, next) > 1) {
        ofNodePut(of, next, holder);
        break;
      }
      ofChangesetAction(of, cs, 'DETACH_NODE', next, null);
      ofNodePut(of, next, holder);
      np = next;
    }
    const rc = ofChangesetApply(of, cs);
    ofChangesetDestroy(of, cs, () => false);
    return rc;
  });
}

/** dlpar_cpu_add */
export function dlparCpuAdd(c: CpuHotplugContext, drc: number): number {
  const { of } = c;
  return of.k.fn('dlpar_cpu_add', () => {
    of.k.prDebug(() => `${PR}Attempting to add CPU, drc index: ${hex(drc)}`);
    const holder = 'dlpar_cpu_add';
    const parent = ofNodeGet(of, ofPeekNodeByPath(of, '/cpus'), holder);
    if (!parent) {
      of.k.printk('warn', `${PR}Failed to find CPU root node "/cpus"`);
      return -ERRNO.ENODEV;
    }
    const fail = (text: string, rc = -ERRNO.EINVAL) => {
      ofNodePut(of, parent, holder);
      of.k.printk('warn', `${PR}${text}`);
      return rc;
    };
    if (cpuExists(parent, drc)) return fail(`CPU with drc index ${hex(drc)} already exists`);
    if (!cpuDrcList(of.k.profile, parent).includes(drc))
      return fail(`Cannot find CPU (drc index ${hex(drc)}) to add.`);
    let rc = dlparAcquireDrc(of, c.rtas, drc);
    if (rc) return fail(`Failed to acquire DRC, rc: ${rc}, drc index: ${hex(drc)}`);
    const dn = dlparConfigureConnector(of, c.rtas, drc, parent);
    if (!dn) {
      dlparReleaseDrc(of, c.rtas, drc);
      return fail(`Failed call to configure-connector, drc index: ${hex(drc)}`);
    }
    rc = attachCore(c, dn, parent);
    ofNodePut(of, parent, holder);
    if (rc) {
      of.k.printk('warn', `${PR}Failed to attach node ${dn.name}, rc: ${rc}, drc index: ${hex(drc)}`);
      if (!dlparReleaseDrc(of, c.rtas, drc)) dlparFreeCcNodes(of, dn);
      return rc;
    }
    rc = dlparOnlineCpu(c, dn);
    if (rc) {
      of.k.printk('warn', `${PR}Failed to online cpu ${dn.name}, rc: ${rc}, drc index: ${hex(drc)}`);
      if (!detachCore(c, dn)) dlparReleaseDrc(of, c.rtas, drc);
      return rc;
    }
    of.k.prDebug(() => `${PR}Successfully added CPU ${dn.name}, drc index: ${hex(drc)}`);
    return 0;
  });
}

/** dlpar_cpu_remove */
function dlparCpuRemove(c: CpuHotplugContext, dn: DeviceNode, drc: number): number {
  const { of } = c;
  return of.k.fn('dlpar_cpu_remove', () => {
    of.k.prDebug(() => `${PR}Attempting to remove CPU ${dn.name}, drc index: ${hex(drc)}`);
    let rc = dlparOfflineCpu(c, dn);
    if (rc) {
      of.k.printk('warn', `${PR}Failed to offline CPU ${dn.name}, rc: ${rc}`);
      return -ERRNO.EINVAL;
    }
    rc = dlparReleaseDrc(of, c.rtas, drc);
    if (rc) {
      of.k.printk('warn', `${PR}Failed to release drc (${hex(drc)}) for CPU ${dn.name}, rc: ${rc}`);
      dlparOnlineCpu(c, dn);
      return rc;
    }
    rc = detachCore(c, dn);
    if (rc) {
      of.k.printk('warn', `${PR}Failed to detach CPU ${dn.name}, rc: ${rc}`);
      if (!dlparAcquireDrc(of, c.rtas, drc)) dlparOnlineCpu(c, dn);
      return rc;
    }
    of.k.prDebug(() => `${PR}Successfully removed CPU, drc index: ${hex(drc)}`);
    return 0;
  });
}

/** for_each_node_by_type(dn, "cpu") in tree order (allnodes), attached nodes only. */
function cpuNodes(of: OfState): DeviceNode[] {
  const out: DeviceNode[] = [];
  for (let np = ofFindAllNodesNext(of, null); np; np = ofFindAllNodesNext(of, np))
    if (ofNodeIsType(np, 'cpu')) out.push(np);
  return out;
}

/** dlpar_cpu_remove_by_index: the cpu node with that connector (cpu_drc_index_to_dn's reference). */
export function dlparCpuRemoveByIndex(c: CpuHotplugContext, drc: number): number {
  const { of } = c;
  return of.k.fn('dlpar_cpu_remove_by_index', () => {
    const holder = 'cpu_drc_index_to_dn';
    const dn = ofNodeGet(of, cpuNodes(of).find((np) => drcOf(np) === drc) ?? null, holder);
    if (!dn) {
      of.k.printk('warn', `${PR}Cannot find CPU (drc index ${hex(drc)}) to remove`);
      return -ERRNO.ENODEV;
    }
    const rc = dlparCpuRemove(c, dn, drc);
    ofNodePut(of, dn, holder);
    return rc;
  });
}

function dlparCpuRemoveByCount(c: CpuHotplugContext, count: number): number {
  const { of } = c;
  return of.k.fn('dlpar_cpu_remove_by_count', () => {
    of.k.prDebug(() => `${PR}Attempting to hot-remove ${count} CPUs`);
    // find_dlpar_cpus_to_remove: count + 1 cpu nodes, so that the last one stays.
    const nodes = cpuNodes(of);
    const found = Math.min(nodes.length, count + 1);
    const drcs = nodes.slice(0, count).map((np) => drcOf(np) ?? 0);
    if (found < count)
      of.k.printk('warn', `${PR}Failed to find enough CPUs (${found} of ${count}) to remove`);
    else if (found === count) of.k.printk('warn', `${PR}Cannot remove all CPUs`);
    if (found <= count) return -ERRNO.EINVAL;
    let removed = 0;
    for (const drc of drcs) {
      if (dlparCpuRemoveByIndex(c, drc)) break;
      removed++;
    }
    if (removed === count) return 0;
    of.k.printk('warn', `${PR}CPU hot-remove failed, adding back removed CPUs`);
    for (let i = 0; i < removed; i++) dlparCpuAdd(c, drcs[i]!);
    return -ERRNO.EINVAL;
  });
}

function dlparCpuAddByCount(c: CpuHotplugContext, count: number): number {
  const { of } = c;
  return of.k.fn('dlpar_cpu_add_by_count', () => {
    of.k.prDebug(() => `${PR}Attempting to hot-add ${count} CPUs`);
    const parent = ofPeekNodeByPath(of, '/cpus');
    if (!parent) {
      of.k.printk('warn', `${PR}Could not find CPU root node in device tree`);
      return -1;
    }
    // find_drc_index_cpus_to_add
    const drcs: number[] = [];
    for (const drc of cpuDrcList(of.k.profile, parent)) {
      if (drcs.length >= count) break;
      if (!cpuExists(parent, drc)) drcs.push(drc);
    }
    if (drcs.length < count) {
      of.k.printk('warn', `${PR}Failed to find enough CPUs (${drcs.length} of ${count}) to add`);
      return -ERRNO.EINVAL;
    }
    let added = 0;
    for (const drc of drcs) {
      if (dlparCpuAdd(c, drc)) break;
      added++;
    }
    if (added === count) return 0;
    of.k.printk('warn', `${PR}CPU hot-add failed, removing any added CPUs`);
    for (let i = 0; i < added; i++) dlparCpuRemoveByIndex(c, drcs[i]!);
    return -ERRNO.EINVAL;
  });
}

export type HpAction = 'add' | 'remove';
export type HpIdType = 'count' | 'index' | 'indexed-count';

/** dlpar_cpu: by count or by index; indexed-count is not a cpu request. */
export function dlparCpu(c: CpuHotplugContext, action: HpAction, idType: HpIdType, value: number): number {
  const { of } = c;
  return of.k.fn('dlpar_cpu', () => {
    if (action === 'remove') {
      if (idType === 'count') return dlparCpuRemoveByCount(c, value);
      if (idType === 'index') {
        const rc = dlparCpuRemoveByIndex(c, value);
        // 5.14+: unisolating a configured connector is a no-op the hypervisor reads as a failed removal.
        if (rc && of.k.profile.dlpar.cpuRemoveLastCheck) dlparUnisolateDrc(of, c.rtas, value);
        return rc;
      }
      return -ERRNO.EINVAL;
    }
    if (idType === 'count') return dlparCpuAddByCount(c, value);
    if (idType === 'index') return dlparCpuAdd(c, value);
    return -ERRNO.EINVAL;
  });
}
