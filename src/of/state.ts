// The drivers/of globals of one LPAR (of_root, of_kset, the phandle cache, the reconfig notifier chain)
// plus the simulator's registry of every node ever allocated, by address.

import type { Kernel } from '../kernel/kernel.ts';
import { type KernfsDir, kernfsMkdirP, kernfsNewDir } from '../kernel/kernfs.ts';
import type { ChildIndex } from './base.ts';
import type { DeviceNode, NodeProperty } from './node.ts';
import { NodeTable } from './node-table.ts';
import { createPhandleCache, type PhandleCache } from './phandle-cache.ts';
import { PhandleIndex } from './phandle-index.ts';

export type ReconfigAction =
  | 'ATTACH_NODE'
  | 'DETACH_NODE'
  | 'ADD_PROPERTY'
  | 'REMOVE_PROPERTY'
  | 'UPDATE_PROPERTY';

export interface ReconfigData {
  readonly dn: DeviceNode;
  readonly prop?: NodeProperty;
  readonly oldProp?: NodeProperty;
}

export interface ReconfigListener {
  readonly name: string;
  readonly notify: (action: ReconfigAction, rd: ReconfigData) => void;
}

export interface OfState {
  readonly k: Kernel;
  root: DeviceNode | null;
  /** Every node ever allocated in this LPAR, by address (addresses are never reused). */
  readonly nodes: NodeTable;
  /**
   * Nodes that are not attached (never attached, detached, released or freed), kept as they change so
   * that leak reports cost the leaks, not the tree.
   */
  readonly unattached: Set<DeviceNode>;
  /** `/sys` */
  readonly sysfs: KernfsDir;
  /** `/sys/firmware/devicetree`: of_kset, where `base` lives. */
  readonly kset: KernfsDir;
  readonly cache: PhandleCache;
  /**
   * Every node that has carried each phandle (the simulator's index, not a kernel structure): lets the
   * all-nodes walk of a cache miss be answered without visiting the whole tree (see walkFor).
   */
  readonly phandleIndex: PhandleIndex;
  /** Child indexes of parents with many children (see childByComponent in base.ts). */
  readonly childIndex: Map<DeviceNode, ChildIndex>;
  /** Where small property values live (see valueInArena in dynamic.ts). */
  readonly valueArena: { buf: Uint8Array; used: number };
  /** K-NOTIFY: listeners in registration order. */
  readonly reconfigChain: ReconfigListener[];
  /** Node names and types, one string each (see namesFromProperties in dynamic.ts). */
  readonly names: Map<string, string>;
}

export function ofStateInit(k: Kernel): OfState {
  const sysfs = kernfsNewDir('');
  return {
    k,
    root: null,
    nodes: new NodeTable(),
    unattached: new Set(),
    sysfs,
    kset: kernfsMkdirP(sysfs, 'firmware/devicetree'),
    cache: createPhandleCache(k.profile.phandleCache),
    phandleIndex: new PhandleIndex(),
    childIndex: new Map(),
    valueArena: { buf: new Uint8Array(0), used: 0 },
    reconfigChain: [],
    names: new Map(),
  };
}

// K-NOTIFY
export function ofReconfigNotify(of: OfState, action: ReconfigAction, rd: ReconfigData): void {
  of.k.emit({ type: 'reconfig', action, address: rd.dn.address, property: rd.prop?.name ?? null });
  for (const listener of of.reconfigChain) listener.notify(action, rd);
}

export function ofReconfigNotifierRegister(of: OfState, listener: ReconfigListener): void {
  of.reconfigChain.push(listener);
}
