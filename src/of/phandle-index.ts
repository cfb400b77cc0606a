// The simulator's index of every node that has carried each phandle (not a kernel structure): it lets
// the all-nodes walk of a cache miss (K-CACHE) be answered without visiting the whole tree.
//
// Almost every phandle is carried by one node, so an entry is that node itself and becomes an array
// only when a second node takes the same phandle (a re-added copy after a migration, K-DETACH-2): an
// array per phandle would cost more than the node's own refcount.

import { ChunkedMap } from '../kernel/chunked-map.ts';
import type { DeviceNode } from './node.ts';

type Entry = DeviceNode | DeviceNode[];

export class PhandleIndex {
  /** Chunked: a quarter-million phandles in one Map rehash in one 30 ms step (kernel/chunked-map.ts). */
  private readonly map = new ChunkedMap<number, Entry>();

  /** The nodes that carry `handle`, in the order they took it. */
  get(handle: number): readonly DeviceNode[] {
    const e = this.map.get(handle);
    return e === undefined ? [] : Array.isArray(e) ? e : [e];
  }

  add(handle: number, np: DeviceNode): void {
    const e = this.map.get(handle);
    if (e === undefined) this.map.set(handle, np);
    else if (Array.isArray(e)) e.push(np);
    else this.map.set(handle, [e, np]);
  }

  remove(handle: number, np: DeviceNode): void {
    const e = this.map.get(handle);
    if (e === undefined) return;
    if (!Array.isArray(e)) {
      if (e === np) this.map.delete(handle);
      return;
    }
    const i = e.indexOf(np);
    if (i >= 0) e.splice(i, 1);
    if (e.length === 1) this.map.set(handle, e[0]!);
    else if (e.length === 0) this.map.delete(handle);
  }

  /** Every phandle some node carries. */
  keys(): IterableIterator<number> {
    return this.map.keys();
  }
}
