// The device tree in sysfs (drivers/of/kobj.c, K-SYSFS): directories for nodes, binary files for
// properties, names made unique by safe_name.

import { flatString, StringInterner } from '../kernel/intern.ts';
import {
  type KernfsDir,
  type KernfsFile,
  type KernfsVirtualEntries,
  kernfsAdd,
  kernfsNewDir,
  kernfsPath,
  kernfsRemove,
} from '../kernel/kernfs.ts';
import type { Refcount } from '../kernel/refcount.ts';
import type { DeviceNode, NodeProperty, PropertyList } from './node.ts';
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

/**
 * A property's sysfs file (K-SYSFS-1, -3). One small object per file with its behaviour on the
 * prototype, not two closures. `security-` properties are hidden (mode 0400, size 0).
 * of_node_property_read is a memcpy of the value: no reference, no side effect. The file exists only
 * while the node is in sysfs, and release removes it first (E4), so it never reads freed memory.
 */
export class PropertyFile implements KernfsFile {
  parent: KernfsDir | null;
  readonly name: string;
  readonly prop: NodeProperty;
  constructor(prop: NodeProperty, name: string, parent: KernfsDir | null = null) {
    this.prop = prop;
    this.name = name;
    this.parent = parent;
  }
  get kind(): 'file' {
    return 'file';
  }
  private get secure(): boolean {
    return this.prop.name.startsWith('security-');
  }
  get mode(): number {
    return this.secure ? 0o400 : 0o444;
  }
  size(): number {
    return this.secure ? 0 : this.prop.length;
  }
  read(): Uint8Array {
    return this.secure ? new Uint8Array(0) : this.prop.value;
  }
}

/** Where a kobject keeps its node's property list: a symbol key, so reflection (the digest) skips it. */
const PROPS = Symbol('properties');

/**
 * struct kobject of a device node: its count (kref, K-REF-4) and its place in sysfs. It also serves
 * the node's boot property files (the kobject's bin attributes) without an object per file while none
 * of them has changed: the files are exactly the boot properties under their own names, which is what
 * K-SYSFS-3 makes of distinct names in a new directory (safe_name renames nothing). When the property
 * list is first copied to be changed (PropertyList), the files become ordinary entries first.
 */
export class Kobject implements Refcount, KernfsVirtualEntries {
  count = 1;
  saturated = false;
  /** The name safe_name gave it (K-SYSFS-2), kept after removal for reports. */
  sysfsName: string | null = null;
  /** Its directory while it is in sysfs (kobject_add succeeded, kobject_del not yet). */
  dir: KernfsDir | null = null;
  /** The property files that are entry objects, by property (none while they are virtual). */
  files: Map<NodeProperty, KernfsFile> | null = null;
  private readonly [PROPS]: PropertyList;
  constructor(props: PropertyList) {
    this[PROPS] = props;
    props.watcher = this;
  }
  /** kobj.state_in_sysfs: exactly while it has a directory (one field less per node). */
  get inSysfs(): boolean {
    return this.dir !== null;
  }
  /** The kref (the count lives in the kobject itself). */
  get ref(): Refcount {
    return this;
  }
  virtualCount(_dir: KernfsDir): number {
    return this[PROPS].length;
  }
  virtualEntry(dir: KernfsDir, name: string): KernfsFile | undefined {
    const props = this[PROPS];
    const i = props.indexOf(name);
    return i < 0 ? undefined : new PropertyFile(props.at(i), name, dir);
  }
  virtualEntries(dir: KernfsDir): KernfsFile[] {
    return this[PROPS].map((p) => new PropertyFile(p, p.name, dir));
  }
  /** kernfs asks (a directory grown past SEEKABLE_ENTRIES): the files become entries now. */
  materialize(_dir: KernfsDir): void {
    // Copying the boot list tells bootPropertiesCopied; a list copied already is passed on directly.
    this.bootPropertiesCopied(this[PROPS].objects());
  }
  /** The list's copy-on-write, before its first change: the files take the list's new objects. */
  bootPropertiesCopied(props: readonly NodeProperty[]): void {
    const dir = this.dir;
    if (!dir?.hasVirtual) return;
    const files = props.map((p) => new PropertyFile(p, p.name, dir));
    dir.materialize(files);
    this.files = new Map(props.map((p, i) => [p, files[i]!]));
  }
}

/** Whether no two properties share a name (then none of their files is renamed, K-SYSFS-2). */
function distinctNames(props: PropertyList): boolean {
  const n = props.length;
  if (n > 32) {
    const seen = new Set<string>();
    for (const p of props) {
      if (seen.has(p.name)) return false;
      seen.add(p.name);
    }
    return true;
  }
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = props.at(i).name;
    if (names.includes(name)) return false;
    names.push(name);
  }
  return true;
}

/** Property files as entry objects from now on (a change of one of them is coming). */
function materializePropertyFiles(np: DeviceNode): void {
  np.kobj.dir?.materialize();
}

/** The file of `pp` in its node's directory, if it has one. */
function fileOf(np: DeviceNode, pp: NodeProperty): KernfsFile | undefined {
  return np.kobj.files?.get(pp);
}

/**
 * kernfs_add_one failing on a name that is taken (E11): sysfs_warn_dup prints the full path and dumps
 * the stack, then kobject_add_internal (for a directory) complains in its own words.
 */
function sysfsWarnDup(of: OfState, dir: KernfsDir, name: string): void {
  of.k.fn('sysfs_warn_dup', () => {
    of.k.printk('warn', `sysfs: cannot create duplicate filename '${kernfsPath(dir)}/${name}'`);
    of.k.dumpStack('warn');
  });
}

/**
 * kobject_add_internal failing because `name` is taken in `dir` (any kobject: a node's directory, a
 * device's): sysfs_warn_dup, then kobject_add_internal's own complaint. Answers -EEXIST.
 */
export function kobjectAddDuplicate(of: OfState, dir: KernfsDir, name: string): number {
  sysfsWarnDup(of, dir, name);
  of.k.printk(
    'err',
    `kobject_add_internal failed for ${name} with -EEXIST, don't try to register things with the same name in the same directory.`,
  );
  return -17;
}

/** __of_add_property_sysfs (K-SYSFS-3): only for nodes in sysfs. */
export function ofAddPropertySysfs(of: OfState, np: DeviceNode, pp: NodeProperty): void {
  const dir = np.kobj.dir;
  if (!np.kobj.inSysfs || !dir) return;
  materializePropertyFiles(np);
  const name = safeName(of, dir, pp.name);
  const file = new PropertyFile(pp, name);
  if (!kernfsAdd(dir, file)) {
    sysfsWarnDup(of, dir, name);
    return;
  }
  np.kobj.files ??= new Map();
  np.kobj.files.set(pp, file);
}

export function ofRemovePropertySysfs(np: DeviceNode, pp: NodeProperty): void {
  materializePropertyFiles(np);
  const file = fileOf(np, pp);
  if (file) kernfsRemove(file);
  np.kobj.files?.delete(pp);
}

export function ofUpdatePropertySysfs(
  of: OfState,
  np: DeviceNode,
  newProp: NodeProperty,
  oldProp?: NodeProperty,
): void {
  if (oldProp) ofRemovePropertySysfs(np, oldProp);
  ofAddPropertySysfs(of, np, newProp);
}

/** E3: the holder name of the reference a child's kobject holds on its parent node. */
export function childHolder(sysfsName: string): string {
  return CHILD_HOLDERS.get(sysfsName);
}

const CHILD_HOLDERS = new StringInterner((name) => flatString(`child:${name}`));

/**
 * kobject_add_internal for a node's directory. The child kobject takes a reference on its parent
 * (E3: kobject_get(kobj->parent), holder `child:<name>`) and keeps it only when the add succeeds.
 * The root directory `base` hangs off the devicetree kset, not a node: no node reference.
 */
function kobjectAdd(of: OfState, np: DeviceNode, parentDir: KernfsDir, name: string): number {
  return of.k.fn('kobject_add_internal', () => {
    const parent = np.parent;
    const dir = kernfsNewDir(name);
    // kobject_add names the kobject before it tries to add it: a failed add keeps the name.
    np.kobj.sysfsName = name;
    if (!kernfsAdd(parentDir, dir)) return kobjectAddDuplicate(of, parentDir, name);
    if (parent) ofNodeGet(of, parent, childHolder(name));
    np.kobj.sysfsName = name;
    np.kobj.dir = dir;
    return 0;
  });
}

/** __of_attach_node_sysfs (K-SYSFS-2, -3, -5; E3, E11). Returns 0 or a negative errno. */
export function ofAttachNodeSysfs(of: OfState, np: DeviceNode): number {
  return of.k.fn('__of_attach_node_sysfs', () => {
    const { profile } = of.k;
    const parent = np.parent;
    const parentDir = parent ? parent.kobj.dir : of.kset;
    if (!parentDir || (parent && !parent.kobj.inSysfs)) {
      // E11: create_dir finds no parent directory (-ENOENT); the name is the one kobject_add was given.
      const name = np.fullName;
      np.kobj.sysfsName = name;
      // kobject_name(parent): the name its own kobject_add gave it, added or not ('none' without one).
      of.k.printk(
        'err',
        `kobject_add_internal failed for ${name} (error: -2 parent: ${parent ? (parent.kobj.sysfsName ?? '(null)') : "'none'"})`,
      );
      if (profile.sysfsHoldsRef && profile.sysfsRefBeforeAdd) ofNodeGet(of, np, SYSFS_HOLDER);
      return -2;
    }
    const name = safeName(of, parentDir, parent ? np.fullName : 'base');
    // E11: 5.0 takes the sysfs reference before kobject_add, so a failed add keeps it; 5.8 after.
    if (profile.sysfsHoldsRef && profile.sysfsRefBeforeAdd) ofNodeGet(of, np, SYSFS_HOLDER);
    const rc = kobjectAdd(of, np, parentDir, name);
    if (rc) return rc;
    // K-SYSFS-3: a file per property. Boot properties with distinct names get exactly their own names
    // in the new directory, so the kobject serves them (Kobject) instead of an entry object each.
    if (np.properties.fromBoot && distinctNames(np.properties)) np.kobj.dir!.setVirtual(np.kobj);
    else for (const pp of np.properties) ofAddPropertySysfs(of, np, pp);
    if (profile.sysfsHoldsRef && !profile.sysfsRefBeforeAdd) ofNodeGet(of, np, SYSFS_HOLDER);
    of.k.emit({ type: 'sysfs.added', address: np.address, name });
    return 0;
  });
}

/**
 * kobject_del: the directory goes with every file in it, then the reference on the parent (E3) is
 * dropped — unless `keepParentRef` (5.15's kobject_cleanup drops it only after the release, E4).
 * Returns the parent whose reference is still to be dropped.
 */
export function kobjectDel(of: OfState, np: DeviceNode, keepParentRef = false): DeviceNode | null {
  return of.k.fn('kobject_del', () => {
    if (!np.kobj.inSysfs) return null;
    // The property files go with the directory (kernfs_remove removes everything below it).
    if (np.kobj.dir) kernfsRemove(np.kobj.dir);
    np.kobj.dir = null;
    np.kobj.files = null;
    of.k.emit({ type: 'sysfs.removed', address: np.address, name: np.kobj.sysfsName });
    const parent = np.parent;
    if (!parent) return null;
    if (keepParentRef) return parent;
    ofNodePut(of, parent, childHolder(np.kobj.sysfsName!));
    return null;
  });
}

/** __of_detach_node_sysfs (K-SYSFS-4): removes what exists, then always puts one reference. */
export function ofDetachNodeSysfs(of: OfState, np: DeviceNode): void {
  of.k.fn('__of_detach_node_sysfs', () => {
    kobjectDel(of, np);
    // Without sysfsHoldsRef this put drops the initial reference ("remove the kobj_init ref").
    ofNodePut(of, np, of.k.profile.sysfsHoldsRef ? SYSFS_HOLDER : INITIAL_HOLDER);
  });
}
