// Boot (K-NODE-3): unflatten_device_tree builds the live tree from a flattened one, then of_core_init
// puts it in sysfs and the phandle cache is filled. The vio bus registers its devices afterwards
// (src/pseries/vio.ts).

import { forEachOfAllnodes } from './base.ts';
import { ofBootNodeInit, ofNodeAlloc } from './dynamic.ts';
import type { FdtNode } from './fdt.ts';
import { ofAttachNodeSysfs } from './kobj.ts';
import type { DeviceNode } from './node.ts';
import { ofPopulatePhandleCache } from './phandle-cache.ts';
import { enc, type Property } from './property.ts';
import type { OfState } from './state.ts';

/**
 * The unit name populate_properties makes a `name` from: after the last '/', up to the last '@' (the
 * whole rest when no '@' follows that '/'). The root's FDT name is "", so its `name` is "".
 */
function unitName(nodename: string): string {
  const ps = nodename.lastIndexOf('/') + 1;
  const pa = nodename.lastIndexOf('@');
  return nodename.slice(ps, pa < ps ? nodename.length : pa);
}

/**
 * populate_properties (drivers/of/fdt.c), erratum E13: a blob node without a `name` property gets one,
 * appended after the node's own properties, made from its unit name. Trees from dtc, QEMU or firmware
 * carry none, yet /proc/device-tree shows one on every node; built-in trees already have it (first).
 */
function populateProperties(fdt: FdtNode): readonly Property[] {
  if (fdt.props.some((p) => p.name === 'name')) return fdt.props;
  return [...fdt.props, { name: 'name', value: enc.string(unitName(fdt.name)) }];
}

export function unflattenDeviceTree(of: OfState, fdt: FdtNode): DeviceNode {
  return of.k.fn('unflatten_device_tree', () => {
    const root = ofNodeAlloc(of, '/', populateProperties(fdt), 0);
    ofBootNodeInit(of, root);
    const stack: Array<{ node: DeviceNode; fdt: FdtNode }> = [{ node: root, fdt }];
    while (stack.length > 0) {
      const { node, fdt: f } = stack.pop()!;
      let last: DeviceNode | null = null;
      // Children keep the flattened tree's order.
      for (const c of f.children) {
        const child = ofNodeAlloc(of, c.name, populateProperties(c), 0);
        child.parent = node;
        if (last) last.sibling = child;
        else node.child = child;
        last = child;
        ofBootNodeInit(of, child);
        stack.push({ node: child, fdt: c });
      }
    }
    of.root = root;
    return root;
  });
}

/** of_core_init: every boot node into sysfs, in walk order; then the phandle cache fill. */
export function ofCoreInit(of: OfState): void {
  of.k.fn('of_core_init', () => {
    for (const np of forEachOfAllnodes(of)) ofAttachNodeSysfs(of, np);
    ofPopulatePhandleCache(of);
  });
}

/** The attached tree as a flattened tree (for DTB and DTS export). Live order; no side effects. */
export function ofFlattenLiveTree(root: DeviceNode): FdtNode {
  const build = (np: DeviceNode): FdtNode => {
    const children: FdtNode[] = [];
    for (let c = np.child; c; c = c.sibling) children.push(build(c));
    return {
      name: np.parent ? np.fullName : '',
      props: np.properties.map((p) => ({ name: p.name, value: p.value })),
      children,
    };
  };
  return build(root);
}
