// /sys/firmware/devicetree/base as a tar archive that `dtc -I fs` reads back into the same tree.
//
// The archive is written straight from the live sysfs tree, one entry after another, in chunks
// (sysfsTarChunks): a walk with an explicit stack (no recursion, whatever the depth), each directory's
// entries sorted by name (big directories with a merge sort that yields between runs), headers encoded
// here byte for byte as tar-stream encodes them (ustar, with a pax header for a name that does not fit).
// Nothing is snapshotted up front, so memory stays at one directory's listing per level and a chunk;
// the tree must not change while the archive is written, which the export route ensures by holding the
// LPAR's operation queue (src/http/routes/exports.ts).
//
// Entry names are safe to extract (issue 11): every one is `base/` followed by sysfs names, and a name
// that is not one safe path component (empty, `.`, `..`, or holding `/` or NUL) is left out of the
// archive with everything under it (isTarComponent). Uploads refuse such names (src/of/fdt.ts), but
// an ofdt write can still make them, as the kernel's parser does (docs/kernel-notes.md, note 33).
//
// An export only looks (issue 9): a property file's bytes are taken from the property it shows, as
// the kernel's read would copy them, without running the file's reader, entering a task or taking a
// reference; nodes are matched to their directories by walking the tree beside the directories.

import { Readable } from 'node:stream';
import type { KernfsDir, KernfsFile, KernfsNode } from '../kernel/kernfs.ts';
import { PropertyFile } from '../of/kobj.ts';
import type { DeviceNode, NodeProperty } from '../of/node.ts';
import type { Lpar } from './lpar.ts';
import { slicedChunks } from './registry.ts';

/**
 * What a read of a property's file returns: of_node_property_read copies from the value and
 * sysfs_kf_bin_read clamps the read to the attribute's size (0 for `security-` properties, K-SYSFS-1).
 */
function propertyFileBytes(file: KernfsFile, pp: NodeProperty): Uint8Array {
  return pp.value.subarray(0, file.size());
}

// ---- tar headers, as tar-stream 3 (headers.js, pack.js) writes them ----

const BLOCK = 512;
const ZEROS = '0000000000000000000';
const SEVENS = '7777777777777777777';
const USTAR_MAGIC = [0x75, 0x73, 0x74, 0x61, 0x72, 0x00]; // ustar\0
const DMODE = 0o755;
const FMODE = 0o644;
const TYPEFLAG = { file: 0, symlink: 2, directory: 5, 'pax-header': 72 } as const;
type EntryType = keyof typeof TYPEFLAG;

interface TarHeader {
  readonly name: string;
  readonly type: EntryType;
  readonly mode: number;
  readonly size: number;
  readonly mtime: number;
  readonly linkname?: string;
}

const byteLength = (s: string) => Buffer.byteLength(s);

function encodeOct(val: number, n: number): string {
  const s = val.toString(8);
  if (s.length > n) return `${SEVENS.slice(0, n)} `;
  return `${ZEROS.slice(0, n - s.length)}${s} `;
}

/**
 * Writes one 512-byte ustar header into `buf` at `at` (zero-filled there), or returns false when the
 * name or link does not fit (then a pax header is used).
 */
function encodeHeader(h: TarHeader, buf: Buffer, at: number): boolean {
  let name = h.name;
  let prefix = '';
  if (byteLength(name) !== name.length) return false; // utf-8
  while (byteLength(name) > 100) {
    const i = name.indexOf('/');
    if (i === -1) return false;
    prefix += prefix ? `/${name.slice(0, i)}` : name.slice(0, i);
    name = name.slice(i + 1);
  }
  if (byteLength(name) > 100 || byteLength(prefix) > 155) return false;
  if (h.linkname && byteLength(h.linkname) > 100) return false;
  buf.write(name, at);
  buf.write(encodeOct(h.mode & 0o7777, 6), at + 100);
  buf.write(encodeOct(0, 6), at + 108); // uid
  buf.write(encodeOct(0, 6), at + 116); // gid
  if (h.size.toString(8).length > 11) {
    buf[at + 124] = 0x80;
    let num = h.size;
    for (let i = 11; i > 0; i--) {
      buf[at + 124 + i] = num & 0xff;
      num = Math.floor(num / 0x100);
    }
  } else buf.write(encodeOct(h.size, 11), at + 124);
  buf.write(encodeOct((h.mtime / 1000) | 0, 11), at + 136);
  buf[at + 156] = 0x30 + TYPEFLAG[h.type];
  if (h.linkname) buf.write(h.linkname, at + 157);
  for (let i = 0; i < USTAR_MAGIC.length; i++) buf[at + 257 + i] = USTAR_MAGIC[i]!;
  buf[at + 263] = 0x30; // version "00"
  buf[at + 264] = 0x30;
  buf.write(encodeOct(0, 6), at + 329); // devmajor
  buf.write(encodeOct(0, 6), at + 337); // devminor
  if (prefix) buf.write(prefix, at + 345);
  let sum = 8 * 32;
  for (let i = 0; i < 148; i++) sum += buf[at + i]!;
  for (let j = 156; j < BLOCK; j++) sum += buf[at + j]!;
  buf.write(encodeOct(sum, 6), at + 148);
  return true;
}

function paxRecord(str: string): string {
  const len = byteLength(str);
  let digits = Math.floor(Math.log(len) / Math.log(10)) + 1;
  if (len + digits >= 10 ** digits) digits++;
  return `${len + digits}${str}`;
}

const padding = (size: number) => (size & 511 ? BLOCK - (size & 511) : 0);

/**
 * A tar archive's bytes in chunks of CHUNK_BYTES, encoded in place: headers, contents and padding go
 * straight into the current chunk (a zero-filled buffer), so the archive costs one allocation per
 * chunk, not several per entry (allocations outside the JS heap each push V8 towards a full GC).
 */
class TarWriter {
  private static readonly CHUNK_BYTES = 256 * 1024;
  private buf = Buffer.alloc(TarWriter.CHUNK_BYTES);
  private off = 0;
  private readonly ready: Uint8Array[] = [];
  private readonly mtime: number;
  constructor(mtime: number) {
    this.mtime = mtime;
  }
  private flush(): void {
    if (this.off === 0) return;
    this.ready.push(this.buf.subarray(0, this.off));
    this.buf = Buffer.alloc(TarWriter.CHUNK_BYTES);
    this.off = 0;
  }
  /** Room for `n` more bytes in the current chunk (n <= CHUNK_BYTES). */
  private room(n: number): void {
    if (this.off + n > this.buf.length) this.flush();
  }
  private header(h: TarHeader): boolean {
    this.room(BLOCK);
    if (!encodeHeader(h, this.buf, this.off)) return false;
    this.off += BLOCK;
    return true;
  }
  /** `b` and the zeros that pad it to a block; a large one goes out as itself, not copied. */
  private data(b: Uint8Array): void {
    const pad = padding(b.length);
    if (b.length > TarWriter.CHUNK_BYTES / 2) {
      this.flush();
      this.ready.push(b);
      this.off = pad; // the fresh chunk starts with the zeros
      return;
    }
    this.room(b.length + pad);
    this.buf.set(b, this.off);
    this.off += b.length + pad;
  }
  entry(type: EntryType, name: string, mode: number, content?: Uint8Array, linkname?: string): void {
    // pack.entry: a mode of 0 becomes the default for the type.
    const m = mode || (type === 'directory' ? DMODE : FMODE);
    const size = content?.length ?? 0;
    const header: TarHeader = {
      name,
      type,
      mode: m,
      size,
      mtime: this.mtime,
      ...(linkname ? { linkname } : {}),
    };
    if (!this.header(header)) {
      let pax = '';
      if (name) pax += paxRecord(` path=${name}\n`);
      if (linkname) pax += paxRecord(` linkpath=${linkname}\n`);
      const paxBytes = Buffer.from(pax);
      const base = {
        name: 'PaxHeader',
        mode: m,
        mtime: this.mtime,
        ...(linkname ? { linkname: 'PaxHeader' } : {}),
      };
      this.header({ ...base, type: 'pax-header', size: paxBytes.length });
      this.data(paxBytes);
      this.header({ ...base, type, size });
    }
    if (content && content.length > 0) this.data(content);
  }
  end(): void {
    this.room(2 * BLOCK);
    this.off += 2 * BLOCK;
  }
  /** The chunks filled so far (all of them with `force`, the current one too). */
  *take(force = false): Generator<Uint8Array, void, undefined> {
    if (force) this.flush();
    while (this.ready.length > 0) yield this.ready.shift()!;
  }
}

// ---- the walk ----

/**
 * Whether a sysfs name can be one component of an entry name: an extractor that trusts names must not
 * be able to climb out of its directory (`..`), write elsewhere (`/`), or see a name cut short (NUL).
 * The rest of the archive is unchanged: like tar(1) run on the partition, which skips `.`, `..` and
 * empty names when it reads a directory and cannot stat a name with `/` in it, the archive leaves them
 * out (and, for a directory, its whole subtree).
 */
export function isTarComponent(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

const byName = (a: KernfsNode, b: KernfsNode) => (a.name < b.name ? -1 : 1);
/** Directories up to this size are sorted at once; bigger ones by a merge sort in steps. */
const SORT_AT_ONCE = 4096;

/** A bottom-up merge sort by name that yields between runs (the entries of a 250k-child directory). */
function* sortByName(items: KernfsNode[]): Generator<null, KernfsNode[], undefined> {
  if (items.length <= SORT_AT_ONCE) return items.sort(byName);
  for (let i = 0; i < items.length; i += SORT_AT_ONCE) {
    const run = items.slice(i, i + SORT_AT_ONCE).sort(byName);
    for (let j = 0; j < run.length; j++) items[i + j] = run[j]!;
    yield null;
  }
  let src = items;
  let dst: KernfsNode[] = new Array(items.length);
  for (let width = SORT_AT_ONCE; width < items.length; width *= 2) {
    let moved = 0;
    for (let lo = 0; lo < items.length; lo += 2 * width) {
      const mid = Math.min(lo + width, items.length);
      const hi = Math.min(lo + 2 * width, items.length);
      let a = lo;
      let b = mid;
      let k = lo;
      while (a < mid && b < hi) dst[k++] = byName(src[a]!, src[b]!) < 0 ? src[a++]! : src[b++]!;
      while (a < mid) dst[k++] = src[a++]!;
      while (b < hi) dst[k++] = src[b++]!;
      moved += hi - lo;
      if (moved >= 8 * SORT_AT_ONCE) {
        moved = 0;
        yield null;
      }
    }
    [src, dst] = [dst, src];
  }
  return src;
}

interface Frame {
  readonly prefix: string;
  readonly entries: KernfsNode[];
  next: number;
  /** What the node behind the directory owns in it: its children's directories. */
  readonly dirs: Map<KernfsNode, DeviceNode>;
}

function* openDir(dir: KernfsDir, np: DeviceNode | null, prefix: string): Generator<null, Frame, undefined> {
  const dirs = new Map<KernfsNode, DeviceNode>();
  let n = 0;
  if (np) {
    for (let c = np.child; c; c = c.sibling) {
      if (c.kobj.dir) dirs.set(c.kobj.dir, c);
      if (++n % SORT_AT_ONCE === 0) yield null;
    }
  }
  const entries: KernfsNode[] = [];
  for (const e of dir.entries.values()) {
    entries.push(e);
    if (++n % SORT_AT_ONCE === 0) yield null;
  }
  return { prefix, entries: yield* sortByName(entries), next: 0, dirs };
}

/**
 * The archive in chunks (`null`: a bounded amount of work done, no bytes). Read the tree as it is
 * while the chunks are taken; nothing runs a kernel function except the reader of a file no property
 * owns (none in this tree: only the OF core adds files here).
 */
export function* sysfsTarChunks(lpar: Lpar): Generator<Uint8Array | null, void, undefined> {
  const out = new TarWriter(Date.parse(lpar.config.createdAt));
  const root = lpar.of.root;
  const base = root?.kobj.dir;
  if (root && base) {
    out.entry('directory', 'base/', base.mode);
    const stack: Frame[] = [yield* openDir(base, root, 'base')];
    let work = 0;
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      if (frame.next >= frame.entries.length) {
        stack.pop();
        continue;
      }
      const entry = frame.entries[frame.next++]!;
      if (!isTarComponent(entry.name)) {
        if (++work % 256 === 0) yield null;
        continue;
      }
      const name = `${frame.prefix}/${entry.name}`;
      if (entry.kind === 'dir') {
        out.entry('directory', `${name}/`, entry.mode);
        stack.push(yield* openDir(entry, frame.dirs.get(entry) ?? null, name));
      } else if (entry.kind === 'file') {
        const pp = entry instanceof PropertyFile ? entry.prop : null;
        // Only the OF core adds files here, so every one is a property's; anything else is read as
        // a read(2) of it would be.
        // An export only looks: a file whose reader runs kernel code (none under base) is left empty.
        const content = pp
          ? propertyFileBytes(entry, pp)
          : entry.action === undefined
            ? entry.read()
            : new Uint8Array(0);
        out.entry('file', name, entry.mode, content);
      } else out.entry('symlink', name, 0o777, undefined, entry.target);
      let sent = false;
      for (const chunk of out.take()) {
        sent = true;
        yield chunk;
      }
      if (!sent && ++work % 256 === 0) yield null;
    }
  }
  out.end();
  yield* out.take(true);
}

/** The archive as a stream that pulls chunks as it is read, letting the event loop run between them. */
export function sysfsTar(lpar: Lpar): Readable {
  return Readable.from(slicedChunks(sysfsTarChunks(lpar)), { objectMode: false });
}
