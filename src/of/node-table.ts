// Every node an LPAR has allocated, by address (the simulator's table, not a kernel structure). Only
// device nodes are allocated from the LPAR's slab (kernel/slab.ts), so the i-th allocation is the
// i-th node: an array indexed by allocation order answers a lookup by address in O(1), at 8 bytes a
// node where a Map keyed by the address string costs some 30. Nodes are never removed: a freed node
// stays addressable (K-UAF).

import { slabIndexOf } from '../kernel/slab.ts';
import type { DeviceNode } from './node.ts';

export class NodeTable implements Iterable<[string, DeviceNode]> {
  private readonly byIndex: DeviceNode[] = [];

  get size(): number {
    return this.byIndex.length;
  }

  /** Adds the node just allocated (its address is the slab's next). */
  add(np: DeviceNode): void {
    if (slabIndexOf(np.address) !== this.byIndex.length)
      throw new Error(`NodeTable: ${np.address} is not allocation ${this.byIndex.length}`);
    this.byIndex.push(np);
  }

  get(address: string): DeviceNode | undefined {
    const i = slabIndexOf(address);
    return i < 0 ? undefined : this.byIndex[i];
  }

  has(address: string): boolean {
    return this.get(address) !== undefined;
  }

  /** The node of the `index`-th allocation. */
  at(index: number): DeviceNode | undefined {
    return this.byIndex[index];
  }

  values(): IterableIterator<DeviceNode> {
    return this.byIndex.values();
  }

  *keys(): IterableIterator<string> {
    for (const np of this.byIndex) yield np.address;
  }

  *[Symbol.iterator](): IterableIterator<[string, DeviceNode]> {
    for (const np of this.byIndex) yield [np.address, np];
  }
}
