// DLPAR helpers (arch/powerpc/platforms/pseries/dlpar.c, K-DLPAR).

import { ofGetNextChild } from '../of/base.ts';
import { ofAttachNode, ofDetachNode, ofNodeAlloc } from '../of/dynamic.ts';
import type { FdtNode } from '../of/fdt.ts';
import { type DeviceNode, OF_DYNAMIC } from '../of/node.ts';
import { ofNodeFullName } from '../of/printk-of.ts';
import { INITIAL_HOLDER, ofNodeFree, ofNodePut } from '../of/refs.ts';
import type { OfState } from '../of/state.ts';

/**
 * K-DLPAR-1: builds the subtree firmware describes for a connector: every node OF_DYNAMIC with count
 * 1, not attached, properties in firmware's order, children linked under their parent; the top node's
 * parent pointer is `parent`.
 */
export function dlparBuildCcNodes(of: OfState, top: FdtNode, parent: DeviceNode | null): DeviceNode {
  return of.k.fn('dlpar_configure_connector', () => {
    const build = (f: FdtNode, p: DeviceNode | null): DeviceNode => {
      const dn = ofNodeAlloc(of, f.name, f.props, OF_DYNAMIC);
      dn.parent = p;
      let last: DeviceNode | null = null;
      for (const c of f.children) {
        const child = build(c, dn);
        if (last) last.sibling = child;
        else dn.child = child;
        last = child;
      }
      return dn;
    };
    return build(top, parent);
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

/** K-DLPAR-2 (attach half): sets the parent and attaches only this node (K-ATTACH-1). */
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
