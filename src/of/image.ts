// The boot data of a tree (the simulator's memory layout, not a kernel structure): every node's full
// name and every property's name and value, in unflatten order, in a few chunked arrays and value
// slabs instead of an object per property. The kernel's unflattened properties are never written in
// place (of_update_property replaces the struct property), so this data is immutable once booted:
// a node reads its boot properties from the image until it first changes them (copy-on-write, see
// PropertyList in node.ts), and LPARs booted from the same blob share one image (the registry keeps
// images by the blob's digest).

import type { Property } from './property.ts';

/** Entries of a chunk (64 KiB of u32, 32 KiB of u16). */
const CHUNK_BITS = 14;
const CHUNK = 1 << CHUNK_BITS;

/**
 * A growable typed array in fixed chunks: growing never copies, and the memory comes a chunk at a time
 * as the boot adds nodes. Made at once, the arrays of a quarter-million-node image are some 50 MB of
 * buffers allocated after the tree they are made from, when the heap is at its largest; V8 answers
 * that much external memory at once with a full, atomic collection of the whole heap (a stall of
 * half a second and more at 250k nodes), where memory that grows a chunk at a time gets an
 * incremental one.
 */
class Chunks<A extends Uint16Array | Uint32Array> {
  private readonly chunks: A[] = [];
  private readonly make: (length: number) => A;

  constructor(make: (length: number) => A) {
    this.make = make;
  }

  get(i: number): number {
    return this.chunks[i >>> CHUNK_BITS]![i & (CHUNK - 1)]!;
  }

  set(i: number, value: number): void {
    const c = i >>> CHUNK_BITS;
    while (this.chunks.length <= c) this.chunks.push(this.make(CHUNK));
    this.chunks[c]![i & (CHUNK - 1)] = value;
  }

  /** Cut to `used` entries: the last chunk becomes a copy of its used part. */
  trim(used: number): void {
    const keep = Math.ceil(used / CHUNK);
    this.chunks.length = Math.min(this.chunks.length, keep);
    const rest = used & (CHUNK - 1);
    if (rest > 0 && this.chunks.length === keep)
      this.chunks[keep - 1] = this.chunks[keep - 1]!.slice(0, rest) as A;
  }

  get byteLength(): number {
    let bytes = 0;
    for (const c of this.chunks) bytes += c.byteLength;
    return bytes;
  }
}

const u32Chunks = () => new Chunks((n) => new Uint32Array(n));

/**
 * Chunks for numbers that are almost always below 2^16 (property name ids, value lengths, property
 * counts): two bytes an entry, and the rare larger number kept aside, marked by ESCAPE in its entry.
 * A quarter-million-node tree has some three million properties, so this is 12 bytes a node per array.
 */
class U16Chunks {
  private readonly narrow = new Chunks((n) => new Uint16Array(n));
  private readonly wide = new Map<number, number>();

  get(i: number): number {
    const v = this.narrow.get(i);
    return v === ESCAPE ? this.wide.get(i)! : v;
  }

  set(i: number, value: number): void {
    if (value >= ESCAPE) this.wide.set(i, value);
    else this.wide.delete(i);
    this.narrow.set(i, Math.min(value, ESCAPE));
  }

  trim(used: number): void {
    this.narrow.trim(used);
    for (const i of this.wide.keys()) if (i >= used) this.wide.delete(i);
  }

  get byteLength(): number {
    return this.narrow.byteLength + this.wide.size * 32;
  }
}

const ESCAPE = 0xffff;

/** Bytes of a value slab (256 KiB); a larger value has a buffer of its own. */
const SLAB_BITS = 18;
const SLAB = 1 << SLAB_BITS;

/** What a boot expects to put in an image (from the blob's scan or the built-in options). */
export interface ImageCapacity {
  readonly nodes: number;
  readonly properties: number;
  readonly valueBytes: number;
}

export class BootImage {
  /** Nodes in unflatten order. */
  nodes = 0;
  readonly fullNames: string[] = [];
  /** Node i's properties are [nodeFirst[i], nodeFirst[i] + nodeCount[i]). */
  private readonly nodeFirst = u32Chunks();
  private readonly nodeCount = new U16Chunks();
  /** Distinct property names, and each property's index into them. */
  private readonly names: string[] = [];
  private readonly nameIds = new Map<string, number>();
  private readonly propName = new U16Chunks();
  private readonly valueStart = u32Chunks();
  private readonly valueLength = new U16Chunks();
  properties = 0;
  /**
   * The values, back to back in slabs of SLAB bytes, read through views (subarray) and never written
   * after they are added. A value starts where the previous one ended unless it does not fit in what
   * is left of the slab; then it starts the next slab (a longer one starts a buffer of its own, which
   * stands for every slab index it covers). `valueStart` is an offset in that sequence of slabs:
   * slab `start >>> SLAB_BITS`, whose first byte is at offset `slabBase` of the same index.
   */
  private readonly slabs: Uint8Array[] = [];
  private readonly slabBase: number[] = [];
  private cursor = 0;
  /** Value bytes added (the sum of the values' lengths). */
  valueBytes = 0;
  private sealed = false;

  /** What the boot expected to add (a scan's or the options' estimate); nothing is allocated for it. */
  readonly expected: ImageCapacity | null;

  /** The arrays grow a chunk at a time whatever `expected` says (see Chunks). */
  constructor(expected?: ImageCapacity) {
    this.expected = expected ?? null;
  }

  /** Appends a node with its properties (in their order); returns its index. */
  add(fullName: string, props: readonly Property[]): number {
    if (this.sealed) throw new Error('BootImage: add after seal');
    const i = this.nodes++;
    this.fullNames.push(fullName);
    this.nodeFirst.set(i, this.properties);
    this.nodeCount.set(i, props.length);
    for (const p of props) {
      const k = this.properties++;
      let id = this.nameIds.get(p.name);
      if (id === undefined) {
        id = this.names.length;
        this.names.push(p.name);
        this.nameIds.set(p.name, id);
      }
      this.propName.set(k, id);
      this.valueStart.set(k, this.placeValue(p.value));
      this.valueLength.set(k, p.value.length);
      this.valueBytes += p.value.length;
    }
    return i;
  }

  /** Copies a value into the slabs; returns its offset there. */
  private placeValue(value: Uint8Array): number {
    const length = value.length;
    if (length === 0) return this.cursor;
    const end = this.slabs.length * SLAB; // the last slab's end: the room left is end - cursor
    if (length > end - this.cursor) {
      // From the next slab boundary: a new slab, or a buffer of its own covering the slab indices it needs.
      const buffer = new Uint8Array(Math.max(SLAB, length));
      for (let j = 0; j < Math.ceil(buffer.length / SLAB); j++) {
        this.slabs.push(buffer);
        this.slabBase.push(end);
      }
      this.cursor = end;
    }
    const at = this.cursor;
    const s = at >>> SLAB_BITS;
    this.slabs[s]!.set(value, at - this.slabBase[s]!);
    this.cursor = length > SLAB ? this.slabs.length * SLAB : at + length;
    return at;
  }

  /** No more nodes: the arrays are trimmed to what they hold. */
  seal(): this {
    if (this.sealed) return this;
    this.sealed = true;
    this.nodeFirst.trim(this.nodes);
    this.nodeCount.trim(this.nodes);
    this.propName.trim(this.properties);
    this.valueStart.trim(this.properties);
    this.valueLength.trim(this.properties);
    // The last slab is cut to what it holds (the others are full, but for their last value's room).
    const last = this.slabs.length - 1;
    const used = this.cursor - (this.slabBase[last] ?? 0);
    if (last >= 0 && this.slabs[last]!.length === SLAB && used < SLAB)
      this.slabs[last] = this.slabs[last]!.slice(0, used);
    this.nameIds.clear();
    return this;
  }

  get isSealed(): boolean {
    return this.sealed;
  }

  first(node: number): number {
    return this.nodeFirst.get(node);
  }

  count(node: number): number {
    return this.nodeCount.get(node);
  }

  name(k: number): string {
    return this.names[this.propName.get(k)]!;
  }

  /** Property k's value as a view into the image (never a copy). */
  value(k: number): Uint8Array {
    const start = this.valueStart.get(k);
    const length = this.valueLength.get(k);
    if (length === 0) return new Uint8Array(0);
    const s = start >>> SLAB_BITS;
    const at = start - this.slabBase[s]!;
    return this.slabs[s]!.subarray(at, at + length);
  }

  valueStartOf(k: number): number {
    return this.valueStart.get(k);
  }

  valueLengthOf(k: number): number {
    return this.valueLength.get(k);
  }

  /** Bytes the image holds (what the memory budget charges once for all the LPARs that share it). */
  get bytes(): number {
    let values = 0;
    for (let s = 0; s < this.slabs.length; s++)
      if (this.slabBase[s] === s * SLAB) values += this.slabs[s]!.byteLength;
    return (
      values +
      (this.nodeFirst.byteLength + this.nodeCount.byteLength) +
      (this.propName.byteLength + this.valueStart.byteLength + this.valueLength.byteLength) +
      this.nodes * 48 +
      this.names.length * 48
    );
  }
}
