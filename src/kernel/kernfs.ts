// The emulated sysfs: a kernfs tree of directories, files and links. Entries are keyed by name in a
// Map per directory, so a listing or a lookup costs the directory, not the LPAR, and names such as
// `__proto__` are ordinary names. Owners (the OF core, the vio bus) create and remove their entries;
// views read this tree directly, so sysfs is never a separately maintained copy.

/**
 * Entries an owner provides without an object each: a node's property files (src/of/kobj.ts), the
 * CPU devices' directories and their links (src/pseries/topology.ts). They are made on demand, listed
 * before the directory's own entries, and read-only: the owner turns them into ordinary entries
 * (kernfsMaterialize) before it changes any of them, so they never differ from what real entries would
 * be. One owner may serve several directories (it is told which).
 */
import { ChunkedMap } from './chunked-map.ts';

export interface KernfsVirtualEntries {
  virtualCount(dir: KernfsDir): number;
  virtualEntry(dir: KernfsDir, name: string): KernfsNode | undefined;
  virtualEntries(dir: KernfsDir): KernfsNode[];
  /**
   * Entry i of virtualEntries without the others, for an owner whose entries are a numbered series made
   * at once (the CPU directories): such a directory pages by index as a real one pages by creation
   * sequence (kernfsEntriesAfter), since a real one's sequence numbers would be exactly the indexes.
   */
  virtualAt?(dir: KernfsDir, i: number): KernfsNode;
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
  private real: KernfsNode[] | ChunkedMap<string, KernfsNode> | null = null;
  /**
   * The owner of its virtual entries, or the order kept once it was paged: never both (a directory
   * materializes its virtual entries before it keeps an order), so one field serves.
   */
  private aux: KernfsVirtualEntries | KernfsOrder | null = null;

  constructor(name: string) {
    this.name = name;
  }

  /** Every directory the model makes is 0755: the mode is the class's, not a field of each. */
  get mode(): number {
    return DIR_MODE;
  }

  get kind(): 'dir' {
    return 'dir';
  }

  get entries(): this {
    return this;
  }

  /**
   * Set on big directories once they are paged (kernfsOrder): entries by creation sequence. A
   * directory of virtual entries that page by index (virtualAt) past SEEKABLE_ENTRIES answers
   * VIRTUAL_ORDER: a real one would keep an order there, and its sequence numbers would be the indexes.
   */
  get order(): KernfsOrder | undefined {
    const aux = this.aux;
    if (aux !== null && isOrder(aux)) return aux;
    return this.pagesByIndex && this.size > SEEKABLE_ENTRIES ? VIRTUAL_ORDER : undefined;
  }

  set order(order: KernfsOrder | undefined) {
    if (this.virtual) throw new Error('kernfs: an order kept over virtual entries');
    this.aux = order ?? null;
  }

  private get virtual(): KernfsVirtualEntries | null {
    const aux = this.aux;
    return aux === null || isOrder(aux) ? null : aux;
  }

  /** Only virtual entries, which the owner can make one at a time by index. */
  get pagesByIndex(): boolean {
    return this.real === null && this.virtual?.virtualAt !== undefined;
  }

  /** Entry i of the owner's entries (pagesByIndex directories only). */
  virtualAt(i: number): KernfsNode {
    return this.virtual!.virtualAt!(this, i);
  }

  get size(): number {
    const real = this.real;
    return (
      (real === null ? 0 : Array.isArray(real) ? real.length : real.size) +
      (this.virtual?.virtualCount(this) ?? 0)
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
    return this.realGet(name) ?? this.virtual?.virtualEntry(this, name);
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
      else {
        // A big directory (the cpus of a large tree): chunked, so that growing it never rehashes more
        // than a chunk at once (kernel/chunked-map.ts).
        const map = new ChunkedMap<string, KernfsNode>();
        for (const e of real) map.set(e.name, e);
        map.set(name, node);
        this.real = map;
      }
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
    if (this.virtual) for (const e of this.virtual.virtualEntries(this)) yield [e.name, e];
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

  /** Attaches an owner's virtual entries; the directory must have no entries yet. */
  setVirtual(owner: KernfsVirtualEntries): void {
    if (this.size !== 0 || this.aux !== null)
      throw new Error('kernfs: virtual entries on a directory that has (had) entries');
    this.aux = owner;
  }

  get hasVirtual(): boolean {
    return this.virtual !== null;
  }

  /**
   * The virtual entries become ordinary entries, first, in their order (the listing does not change):
   * `made` from the owner, or, without them, the owner is asked to do it (it keeps the objects).
   */
  materialize(made: readonly KernfsNode[] | null = null): void {
    const v = this.virtual;
    if (!v) return;
    if (!made) {
      v.materialize(this);
      return;
    }
    this.aux = null;
    const real = this.real;
    this.real = null;
    for (const e of made) {
      e.parent = this;
      this.set(e.name, e);
    }
    if (real) for (const e of real.values()) this.set(e.name, e);
  }
}

function isOrder(aux: KernfsVirtualEntries | KernfsOrder): aux is KernfsOrder {
  return 'seqs' in aux;
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

const DIR_MODE = 0o755;

/** A directory of another mode than 0755 keeps its own. */
class KernfsModeDir extends KernfsDir {
  readonly #mode: number;
  constructor(name: string, mode: number) {
    super(name);
    this.#mode = mode;
  }
  override get mode(): number {
    return this.#mode;
  }
}

export function kernfsNewDir(name: string, mode = DIR_MODE): KernfsDir {
  return mode === DIR_MODE ? new KernfsDir(name) : new KernfsModeDir(name, mode);
}

/**
 * A virtual directory as its owner hands it out (KernfsVirtualEntries): its entries are the owner's
 * too, and it is frozen, so adding to it or removing it throws instead of changing a copy nobody
 * keeps (the owner materializes before a change).
 */
export function kernfsVirtualDir(
  name: string,
  parent: KernfsDir,
  owner: KernfsVirtualEntries,
  mode = 0o755,
): KernfsDir {
  const dir = kernfsNewDir(name, mode);
  dir.parent = parent;
  dir.setVirtual(owner);
  Object.freeze(dir);
  return dir;
}

/** Adds `node` under `dir`; false (-EEXIST) when the name is taken. */
export function kernfsAdd(dir: KernfsDir, node: KernfsNode): boolean {
  if (dir.entries.has(node.name)) return false;
  // The order a real directory would keep holds every entry as an object, from sequence 0 on.
  if (dir.order === VIRTUAL_ORDER) dir.materialize();
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

/** The order of a directory whose virtual entries page by index (KernfsDir.order): never written. */
const VIRTUAL_ORDER: KernfsOrder = Object.freeze({ nodes: [], seqs: [], next: 0, holes: 0 });

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
  if (dir.pagesByIndex) return virtualEntriesAfter(dir, after, limit);
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

/** kernfsEntriesAfter over entries made by index: entry i has sequence number i. */
function virtualEntriesAfter(
  dir: KernfsDir,
  after: number,
  limit: number,
): { entries: KernfsNode[]; seqs: number[]; more: boolean } {
  const n = dir.size;
  const entries: KernfsNode[] = [];
  const seqs: number[] = [];
  let i = Math.max(0, after + 1);
  for (; i < n && entries.length < limit; i++) {
    entries.push(dir.virtualAt(i));
    seqs.push(i);
  }
  return { entries, seqs, more: i < n };
}
