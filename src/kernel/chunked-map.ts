// A Map (and a Set) that never rehashes more than CHUNK entries at once: a JS Map that grows past
// 2^k entries copies all of them into a new table in one synchronous step, and for the indexes of a
// quarter-million-node LPAR (phandles, the children of /cpus, sysfs directories) that one step took
// 20-40 ms of a create, with no other request served meanwhile (issue 10). Entries are kept in chunks
// of at most CHUNK, a new chunk opened when the last is full; a lookup asks each chunk, so it costs
// size / CHUNK Map lookups at worst (8 for 250k entries). Iteration is insertion order, as a Map's.
// Not a kernel structure: the simulator's own indexes.

const CHUNK = 1 << 15;

export class ChunkedMap<K, V> implements Iterable<[K, V]> {
  private readonly chunks: Map<K, V>[] = [new Map()];
  private count = 0;

  get size(): number {
    return this.count;
  }

  private chunkOf(key: K): Map<K, V> | undefined {
    const chunks = this.chunks;
    for (let i = chunks.length - 1; i >= 0; i--) if (chunks[i]!.has(key)) return chunks[i];
    return undefined;
  }

  get(key: K): V | undefined {
    const chunks = this.chunks;
    if (chunks.length === 1) return chunks[0]!.get(key);
    for (let i = chunks.length - 1; i >= 0; i--) {
      const c = chunks[i]!;
      if (c.has(key)) return c.get(key);
    }
    return undefined;
  }

  has(key: K): boolean {
    return this.chunks.length === 1 ? this.chunks[0]!.has(key) : this.chunkOf(key) !== undefined;
  }

  set(key: K, value: V): this {
    const at = this.chunkOf(key);
    if (at) {
      at.set(key, value);
      return this;
    }
    let last = this.chunks[this.chunks.length - 1]!;
    if (last.size >= CHUNK) {
      last = new Map();
      this.chunks.push(last);
    }
    last.set(key, value);
    this.count += 1;
    return this;
  }

  delete(key: K): boolean {
    const at = this.chunkOf(key);
    if (!at) return false;
    at.delete(key);
    this.count -= 1;
    if (at.size === 0 && this.chunks.length > 1) this.chunks.splice(this.chunks.indexOf(at), 1);
    return true;
  }

  *keys(): IterableIterator<K> {
    for (const c of this.chunks) yield* c.keys();
  }

  *values(): IterableIterator<V> {
    for (const c of this.chunks) yield* c.values();
  }

  *entries(): IterableIterator<[K, V]> {
    for (const c of this.chunks) yield* c.entries();
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }
}

/** The Set of ChunkedMap. */
export class ChunkedSet<T> implements Iterable<T> {
  private readonly map = new ChunkedMap<T, true>();

  get size(): number {
    return this.map.size;
  }

  has(value: T): boolean {
    return this.map.has(value);
  }

  add(value: T): this {
    this.map.set(value, true);
    return this;
  }

  delete(value: T): boolean {
    return this.map.delete(value);
  }

  values(): IterableIterator<T> {
    return this.map.keys();
  }

  [Symbol.iterator](): IterableIterator<T> {
    return this.map.keys();
  }
}
