// Lookups and walks (drivers/of/base.c). Functions that return a node say in their name or doc whether
// the caller owns a reference (K-REF-3).

import { ChunkedMap } from '../kernel/chunked-map.ts';
import { completeSteps } from './fdt.ts';
import { type DeviceNode, type NodeProperty, OF_DETACHED } from './node.ts';
import { ofNodeGet, ofNodePut } from './refs.ts';
import type { OfState } from './state.ts';

/**
 * K-NODE-4: the "all nodes" walk, pre-order from the root through child and sibling pointers. Detached
 * nodes are not reachable. Takes no references (the kernel walks under devtree_lock).
 */
export function ofFindAllNodesNext(of: OfState, prev: DeviceNode | null): DeviceNode | null {
  if (!prev) return of.root;
  if (prev.child) return prev.child;
  let np: DeviceNode | null = prev;
  while (np && !np.sibling) {
    np = np.parent;
    if (np === of.root) return null;
  }
  return np ? np.sibling : null;
}

export function* forEachOfAllnodes(of: OfState): Generator<DeviceNode> {
  for (let np = ofFindAllNodesNext(of, null); np; np = ofFindAllNodesNext(of, np)) yield np;
}

/**
 * Nodes a step of an all-nodes walk visits before it yields. Visiting a node is a few pointer reads,
 * so a step of this many stays well under a slice of the event loop at a quarter of a million nodes.
 */
export const WALK_NODES_PER_STEP = 2048;

/**
 * Runs a step generator as the modelled function `name`: the frame is pushed for each step and popped
 * before it yields, as `Kernel.fn` does for a whole call, so whatever a step reports (a warning's call
 * chain) sees the same chain as the unchunked call did.
 */
export function* inFrameSteps<T>(
  of: OfState,
  name: string,
  steps: Generator<void, T, undefined>,
): Generator<void, T, undefined> {
  for (;;) {
    const r = of.k.fn(name, () => steps.next());
    if (r.done) return r.value;
    yield;
  }
}

export function ofFindProperty(np: DeviceNode, name: string): NodeProperty | undefined {
  return np.properties.find(name);
}

/**
 * One path component against the children (kernel `__of_find_node_by_path`): the first child, in
 * child-list order, whose full name (`kbasename(full_name)`) equals the component exactly. There is no
 * match on the name without its unit address: `/memory` does not find `memory@0` (docs/kernel-notes.md).
 */
function childByComponent(of: OfState, parent: DeviceNode, component: string): DeviceNode | null {
  const index = childIndexOf(of, parent);
  if (index) return indexFirst(index, parent, component);
  for (let child = parent.child; child; child = child.sibling) if (child.fullName === component) return child;
  return null;
}

// ---- the simulator's child index ----
// The kernel walks the parent's child list for each component, which costs the siblings: the last of
// 100k cpu nodes is 100k comparisons away. A parent with many children gets an index by full name,
// built on the first lookup and kept in step by attach. Each name's list is in reverse child-list
// order (attach links a node first, so it is pushed last), so the match is the last entry still linked
// under the parent; an entry detached since is dropped when it reaches the end.

/** Parents with at most this many children are walked, as the kernel walks them. */
const INDEX_MIN_CHILDREN = 64;

export type ChildIndex = ChunkedMap<string, DeviceNode[]>;

function linkedUnder(np: DeviceNode, parent: DeviceNode): boolean {
  return np.parent === parent && np.everAttached && (np.flags & OF_DETACHED) === 0 && !np.freed;
}

function indexFirst(index: ChildIndex, parent: DeviceNode, name: string): DeviceNode | null {
  const list = index.get(name);
  if (!list) return null;
  while (list.length > 0 && !linkedUnder(list[list.length - 1]!, parent)) list.pop();
  if (list.length === 0) {
    index.delete(name);
    return null;
  }
  return list[list.length - 1]!;
}

function childIndexOf(of: OfState, parent: DeviceNode): ChildIndex | null {
  const existing = of.childIndex.get(parent);
  if (existing) return existing;
  let n = 0;
  for (let c = parent.child; c && n <= INDEX_MIN_CHILDREN; c = c.sibling) n += 1;
  if (n <= INDEX_MIN_CHILDREN) return null;
  const children: DeviceNode[] = [];
  for (let c = parent.child; c; c = c.sibling) children.push(c);
  const index: ChildIndex = new ChunkedMap();
  for (let i = children.length - 1; i >= 0; i--) {
    const c = children[i]!;
    const list = index.get(c.fullName);
    if (list) list.push(c);
    else index.set(c.fullName, [c]);
  }
  of.childIndex.set(parent, index);
  return index;
}

/** __of_attach_node linked `np` as its parent's first child: it goes last in its name's list. */
export function childIndexLinked(of: OfState, parent: DeviceNode, np: DeviceNode): void {
  const index = of.childIndex.get(parent);
  if (!index) return;
  const list = index.get(np.fullName);
  if (list) list.push(np);
  else index.set(np.fullName, [np]);
}

/** Splits an absolute OF path into components; null when it is not one (no leading `/`). */
export function splitOfPath(path: string): string[] | null {
  if (!path.startsWith('/')) return null;
  const colon = path.indexOf(':'); // options after ':' are not part of the path
  const bare = colon >= 0 ? path.slice(0, colon) : path;
  return bare.split('/').filter((c) => c.length > 0);
}

/** The attached node at `path` without taking a reference (inspection only). */
export function ofPeekNodeByPath(of: OfState, path: string): DeviceNode | null {
  const parts = splitOfPath(path);
  if (!parts || !of.root) return null;
  let np: DeviceNode | null = of.root;
  for (const part of parts) {
    np = childByComponent(of, np, part);
    if (!np) return null;
  }
  return np;
}

/** of_find_node_by_path: returns the node with a reference taken for `holder`. */
export function ofFindNodeByPath(of: OfState, path: string, holder: string): DeviceNode | null {
  return of.k.fn('of_find_node_by_path', () => ofNodeGet(of, ofPeekNodeByPath(of, path), holder));
}

/**
 * The comparison of_find_node_by_name makes with `name`, made once for a walk: from 5.0
 * of_node_name_eq, the full name up to the `@`, exactly; before, of_node_cmp (strcasecmp) on
 * `np->name`, the `name` property (slot fact `nodeNameFromFullName`).
 */
export function ofNodeNameMatcher(of: OfState, name: string): (np: DeviceNode) => boolean {
  if (!of.k.profile.slot.nodeNameFromFullName) {
    const lower = name.toLowerCase();
    return (np) => np.name.length === name.length && np.name.toLowerCase() === lower;
  }
  return (np) => {
    const full = np.fullName;
    return full.startsWith(name) && (full.length === name.length || full.charCodeAt(name.length) === 0x40);
  };
}

/**
 * of_find_node_by_name(from, name): the next node in the all-nodes walk after `from` (from the root when
 * null) whose name is `name` (ofNodeNameMatcher), with a reference for `holder`; the reference on `from` is
 * dropped (K-REF-3). `for_each_node_by_name` is this called with the previous result.
 */
export function ofFindNodeByName(
  of: OfState,
  from: DeviceNode | null,
  name: string,
  holder: string,
): DeviceNode | null {
  return of.k.fn('of_find_node_by_name', () => {
    let found: DeviceNode | null = null;
    const matches = ofNodeNameMatcher(of, name);
    for (let np = ofFindAllNodesNext(of, from); np; np = ofFindAllNodesNext(of, np))
      if (matches(np)) {
        found = ofNodeGet(of, np, holder);
        break;
      }
    ofNodePut(of, from, holder);
    return found;
  });
}

/** of_get_parent: the parent with a reference taken for `holder`. */
export function ofGetParent(of: OfState, np: DeviceNode | null, holder: string): DeviceNode | null {
  if (!np) return null;
  return of.k.fn('of_get_parent', () => {
    of.k.access(np, 'of_get_parent', 8);
    return ofNodeGet(of, np.parent, holder);
  });
}

/** of_get_next_child: the next child with a reference for `holder`; drops `holder`'s reference on `prev`. */
export function ofGetNextChild(
  of: OfState,
  parent: DeviceNode,
  prev: DeviceNode | null,
  holder: string,
): DeviceNode | null {
  return of.k.fn('of_get_next_child', () => {
    of.k.access(prev ?? parent, 'of_get_next_child', 8);
    const next = prev ? prev.sibling : parent.child;
    ofNodeGet(of, next, holder);
    ofNodePut(of, prev, holder);
    return next;
  });
}

/** Children in list order, without references (inspection only). */
export function childrenOf(np: DeviceNode): DeviceNode[] {
  const out: DeviceNode[] = [];
  for (let c = np.child; c; c = c.sibling) out.push(c);
  return out;
}

/**
 * of_node_is_type: the node's `device_type` property is the string `type`. It reads the property, not a
 * cached field: a node fresh from configure-connector has none yet (docs/kernel-notes.md, note 3). The
 * comparison is on bytes, because it runs for every child of /cpus at boot.
 */
export function ofNodeIsType(np: DeviceNode | null, type: string): boolean {
  const v = np ? ofFindProperty(np, 'device_type')?.value : undefined;
  if (v === undefined || v.length < type.length || (v.length > type.length && v[type.length] !== 0))
    return false;
  for (let i = 0; i < type.length; i++) if (v[i] !== type.charCodeAt(i)) return false;
  return true;
}

/** The `compatible` strings of a node (a string list). */
export function ofCompatibleList(np: DeviceNode): string[] {
  const pp = ofFindProperty(np, 'compatible');
  return pp ? new TextDecoder().decode(pp.value).split('\0').filter(Boolean) : [];
}

/**
 * of_find_compatible_node(from, type, compatible): the next node in the all-nodes walk after `from`
 * (from the root when null) whose `compatible` lists the string, with a reference taken for `holder`;
 * the reference on `from` is dropped. The walk itself runs under devtree_lock and takes none.
 */
export function ofFindCompatibleNode(
  of: OfState,
  from: DeviceNode | null,
  compatible: string,
  holder: string,
): DeviceNode | null {
  return completeSteps(ofFindCompatibleNodeSteps(of, from, compatible, holder));
}

/**
 * ofFindCompatibleNode in steps of WALK_NODES_PER_STEP nodes (a boot-time initcall walks the whole
 * tree when the node sits after /cpus). The walk is over a tree nothing changes meanwhile (a boot
 * runs alone on its LPAR), so it finds what the one-piece walk finds.
 */
export function ofFindCompatibleNodeSteps(
  of: OfState,
  from: DeviceNode | null,
  compatible: string,
  holder: string,
): Generator<void, DeviceNode | null, undefined> {
  return inFrameSteps(of, 'of_find_compatible_node', findCompatibleSteps(of, from, compatible, holder));
}

function* findCompatibleSteps(
  of: OfState,
  from: DeviceNode | null,
  compatible: string,
  holder: string,
): Generator<void, DeviceNode | null, undefined> {
  let found: DeviceNode | null = null;
  let visited = 0;
  for (let np = ofFindAllNodesNext(of, from); np; np = ofFindAllNodesNext(of, np)) {
    if (ofCompatibleList(np).includes(compatible)) {
      found = np;
      break;
    }
    if (++visited % WALK_NODES_PER_STEP === 0) yield;
  }
  ofNodeGet(of, found, holder);
  ofNodePut(of, from, holder);
  return found;
}
