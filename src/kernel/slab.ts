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

/**
 * Addresses already made, shared by every LPAR (the i-th allocation of each LPAR has the same address),
 * up to ADDRESS_CACHE_LIMIT of them (at most about 10 MiB): a fleet of LPARs then pays for each
 * address string once, not once per node per LPAR.
 */
const addressCache: string[] = [];
const ADDRESS_CACHE_LIMIT = 1 << 18;
const HEX = '0123456789abcdef';
/** The fixed high word, c0000000, then room for the low word's eight digits. */
const addressChars = [...'c0000000'].map((c) => c.charCodeAt(0)).concat(new Array<number>(8).fill(0));

/** The address of the `index`-th object an LPAR allocates. */
export function slabAddressOf(index: number): string {
  if (index < addressCache.length) return addressCache[index]!;
  // Built as one flat string: a concatenation would keep both halves and a rope node per address.
  // The high word is fixed (0xc0000000): 2^24 objects fit below it, far past any configured limit.
  let low = HEAP_BASE + index * OBJECT_STRIDE;
  for (let i = 15; i >= 8; i--) {
    addressChars[i] = HEX.charCodeAt(low % 16);
    low = Math.floor(low / 16);
  }
  const address = String.fromCharCode(...addressChars);
  if (index === addressCache.length && index < ADDRESS_CACHE_LIMIT) addressCache.push(address);
  return address;
}

/** The allocation index of a slab address, or -1 when it is not one. */
export function slabIndexOf(address: string): number {
  const index = (Number.parseInt(address.slice(8), 16) - HEAP_BASE) / OBJECT_STRIDE;
  return Number.isInteger(index) && index >= 0 && slabAddressOf(index) === address ? index : -1;
}

/** What slubDebug does around an allocation (kernel.ts): the checks before it, the track after. */
export interface SlabDebugHooks {
  slubAllocating(): void;
  slubAllocated(address: string): void;
}

/** A symbol key: the hooks are the kernel itself, which the digest reaches by its own path. */
const DEBUG = Symbol('slub debug');

export class SlabAllocator {
  private allocated = 0;
  private [DEBUG]: SlabDebugHooks | null = null;

  /** K-UAF-3: with slubDebug the allocation runs SLUB's checks first (slub-debug.ts). */
  setDebugHooks(hooks: SlabDebugHooks): void {
    this[DEBUG] = hooks;
  }

  allocAddress(): string {
    const debug = this[DEBUG];
    debug?.slubAllocating();
    const address = slabAddressOf(this.allocated);
    this.allocated += 1;
    debug?.slubAllocated(address);
    return address;
  }

  get count(): number {
    return this.allocated;
  }
}
