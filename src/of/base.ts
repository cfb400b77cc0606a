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
function childByComponent(parent: DeviceNode, component: string): DeviceNode | null {
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
    np = childByComponent(np, part);
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
