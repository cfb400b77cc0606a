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

/** The address of the `index`-th object an LPAR allocates. */
export function slabAddressOf(index: number): string {
  // The high word is fixed (0xc0000000): 2^24 objects fit below it, far past any configured limit.
  return `c0000000${(HEAP_BASE + index * OBJECT_STRIDE).toString(16).padStart(8, '0')}`;
}

/** The allocation index of a slab address, or -1 when it is not one. */
export function slabIndexOf(address: string): number {
  const index = (Number.parseInt(address.slice(8), 16) - HEAP_BASE) / OBJECT_STRIDE;
  return Number.isInteger(index) && index >= 0 && slabAddressOf(index) === address ? index : -1;
}

export class SlabAllocator {
  private allocated = 0;

  allocAddress(): string {
    const address = slabAddressOf(this.allocated);
    this.allocated += 1;
    return address;
  }

  get count(): number {
    return this.allocated;
  }
}
