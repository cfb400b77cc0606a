// Simulated kernel memory: every object gets an address that is unique per LPAR and never reused, and a
// freed object stays addressable with its last contents so that a stale pointer is reported (K-UAF)
// instead of crashing anything.

export interface FreeRecord {
  readonly comm: string;
  readonly pid: number;
  /** The call chain that freed it, innermost first, one line. */
  readonly trace: string;
  readonly usec: number;
}

export interface SlabObject {
  readonly address: string;
  freed: FreeRecord | null;
}

/** Where this LPAR's allocations start: a linear-map kernel address, as `%px` would print one. */
const HEAP_BASE = 0x0200_0000;
/** kmalloc-256: struct device_node rounded up to its slab. */
const OBJECT_STRIDE = 0x100;

export class SlabAllocator {
  private allocated = 0;

  allocAddress(): string {
    const low = HEAP_BASE + this.allocated * OBJECT_STRIDE;
    this.allocated += 1;
    // The high word is fixed (0xc0000000): 2^24 objects fit below it, far past any configured limit.
    return `c0000000${low.toString(16).padStart(8, '0')}`;
  }

  get count(): number {
    return this.allocated;
  }
}
