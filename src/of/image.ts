// The boot data of a tree (the simulator's memory layout, not a kernel structure): every node's full
// name and every property's name and value, in unflatten order, in a few flat arrays and one value
// buffer instead of an object per property. The kernel's unflattened properties are never written in
// place (of_update_property replaces the struct property), so this data is immutable once booted:
// a node reads its boot properties from the image until it first changes them (copy-on-write, see
// PropertyList in node.ts), and LPARs booted from the same blob share one image (the registry keeps
// images by the blob's digest).

import type { Property } from './property.ts';

/** Grows a typed array by doubling, as a vector does. */
function grown<T extends Uint32Array | Uint8Array>(a: T, need: number, make: (n: number) => T): T {
  if (need <= a.length) return a;
  const b = make(Math.max(need, a.length * 2, 64));
  b.set(a);
  return b;
}

/** What a boot expects to put in an image (from the blob's scan or the built-in options). */
export interface ImageCapacity {
  readonly nodes: number;
  readonly properties: number;
  readonly valueBytes: number;
}

/** `a` cut to `used`: copied only when that frees more than an eighth of it. */
function trimmed<T extends Uint32Array | Uint8Array>(a: T, used: number): T {
  if (a.length - used <= a.length / 8) return a.subarray(0, used) as T;
  return a.slice(0, used) as T;
}

export class BootImage {
  /** Nodes in unflatten order. */
  nodes = 0;
  readonly fullNames: string[] = [];
  /** Node i's properties are [nodeFirst[i], nodeFirst[i] + nodeCount[i]). */
  private nodeFirst = new Uint32Array(0);
  private nodeCount = new Uint32Array(0);
  /** Distinct property names, and each property's index into them. */
  private readonly names: string[] = [];
  private readonly nameIds = new Map<string, number>();
  private propName = new Uint32Array(0);
  private valueStart = new Uint32Array(0);
  private valueLength = new Uint32Array(0);
  properties = 0;
  /** Every value, back to back; read through views (subarray), never written after it is added. */
  values = new Uint8Array(0);
  valueBytes = 0;
  private sealed = false;

  /**
   * With the expected sizes the arrays are made once: growing a 250k-node image by doubling would
   * allocate (and let the collector reclaim, in one pause) several times its size in buffers.
   */
  constructor(capacity?: ImageCapacity) {
    if (!capacity) return;
    const nodes = Math.max(0, Math.ceil(capacity.nodes));
    const props = Math.max(0, Math.ceil(capacity.properties));
    this.nodeFirst = new Uint32Array(nodes);
    this.nodeCount = new Uint32Array(nodes);
    this.propName = new Uint32Array(props);
    this.valueStart = new Uint32Array(props);
    this.valueLength = new Uint32Array(props);
    this.values = new Uint8Array(Math.max(0, Math.ceil(capacity.valueBytes)));
  }

  /** Appends a node with its properties (in their order); returns its index. */
  add(fullName: string, props: readonly Property[]): number {
    if (this.sealed) throw new Error('BootImage: add after seal');
    const i = this.nodes++;
    this.fullNames.push(fullName);
    this.nodeFirst = grown(this.nodeFirst, i + 1, (n) => new Uint32Array(n));
    this.nodeCount = grown(this.nodeCount, i + 1, (n) => new Uint32Array(n));
    this.nodeFirst[i] = this.properties;
    this.nodeCount[i] = props.length;
    const end = this.properties + props.length;
    this.propName = grown(this.propName, end, (n) => new Uint32Array(n));
    this.valueStart = grown(this.valueStart, end, (n) => new Uint32Array(n));
    this.valueLength = grown(this.valueLength, end, (n) => new Uint32Array(n));
    let bytes = 0;
    for (const p of props) bytes += p.value.length;
    this.values = grown(this.values, this.valueBytes + bytes, (n) => new Uint8Array(n));
    for (const p of props) {
      const k = this.properties++;
      let id = this.nameIds.get(p.name);
      if (id === undefined) {
        id = this.names.length;
        this.names.push(p.name);
        this.nameIds.set(p.name, id);
      }
      this.propName[k] = id;
      this.valueStart[k] = this.valueBytes;
      this.valueLength[k] = p.value.length;
      this.values.set(p.value, this.valueBytes);
      this.valueBytes += p.value.length;
    }
    return i;
  }

  /** No more nodes: the arrays are trimmed to what they hold. */
  seal(): this {
    if (this.sealed) return this;
    this.sealed = true;
    this.nodeFirst = trimmed(this.nodeFirst, this.nodes);
    this.nodeCount = trimmed(this.nodeCount, this.nodes);
    this.propName = trimmed(this.propName, this.properties);
    this.valueStart = trimmed(this.valueStart, this.properties);
    this.valueLength = trimmed(this.valueLength, this.properties);
    this.values = trimmed(this.values, this.valueBytes);
    this.nameIds.clear();
    return this;
  }

  get isSealed(): boolean {
    return this.sealed;
  }

  first(node: number): number {
    return this.nodeFirst[node]!;
  }

  count(node: number): number {
    return this.nodeCount[node]!;
  }

  name(k: number): string {
    return this.names[this.propName[k]!]!;
  }

  /** Property k's value as a view into the image (never a copy). */
  value(k: number): Uint8Array {
    const start = this.valueStart[k]!;
    return this.values.subarray(start, start + this.valueLength[k]!);
  }

  valueStartOf(k: number): number {
    return this.valueStart[k]!;
  }

  valueLengthOf(k: number): number {
    return this.valueLength[k]!;
  }

  /** Bytes the image holds (what the memory budget charges once for all the LPARs that share it). */
  get bytes(): number {
    return (
      this.values.byteLength +
      (this.nodeFirst.byteLength + this.nodeCount.byteLength) +
      (this.propName.byteLength + this.valueStart.byteLength + this.valueLength.byteLength) +
      this.nodes * 48 +
      this.names.length * 48
    );
  }
}
