// The emulated /sys and /proc/device-tree, read from the live kernfs tree. Resolving a path, listing
// a directory and stat-ing an entry only look (issue 9: inspection never changes the model); a file
// read runs the file's reader, which is the kernel's show function with whatever side effects that has
// (devspec_show walks parents with get and put, K-DRV-2; a property file is a plain copy).

import { fnv1a } from '../kernel/hash.ts';
import {
  type KernfsDir,
  type KernfsNode,
  kernfsAdd,
  kernfsEntriesAfter,
  kernfsLookup,
  kernfsNewDir,
  kernfsPath,
  resolveLink,
} from '../kernel/kernfs.ts';
import { dlparShow } from './dlpar.ts';
import { badCursor, decodeCursor, encodeCursor } from './documents.ts';
import { badRequest, notFound } from './errors.ts';
import type { Lpar } from './lpar.ts';

export interface PathLimits {
  readonly maxComponents: number;
  readonly maxComponentBytes: number;
}

/** Splits a view path and refuses what a path walk would not take: `..`, NUL, over-long components. */
export function viewPathParts(path: string, limits: PathLimits): string[] {
  const parts = path.split('/').filter((p) => p.length > 0 && p !== '.');
  if (parts.length > limits.maxComponents)
    throw badRequest('Path too deep', `at most ${limits.maxComponents} components`);
  for (const p of parts) {
    if (p === '..') throw badRequest('Bad path', 'paths may not contain ".." components');
    if (p.includes('\0')) throw badRequest('Bad path', 'paths may not contain NUL');
    if (p.length * 3 > limits.maxComponentBytes && Buffer.byteLength(p, 'utf8') > limits.maxComponentBytes)
      throw badRequest('Bad path', `a path component is longer than ${limits.maxComponentBytes} bytes`);
  }
  return parts;
}

/** A device-tree path given to the API: absolute, and no `..`, NUL or over-long component (K-OFDT paths aside). */
export function checkOfPath(path: string, limits: PathLimits): void {
  if (!path.startsWith('/'))
    throw badRequest('Bad path', `device-tree paths are absolute: ${JSON.stringify(path)}`);
  viewPathParts(path, limits);
}

export type ViewRoot = 'sys' | 'proc-device-tree';

function rootDir(lpar: Lpar, root: ViewRoot): KernfsDir | null {
  if (root === 'sys') return lpar.of.sysfs;
  return lpar.of.root?.kobj.dir ?? null;
}

/**
 * /sys/kernel as a look sees it: dlpar_sysfs_init's one file, `dlpar` (0644; a read is dlpar_show's
 * sprintf of the resources the release takes). The model's sysfs holds the device tree's and the
 * devices' entries, not kernel_kobj's, so this directory is made for the look from the release and is
 * no part of the LPAR's state: the digest and the sysfs export leave it out, and the /sys listing
 * does not show it (reached by its path only). A write is POST …/sys/kernel/dlpar.
 */
function sysKernelDir(lpar: Lpar): KernfsDir {
  const dir = kernfsNewDir('kernel');
  dir.parent = lpar.of.sysfs; // for its path (/kernel), not an entry of /sys
  const text = new TextEncoder().encode(dlparShow(lpar));
  kernfsAdd(dir, {
    kind: 'file',
    name: 'dlpar',
    parent: null,
    mode: 0o644,
    read: () => text,
    size: () => 4096,
  });
  return dir;
}

/**
 * /sys/bus/pci/slots/control as a look sees it: rpadlpar_io's two files (dlpar_sysfs_init), each 0644
 * and read as `0` and a newline (add_slot_show, remove_slot_show). Made for the look like
 * /sys/kernel, no part of the LPAR's state; a write is POST …/sys/bus/pci/slots/control/<file>.
 */
function sysBusDir(lpar: Lpar): KernfsDir {
  const bus = kernfsNewDir('bus');
  bus.parent = lpar.of.sysfs;
  const pci = kernfsNewDir('pci');
  const slots = kernfsNewDir('slots');
  const control = kernfsNewDir('control');
  kernfsAdd(bus, pci);
  kernfsAdd(pci, slots);
  kernfsAdd(slots, control);
  const zero = new TextEncoder().encode('0\n');
  for (const name of ['add_slot', 'remove_slot'])
    kernfsAdd(control, { kind: 'file', name, parent: null, mode: 0o644, read: () => zero, size: () => 4096 });
  return bus;
}

/** The look-only directories of /sys, by their first component. */
const LOOK_ONLY: Readonly<Record<string, (lpar: Lpar) => KernfsDir>> = {
  kernel: sysKernelDir,
  bus: sysBusDir,
};

export function lookupView(lpar: Lpar, root: ViewRoot, parts: readonly string[]): KernfsNode {
  const dir = rootDir(lpar, root);
  let found = dir
    ? kernfsLookup(
        root === 'sys' ? dir : lpar.of.sysfs,
        root === 'sys' ? parts : [...kernfsPath(dir).split('/').filter(Boolean), ...parts],
      )
    : null;
  const lookOnly =
    parts[0] !== undefined && Object.hasOwn(LOOK_ONLY, parts[0]) ? LOOK_ONLY[parts[0]] : undefined;
  if (!found && root === 'sys' && dir && lookOnly && !dir.entries.has(parts[0]!))
    found = kernfsLookup(lookOnly(lpar), parts.slice(1));
  if (!found)
    throw notFound(
      'Path',
      `${root === 'sys' ? '/sys' : '/proc/device-tree'}/${parts.join('/')} does not exist`,
    );
  return found;
}

export function entryDocument(lpar: Lpar, node: KernfsNode) {
  const base = { name: node.name, mode: `0${node.mode.toString(8)}` };
  switch (node.kind) {
    case 'dir':
      return { ...base, type: 'dir' as const, size: 0 };
    case 'file':
      return { ...base, type: 'file' as const, size: node.size() };
    case 'link':
      return {
        ...base,
        type: 'link' as const,
        size: node.target.length,
        target: node.target,
        broken: resolveLink(lpar.of.sysfs, node) === null,
      };
  }
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Every entry of a directory, sorted by name (costs the directory: the API pages instead). */
export function listDirectory(lpar: Lpar, dir: KernfsDir) {
  return [...dir.entries.values()].map((e) => entryDocument(lpar, e)).sort(byName);
}

const DIR_CURSOR = 'dir';
const SEQ_CURSOR = 'dirseq';
/** How every 'dirseq' cursor starts (base64url of `["dirseq"`), to pick the paging path cheaply. */
const SEQ_CURSOR_PREFIX = encodeCursor([SEQ_CURSOR]).slice(0, 8);

/**
 * A page of a big directory by creation sequence: the cursor holds the directory tag and the sequence
 * number of the page's last entry, and the next page starts after it by binary search, whatever was
 * added or removed meanwhile (no unchanged entry is repeated or skipped). Costs log(entries) + page.
 */
function listSeekablePage(lpar: Lpar, dir: KernfsDir, req: { cursor?: string; limit: number }) {
  let after = -1;
  if (req.cursor !== undefined) {
    const [, tag, seq, extra] = decodeCursor(req.cursor, SEQ_CURSOR);
    if (
      typeof tag !== 'string' ||
      typeof seq !== 'number' ||
      !Number.isInteger(seq) ||
      seq < 0 ||
      extra !== undefined
    )
      throw badCursor(`${JSON.stringify(req.cursor)} is not a cursor this service handed out`);
    if (tag !== dirTag(dir)) throw badCursor(`${JSON.stringify(req.cursor)} pages another directory`);
    after = seq;
  }
  const { entries, seqs, more } = kernfsEntriesAfter(dir, after, req.limit);
  return {
    items: entries.map((e) => entryDocument(lpar, e)).sort(byName),
    next: more && seqs.length ? encodeCursor([SEQ_CURSOR, dirTag(dir), seqs.at(-1)!]) : null,
  };
}

/** FNV-1a of the directory's path: a cursor names the directory it pages, so another one refuses it. */
function dirTag(dir: KernfsDir): string {
  return fnv1a(kernfsPath(dir)).toString(16).padStart(8, '0');
}

interface DirCursor {
  readonly position: number;
  readonly name: string;
}

function decodeDirCursor(dir: KernfsDir, raw: string): DirCursor {
  const [, tag, position, name, extra] = decodeCursor(raw, DIR_CURSOR);
  if (
    typeof tag !== 'string' ||
    typeof name !== 'string' ||
    typeof position !== 'number' ||
    !Number.isInteger(position) ||
    position < 0 ||
    extra !== undefined
  )
    throw badCursor(`${JSON.stringify(raw)} is not a cursor this service handed out`);
  if (tag !== dirTag(dir)) throw badCursor(`${JSON.stringify(raw)} pages another directory`);
  return { position, name };
}

/**
 * One page of a directory: `limit` entries in the directory's own order (creation order, as the
 * entries Map keeps it), each page sorted by name, so a directory that fits in one page lists as
 * `ls` does.
 *
 * The cursor holds the position and name of the page's last entry (in directory order). Entries keep
 * their order and a new one goes last, so on resuming:
 * - the name still at its position: the page starts right after it;
 * - the name found earlier (entries before it went): right after it there;
 * - the name gone, or re-added at the end: at its old position, where the entry that followed it now
 *   is (exact unless other entries before it went too, when some may be skipped; none is repeated).
 * Costs the page plus the cursor's position: the entries Map cannot seek.
 */
export function listDirectoryPage(lpar: Lpar, dir: KernfsDir, req: { cursor?: string; limit: number }) {
  // A cursor pages the way it was handed out; a first page picks by size.
  const seekable =
    req.cursor !== undefined ? req.cursor.startsWith(SEQ_CURSOR_PREFIX) : dir.order !== undefined; // kept by kernfs for directories past SEEKABLE_ENTRIES
  if (seekable) return listSeekablePage(lpar, dir, req);
  const it = dir.entries[Symbol.iterator]();
  let position = 0; // entries consumed from `it`
  let pending: KernfsNode | null = null; // consumed, but the first of the page
  if (req.cursor !== undefined) {
    const cursor = decodeDirCursor(dir, req.cursor);
    for (;;) {
      const r = it.next();
      if (r.done) break;
      position += 1;
      const [key, entry] = r.value;
      if (key === cursor.name) break;
      if (position - 1 === cursor.position) {
        pending = entry;
        position -= 1;
        break;
      }
    }
  }
  const start = position;
  const page: KernfsNode[] = pending ? [pending] : [];
  let more = false;
  for (;;) {
    const r = it.next();
    if (r.done) break;
    if (page.length === req.limit) {
      more = true;
      break;
    }
    page.push(r.value[1]);
  }
  const last = page.at(-1);
  return {
    items: page.map((e) => entryDocument(lpar, e)).sort(byName),
    next: more && last ? encodeCursor([DIR_CURSOR, dirTag(dir), start + page.length - 1, last.name]) : null,
  };
}

/**
 * Reads a file; following a link to a file reads that file. The reader is the file's show function and
 * runs as the task it models itself (devspec_show runs as `cat`), so the read is wrapped in the current
 * task, not a new one: a side-effect-free show function (a property file) allocates no pid, prints and
 * counts nothing. Whatever events a reader reports are drained as for any operation.
 */
export function readViewFile(lpar: Lpar, node: KernfsNode): Uint8Array | null {
  const target = node.kind === 'link' ? resolveLink(lpar.of.sysfs, node) : node;
  if (target?.kind !== 'file') return null;
  // A plain copy is an inspection; a show function with side effects is a kernel action.
  if (target.action === undefined) return target.read();
  lpar.assertAlive();
  return lpar.run(lpar.k.tasks.current.comm, () => target.read());
}
