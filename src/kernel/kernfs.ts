// The emulated sysfs: a kernfs tree of directories, files and links. Entries are keyed by name in a
// Map per directory, so a listing or a lookup costs the directory, not the LPAR, and names such as
// `__proto__` are ordinary names. Owners (the OF core, the vio bus) create and remove their entries;
// views read this tree directly, so sysfs is never a separately maintained copy.

/**
 * Files an owner provides without an entry object each (a node's property files, src/of/kobj.ts):
 * made on demand, listed before the directory's own entries. The owner turns them into ordinary
 * entries (kernfsMaterialize) before it changes any of them, so they never differ from what real
 * entries would be.
 */
export interface KernfsVirtualFiles {
  readonly virtualCount: number;
  virtualFile(dir: KernfsDir, name: string): KernfsFile | undefined;
  virtualFiles(dir: KernfsDir): KernfsFile[];
  /** Turns them into entries of `dir` (the owner calls dir.materialize with the objects it keeps). */
  materialize(dir: KernfsDir): void;
}

/** Entries a directory keeps in a plain array (searched in order) before it makes a Map. */
const SMALL_DIR = 8;

/**
 * A directory. `entries` reads like a ReadonlyMap of name → entry (the directory itself answers), over
 * its ordinary entries (none, a few in an array, or a Map) plus the owner's virtual files: most
 * device-tree directories hold only property files, and a Map per directory costs more than a node.
 */
export class KernfsDir implements Iterable<[string, KernfsNode]> {
  readonly name: string;
  parent: KernfsDir | null = null;
  readonly mode: number;
  private real: KernfsNode[] | Map<string, KernfsNode> | null = null;
  private virtual: KernfsVirtualFiles | null = null;
  /** Set on big directories once they are paged (kernfsOrder): entries by creation sequence. */
  order?: KernfsOrder;

  constructor(name: string, mode = 0o755) {
    this.name = name;
    this.mode = mode;
  }

  get kind(): 'dir' {
    return 'dir';
  }

  get entries(): this {
    return this;
  }

  get size(): number {
    const real = this.real;
    return (
      (real === null ? 0 : Array.isArray(real) ? real.length : real.size) + (this.virtual?.virtualCount ?? 0)
    );
  }

  private realGet(name: string): KernfsNode | undefined {
    const real = this.real;
    if (real === null) return undefined;
    if (!Array.isArray(real)) return real.get(name);
    for (const e of real) if (e.name === name) return e;
    return undefined;
  }

  get(name: string): KernfsNode | undefined {
    return this.realGet(name) ?? this.virtual?.virtualFile(this, name);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Only kernfsAdd and kernfsRemove change a directory. */
  set(name: string, node: KernfsNode): this {
    if (node.name !== name) throw new Error(`kernfs: entry ${node.name} filed as ${name}`);
    const real = this.real;
    if (real === null) this.real = [node];
    else if (!Array.isArray(real)) real.set(name, node);
    else {
      const i = real.findIndex((e) => e.name === name);
      if (i >= 0) real[i] = node;
      else if (real.length < SMALL_DIR) real.push(node);
      else this.real = new Map([...real, node].map((e) => [e.name, e]));
    }
    return this;
  }

  delete(name: string): boolean {
    const real = this.real;
    if (real === null) return false;
    if (!Array.isArray(real)) return real.delete(name);
    const i = real.findIndex((e) => e.name === name);
    if (i < 0) return false;
    real.splice(i, 1);
    return true;
  }

  *entriesIterator(): IterableIterator<[string, KernfsNode]> {
    if (this.virtual) for (const f of this.virtual.virtualFiles(this)) yield [f.name, f];
    const real = this.real;
    if (real === null) return;
    if (Array.isArray(real)) for (const e of real) yield [e.name, e];
    else yield* real;
  }

  [Symbol.iterator](): IterableIterator<[string, KernfsNode]> {
    return this.entriesIterator();
  }

  *values(): IterableIterator<KernfsNode> {
    for (const [, v] of this.entriesIterator()) yield v;
  }

  *keys(): IterableIterator<string> {
    for (const [k] of this.entriesIterator()) yield k;
  }

  /** Attaches an owner's virtual files; the directory must have no entries yet. */
  setVirtual(files: KernfsVirtualFiles): void {
    if (this.size !== 0) throw new Error('kernfs: virtual files on a directory that has entries');
    this.virtual = files;
  }

  get hasVirtual(): boolean {
    return this.virtual !== null;
  }

  /**
   * The virtual files become ordinary entries, first, in their order (the listing does not change):
   * `files` from the owner, or, without them, the owner is asked to do it (it keeps the objects).
   */
  materialize(files: readonly KernfsFile[] | null = null): void {
    const v = this.virtual;
    if (!v) return;
    if (!files) {
      v.materialize(this);
      return;
    }
    this.virtual = null;
    const list = files;
    const real = this.real;
    this.real = null;
    for (const f of list) {
      f.parent = this;
      this.set(f.name, f);
    }
    if (real) for (const e of real.values()) this.set(e.name, e);
  }
}

/**
 * The simulator's seekable order of a big directory: the entries in creation order with increasing
 * sequence numbers, so that a page can start after a sequence number by binary search instead of
 * iterating the Map to a position. Removed entries stay as holes until half the array is holes.
 */
export interface KernfsOrder {
  nodes: KernfsNode[];
  seqs: number[];
  next: number;
  holes: number;
}

export interface KernfsFile {
  readonly kind: 'file';
  readonly name: string;
  parent: KernfsDir | null;
  readonly mode: number;
  /** The size `stat` reports (without running the reader). */
  readonly size: () => number;
  /** What a read returns; may run kernel code with its side effects (K-DRV-2 devspec). */
  readonly read: () => Uint8Array;
  /**
   * The kernel function a read runs when it has side effects (`devspec_show`); absent for a plain copy
   * such as a property file. Views use it to tell a kernel action from an inspection.
   */
  readonly action?: string;
}

export interface KernfsLink {
  readonly kind: 'link';
  readonly name: string;
  parent: KernfsDir | null;
  readonly mode: number;
  /** Relative target, as readlink prints it. */
  readonly target: string;
}

export type KernfsNode = KernfsDir | KernfsFile | KernfsLink;

export function kernfsNewDir(name: string, mode = 0o755): KernfsDir {
  return new KernfsDir(name, mode);
}

/** Adds `node` under `dir`; false (-EEXIST) when the name is taken. */
export function kernfsAdd(dir: KernfsDir, node: KernfsNode): boolean {
  if (dir.entries.has(node.name)) return false;
  node.parent = dir;
  dir.entries.set(node.name, node);
  if (dir.order) {
    dir.order.nodes.push(node);
    dir.order.seqs.push(dir.order.next++);
  } else if (dir.entries.size > SEEKABLE_ENTRIES) {
    dir.materialize(); // a paged directory's order holds every entry as an object
    kernfsOrder(dir); // once, as it grows past the mark
  }
  return true;
}

/** kernfs_remove: the node and, for a directory, everything below it. */
export function kernfsRemove(node: KernfsNode): void {
  const parent = node.parent;
  if (parent && parent.entries.get(node.name) === node) {
    parent.entries.delete(node.name);
    if (parent.order) {
      parent.order.holes += 1;
      if (parent.order.holes > parent.order.nodes.length / 2) compactOrder(parent, parent.order);
    }
  }
  node.parent = null;
}

export function kernfsMkdirP(root: KernfsDir, path: string): KernfsDir {
  let dir = root;
  for (const part of path.split('/').filter(Boolean)) {
    const found = dir.entries.get(part);
    if (found?.kind === 'dir') {
      dir = found;
      continue;
    }
    const created = kernfsNewDir(part);
    kernfsAdd(dir, created);
    dir = created;
  }
  return dir;
}

/** The absolute path of an entry that is linked into the tree under `root`. */
export function kernfsPath(node: KernfsNode): string {
  const parts: string[] = [];
  let cur: KernfsNode | null = node;
  while (cur?.parent) {
    parts.push(cur.name);
    cur = cur.parent;
  }
  return `/${parts.reverse().join('/')}`;
}

/**
 * Resolves path components from `root`, following links in directories along the way (as a path walk
 * does) but not a link in the last component unless `followLast`.
 */
export function kernfsLookup(
  root: KernfsDir,
  parts: readonly string[],
  followLast = false,
  depth = 0,
): KernfsNode | null {
  if (depth > 8) return null; // ELOOP
  let cur: KernfsNode = root;
  for (let i = 0; i < parts.length; i++) {
    if (cur.kind === 'link') {
      const resolved = resolveLink(root, cur, depth);
      if (!resolved) return null;
      cur = resolved;
    }
    if (cur.kind !== 'dir') return null;
    const part = parts[i]!;
    const next: KernfsNode | undefined =
      part === '.' ? cur : part === '..' ? (cur.parent ?? cur) : cur.entries.get(part);
    if (!next) return null;
    cur = next;
  }
  if (followLast && cur.kind === 'link') return resolveLink(root, cur, depth);
  return cur;
}

export function resolveLink(root: KernfsDir, link: KernfsLink, depth = 0): KernfsNode | null {
  if (!link.parent) return null;
  const base = kernfsPath(link.parent).split('/').filter(Boolean);
  const parts = [...base, ...link.target.split('/').filter(Boolean)];
  const normalised: string[] = [];
  for (const p of parts) {
    if (p === '..') normalised.pop();
    else if (p !== '.') normalised.push(p);
  }
  return kernfsLookup(root, normalised, true, depth + 1);
}

/** A directory that grows past this many entries keeps a seekable order from then on. */
export const SEEKABLE_ENTRIES = 1000;

/** The creation order of `dir`'s entries as they are now. */
function orderOf(dir: KernfsDir): KernfsOrder {
  const nodes = [...dir.entries.values()];
  return { nodes, seqs: nodes.map((_, i) => i), next: nodes.length, holes: 0 };
}

/** The seekable order of `dir`, kept from now on by add and remove. */
export function kernfsOrder(dir: KernfsDir): KernfsOrder {
  dir.order ??= orderOf(dir);
  return dir.order;
}

/** Drops the holes of a directory's order (on removal, so that a listing never writes). */
function compactOrder(dir: KernfsDir, order: KernfsOrder): void {
  const nodes: KernfsNode[] = [];
  const seqs: number[] = [];
  order.nodes.forEach((n, i) => {
    // The removed node's parent is cleared only after this runs: compare by the directory's map.
    if (dir.entries.get(n.name) === n) {
      nodes.push(n);
      seqs.push(order.seqs[i]!);
    }
  });
  order.nodes = nodes;
  order.seqs = seqs;
  order.holes = 0;
}

/**
 * Up to `limit` live entries of `dir` created after sequence number `after` (-1: from the start), with
 * the sequence number of each: costs log(entries) plus the page (and the holes it crosses).
 */
export function kernfsEntriesAfter(
  dir: KernfsDir,
  after: number,
  limit: number,
): { entries: KernfsNode[]; seqs: number[]; more: boolean } {
  // A listing never writes: a directory without a kept order is read in its Map's order, as it is.
  const order = dir.order ?? orderOf(dir);
  let lo = 0;
  let hi = order.seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (order.seqs[mid]! <= after) lo = mid + 1;
    else hi = mid;
  }
  const entries: KernfsNode[] = [];
  const seqs: number[] = [];
  let i = lo;
  for (; i < order.nodes.length && entries.length < limit; i++) {
    const n = order.nodes[i]!;
    if (n.parent !== dir) continue; // a hole
    entries.push(n);
    seqs.push(order.seqs[i]!);
  }
  while (i < order.nodes.length && order.nodes[i]!.parent !== dir) i++;
  return { entries, seqs, more: i < order.nodes.length };
}
