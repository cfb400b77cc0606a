// %pOF and %pOFfp (lib/vsprintf.c): the full path is computed at print time by walking parent
// pointers, so a detached node still prints its old path and a freed ancestor is a use-after-free.
// How it walks is the `pofTakesRefs` switch (E5): before 5.5 device_node_gen_full_name reads the
// parents without references; from 5.5 fwnode_full_name_string gets and puts every ancestor, so a
// print can warn about a count at 0. Inspection code never prints: it uses ofNodePathPeek.

import type { DeviceNode } from './node.ts';
import { ofNodeGet, ofNodePut } from './refs.ts';
import type { OfState } from './state.ts';

/** The holder of the transient references the fwnode walk of `%pOF` takes (E5). */
export const POF_HOLDER = '%pOF';

/** The path by parent pointers, read without touching anything: for reports and views, never dmesg. */
export function ofNodePathPeek(np: DeviceNode): string {
  const parts: string[] = [];
  for (let cur: DeviceNode | null = np; cur?.parent; cur = cur.parent) parts.push(cur.fullName);
  return `/${parts.reverse().join('/')}`;
}

/** The name of one component as the kernel keeps it (kbasename of full_name). */
function componentName(np: DeviceNode): string {
  return np.parent ? np.fullName : '';
}

/** 4.x device_node_gen_full_name: reads each ancestor (a freed one is a use-after-free), no references. */
function genFullName(of: OfState, np: DeviceNode): string {
  return of.k.fn('device_node_gen_full_name', () => {
    const parts: string[] = [];
    for (let cur: DeviceNode | null = np; cur; cur = cur.parent) {
      of.k.access(cur, 'device_node_string', 8);
      if (!cur.parent) break; // the root prints as "/"
      parts.push(cur.fullName);
    }
    return `/${parts.reverse().join('/')}`;
  });
}

/** fwnode_get_parent → of_fwnode_get_parent → of_get_parent: the parent, with a reference. */
function fwnodeGetParent(of: OfState, np: DeviceNode): DeviceNode | null {
  return of.k.fn('fwnode_get_parent', () =>
    of.k.fn('of_fwnode_get_parent', () =>
      of.k.fn('of_get_parent', () => {
        of.k.access(np, 'of_get_parent', 8);
        return ofNodeGet(of, np.parent, POF_HOLDER);
      }),
    ),
  );
}

/** fwnode_get_next_parent: a reference on the parent, then the one on `np` dropped. */
function fwnodeGetNextParent(of: OfState, np: DeviceNode): DeviceNode | null {
  return of.k.fn('fwnode_get_next_parent', () => {
    const parent = fwnodeGetParent(of, np);
    ofNodePut(of, np, POF_HOLDER);
    return parent;
  });
}

/** fwnode_count_parents: walks to the root holding one reference at a time. */
function fwnodeCountParents(of: OfState, np: DeviceNode): number {
  return of.k.fn('fwnode_count_parents', () => {
    let cur = fwnodeGetParent(of, np);
    let count = 0;
    while (cur) {
      cur = fwnodeGetNextParent(of, cur);
      count += 1;
    }
    return count;
  });
}

/**
 * fwnode_get_nth_parent: a reference on `np`, then `depth` steps up, each swapping the reference. With
 * `pofSkipsSelf` it is the later form (fwnode_for_each_parent_node): `np` itself is got only for depth 0.
 */
function fwnodeGetNthParent(of: OfState, np: DeviceNode, depth: number): DeviceNode | null {
  return of.k.fn('fwnode_get_nth_parent', () => {
    if (of.k.profile.pofSkipsSelf && depth > 0) {
      let cur = fwnodeGetParent(of, np);
      for (let i = 1; i < depth && cur; i++) cur = fwnodeGetNextParent(of, cur);
      return cur;
    }
    let cur: DeviceNode | null = ofNodeGet(of, np, POF_HOLDER);
    for (let i = 0; i < depth && cur; i++) cur = fwnodeGetNextParent(of, cur);
    return cur;
  });
}

/**
 * 5.5+ fwnode_full_name_string: from the root down, each ancestor got, named and put (E5). With
 * `pofSkipsSelf` (6.6+) the printed node itself is named without a reference, since its count may be 0.
 */
function fwnodeFullNameString(of: OfState, np: DeviceNode): string {
  return of.k.fn('fwnode_full_name_string', () => {
    let out = '';
    for (let depth = fwnodeCountParents(of, np); depth >= 0; depth--) {
      const self = depth === 0 && of.k.profile.pofSkipsSelf;
      const node = self ? np : fwnodeGetNthParent(of, np, depth);
      if (node) {
        of.k.access(node, 'fwnode_full_name_string', 8);
        out += (node.parent ? '/' : '') + componentName(node);
      }
      if (!self) ofNodePut(of, node, POF_HOLDER);
    }
    return out;
  });
}

/** `%pOF` in a printk or sprintf: the full path, walked the way this kernel walks it. */
export function ofNodeFullName(of: OfState, np: DeviceNode | null): string {
  if (!np) return '(null)';
  return of.k.fn('device_node_string', () =>
    of.k.profile.pofTakesRefs ? fwnodeFullNameString(of, np) : genFullName(of, np),
  );
}

/** %pOFfp: the full path, a colon and the phandle in decimal. */
export function ofNodeFullNamePhandle(of: OfState, np: DeviceNode): string {
  return `${ofNodeFullName(of, np)}:${np.phandle >>> 0}`;
}

/**
 * `%pOFn` (5.0+): the node's full name up to the `@`, read without a reference. 4.x callers print
 * `of_node->name` instead, the `name` property ("<NULL>" without one): slot fact
 * `nodeNameFromFullName`.
 */
export function ofNodeNameString(of: OfState, np: DeviceNode): string {
  of.k.access(np, 'device_node_string', 8);
  if (!of.k.profile.slot.nodeNameFromFullName) return np.name;
  const at = np.fullName.indexOf('@');
  return at < 0 ? np.fullName : np.fullName.slice(0, at);
}
