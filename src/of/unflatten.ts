// Boot (K-NODE-3): unflatten_device_tree builds the live tree from a flattened one, then of_core_init
// puts it in sysfs and the phandle cache is filled. The vio bus registers its devices afterwards
// (src/pseries/vio.ts).
//
// Each phase is a step generator: it does a bounded amount of work (BOOT_NODES_PER_STEP nodes) between
// `yield`s, so the LPAR layer can let the event loop run while a quarter-million-node tree boots. The
// work and its order are the same however the steps are driven, so boots stay deterministic; the
// synchronous forms run the steps to their end.

import { ofFindAllNodesNext } from './base.ts';
import { ofBootNodeInit, ofNodeAlloc } from './dynamic.ts';
import { completeSteps, type FdtNode, type TreeAdapter, walkTree } from './fdt.ts';
import { BootImage } from './image.ts';
import { ofAttachNodeSysfs } from './kobj.ts';
import { type DeviceNode, PropertyList } from './node.ts';
import { ofPopulatePhandleCacheSteps } from './phandle-cache.ts';
import { enc, type Property } from './property.ts';
import type { OfState } from './state.ts';

/** Nodes each boot step handles before it yields. */
export const BOOT_NODES_PER_STEP = 256;

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
  for (const p of fdt.props) if (p.name === 'name') return fdt.props;
  const props = fdt.props.slice();
  props.push({ name: 'name', value: enc.string(unitName(fdt.name)) });
  return props;
}

/** What a boot allocated: the sizes the memory budget charges an LPAR for. */
export interface BootStats {
  nodes: number;
  properties: number;
  valueBytes: number;
}

/**
 * Runs `body` as the modelled function `name` (on the call chain while it runs), one chunk at a time:
 * the frame is pushed for each chunk and popped before the step yields, as `Kernel.fn` does.
 */
function inFrame(of: OfState, name: string, body: () => boolean): Generator<void, void, undefined> {
  return (function* () {
    for (;;) {
      const more = of.k.fn(name, body);
      if (!more) return;
      yield;
    }
  })();
}

/**
 * unflatten_device_tree, in steps; the same nodes at the same addresses in the same order. The nodes'
 * properties live in `image` (image.ts): a new image is filled as the nodes are made and sealed at the
 * end; a sealed one (the same blob booted before) is read, and must describe this very tree.
 */
export function* unflattenSteps(
  of: OfState,
  fdt: FdtNode,
  image: BootImage = new BootImage(),
  stats?: BootStats,
): Generator<void, DeviceNode> {
  const reuse = image.isSealed;
  let index = 0;
  const alloc = (f: FdtNode, fullName: string): DeviceNode => {
    const i = index++;
    if (reuse) {
      if (i >= image.nodes || image.fullNames[i] !== fullName)
        throw new Error(`unflatten: boot image does not match the tree at node ${i} (${fullName})`);
    } else image.add(fullName, populateProperties(f));
    const np = ofNodeAlloc(of, image.fullNames[i]!, PropertyList.fromImage(image, i), 0);
    if (stats) {
      stats.nodes += 1;
      stats.properties += image.count(i);
      const first = image.first(i);
      for (let k = first; k < first + image.count(i); k++) stats.valueBytes += image.valueLengthOf(k);
    }
    return np;
  };
  let root: DeviceNode | null = null;
  // A node whose children are being allocated: `next` of them done so far, `last` the latest. Children
  // are allocated in the flattened tree's order and a node's children are handled only once all its
  // siblings exist, exactly as the unchunked loop did (addresses come out the same); a node with a
  // quarter of a million children simply takes many steps.
  interface Open {
    readonly node: DeviceNode;
    readonly fdt: FdtNode;
    next: number;
    last: DeviceNode | null;
  }
  const stack: Open[] = [];
  const pending: Open[] = [];
  let current: Open | null = null;
  yield* inFrame(of, 'unflatten_device_tree', () => {
    if (!root) {
      root = alloc(fdt, '/');
      ofBootNodeInit(of, root);
      current = { node: root, fdt, next: 0, last: null };
    }
    for (let budget = BOOT_NODES_PER_STEP; budget > 0; ) {
      if (!current) {
        const popped = stack.pop();
        if (!popped) break;
        current = popped;
      }
      const { node, fdt: f } = current;
      const children = f.children;
      while (current.next < children.length && budget > 0) {
        const c = children[current.next++]!;
        const child = alloc(c, c.name);
        child.parent = node;
        if (current.last) current.last.sibling = child;
        else node.child = child;
        current.last = child;
        ofBootNodeInit(of, child);
        pending.push({ node: child, fdt: c, next: 0, last: null });
        budget -= 1;
      }
      if (current.next < children.length) break; // this node's children go on in the next step
      // All its children exist: they go on the stack in order, so the last is handled first.
      for (const p of pending) stack.push(p);
      pending.length = 0;
      current = null;
      budget -= 1;
    }
    if (current || stack.length > 0) return true;
    if (reuse && index !== image.nodes)
      throw new Error(`unflatten: boot image has ${image.nodes} nodes, the tree ${index}`);
    image.seal();
    of.root = root;
    return false;
  });
  return root!;
}

export function unflattenDeviceTree(of: OfState, fdt: FdtNode, image?: BootImage): DeviceNode {
  return completeSteps(unflattenSteps(of, fdt, image));
}

/**
 * of_core_init, in steps: every boot node into sysfs, in walk order; then the phandle cache fill, whose
 * walks are in steps too (ofPopulatePhandleCacheSteps), inside the same frame.
 */
export function* ofCoreInitSteps(of: OfState): Generator<void, void> {
  let np: DeviceNode | null = null;
  let started = false;
  let fill: Generator<void, void, undefined> | null = null;
  yield* inFrame(of, 'of_core_init', () => {
    if (!fill) {
      if (!started) {
        started = true;
        np = ofFindAllNodesNext(of, null);
      }
      for (let budget = BOOT_NODES_PER_STEP; np && budget > 0; budget--) {
        // The next node is taken after the attach, as for_each_of_allnodes does.
        ofAttachNodeSysfs(of, np);
        np = ofFindAllNodesNext(of, np);
      }
      if (np) return true;
      fill = ofPopulatePhandleCacheSteps(of);
    }
    return !fill.next().done;
  });
}

export function ofCoreInit(of: OfState): void {
  completeSteps(ofCoreInitSteps(of));
}

function* liveChildren(np: DeviceNode): Generator<DeviceNode, void, undefined> {
  for (let c = np.child; c; c = c.sibling) yield c;
}

/** The attached tree as the FDT codec and DTS writer walk it: live order, no copies, no side effects. */
export const liveTree: TreeAdapter<DeviceNode> = {
  name: (np, isRoot) => (isRoot || !np.parent ? '' : np.fullName),
  props: (np) => np.properties,
  children: liveChildren,
};

/** The attached tree as a flattened tree (a copy; exports walk `liveTree` instead). No side effects. */
export function ofFlattenLiveTree(root: DeviceNode): FdtNode {
  const stack: FdtNode[] = [];
  let top: FdtNode | null = null;
  for (const step of walkTree(root, liveTree)) {
    if (!step.open) {
      top = stack.pop()!;
      continue;
    }
    const np = step.node;
    const node: FdtNode = {
      name: np.parent ? np.fullName : '',
      props: np.properties.map((p) => ({ name: p.name, value: p.value })),
      children: [],
    };
    stack[stack.length - 1]?.children.push(node);
    stack.push(node);
  }
  return top!;
}
