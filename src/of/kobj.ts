// The device tree in sysfs (drivers/of/kobj.c, K-SYSFS): directories for nodes, binary files for
// properties, names made unique by safe_name.

import { type KernfsDir, type KernfsFile, kernfsAdd, kernfsNewDir, kernfsRemove } from '../kernel/kernfs.ts';
import type { DeviceNode, NodeProperty } from './node.ts';
import { INITIAL_HOLDER, ofNodeGet, ofNodePut } from './refs.ts';
import type { OfState } from './state.ts';

/** The holder name of the reference sysfs takes with `sysfsHoldsRef` (K-SYSFS-5). */
export const SYSFS_HOLDER = 'sysfs';
const SAFE_NAME_TRIES = 16;

/**
 * K-SYSFS-2: a name unique in `dir`, trying `name#1` … `name#16`; after 16 tries `name#16` is returned
 * even if taken (the add then fails). This file sets no pr_fmt, so the warning has no `OF: ` prefix.
 */
export function safeName(of: OfState, dir: KernfsDir, orig: string): string {
  let name = orig;
  let i = 0;
  while (i < SAFE_NAME_TRIES && dir.entries.has(name)) {
    i += 1;
    name = `${orig}#${i}`;
  }
  if (name !== orig) {
    of.k.printk('warn', `Duplicate name in ${dir.name}, renamed to "${name}"`);
    of.k.counters.sysfsRenames += 1;
    of.k.emit({ type: 'sysfs.renamed', directory: dir.name, from: orig, to: name });
  }
  return name;
}

function propertyFile(of: OfState, np: DeviceNode, pp: NodeProperty, name: string): KernfsFile {
  // K-SYSFS-1: passwords stay hidden.
  const secure = pp.name.startsWith('security-');
  return {
    kind: 'file',
    name,
    parent: null,
    mode: secure ? 0o400 : 0o444,
    size: () => (secure ? 0 : pp.value.length),
    read: () => {
      // of_node_property_read: reads the property through the node.
      of.k.tasks.runAs('cat', () =>
        of.k.fn('of_node_property_read', () => of.k.access(np, 'of_node_property_read', 8)),
      );
      return secure ? new Uint8Array(0) : pp.value;
    },
  };
}

/** __of_add_property_sysfs (K-SYSFS-3): only for nodes in sysfs. */
export function ofAddPropertySysfs(of: OfState, np: DeviceNode, pp: NodeProperty): void {
  const dir = np.kobj.dir;
  if (!np.kobj.inSysfs || !dir) return;
  const file = propertyFile(of, np, pp, safeName(of, dir, pp.name));
  if (kernfsAdd(dir, file)) pp.sysfs = file;
}

export function ofRemovePropertySysfs(pp: NodeProperty): void {
  if (pp.sysfs) kernfsRemove(pp.sysfs);
  pp.sysfs = null;
}

export function ofUpdatePropertySysfs(
  of: OfState,
  np: DeviceNode,
  newProp: NodeProperty,
  oldProp?: NodeProperty,
): void {
  if (oldProp) ofRemovePropertySysfs(oldProp);
  ofAddPropertySysfs(of, np, newProp);
}

/** __of_attach_node_sysfs (K-SYSFS-2, -3, -5). Returns 0 or a negative errno. */
export function ofAttachNodeSysfs(of: OfState, np: DeviceNode): number {
  return of.k.fn('__of_attach_node_sysfs', () => {
    const parentDir = np.parent ? np.parent.kobj.dir : of.kset;
    // A parent outside sysfs has no directory to add under: kobject_add fails.
    if (!parentDir || (np.parent && !np.parent.kobj.inSysfs)) return -2;
    const name = safeName(of, parentDir, np.parent ? np.fullName : 'base');
    const dir = kernfsNewDir(name);
    if (!kernfsAdd(parentDir, dir)) return -17; // -EEXIST after 16 tries
    np.kobj.inSysfs = true;
    np.kobj.sysfsName = name;
    np.kobj.dir = dir;
    for (const pp of np.properties) ofAddPropertySysfs(of, np, pp);
    if (of.k.profile.sysfsHoldsRef) ofNodeGet(of, np, SYSFS_HOLDER);
    of.k.emit({ type: 'sysfs.added', address: np.address, name });
    return 0;
  });
}

/** __of_detach_node_sysfs (K-SYSFS-4): removes what exists, then always puts one reference. */
export function ofDetachNodeSysfs(of: OfState, np: DeviceNode): void {
  of.k.fn('__of_detach_node_sysfs', () => {
    if (np.kobj.inSysfs) {
      for (const pp of np.properties) ofRemovePropertySysfs(pp);
      if (np.kobj.dir) kernfsRemove(np.kobj.dir);
      np.kobj.dir = null;
      np.kobj.inSysfs = false;
      of.k.emit({ type: 'sysfs.removed', address: np.address, name: np.kobj.sysfsName });
    }
    // Without sysfsHoldsRef this put drops the initial reference ("remove the kobj_init ref").
    ofNodePut(of, np, of.k.profile.sysfsHoldsRef ? SYSFS_HOLDER : INITIAL_HOLDER);
  });
}
