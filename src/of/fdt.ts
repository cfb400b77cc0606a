// The flattened device tree format (version 17), both ways. Boot reads a blob exactly as a kernel
// would, so an LPAR from a built-in profile and one from a real partition's DTB boot the same way.

import type { Property } from './property.ts';

export interface FdtNode {
  /** The full name (`name@unit`); "" for the root. */
  readonly name: string;
  readonly props: Property[];
  readonly children: FdtNode[];
}

const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_NOP = 4;
const FDT_END = 9;
const HEADER_SIZE = 40;
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

export function fdtEncode(root: FdtNode, bootCpuidPhys = 0): Uint8Array {
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
  const rsvmap = new Uint8Array(16); // one terminating entry
  const offRsvmap = HEADER_SIZE;
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
    bootCpuidPhys,
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

/** Parses a blob; throws FdtError with a reason a user can act on. */
export function fdtDecode(blob: Uint8Array, limits: FdtDecodeLimits): FdtNode {
  if (blob.length < HEADER_SIZE)
    throw new FdtError(`blob is ${blob.length} bytes, shorter than the 40-byte FDT header`);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const u32 = (off: number): number => {
    if (off < 0 || off + 4 > blob.length)
      throw new FdtError(`read past the end of the blob at offset ${off}`);
    return view.getUint32(off);
  };
  if (u32(0) !== FDT_MAGIC) throw new FdtError(`bad magic 0x${u32(0).toString(16)}, expected 0xd00dfeed`);
  const total = u32(4);
  const offStruct = u32(8);
  const offStrings = u32(12);
  const version = u32(20);
  const lastComp = u32(24);
  if (total > blob.length) throw new FdtError(`header says ${total} bytes but the blob has ${blob.length}`);
  if (version < 16 || lastComp > 17)
    throw new FdtError(`unsupported FDT version ${version} (last compatible ${lastComp})`);
  const sizeStrings = u32(32);
  const sizeStruct = version >= 17 ? u32(36) : total - offStruct;
  if (offStruct + sizeStruct > total || offStrings + sizeStrings > total)
    throw new FdtError('struct or strings block outside the blob');
  const cstr = (start: number, end: number): { text: string; next: number } => {
    const nul = blob.indexOf(0, start);
    if (nul < 0 || nul >= end) throw new FdtError(`unterminated string at offset ${start}`);
    return { text: textDecoder.decode(blob.subarray(start, nul)), next: nul + 1 };
  };
  const structEnd = offStruct + sizeStruct;
  let off = offStruct;
  let nodes = 0;
  let root: FdtNode | null = null;
  const stack: FdtNode[] = [];
  for (;;) {
    if (off >= structEnd) throw new FdtError('struct block ended without FDT_END');
    const token = u32(off);
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
      const len = u32(off);
      const nameoff = u32(off + 4);
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
