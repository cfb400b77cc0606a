// %pOF and %pOFfp (spec section 2): the full path is computed at print time by walking parent
// pointers, so a detached node still prints its old path and a freed ancestor is a use-after-free.

import type { DeviceNode } from './node.ts';
import type { OfState } from './state.ts';

export function ofNodeFullName(of: OfState, np: DeviceNode | null): string {
  if (!np) return '(null)';
  const parts: string[] = [];
  let cur: DeviceNode | null = np;
  while (cur) {
    of.k.access(cur, 'device_node_string', 8);
    if (!cur.parent) break; // the root prints as "/"
    parts.push(cur.fullName);
    cur = cur.parent;
  }
  return `/${parts.reverse().join('/')}`;
}

/** %pOFfp: the full path, a colon and the phandle in decimal. */
export function ofNodeFullNamePhandle(of: OfState, np: DeviceNode): string {
  return `${ofNodeFullName(of, np)}:${np.phandle >>> 0}`;
}
