// DLPAR helpers (arch/powerpc/platforms/pseries/dlpar.c, K-DLPAR).

import { ofGetNextChild } from '../of/base.ts';
import { ofAttachNode, ofDetachNode, ofNodeAlloc, propertyInArena } from '../of/dynamic.ts';
import { type DeviceNode, OF_DYNAMIC } from '../of/node.ts';
import { ofNodeFullName } from '../of/printk-of.ts';
import { INITIAL_HOLDER, ofNodeFree, ofNodePut } from '../of/refs.ts';
import type { OfState } from '../of/state.ts';
import { CC_COMPLETE, CC_NEXT_CHILD, CC_NEXT_PROPERTY, CC_NEXT_SIBLING, CC_PREV_PARENT } from './firmware.ts';
import {
  ALLOC_UNUSABLE,
  ALLOC_USABLE,
  ALLOCATION_STATE,
  DR_ENTITY_PRESENT,
  DR_ENTITY_SENSE,
  DR_ENTITY_UNUSABLE,
  type HotplugRtas,
  ISOLATE,
  ISOLATION_STATE,
  type Rtas,
  UNISOLATE,
} from './rtas.ts';

/**
 * K-DLPAR-1: asks firmware for the subtree behind the connector, one step a call, and builds it: each
 * node OF_DYNAMIC with count 1, not attached, properties appended in firmware's order, children linked
 * under their parent; the top node's parent pointer is `parent`. An error frees what was built.
 */
export function dlparConfigureConnector(
  of: OfState,
  rtas: Rtas,
  drc: number,
  parent: DeviceNode,
): DeviceNode | null {
  return of.k.fn('dlpar_configure_connector', () => {
    let first: DeviceNode | null = null;
    let last: DeviceNode | null = null;
    let error = 0;
    for (;;) {
      const step = rtas.configureConnector(drc);
      if (step.rc === CC_COMPLETE) break;
      if ((step.rc === CC_NEXT_CHILD || step.rc === CC_NEXT_SIBLING) && 'name' in step) {
        const dn = ofNodeAlloc(of, step.name, [], OF_DYNAMIC);
        if (!first) {
          first = dn;
          dn.parent = parent;
        } else if (step.rc === CC_NEXT_CHILD) {
          dn.parent = last;
          last!.child = dn;
        } else {
          dn.parent = last!.parent;
          last!.sibling = dn;
        }
        last = dn;
      } else if (step.rc === CC_NEXT_PROPERTY && 'prop' in step && last) {
        last.properties.push(propertyInArena(of, step.prop.name, step.prop.value));
      } else if (step.rc === CC_PREV_PARENT && last) {
        last = last.parent;
      } else {
        error = step.rc;
        break;
      }
    }
    if (error) {
      of.k.printk('err', `Unexpected Error (${error}) returned from configure-connector`);
      if (first) dlparFreeCcNodes(of, first);
      return null;
    }
    return first;
  });
}

/** dlpar_free_cc_nodes: frees a never-attached subtree directly (no reference counting). */
export function dlparFreeCcNodes(of: OfState, dn: DeviceNode): void {
  of.k.fn('dlpar_free_cc_nodes', () => {
    const stack: DeviceNode[] = [dn];
    while (stack.length) {
      const n = stack.pop()!;
      for (let c = n.child; c; c = c.sibling) stack.push(c);
      ofNodeFree(of, n);
    }
  });
}

/** K-ATTACH-2: sets the parent and attaches only this node (K-ATTACH-1). */
export function dlparAttachNode(of: OfState, dn: DeviceNode, parent: DeviceNode): number {
  return of.k.fn('dlpar_attach_node', () => {
    dn.parent = parent;
    const rc = ofAttachNode(of, dn);
    if (rc) of.k.printk('err', `Failed to add device node ${ofNodeFullName(of, dn)}`);
    return rc;
  });
}

/** K-DLPAR-2/3: children first (depth first, iterating with of_get_next_child), then the node. */
export function dlparDetachNode(of: OfState, dn: DeviceNode): number {
  return of.k.fn('dlpar_detach_node', () => {
    const holder = 'dlpar_detach_node';
    for (
      let child = ofGetNextChild(of, dn, null, holder);
      child;
      child = ofGetNextChild(of, dn, child, holder)
    ) {
      dlparDetachNode(of, child);
    }
    const rc = ofDetachNode(of, dn);
    if (rc) return rc;
    if (of.k.profile.dlparDetachPut) ofNodePut(of, dn, INITIAL_HOLDER);
    return 0;
  });
}

/** dlpar_acquire_drc: the connector must sense unusable; then allocate it and unisolate it. */
export function dlparAcquireDrc(of: OfState, rtas: HotplugRtas, drc: number): number {
  return of.k.fn('dlpar_acquire_drc', () => {
    const sense = rtas.getSensorState(DR_ENTITY_SENSE, drc);
    if (sense.rc || sense.state !== DR_ENTITY_UNUSABLE) return -1;
    let rc = rtas.setIndicator(ALLOCATION_STATE, drc, ALLOC_USABLE);
    if (rc) return rc;
    rc = rtas.setIndicator(ISOLATION_STATE, drc, UNISOLATE);
    if (rc) {
      rtas.setIndicator(ALLOCATION_STATE, drc, ALLOC_UNUSABLE);
      return rc;
    }
    return 0;
  });
}

/** dlpar_release_drc: the connector must sense present; then isolate it and give it back. */
export function dlparReleaseDrc(of: OfState, rtas: HotplugRtas, drc: number): number {
  return of.k.fn('dlpar_release_drc', () => {
    const sense = rtas.getSensorState(DR_ENTITY_SENSE, drc);
    if (sense.rc || sense.state !== DR_ENTITY_PRESENT) return -1;
    let rc = rtas.setIndicator(ISOLATION_STATE, drc, ISOLATE);
    if (rc) return rc;
    rc = rtas.setIndicator(ALLOCATION_STATE, drc, ALLOC_UNUSABLE);
    if (rc) {
      rtas.setIndicator(ISOLATION_STATE, drc, UNISOLATE);
      return rc;
    }
    return 0;
  });
}

/** dlpar_unisolate_drc (5.14+): a hint to the hypervisor that a removal failed. */
export function dlparUnisolateDrc(of: OfState, rtas: HotplugRtas, drc: number): number {
  return of.k.fn('dlpar_unisolate_drc', () => {
    const sense = rtas.getSensorState(DR_ENTITY_SENSE, drc);
    if (sense.rc || sense.state !== DR_ENTITY_PRESENT) return -1;
    rtas.setIndicator(ISOLATION_STATE, drc, UNISOLATE);
    return 0;
  });
}
