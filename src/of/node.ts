// struct device_node (K-NODE-1) and the states the simulator reports (K-NODE-5).

import type { SlabObject } from '../kernel/slab.ts';
import type { HolderTable, RefLedger } from './holders.ts';
import { BootImage } from './image.ts';
import type { Kobject } from './kobj.ts';
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
 * A property as the node holds it: its name and its value. The value is kept as a place in a shared
 * store (the LPAR's value arena, its own buffer, or the boot image) and handed out as a view on each
 * read: a view object per property would cost more than most values. Boot properties are made on
 * demand from the image (PropertyList), so two reads may give two equal objects.
 */
export class NodeProperty implements Property {
  readonly name: string;
  private readonly store: Uint8Array | BootImage;
  /** Into `store`; for an image, the property's index there. */
  private readonly offset: number;
  readonly length: number;
  constructor(name: string, store: Uint8Array | BootImage, offset = 0, length = -1) {
    this.name = name;
    this.store = store;
    this.offset = offset;
    this.length =
      store instanceof BootImage ? store.valueLengthOf(offset) : length < 0 ? store.length : length;
  }
  get value(): Uint8Array {
    const { store, offset, length } = this;
    if (store instanceof BootImage) return store.value(offset);
    return offset === 0 && length === store.length ? store : store.subarray(offset, offset + length);
  }
  /** For reflection and JSON: what the property is, not where it lives. */
  toJSON(): Property {
    return { name: this.name, value: this.value };
  }
}

/**
 * A node's property list (struct property *properties). Boot properties stay in the boot image until
 * the list first changes; then the list becomes an array of its own (copy-on-write). Nothing outside
 * this class can tell the two apart except by memory.
 */
export class PropertyList implements Iterable<NodeProperty> {
  /** The boot image (the node's properties are its node `node`'s), or, once copied, the list's own. */
  private store: BootImage | NodeProperty[];
  /** The node in the image (its first property and count are the image's, not fields of each list). */
  private readonly node: number;
  /** Told before the boot properties are first copied (the node's kobject, for its sysfs files). */
  watcher: { bootPropertiesCopied(props: readonly NodeProperty[]): void } | null = null;

  private constructor(store: BootImage | NodeProperty[], node: number) {
    this.store = store;
    this.node = node;
  }

  private get first(): number {
    return this.image.first(this.node);
  }

  private get count(): number {
    return this.image.count(this.node);
  }

  private get own(): NodeProperty[] | null {
    return Array.isArray(this.store) ? this.store : null;
  }

  private get image(): BootImage {
    return this.store as BootImage;
  }

  static fromImage(image: BootImage, node: number): PropertyList {
    return new PropertyList(image, node);
  }

  static fromArray(props: NodeProperty[]): PropertyList {
    return new PropertyList(props, -1);
  }

  /** Still the boot image's, unchanged since boot. */
  get fromBoot(): boolean {
    return this.own === null;
  }

  /** The node's place in the boot image while the list is still the image's; -1 once it is its own. */
  get imageNode(): number {
    return this.own === null ? this.node : -1;
  }

  get length(): number {
    return this.own ? this.own.length : this.count;
  }

  /** Property i (from the end when negative, as Array.prototype.at). */
  at(i: number): NodeProperty {
    if (i < 0) i += this.length;
    if (this.own) return this.own[i]!;
    const k = this.first + i;
    return new NodeProperty(this.image.name(k), this.image, k);
  }

  /** The first property called `name`, as of_find_property walks the list; -1 when there is none. */
  indexOf(name: string): number {
    if (this.own) return this.own.findIndex((p) => p.name === name);
    const image = this.image;
    const first = this.first;
    const count = this.count;
    for (let i = 0; i < count; i++) if (image.name(first + i) === name) return i;
    return -1;
  }

  find(name: string): NodeProperty | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.at(i);
  }

  *[Symbol.iterator](): IterableIterator<NodeProperty> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }

  map<T>(fn: (p: NodeProperty, i: number) => T): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.length; i++) out.push(fn(this.at(i), i));
    return out;
  }

  /** The list as objects of its own from now on (the copy of copy-on-write), in order. */
  objects(): readonly NodeProperty[] {
    const own = this.own ?? this.map((p) => p);
    if (this.store !== own) {
      this.watcher?.bootPropertiesCopied(own);
      this.store = own;
    }
    return own;
  }

  push(pp: NodeProperty): void {
    this.objects();
    this.own!.push(pp);
  }

  removeAt(i: number): NodeProperty {
    this.objects();
    return this.own!.splice(i, 1)[0]!;
  }

  replaceAt(i: number, pp: NodeProperty): NodeProperty {
    this.objects();
    const old = this.own![i]!;
    this.own![i] = pp;
    return old;
  }
}

export interface DeviceNode extends SlabObject {
  name: string;
  type: string;
  fullName: string;
  phandle: number;
  readonly properties: PropertyList;
  /** Removed and replaced properties, newest first (K-PROP-3); a shared empty array until the first. */
  deadProperties: readonly NodeProperty[];
  parent: DeviceNode | null;
  child: DeviceNode | null;
  sibling: DeviceNode | null;
  flags: number;
  readonly kobj: Kobject;
  /** K-REF-1: gets not yet matched by puts, per holder (the simulator's addition). */
  readonly holders: HolderTable;
  /** Puts by a holder with nothing outstanding on this node, per holder (NO_HOLDERS until the first). */
  unbalancedPuts: HolderTable;
  /** The gets and puts since kref_init (holders.ts). */
  readonly refLedger: RefLedger;
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
