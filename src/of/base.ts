// Lookups and walks (drivers/of/base.c). Functions that return a node say in their name or doc whether
// the caller owns a reference (K-REF-3).

import type { DeviceNode, NodeProperty } from './node.ts';
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

export function ofFindProperty(np: DeviceNode, name: string): NodeProperty | undefined {
  for (const pp of np.properties) if (pp.name === name) return pp;
  return undefined;
}

/**
 * One path component against one child (kernel `__of_find_node_by_path`): the component must equal
 * the child's full name; a component without a unit address also matches a child whose name before
 * the `@` equals it, so `/memory` finds `memory@0` (the kernel's `of_node_name_eq` rule).
 */
function childByComponent(of: OfState, parent: DeviceNode, component: string): DeviceNode | null {
  const index = childIndexOf(of, parent);
  if (index) {
    const exact = index.exact.get(component);
    if (exact?.length) return exact[0]!;
    return component.includes('@') ? null : (index.loose.get(component)?.[0] ?? null);
  }
  let loose: DeviceNode | null = null;
  for (let child = parent.child; child; child = child.sibling) {
    if (child.fullName === component) return child;
    if (!loose && !component.includes('@')) {
      const at = child.fullName.indexOf('@');
      if (at >= 0 && child.fullName.slice(0, at) === component) loose = child;
    }
  }
  return loose;
}

// ---- the simulator's child index ----
// The kernel matches a path component by walking the parent's child list, which costs the siblings:
// the last of 100k cpu nodes is 100k comparisons away. A parent with many children gets an index by
// full name and by name without unit address, each list in child-list order, so the first entry is the
// one the walk finds. It is built on the first lookup and kept in step by attach and detach.

/** Parents with at most this many children are walked, as the kernel walks them. */
const INDEX_MIN_CHILDREN = 64;

export interface ChildIndex {
  readonly exact: Map<string, DeviceNode[]>;
  readonly loose: Map<string, DeviceNode[]>;
}

function baseName(fullName: string): string | null {
  const at = fullName.indexOf('@');
  return at >= 0 ? fullName.slice(0, at) : null;
}

function indexAdd(index: ChildIndex, np: DeviceNode, front: boolean): void {
  const add = (map: Map<string, DeviceNode[]>, key: string) => {
    const list = map.get(key);
    if (!list) map.set(key, [np]);
    else if (front) list.unshift(np);
    else list.push(np);
  };
  add(index.exact, np.fullName);
  const base = baseName(np.fullName);
  if (base !== null) add(index.loose, base);
}

function childIndexOf(of: OfState, parent: DeviceNode): ChildIndex | null {
  const existing = of.childIndex.get(parent);
  if (existing) return existing;
  let n = 0;
  for (let c = parent.child; c && n <= INDEX_MIN_CHILDREN; c = c.sibling) n += 1;
  if (n <= INDEX_MIN_CHILDREN) return null;
  const index: ChildIndex = { exact: new Map(), loose: new Map() };
  for (let c = parent.child; c; c = c.sibling) indexAdd(index, c, false);
  of.childIndex.set(parent, index);
  return index;
}

/** __of_attach_node linked `np` as its parent's first child. */
export function childIndexLinked(of: OfState, parent: DeviceNode, np: DeviceNode): void {
  const index = of.childIndex.get(parent);
  if (index) indexAdd(index, np, true);
}

/** __of_detach_node unlinked `np` from its parent's child list. */
export function childIndexUnlinked(of: OfState, parent: DeviceNode, np: DeviceNode): void {
  const index = of.childIndex.get(parent);
  if (!index) return;
  const drop = (map: Map<string, DeviceNode[]>, key: string | null) => {
    const list = key === null ? undefined : map.get(key);
    const at = list ? list.indexOf(np) : -1;
    if (at >= 0) list!.splice(at, 1);
    if (list && list.length === 0) map.delete(key!);
  };
  drop(index.exact, np.fullName);
  drop(index.loose, baseName(np.fullName));
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
  return of.k.fn('of_find_compatible_node', () => {
    let found: DeviceNode | null = null;
    for (let np = ofFindAllNodesNext(of, from); np; np = ofFindAllNodesNext(of, np)) {
      if (ofCompatibleList(np).includes(compatible)) {
        found = np;
        break;
      }
    }
    ofNodeGet(of, found, holder);
    ofNodePut(of, from, holder);
    return found;
  });
}
