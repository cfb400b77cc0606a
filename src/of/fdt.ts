// The flattened device tree format (version 17), both ways. Boot reads a blob exactly as a kernel
// would, so an LPAR from a built-in profile and one from a real partition's DTB boot the same way.
// Nothing here recurses or spreads by tree size: walks keep explicit stacks, and the chunked forms
// (fdtScan, fdtDecodeSteps, fdtEncodeChunks) do bounded work between steps so the LPAR layer can
// yield to the event loop (the model itself has no timers).

import type { Property } from './property.ts';

export interface FdtNode {
  /** The full name (`name@unit`); "" for the root. */
  readonly name: string;
  readonly props: Property[];
  readonly children: FdtNode[];
}

/** One entry of the memory reservation block (`/memreserve/ <address> <size>;` in DTS). */
export interface FdtReserveEntry {
  readonly address: bigint;
  readonly size: bigint;
}

/** What a blob carries besides the tree: its memory reservation block and the header's boot CPU. */
export interface FdtBootParams {
  /** In blob order, without the terminating 0,0 entry. */
  readonly reservations: readonly FdtReserveEntry[];
  /** boot_cpuid_phys: the physical id of the CPU the kernel boots on. */
  readonly bootCpuidPhys: number;
}

/** A parsed blob: the tree and its boot parameters. */
export interface FdtBlob extends FdtBootParams {
  readonly root: FdtNode;
}

/** A built-in tree's boot parameters: nothing reserved, boot CPU 0. */
export const NO_BOOT_PARAMS: FdtBootParams = { reservations: [], bootCpuidPhys: 0 };

const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_NOP = 4;
const FDT_END = 9;
const HEADER_SIZE = 40;
/** Version 16 headers end before size_dt_struct (libfdt's fdt_header_size_). */
const HEADER_SIZE_V16 = 36;
/** struct fdt_reserve_entry: two big-endian u64 (address, size). */
const RESERVE_ENTRY_SIZE = 16;
const U64_LIMIT = 1n << 64n;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** A blob that cannot be read. `offset`: the byte of the blob where the problem is, named in the message too. */
export class FdtError extends Error {
  readonly offset: number | undefined;
  constructor(message: string, offset?: number) {
    super(message);
    this.offset = offset;
  }
}

/**
 * A node or property name that no path component may hold (a sysfs directory or file, a tar entry):
 * empty (except the root's), `.`, `..`, with a `/`, NUL or newline, or over FDT_MAX_NAME_BYTES. The
 * kernel accepts them (docs/kernel-notes.md, note 32); uploads refuse them.
 */
export class FdtNameError extends FdtError {}

/** NAME_MAX: the longest node or property name an upload may carry, in bytes. */
export const FDT_MAX_NAME_BYTES = 255;

/**
 * How the codec walks a tree it did not build: its name (the root's is ""), its properties, and its
 * children in order. FdtNode trees and the live tree (src/of/unflatten.ts liveTree) both have one, so
 * an export encodes the live tree without first copying it.
 */
export interface TreeAdapter<N> {
  name(node: N, isRoot: boolean): string;
  props(node: N): Iterable<Property>;
  children(node: N): Iterable<N>;
}

export const fdtTree: TreeAdapter<FdtNode> = {
  name: (n) => n.name,
  props: (n) => n.props,
  children: (n) => n.children,
};

/** One step of a pre-order walk: a node opens (with its depth, the root's is 0) or closes. */
export interface WalkStep<N> {
  readonly node: N;
  readonly depth: number;
  readonly open: boolean;
}

/**
 * Pre-order walk with an explicit stack of child iterators: no recursion, so depth and width cost
 * heap, not call stack. The step object is reused: read it before asking for the next one.
 */
export function* walkTree<N>(root: N, tree: TreeAdapter<N>): Generator<WalkStep<N>, void, undefined> {
  const step = { node: root, depth: 0, open: true };
  const nodes: N[] = [root];
  const iters: Iterator<N>[] = [tree.children(root)[Symbol.iterator]()];
  yield step;
  while (iters.length > 0) {
    const next = iters[iters.length - 1]!.next();
    if (next.done) {
      iters.pop();
      step.node = nodes.pop()!;
      step.depth = iters.length;
      step.open = false;
      yield step;
      continue;
    }
    step.node = next.value;
    step.depth = iters.length;
    step.open = true;
    nodes.push(next.value);
    iters.push(tree.children(next.value)[Symbol.iterator]());
    yield step;
  }
}

/** UTF-8 length of a string, without encoding it. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i += 1;
      } else n += 3; // a lone surrogate encodes as U+FFFD
    } else n += 3;
  }
  return n;
}

const align4 = (n: number) => (n + 3) & ~3;

/** Bytes the encoder emits before yielding them (a large property value goes out on its own). */
export const FDT_CHUNK_BYTES = 64 * 1024;
/** Nodes between the encoder's and decoder's yields (`null` steps): a bounded amount of work. */
export const FDT_NODES_PER_STEP = 512;
/**
 * Tokens (and reservation entries) between the scan's and decoder's yields, whatever the nodes: a blob
 * of 15 million FDT_NOPs or properties in one node is still read in bounded steps.
 */
export const FDT_TOKENS_PER_STEP = 8192;

/** A growable output that hands out full chunks: each yielded chunk belongs to the consumer. */
class ChunkWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;
  /** Bytes handed out so far plus those buffered. */
  total = 0;
  readonly ready: Uint8Array[] = [];
  private readonly size: number;
  constructor(size: number) {
    this.size = size;
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) {
      this.buf = new Uint8Array(n);
      this.view = new DataView(this.buf.buffer);
    }
  }
  flush(): void {
    if (this.length === 0) return;
    this.ready.push(this.buf.subarray(0, this.length));
    this.buf = new Uint8Array(this.size);
    this.view = new DataView(this.buf.buffer);
    this.length = 0;
  }
  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.length, v >>> 0);
    this.length += 4;
    this.total += 4;
  }
  /** A NUL-terminated string padded to 4 bytes (zeros: every buffer starts zero-filled). */
  cstring(s: string, byteLength: number, pad: boolean): void {
    const n = pad ? align4(byteLength + 1) : byteLength + 1;
    this.room(n);
    textEncoder.encodeInto(s, this.buf.subarray(this.length, this.length + byteLength));
    this.length += n;
    this.total += n;
  }
  /** Raw bytes padded to 4; a value larger than a chunk is handed out as itself, not copied. */
  value(b: Uint8Array): void {
    const padded = align4(b.length);
    if (b.length >= this.size) {
      this.flush();
      this.ready.push(b);
      this.total += b.length;
      if (padded > b.length) {
        this.length = padded - b.length; // zeros
        this.total += padded - b.length;
      }
      return;
    }
    this.room(padded);
    this.buf.set(b, this.length);
    this.length += padded;
    this.total += padded;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    this.total += b.length;
  }
}

/** The memory reservation block: each entry, then the 0,0 terminator. */
function encodeMemReserveMap(reservations: readonly FdtReserveEntry[]): Uint8Array {
  const out = new Uint8Array((reservations.length + 1) * RESERVE_ENTRY_SIZE); // zero-filled terminator
  const view = new DataView(out.buffer);
  for (let i = 0; i < reservations.length; i++) {
    view.setBigUint64(i * RESERVE_ENTRY_SIZE, reservations[i]!.address);
    view.setBigUint64(i * RESERVE_ENTRY_SIZE + 8, reservations[i]!.size);
  }
  return out;
}

/**
 * A tree as a version-17 blob, in chunks: the first pass sizes the struct block and builds the strings
 * table (names in first-use order), the second emits header, reservations, struct and strings. `null`
 * steps carry no bytes: they mark a bounded amount of work done, where a caller may yield. The tree
 * must not change between the passes (callers hold the LPAR's operation queue); if it did, the encoder
 * throws rather than emit a blob whose header lies.
 */
export function* fdtEncodeChunks<N>(
  root: N,
  tree: TreeAdapter<N>,
  boot: FdtBootParams = NO_BOOT_PARAMS,
  chunkBytes = FDT_CHUNK_BYTES,
): Generator<Uint8Array | null, void, undefined> {
  const offsets = new Map<string, number>();
  const names: string[] = [];
  let stringsSize = 0;
  let structSize = 4; // FDT_END
  let nodes = 0;
  for (const step of walkTree(root, tree)) {
    if (!step.open) {
      structSize += 4;
      continue;
    }
    const n = step.node;
    structSize += 4 + align4(utf8Length(tree.name(n, step.depth === 0)) + 1);
    for (const p of tree.props(n)) {
      structSize += 12 + align4(p.value.length);
      if (!offsets.has(p.name)) {
        offsets.set(p.name, stringsSize);
        names.push(p.name);
        stringsSize += utf8Length(p.name) + 1;
      }
    }
    if (++nodes % FDT_NODES_PER_STEP === 0) yield null;
  }
  const rsvmap = encodeMemReserveMap(boot.reservations);
  const offRsvmap = HEADER_SIZE; // 40: the 8-byte alignment the block needs
  const offStruct = offRsvmap + rsvmap.length;
  const offStrings = offStruct + structSize;
  const total = offStrings + stringsSize;
  const out = new ChunkWriter(chunkBytes);
  for (const v of [
    FDT_MAGIC,
    total,
    offStruct,
    offStrings,
    offRsvmap,
    17,
    16,
    boot.bootCpuidPhys,
    stringsSize,
    structSize,
  ])
    out.u32(v);
  out.bytes(rsvmap);
  nodes = 0;
  for (const step of walkTree(root, tree)) {
    if (!step.open) {
      out.u32(FDT_END_NODE);
      continue;
    }
    const n = step.node;
    const name = tree.name(n, step.depth === 0);
    out.u32(FDT_BEGIN_NODE);
    out.cstring(name, utf8Length(name), true);
    for (const p of tree.props(n)) {
      const off = offsets.get(p.name);
      if (off === undefined) throw new FdtError('the tree changed while it was being encoded');
      out.u32(FDT_PROP);
      out.u32(p.value.length);
      out.u32(off);
      out.value(p.value);
    }
    if (++nodes % FDT_NODES_PER_STEP === 0) {
      yield* out.ready;
      out.ready.length = 0;
      yield null;
    }
  }
  out.u32(FDT_END);
  if (out.total !== offStrings) throw new FdtError('the tree changed while it was being encoded');
  for (const name of names) out.cstring(name, utf8Length(name), false);
  out.flush();
  yield* out.ready;
}

/** Runs a step generator to its end (the synchronous callers of chunked work). */
export function completeSteps<T>(steps: Generator<unknown, T, undefined>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** A tree as one blob (version 17). */
export function fdtEncode(root: FdtNode, boot: FdtBootParams = NO_BOOT_PARAMS): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const c of fdtEncodeChunks(root, fdtTree, boot)) {
    if (!c) continue;
    parts.push(c);
    size += c.length;
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export interface FdtDecodeLimits {
  readonly maxNodes: number;
  readonly maxDepth: number;
}

/** The header fields decoding needs, checked against the blob. */
interface FdtHeader {
  readonly total: number;
  readonly offStruct: number;
  readonly offStrings: number;
  readonly offRsvmap: number;
  readonly headerSize: number;
  readonly bootCpuidPhys: number;
  readonly sizeStrings: number;
  readonly sizeStruct: number;
}

/** Big-endian reads that refuse to leave the blob. */
function reader(blob: Uint8Array) {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const check = (off: number, n: number) => {
    if (off < 0 || off + n > blob.length)
      throw new FdtError(`read past the end of the blob at offset ${off}`, off);
  };
  return {
    u32(off: number): number {
      check(off, 4);
      return view.getUint32(off);
    },
    u64(off: number): bigint {
      check(off, 8);
      return view.getBigUint64(off);
    },
  };
}

type Reader = ReturnType<typeof reader>;

/**
 * The header, checked as libfdt's fdt_check_header does (4.18 onwards) and further: versions 16..17
 * readable and consistent (last_comp_version not above version), totalsize within the blob and at
 * least the header, the struct block 4-byte aligned, each block starting after the header and ending
 * within totalsize, and the struct and strings blocks apart (the reservation block is placed against
 * them by memReserveMapLimit). Every message names the offset: of the block, or of the header field.
 */
function readHeader(blob: Uint8Array, r: Reader): FdtHeader {
  if (blob.length < HEADER_SIZE)
    throw new FdtError(
      `blob is ${blob.length} bytes, shorter than the 40-byte FDT header (it ends at offset ${blob.length})`,
      blob.length,
    );
  if (r.u32(0) !== FDT_MAGIC)
    throw new FdtError(`bad magic 0x${r.u32(0).toString(16)} at offset 0, expected 0xd00dfeed`, 0);
  const version = r.u32(20);
  const lastComp = r.u32(24);
  if (version < 16)
    throw new FdtError(`FDT version ${version} (header offset 20) is older than 16, the oldest readable`, 20);
  if (lastComp > 17)
    throw new FdtError(
      `last_comp_version ${lastComp} (header offset 24) is newer than 17, the newest readable`,
      24,
    );
  if (lastComp > version)
    throw new FdtError(
      `last_comp_version ${lastComp} (header offset 24) is newer than the blob's version ${version} (header offset 20)`,
      24,
    );
  const headerSize = version >= 17 ? HEADER_SIZE : HEADER_SIZE_V16;
  const total = r.u32(4);
  if (total > blob.length)
    throw new FdtError(
      `totalsize ${total} (header offset 4) is past the end of the ${blob.length}-byte blob`,
      4,
    );
  if (total < headerSize)
    throw new FdtError(
      `totalsize ${total} (header offset 4) is smaller than the ${headerSize}-byte header`,
      4,
    );
  const offStruct = r.u32(8);
  const offStrings = r.u32(12);
  const offRsvmap = r.u32(16);
  const sizeStrings = r.u32(32);
  const blockStart = (what: string, start: number, field: number) => {
    if (start < headerSize)
      throw new FdtError(
        `${what} at offset ${start} (header offset ${field}) overlaps the ${headerSize}-byte header`,
        start,
      );
    if (start > total)
      throw new FdtError(
        `${what} at offset ${start} (header offset ${field}) starts past totalsize ${total}`,
        start,
      );
  };
  const blockEnd = (what: string, start: number, size: number, fields: string) => {
    if (start + size > total)
      throw new FdtError(
        `${what} at offset ${start}, ${size} bytes (header offsets ${fields}), ends at offset ${start + size}, past totalsize ${total}`,
        start,
      );
  };
  blockStart('struct block', offStruct, 8);
  if (offStruct % 4 !== 0)
    throw new FdtError(
      `struct block at offset ${offStruct} (header offset 8) is not 4-byte aligned`,
      offStruct,
    );
  blockStart('strings block', offStrings, 12);
  blockEnd('strings block', offStrings, sizeStrings, '12 and 32');
  let sizeStruct: number;
  if (version >= 17) {
    sizeStruct = r.u32(36);
    blockEnd('struct block', offStruct, sizeStruct, '8 and 36');
  } else {
    // Version 16 has no size_dt_struct: the block runs to the next block or to totalsize.
    let end = total;
    for (const start of [offStrings, offRsvmap]) if (start > offStruct && start < end) end = start;
    sizeStruct = end - offStruct;
  }
  if (
    sizeStruct > 0 &&
    sizeStrings > 0 &&
    offStruct < offStrings + sizeStrings &&
    offStrings < offStruct + sizeStruct
  )
    throw new FdtError(
      `the struct block (offsets ${offStruct} to ${offStruct + sizeStruct}) and the strings block (offsets ${offStrings} to ${offStrings + sizeStrings}) overlap at offset ${Math.max(offStruct, offStrings)}`,
      Math.max(offStruct, offStrings),
    );
  return {
    total,
    offStruct,
    offStrings,
    offRsvmap,
    headerSize,
    bootCpuidPhys: r.u32(28),
    sizeStrings,
    sizeStruct,
  };
}

const hex64 = (v: bigint) => `0x${v.toString(16)}`;

/**
 * Where the memory reservation block must end: before the next block that follows it, or the end of
 * the blob. Throws when the block starts inside the header, the struct block or the strings block.
 */
function memReserveMapLimit(h: FdtHeader): { end: number; what: string } {
  const blocks = [
    { start: h.offStruct, size: h.sizeStruct, what: 'the struct block' },
    { start: h.offStrings, size: h.sizeStrings, what: 'the strings block' },
  ].filter((b) => b.size > 0);
  if (h.offRsvmap >= h.total)
    throw new FdtError(
      `memory reservation block at offset ${h.offRsvmap} is outside the blob (totalsize ${h.total})`,
      h.offRsvmap,
    );
  if (h.offRsvmap < h.headerSize)
    throw new FdtError(
      `memory reservation block at offset ${h.offRsvmap} overlaps the ${h.headerSize}-byte header`,
      h.offRsvmap,
    );
  let limit = { end: h.total, what: `the end of the blob (totalsize ${h.total})` };
  for (const b of blocks) {
    if (h.offRsvmap >= b.start && h.offRsvmap < b.start + b.size)
      throw new FdtError(
        `memory reservation block at offset ${h.offRsvmap} lies inside ${b.what} (offsets ${b.start} to ${b.start + b.size})`,
        h.offRsvmap,
      );
    if (b.start > h.offRsvmap && b.start < limit.end)
      limit = { end: b.start, what: `${b.what} at offset ${b.start}` };
  }
  return limit;
}

/**
 * The memory reservation block (Devicetree Specification 5.3): 8-byte aligned, (address, size) u64
 * pairs ended by an entry whose address and size are both 0. The kernel (early_reserve_mem) and dtc
 * stop at the first size 0, so a size-0 entry with an address would silently drop every entry after
 * it: refused, like a block that runs into the next block or past the blob, or an entry that wraps
 * past 2^64.
 */
function* readMemReserveMap(r: Reader, h: FdtHeader): Generator<void, FdtReserveEntry[], undefined> {
  const limit = memReserveMapLimit(h);
  if (h.offRsvmap % 8 !== 0)
    throw new FdtError(
      `memory reservation block at offset ${h.offRsvmap} is not 8-byte aligned`,
      h.offRsvmap,
    );
  const out: FdtReserveEntry[] = [];
  for (let off = h.offRsvmap; ; off += RESERVE_ENTRY_SIZE) {
    if (off + RESERVE_ENTRY_SIZE > limit.end)
      throw new FdtError(
        `memory reservation block at offset ${h.offRsvmap} has no 0,0 terminator before ${limit.what}`,
        h.offRsvmap,
      );
    const address = r.u64(off);
    const size = r.u64(off + 8);
    if (size === 0n && address === 0n) return out;
    if (size === 0n)
      throw new FdtError(
        `memory reservation entry ${out.length} (offset ${off}) has address ${hex64(address)} and size 0; only the 0,0 terminator may have size 0`,
        off,
      );
    if (address + size > U64_LIMIT)
      throw new FdtError(
        `memory reservation entry ${out.length} (offset ${off}) ${hex64(address)} + ${hex64(size)} wraps past 2^64`,
        off,
      );
    out.push({ address, size });
    if (out.length % FDT_TOKENS_PER_STEP === 0) yield;
  }
}

/** A limit an uploaded blob exceeds: the registry answers it as a limit problem naming the variable. */
export class FdtLimitError extends FdtError {
  readonly limit: 'nodes' | 'depth';
  constructor(limit: 'nodes' | 'depth', message: string) {
    super(message);
    this.limit = limit;
  }
}

/** What a blob holds, counted without building anything (fdtScan). */
export interface FdtScan extends FdtBootParams {
  readonly nodes: number;
  readonly properties: number;
  /** Bytes of property values. */
  readonly valueBytes: number;
  /** The deepest node (the root is depth 0). */
  readonly maxDepth: number;
  readonly totalSize: number;
}

/**
 * A name as a string: ASCII straight from the bytes (most names are short ASCII, and a TextDecoder
 * call per node name costs more than the name), anything else through TextDecoder.
 */
function decodeName(blob: Uint8Array, start: number, end: number): string {
  if (end - start > 64) return textDecoder.decode(blob.subarray(start, end));
  let s = '';
  for (let i = start; i < end; i++) {
    const c = blob[i]!;
    if (c >= 0x80) return textDecoder.decode(blob.subarray(start, end));
    s += String.fromCharCode(c);
  }
  return s;
}

const SLASH = 0x2f;
const NEWLINE = 0x0a;
const DOT = 0x2e;

/**
 * Which name checkName checks, for its messages: a node name (`nameoff` -1) or the property name at
 * string offset `nameoff` that the property at `at` names. Built only when a check fails, not for
 * every name read.
 */
function nameSubject(start: number, nameoff: number, at: number): string {
  return nameoff < 0
    ? `node name at offset ${start}`
    : `property name at offset ${start} (string offset ${nameoff}, named by the property at offset ${at})`;
}

/**
 * Checks the name that starts at `start` in a block ending at `limit`, and returns where its NUL is.
 * Reads at most FDT_MAX_NAME_BYTES + 1 bytes, so a name costs its length whatever follows it.
 * `nameoff` and `at` say which name it is (nameSubject; its offset is in the message: FdtNameError
 * names it).
 */
function checkName(
  blob: Uint8Array,
  start: number,
  limit: number,
  mayBeEmpty: boolean,
  nameoff: number,
  at: number,
): number {
  const stop = Math.min(limit, start + FDT_MAX_NAME_BYTES + 1);
  let i = start;
  for (; i < stop; i++) {
    const c = blob[i]!;
    if (c === 0) break;
    if (c === SLASH)
      throw new FdtNameError(`${nameSubject(start, nameoff, at)} contains "/" (at offset ${i})`, start);
    if (c === NEWLINE)
      throw new FdtNameError(`${nameSubject(start, nameoff, at)} contains a newline (at offset ${i})`, start);
  }
  const length = i - start;
  if (length > FDT_MAX_NAME_BYTES)
    throw new FdtNameError(
      `${nameSubject(start, nameoff, at)} is longer than ${FDT_MAX_NAME_BYTES} bytes`,
      start,
    );
  if (i >= limit) throw new FdtError(`unterminated string at offset ${start}`, start);
  if (length === 0 && !mayBeEmpty)
    throw new FdtNameError(`${nameSubject(start, nameoff, at)} is empty`, start);
  if (blob[start] === DOT && (length === 1 || (length === 2 && blob[start + 1] === DOT)))
    throw new FdtNameError(`${nameSubject(start, nameoff, at)} is "${length === 1 ? '.' : '..'}"`, start);
  return i;
}

/**
 * Builds the FdtNode tree as the walk reads it (the decode; the scan builds nothing). A value is a
 * view into `values` (the blob, or the decoder's copy of its struct block, which starts at
 * `valueBase` of the blob) unless it is longer than `viewMax`, then a copy of its own.
 */
class TreeBuilder {
  root: FdtNode | null = null;
  private readonly stack: FdtNode[] = [];
  private readonly blob: Uint8Array;
  private readonly buffer: ArrayBufferLike;
  /** Where the blob's byte 0 would be in `buffer` (negative for the struct block's copy). */
  private readonly shift: number;
  private readonly viewMax: number;
  constructor(blob: Uint8Array, values: Uint8Array, valueBase: number, viewMax: number) {
    this.blob = blob;
    this.buffer = values.buffer;
    this.shift = values.byteOffset - valueBase;
    this.viewMax = viewMax;
  }
  begin(name: string): void {
    const node: FdtNode = { name, props: [], children: [] };
    const stack = this.stack;
    if (stack.length === 0) this.root = node;
    else stack[stack.length - 1]!.children.push(node);
    stack.push(node);
  }
  end(): void {
    this.stack.pop();
  }
  prop(name: string, start: number, length: number): void {
    // The constructor rather than subarray: subarray's species lookup costs more than the view.
    const value =
      length > this.viewMax
        ? this.blob.slice(start, start + length)
        : new Uint8Array(this.buffer, this.shift + start, length);
    this.stack[this.stack.length - 1]!.props.push({ name, value });
  }
}

/** What a walk of the struct block counted. */
interface StructCounts {
  readonly nodes: number;
  readonly properties: number;
  readonly valueBytes: number;
  readonly maxDepth: number;
}

/**
 * The struct block token by token, with every check decoding makes: limits (nodes, depth), names that
 * can be path components (checkName; a node name's padding is zeros, so no name hides bytes after a
 * NUL), strings inside their blocks, values inside the struct block, one root, balanced nodes,
 * FDT_END last. The scan and the decode share it, so a blob that scans cleanly decodes without error.
 * Linear: each token is read once, each node name and each distinct property name checked once, for
 * at most FDT_MAX_NAME_BYTES + 1 bytes; a step is at most FDT_NODES_PER_STEP nodes and
 * FDT_TOKENS_PER_STEP tokens. A class, not a generator, so that the token loop (run) is a plain
 * method; walkStruct makes the steps.
 */
class StructWalk implements StructCounts {
  nodes = 0;
  properties = 0;
  valueBytes = 0;
  maxDepth = 0;
  private depth = 0; // open nodes
  private rooted = false;
  private tokens = 0;
  private off: number;
  private readonly structEnd: number;
  private readonly stringsEnd: number;
  private readonly propNames = new Map<number, string>();
  private readonly view: DataView;
  private readonly blob: Uint8Array;
  private readonly r: Reader;
  private readonly h: FdtHeader;
  private readonly limits: FdtDecodeLimits;
  private readonly build: TreeBuilder | null;
  constructor(blob: Uint8Array, r: Reader, h: FdtHeader, limits: FdtDecodeLimits, build: TreeBuilder | null) {
    this.blob = blob;
    this.r = r;
    this.h = h;
    this.limits = limits;
    this.build = build;
    this.view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    this.off = h.offStruct;
    this.structEnd = h.offStruct + h.sizeStruct;
    this.stringsEnd = h.offStrings + h.sizeStrings;
  }

  /** Big-endian u32 at `off`; past the blob, the reader's error. */
  private u32(off: number): number {
    return off + 4 <= this.blob.length ? this.view.getUint32(off) : this.r.u32(off);
  }

  /** Reads tokens up to a step's bound; true once FDT_END has been read. */
  run(): boolean {
    const structEnd = this.structEnd;
    for (;;) {
      const at = this.off;
      if (at + 4 > structEnd)
        throw new FdtError(
          `struct block at offset ${this.h.offStruct} ends at offset ${structEnd} without FDT_END`,
          structEnd,
        );
      // structEnd is within the blob (readHeader), so the token is too.
      const token = this.view.getUint32(at);
      this.off = at + 4;
      const stepDone = ++this.tokens % FDT_TOKENS_PER_STEP === 0;
      if (token === FDT_BEGIN_NODE) {
        if (this.beginNode(at)) return false;
      } else if (token === FDT_END_NODE) {
        if (this.depth === 0) throw new FdtError(`FDT_END_NODE without a node at offset ${at}`, at);
        this.depth -= 1;
        this.build?.end();
      } else if (token === FDT_PROP) this.prop(at);
      else if (token === FDT_NOP) {
        // skip
      } else if (token === FDT_END) {
        if (this.depth !== 0) throw new FdtError(`FDT_END inside an open node at offset ${at}`, at);
        if (!this.rooted)
          throw new FdtError(
            `the struct block at offset ${this.h.offStruct} has no root node`,
            this.h.offStruct,
          );
        return true;
      } else throw new FdtError(`unknown token 0x${token.toString(16)} at offset ${at}`, at);
      if (stepDone) return false;
    }
  }

  /** FDT_BEGIN_NODE at `at`: its name, padding and limits. True when the node ends a step. */
  private beginNode(at: number): boolean {
    const { blob, structEnd, depth } = this;
    const off = at + 4;
    if (depth === 0 && this.rooted) throw new FdtError(`a second root node at offset ${at}`, at);
    const nul = checkName(blob, off, structEnd, depth === 0, -1, at);
    const next = (nul + 1 + 3) & ~3; // offStruct is 4-aligned: so is every token
    for (let i = nul + 1; i < next && i < structEnd; i++)
      if (blob[i] !== 0)
        throw new FdtNameError(
          `node name at offset ${off} contains a NUL (at offset ${nul}) followed by byte 0x${blob[i]!.toString(16)} at offset ${i}`,
          off,
        );
    const nodes = ++this.nodes;
    if (nodes > this.limits.maxNodes)
      throw new FdtLimitError('nodes', `more than ${this.limits.maxNodes} nodes`);
    if (depth >= this.limits.maxDepth)
      throw new FdtLimitError('depth', `nesting deeper than ${this.limits.maxDepth}`);
    this.rooted = true;
    if (depth > this.maxDepth) this.maxDepth = depth;
    this.build?.begin(decodeName(blob, off, nul));
    this.depth = depth + 1;
    this.off = next;
    return nodes % FDT_NODES_PER_STEP === 0;
  }

  /** FDT_PROP at `at`: its value inside the struct block, its name inside the strings block. */
  private prop(at: number): void {
    if (this.depth === 0) throw new FdtError(`property outside any node at offset ${at}`, at);
    const { offStrings, sizeStrings } = this.h;
    const len = this.u32(at + 4);
    const nameoff = this.u32(at + 8);
    const off = at + 12;
    if (off + len > this.structEnd)
      throw new FdtError(`property value past the struct block at offset ${off}`, off);
    if (nameoff >= sizeStrings)
      throw new FdtError(
        `the property at offset ${at} names string offset ${nameoff}, outside the ${sizeStrings}-byte strings block at offset ${offStrings}`,
        at,
      );
    let name = this.propNames.get(nameoff);
    if (name === undefined) {
      const start = offStrings + nameoff;
      const nul = checkName(this.blob, start, this.stringsEnd, false, nameoff, at);
      name = decodeName(this.blob, start, nul);
      this.propNames.set(nameoff, name);
    }
    this.properties += 1;
    this.valueBytes += len;
    this.build?.prop(name, off, len);
    this.off = (off + len + 3) & ~3;
  }
}

/** The struct block walked in steps (StructWalk), building into `build` when there is one. */
function* walkStruct(
  blob: Uint8Array,
  r: Reader,
  h: FdtHeader,
  limits: FdtDecodeLimits,
  build: TreeBuilder | null,
): Generator<void, StructCounts, undefined> {
  const walk = new StructWalk(blob, r, h, limits, build);
  while (!walk.run()) yield;
  const { nodes, properties, valueBytes, maxDepth } = walk;
  return { nodes, properties, valueBytes, maxDepth };
}

/**
 * Counts what a blob holds and checks it as decoding would, building nothing: the header, the
 * reservation block, every token, the node and depth limits (FdtLimitError). Cost: one pass over the
 * struct block, no allocation per node.
 */
export function* fdtScanSteps(
  blob: Uint8Array,
  limits: FdtDecodeLimits,
): Generator<void, FdtScan, undefined> {
  const r = reader(blob);
  const h = readHeader(blob, r);
  const reservations = yield* readMemReserveMap(r, h);
  const counts = yield* walkStruct(blob, r, h, limits, null);
  return { ...counts, reservations, bootCpuidPhys: h.bootCpuidPhys, totalSize: h.total };
}

/** fdtScanSteps run to its end. */
export function fdtScan(blob: Uint8Array, limits: FdtDecodeLimits): FdtScan {
  return completeSteps(fdtScanSteps(blob, limits));
}

export interface FdtDecodeOptions {
  /**
   * Small property values (up to SHARED_VALUE_MAX bytes) as views into `blob` instead of copies: the
   * caller gives the blob to the tree and never changes it (the registry copies an upload once and
   * boots from the copy). Larger values are still copied, so that once boot has copied the small ones
   * into the LPAR's own storage, no single value keeps the whole blob alive.
   */
  readonly shareValues?: boolean;
}

/** The largest value fdtDecodeSteps shares with the blob when asked to (see FdtDecodeOptions). */
export const SHARED_VALUE_MAX = 4096;

/**
 * Parses a blob with its boot parameters in steps (a `void` step every FDT_NODES_PER_STEP nodes);
 * throws FdtError with a reason a user can act on (FdtLimitError for the node and depth limits).
 */
export function* fdtDecodeSteps(
  blob: Uint8Array,
  limits: FdtDecodeLimits,
  options: FdtDecodeOptions = {},
): Generator<void, FdtBlob, undefined> {
  const r = reader(blob);
  const h = readHeader(blob, r);
  const reservations = yield* readMemReserveMap(r, h);
  // Without sharing, the values are views into one private copy of the struct block rather than a
  // copy each: a small typed array that owns its bytes takes twice the heap of a view (it has an
  // ArrayBuffer of its own), and a 250k-node tree has millions of values. They never alias `blob`.
  const build =
    options.shareValues === true
      ? new TreeBuilder(blob, blob, 0, SHARED_VALUE_MAX)
      : new TreeBuilder(blob, blob.slice(h.offStruct, h.offStruct + h.sizeStruct), h.offStruct, Infinity);
  yield* walkStruct(blob, r, h, limits, build);
  return { root: build.root!, reservations, bootCpuidPhys: h.bootCpuidPhys };
}

/** Parses a blob with its boot parameters; throws FdtError with a reason a user can act on. */
export function fdtDecodeBlob(
  blob: Uint8Array,
  limits: FdtDecodeLimits,
  options: FdtDecodeOptions = {},
): FdtBlob {
  return completeSteps(fdtDecodeSteps(blob, limits, options));
}

/** Parses a blob's tree; throws FdtError with a reason a user can act on. */
export function fdtDecode(blob: Uint8Array, limits: FdtDecodeLimits): FdtNode {
  return fdtDecodeBlob(blob, limits).root;
}
