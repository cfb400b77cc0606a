// Attach, detach and property changes on the live tree (drivers/of/dynamic.c): K-ATTACH, K-DETACH,
// K-PROP, with sysfs (kobj.ts) and notifications (K-NOTIFY) in the kernel's order.

import type { FreeRecord } from '../kernel/slab.ts';
import { childIndexLinked, ofFindProperty } from './base.ts';
import { HolderTable, NO_HOLDERS, RefLedger } from './holders.ts';
import {
  Kobject,
  ofAddPropertySysfs,
  ofAttachNodeSysfs,
  ofDetachNodeSysfs,
  ofRemovePropertySysfs,
  ofUpdatePropertySysfs,
} from './kobj.ts';
import { type DeviceNode, NodeProperty, OF_DETACHED, OF_OVERLAY, PropertyList } from './node.ts';
import { ofPhandleCacheInvEntry } from './phandle-cache.ts';
import { cString, type Property, readU32 } from './property.ts';
import { INITIAL_HOLDER } from './refs.ts';
import { type OfState, ofReconfigNotify } from './state.ts';

/** Values up to this size are copied into the LPAR's value arena; larger ones keep their own buffer. */
const ARENA_MAX_VALUE = 4096;
/** Arena chunks start small (a 45-node LPAR needs a few KiB) and double up to the largest. */
const ARENA_FIRST_CHUNK = 4 * 1024;
const ARENA_MAX_CHUNK = 256 * 1024;

/**
 * A property value as a view into the LPAR's value arena: one buffer for thousands of small values
 * instead of an ArrayBuffer each (the simulator's memory layout; values are never written in place).
 */
export function propertyInArena(of: OfState, name: string, value: Uint8Array): NodeProperty {
  if (value.length === 0 || value.length > ARENA_MAX_VALUE) return new NodeProperty(name, value);
  const arena = of.valueArena;
  if (arena.used + value.length > arena.buf.length) {
    arena.buf = new Uint8Array(Math.min(ARENA_MAX_CHUNK, Math.max(ARENA_FIRST_CHUNK, arena.buf.length * 2)));
    arena.used = 0;
  }
  arena.buf.set(value, arena.used);
  const pp = new NodeProperty(name, arena.buf, arena.used, value.length);
  arena.used += value.length;
  return pp;
}

/** What a node has before its first removed property. */
const NO_DEAD_PROPERTIES: readonly NodeProperty[] = Object.freeze([]);

/** The one place a struct device_node is made, so that every node has the same shape. */
function newDeviceNode(
  address: string,
  fullName: string,
  properties: PropertyList,
  flags: number,
  allocatedUsec: number,
): DeviceNode {
  const holders = new HolderTable();
  holders.set(INITIAL_HOLDER, 1);
  return {
    address,
    freed: null as FreeRecord | null,
    name: '<NULL>',
    type: '<NULL>',
    fullName,
    phandle: 0,
    properties,
    deadProperties: NO_DEAD_PROPERTIES,
    parent: null,
    child: null,
    sibling: null,
    flags,
    kobj: new Kobject(properties),
    holders,
    unbalancedPuts: NO_HOLDERS,
    refLedger: new RefLedger(),
    everAttached: false,
    allocatedUsec,
    migrationsSurvived: 0,
  };
}

// Memory, not behaviour: a phandle is a u32, and the ones at or above 2^31 (cache nodes have them)
// are no small integer to V8, which would then box the phandle of every node in a number object of
// its own (16 bytes a node). A field that has once held a non-number is kept as a plain reference
// instead, where small integers need no box: this throwaway node, made by the same code as every
// other, is that once.
(newDeviceNode('', '', PropertyList.fromArray([]), 0, 0) as { phandle: unknown }).phandle = null;

/**
 * Allocates a node with the initial reference (kref_init, holder `of_node_init`). Not attached. Its
 * properties are copied into the LPAR's value arena, or, for a boot node, read from the boot image.
 */
export function ofNodeAlloc(
  of: OfState,
  fullName: string,
  props: readonly Property[] | PropertyList,
  flags: number,
): DeviceNode {
  const properties =
    props instanceof PropertyList
      ? props
      : PropertyList.fromArray(props.map((p) => propertyInArena(of, p.name, p.value)));
  const np = newDeviceNode(of.k.slab.allocAddress(), fullName, properties, flags, of.k.clock.usec);
  of.nodes.add(np);
  of.unattached.add(np);
  of.k.emit({ type: 'node.allocated', address: np.address, fullName });
  return np;
}

/** Sets the node's phandle and keeps the simulator's phandle index in step. */
export function ofNodeSetPhandle(of: OfState, np: DeviceNode, handle: number): void {
  if (np.phandle === handle) return;
  if (np.phandle) of.phandleIndex.remove(np.phandle, np);
  np.phandle = handle;
  if (handle) of.phandleIndex.add(handle, np);
}

function phandleFrom(np: DeviceNode): number {
  // K-ATTACH-1: phandle, else linux,phandle, else ibm,phandle; fewer than 4 bytes means 0.
  const pp =
    ofFindProperty(np, 'phandle') ?? ofFindProperty(np, 'linux,phandle') ?? ofFindProperty(np, 'ibm,phandle');
  return pp && pp.value.length >= 4 ? readU32(pp.value)! : 0;
}

/** Names and types repeat across a tree (`cpu`, `l2-cache`): one string each per LPAR, up to a bound. */
const INTERNED_NAMES_MAX = 4096;

function interned(of: OfState, s: string): string {
  const seen = of.names.get(s);
  if (seen !== undefined) return seen;
  if (of.names.size < INTERNED_NAMES_MAX) of.names.set(s, s);
  return s;
}

function namesFromProperties(of: OfState, np: DeviceNode): void {
  const name = ofFindProperty(np, 'name');
  const type = ofFindProperty(np, 'device_type');
  np.name = name ? interned(of, cString(name.value)) : '<NULL>';
  np.type = type ? interned(of, cString(type.value)) : '<NULL>';
}

/**
 * __of_attach_node: link as the parent's first child; a subtree handed in loses its children. An
 * overlay's node (OF_OVERLAY, 5.0+) keeps the name and phandle the overlay code gave it: its
 * properties come with later changeset entries, so at this point it has none to read.
 */
function attachToTree(of: OfState, np: DeviceNode): void {
  if ((np.flags & OF_OVERLAY) === 0) {
    namesFromProperties(of, np);
    ofNodeSetPhandle(of, np, phandleFrom(np));
  }
  np.child = null;
  const parent = np.parent!;
  of.k.access(parent, '__of_attach_node', 8, true, np.address);
  np.sibling = parent.child;
  parent.child = np;
  childIndexLinked(of, parent, np);
  np.flags &= ~OF_DETACHED;
  np.everAttached = true;
  of.unattached.delete(np);
}

// K-ATTACH-1. Nothing checks for a sibling with the same name or another node with the same phandle.
export function ofAttachNode(of: OfState, np: DeviceNode): number {
  return of.k.fn('of_attach_node', () => {
    ofAttachNodeCore(of, np);
    ofAttachNodeSysfs(of, np);
    ofReconfigNotify(of, 'ATTACH_NODE', { dn: np });
    return 0;
  });
}

/** Boot nodes: already linked by unflatten; only names and phandle (K-NODE-3). */
export function ofBootNodeInit(of: OfState, np: DeviceNode): void {
  of.unattached.delete(np);
  namesFromProperties(of, np);
  const phandle = ofFindProperty(np, 'phandle') ?? ofFindProperty(np, 'linux,phandle');
  let handle = phandle && phandle.value.length >= 4 ? readU32(phandle.value)! : 0;
  const ibm = ofFindProperty(np, 'ibm,phandle'); // always overrides
  if (ibm && ibm.value.length >= 4) handle = readU32(ibm.value)!;
  ofNodeSetPhandle(of, np, handle);
  np.everAttached = true;
}

/** __of_attach_node alone (no sysfs, no notification): what a changeset entry applies (changeset.ts). */
export function ofAttachNodeCore(of: OfState, np: DeviceNode): void {
  of.k.fn('__of_attach_node', () => attachToTree(of, np));
  of.k.emit({ type: 'node.attached', address: np.address, fullName: np.fullName, phandle: np.phandle });
}

// K-DETACH-2. With `detachSysfsInCore` (6.6+) the sysfs detach is this function's last step, so a
// WARN return skips it and its put (K-DETACH-1).
export function ofDetachNodeCore(of: OfState, np: DeviceNode): void {
  const { k } = of;
  k.fn('__of_detach_node', () => {
    k.access(np, '__of_detach_node', 8);
    // Two bare WARN_ONs (E12: no cut-here line before 5.8), each at its own source line.
    if (np.flags & OF_DETACHED) {
      k.warn('__of_detach_node');
      return;
    }
    const parent = np.parent;
    if (!parent) {
      k.warn('__of_detach_node', undefined, '__of_detach_node!parent');
      return;
    }
    if (parent.child === np) parent.child = np.sibling;
    else {
      let prev = parent.child;
      while (prev && prev.sibling !== np) prev = prev.sibling;
      if (prev) prev.sibling = np.sibling;
    }
    // The node keeps its parent, child and sibling pointers.
    np.flags |= OF_DETACHED;
    of.unattached.add(np);
    k.emit({ type: 'node.detached', address: np.address, fullName: np.fullName });
    ofPhandleCacheInvEntry(of, np.phandle);
    if (k.profile.detachSysfsInCore) ofDetachNodeSysfs(of, np);
  });
}

// K-DETACH-1, -3: never frees by itself; only a put to 0 does.
export function ofDetachNode(of: OfState, np: DeviceNode): number {
  return of.k.fn('of_detach_node', () => {
    ofDetachNodeCore(of, np);
    if (!of.k.profile.detachSysfsInCore) ofDetachNodeSysfs(of, np);
    ofReconfigNotify(of, 'DETACH_NODE', { dn: np });
    return 0;
  });
}

// K-PROP-2: property notifications only for nodes in sysfs.
export function ofPropertyNotify(
  of: OfState,
  action: 'ADD_PROPERTY' | 'REMOVE_PROPERTY' | 'UPDATE_PROPERTY',
  np: DeviceNode,
  prop: NodeProperty,
  oldProp?: NodeProperty,
): void {
  if (!np.kobj.inSysfs) return;
  ofReconfigNotify(of, action, oldProp ? { dn: np, prop, oldProp } : { dn: np, prop });
}

/** of_add_property (K-PROP-1): appends; an existing name is -EEXIST and changes nothing. */
export function ofAddProperty(of: OfState, np: DeviceNode, prop: Property): number {
  return of.k.fn('of_add_property', () => {
    of.k.access(np, '__of_add_property', 8, true);
    if (ofFindProperty(np, prop.name)) return -17;
    const pp = propertyInArena(of, prop.name, prop.value);
    np.properties.push(pp);
    ofAddPropertySysfs(of, np, pp);
    of.k.emit({ type: 'property.added', address: np.address, name: pp.name, length: pp.value.length });
    ofPropertyNotify(of, 'ADD_PROPERTY', np, pp);
    return 0;
  });
}

/** of_remove_property (K-PROP-1): moves it to the dead list; -ENODEV when absent. */
export function ofRemoveProperty(of: OfState, np: DeviceNode, name: string): number {
  return of.k.fn('of_remove_property', () => {
    of.k.access(np, '__of_remove_property', 8, true);
    const index = np.properties.indexOf(name);
    if (index < 0) return -19;
    const pp = np.properties.removeAt(index);
    np.deadProperties = [pp, ...np.deadProperties];
    ofRemovePropertySysfs(np, pp);
    of.k.emit({ type: 'property.removed', address: np.address, name });
    ofPropertyNotify(of, 'REMOVE_PROPERTY', np, pp);
    return 0;
  });
}

/** of_update_property (K-PROP-1): replaces in place, the old value goes to the dead list; adds if missing. */
export function ofUpdateProperty(of: OfState, np: DeviceNode, prop: Property): number {
  return of.k.fn('of_update_property', () => {
    of.k.access(np, '__of_update_property', 8, true);
    const pp = propertyInArena(of, prop.name, prop.value);
    const index = np.properties.indexOf(prop.name);
    let old: NodeProperty | undefined;
    if (index >= 0) {
      old = np.properties.replaceAt(index, pp);
      np.deadProperties = [old, ...np.deadProperties];
    } else np.properties.push(pp);
    ofUpdatePropertySysfs(of, np, pp, old);
    of.k.emit({ type: 'property.updated', address: np.address, name: pp.name, length: pp.value.length });
    ofPropertyNotify(of, 'UPDATE_PROPERTY', np, pp, old);
    return 0;
  });
}
