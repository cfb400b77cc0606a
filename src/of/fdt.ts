// The flattened device tree format (version 17), both ways. Boot reads a blob exactly as a kernel
// would, so an LPAR from a built-in profile and one from a real partition's DTB boot the same way.

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

export class FdtError extends Error {}

class Writer {
  private buf = new Uint8Array(4096);
  length = 0;
  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  u32(v: number): void {
    this.ensure(4);
    new DataView(this.buf.buffer).setUint32(this.length, v >>> 0);
    this.length += 4;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  align4(): void {
    const pad = (4 - (this.length % 4)) % 4;
    this.ensure(pad);
    this.length += pad; // the buffer is zero-filled
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** The memory reservation block: each entry, then the 0,0 terminator. */
function encodeMemReserveMap(reservations: readonly FdtReserveEntry[]): Uint8Array {
  const out = new Uint8Array((reservations.length + 1) * RESERVE_ENTRY_SIZE); // zero-filled terminator
  const view = new DataView(out.buffer);
  reservations.forEach((r, i) => {
    view.setBigUint64(i * RESERVE_ENTRY_SIZE, r.address);
    view.setBigUint64(i * RESERVE_ENTRY_SIZE + 8, r.size);
  });
  return out;
}

export function fdtEncode(root: FdtNode, boot: FdtBootParams = NO_BOOT_PARAMS): Uint8Array {
  const strings = new Writer();
  const offsets = new Map<string, number>();
  const nameOffset = (name: string): number => {
    let off = offsets.get(name);
    if (off === undefined) {
      off = strings.length;
      offsets.set(name, off);
      strings.bytes(textEncoder.encode(`${name}\0`));
    }
    return off;
  };
  const struct = new Writer();
  const stack: Array<{ node: FdtNode; open: boolean }> = [{ node: root, open: false }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (top.open) {
      struct.u32(FDT_END_NODE);
      continue;
    }
    struct.u32(FDT_BEGIN_NODE);
    struct.bytes(textEncoder.encode(`${top.node.name}\0`));
    struct.align4();
    for (const p of top.node.props) {
      struct.u32(FDT_PROP);
      struct.u32(p.value.length);
      struct.u32(nameOffset(p.name));
      struct.bytes(p.value);
      struct.align4();
    }
    stack.push({ node: top.node, open: true });
    for (let i = top.node.children.length - 1; i >= 0; i--)
      stack.push({ node: top.node.children[i]!, open: false });
  }
  struct.u32(FDT_END);
  const structBytes = struct.result();
  const stringBytes = strings.result();
  const rsvmap = encodeMemReserveMap(boot.reservations);
  const offRsvmap = HEADER_SIZE; // 40: the 8-byte alignment the block needs
  const offStruct = offRsvmap + rsvmap.length;
  const offStrings = offStruct + structBytes.length;
  const total = offStrings + stringBytes.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  [
    FDT_MAGIC,
    total,
    offStruct,
    offStrings,
    offRsvmap,
    17,
    16,
    boot.bootCpuidPhys,
    stringBytes.length,
    structBytes.length,
  ].forEach((v, i) => {
    view.setUint32(i * 4, v >>> 0);
  });
  out.set(rsvmap, offRsvmap);
  out.set(structBytes, offStruct);
  out.set(stringBytes, offStrings);
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
      throw new FdtError(`read past the end of the blob at offset ${off}`);
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

function readHeader(blob: Uint8Array, r: Reader): FdtHeader {
  if (blob.length < HEADER_SIZE)
    throw new FdtError(`blob is ${blob.length} bytes, shorter than the 40-byte FDT header`);
  if (r.u32(0) !== FDT_MAGIC) throw new FdtError(`bad magic 0x${r.u32(0).toString(16)}, expected 0xd00dfeed`);
  const total = r.u32(4);
  const offStruct = r.u32(8);
  const offStrings = r.u32(12);
  const version = r.u32(20);
  const lastComp = r.u32(24);
  if (total > blob.length) throw new FdtError(`header says ${total} bytes but the blob has ${blob.length}`);
  if (version < 16 || lastComp > 17)
    throw new FdtError(`unsupported FDT version ${version} (last compatible ${lastComp})`);
  const sizeStrings = r.u32(32);
  const sizeStruct = version >= 17 ? r.u32(36) : total - offStruct;
  if (offStruct + sizeStruct > total || offStrings + sizeStrings > total)
    throw new FdtError('struct or strings block outside the blob');
  return {
    total,
    offStruct,
    offStrings,
    offRsvmap: r.u32(16),
    headerSize: version >= 17 ? HEADER_SIZE : HEADER_SIZE_V16,
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
    );
  if (h.offRsvmap < h.headerSize)
    throw new FdtError(
      `memory reservation block at offset ${h.offRsvmap} overlaps the ${h.headerSize}-byte header`,
    );
  let limit = { end: h.total, what: `the end of the blob (totalsize ${h.total})` };
  for (const b of blocks) {
    if (h.offRsvmap >= b.start && h.offRsvmap < b.start + b.size)
      throw new FdtError(`memory reservation block at offset ${h.offRsvmap} lies inside ${b.what}`);
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
function readMemReserveMap(r: Reader, h: FdtHeader): FdtReserveEntry[] {
  const limit = memReserveMapLimit(h);
  if (h.offRsvmap % 8 !== 0)
    throw new FdtError(`memory reservation block at offset ${h.offRsvmap} is not 8-byte aligned`);
  const out: FdtReserveEntry[] = [];
  for (let off = h.offRsvmap; ; off += RESERVE_ENTRY_SIZE) {
    if (off + RESERVE_ENTRY_SIZE > limit.end)
      throw new FdtError(
        `memory reservation block at offset ${h.offRsvmap} has no 0,0 terminator before ${limit.what}`,
      );
    const address = r.u64(off);
    const size = r.u64(off + 8);
    if (size === 0n && address === 0n) return out;
    if (size === 0n)
      throw new FdtError(
        `memory reservation entry ${out.length} (offset ${off}) has address ${hex64(address)} and size 0; only the 0,0 terminator may have size 0`,
      );
    if (address + size > U64_LIMIT)
      throw new FdtError(
        `memory reservation entry ${out.length} (offset ${off}) ${hex64(address)} + ${hex64(size)} wraps past 2^64`,
      );
    out.push({ address, size });
  }
}

function readStructBlock(blob: Uint8Array, r: Reader, h: FdtHeader, limits: FdtDecodeLimits): FdtNode {
  const { offStrings, sizeStrings } = h;
  const cstr = (start: number, end: number): { text: string; next: number } => {
    const nul = blob.indexOf(0, start);
    if (nul < 0 || nul >= end) throw new FdtError(`unterminated string at offset ${start}`);
    return { text: textDecoder.decode(blob.subarray(start, nul)), next: nul + 1 };
  };
  const structEnd = h.offStruct + h.sizeStruct;
  let off = h.offStruct;
  let nodes = 0;
  let root: FdtNode | null = null;
  const stack: FdtNode[] = [];
  for (;;) {
    if (off >= structEnd) throw new FdtError('struct block ended without FDT_END');
    const token = r.u32(off);
    off += 4;
    if (token === FDT_BEGIN_NODE) {
      const { text, next } = cstr(off, structEnd);
      off = (next + 3) & ~3;
      nodes += 1;
      if (nodes > limits.maxNodes) throw new FdtError(`more than ${limits.maxNodes} nodes`);
      if (stack.length >= limits.maxDepth) throw new FdtError(`nesting deeper than ${limits.maxDepth}`);
      const node: FdtNode = { name: text, props: [], children: [] };
      if (stack.length === 0) {
        if (root) throw new FdtError('more than one root node');
        root = node;
      } else stack[stack.length - 1]!.children.push(node);
      stack.push(node);
    } else if (token === FDT_END_NODE) {
      if (!stack.pop()) throw new FdtError('FDT_END_NODE without a node');
    } else if (token === FDT_PROP) {
      const len = r.u32(off);
      const nameoff = r.u32(off + 4);
      off += 8;
      if (off + len > structEnd) throw new FdtError(`property value past the struct block at offset ${off}`);
      if (nameoff >= sizeStrings)
        throw new FdtError(`property name offset ${nameoff} outside the strings block`);
      const { text } = cstr(offStrings + nameoff, offStrings + sizeStrings);
      const top = stack[stack.length - 1];
      if (!top) throw new FdtError('property outside any node');
      top.props.push({ name: text, value: blob.slice(off, off + len) });
      off = (off + len + 3) & ~3;
    } else if (token === FDT_NOP) {
      // skip
    } else if (token === FDT_END) {
      if (stack.length !== 0) throw new FdtError('FDT_END inside an open node');
      break;
    } else throw new FdtError(`unknown token 0x${token.toString(16)} at offset ${off - 4}`);
  }
  if (!root) throw new FdtError('no root node');
  return root;
}

/** Parses a blob with its boot parameters; throws FdtError with a reason a user can act on. */
export function fdtDecodeBlob(blob: Uint8Array, limits: FdtDecodeLimits): FdtBlob {
  const r = reader(blob);
  const h = readHeader(blob, r);
  const reservations = readMemReserveMap(r, h);
  return { root: readStructBlock(blob, r, h, limits), reservations, bootCpuidPhys: h.bootCpuidPhys };
}

/** Parses a blob's tree; throws FdtError with a reason a user can act on. */
export function fdtDecode(blob: Uint8Array, limits: FdtDecodeLimits): FdtNode {
  return fdtDecodeBlob(blob, limits).root;
}
