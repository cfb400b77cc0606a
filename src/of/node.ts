// struct device_node (K-NODE-1) and the states the simulator reports (K-NODE-5).

import type { KernfsDir, KernfsFile } from '../kernel/kernfs.ts';
import type { Refcount } from '../kernel/refcount.ts';
import type { SlabObject } from '../kernel/slab.ts';
import type { HolderTable } from './holders.ts';
import type { Property } from './property.ts';

// K-NODE-2
export const OF_DYNAMIC = 1 << 1;
export const OF_DETACHED = 1 << 2;
export const OF_POPULATED = 1 << 3;
export const OF_POPULATED_BUS = 1 << 4;
export const OF_OVERLAY = 1 << 5;

export const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [OF_DYNAMIC, 'OF_DYNAMIC'],
  [OF_DETACHED, 'OF_DETACHED'],
  [OF_POPULATED, 'OF_POPULATED'],
  [OF_POPULATED_BUS, 'OF_POPULATED_BUS'],
  [OF_OVERLAY, 'OF_OVERLAY'],
];

export function flagNames(flags: number): string[] {
  return FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
}

/**
 * A property as the node holds it: its name, its value and its sysfs file while it has one. The value
 * is kept as a place in a shared store (the LPAR's value arena, or its own buffer) and handed out as a
 * view on each read: a view object per property would cost more than most values.
 */
export class NodeProperty implements Property {
  readonly name: string;
  sysfs: KernfsFile | null = null;
  /** The buffer that holds the value; not enumerable, so that reflection (the digest) sees `value`. */
  declare private readonly store: Uint8Array;
  private readonly offset: number;
  readonly length: number;
  constructor(name: string, store: Uint8Array, offset = 0, length = store.length) {
    this.name = name;
    Object.defineProperty(this, 'store', { value: store, enumerable: false });
    this.offset = offset;
    this.length = length;
  }
  get value(): Uint8Array {
    const { store, offset, length } = this;
    return offset === 0 && length === store.length ? store : store.subarray(offset, offset + length);
  }
  /** For reflection and JSON: what the property is, not where it lives. */
  toJSON(): Property {
    return { name: this.name, value: this.value };
  }
}

export interface Kobject {
  readonly ref: Refcount;
  /** kobj.state_in_sysfs */
  inSysfs: boolean;
  /** The name safe_name gave it (K-SYSFS-2), kept after removal for reports. */
  sysfsName: string | null;
  dir: KernfsDir | null;
}

/** One reference operation, kept so the count can be re-derived from the ledger (invariants). */
export type RefOp = 1 | -1;

export interface DeviceNode extends SlabObject {
  name: string;
  type: string;
  fullName: string;
  phandle: number;
  properties: NodeProperty[];
  deadProperties: NodeProperty[];
  parent: DeviceNode | null;
  child: DeviceNode | null;
  sibling: DeviceNode | null;
  flags: number;
  readonly kobj: Kobject;
  /** K-REF-1: gets not yet matched by puts, per holder (the simulator's addition). */
  readonly holders: Map<string, number>;
  /** Puts by a holder with nothing outstanding on this node, per holder. */
  readonly unbalancedPuts: HolderTable;
  /**
   * The ledger's gets (+1) and puts (-1) since kref_init, in order: `base` is the count the oldest ones
   * give (folded in through the same refcount rules), `ops` the recent ones. Folding keeps a hot node's
   * ledger bounded without losing the check that the count moved only through gets and puts.
   */
  readonly refLedger: { base: Refcount; ops: RefOp[] };
  /** Set by the first attach; a node never attached and not freed is `orphaned`. */
  everAttached: boolean;
  /** Simulated time of allocation, for reports. */
  readonly allocatedUsec: number;
  /** Migrations this node has been detached-but-alive through (the leak report's `survived`). */
  migrationsSurvived: number;
}

export type NodeState = 'attached' | 'detached' | 'released' | 'freed' | 'orphaned';
export const NODE_STATES: readonly NodeState[] = ['attached', 'detached', 'released', 'freed', 'orphaned'];

// K-NODE-5, derived from the live fields so that no separately stored state can drift.
export function nodeState(np: DeviceNode): NodeState {
  if (np.freed) return 'freed';
  if (!np.everAttached) return 'orphaned';
  if ((np.flags & OF_DETACHED) === 0) return 'attached';
  if (np.kobj.ref.saturated || np.kobj.ref.count > 0) return 'detached';
  return 'released';
}
