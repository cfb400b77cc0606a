// The simulator's reference ledger of one node (K-REF-1): who holds how many references, the puts by
// holders that held none, and the recent gets and puts. A node has a few holders (its initial
// reference, sysfs, one per child in sysfs, a driver or two), and a Map costs more than a node, so a
// holder table keeps two in its own fields, a few more in a flat array of pairs, and a Map after that.
// It reads like a ReadonlyMap; only refs.ts writes it.

import type { Refcount } from '../kernel/refcount.ts';

// Three holders are kept in the table's own fields: most nodes have no more (of_node_init and sysfs,
// and cacheinfo on a cache node).
/** Pairs kept in a flat array beyond the inline ones, before a Map takes over. */
const SMALL = 32;

export class HolderTable implements Iterable<[string, number]> {
  private k0: string | null = null;
  private v0 = 0;
  private k1: string | null = null;
  private v1 = 0;
  private k2: string | null = null;
  private v2 = 0;
  /**
   * Beyond the inline three: [name, count, name, count, …], exactly sized (copied to grow); or, once
   * the table grew past 3 + SMALL, a Map of every holder (the inline fields are then unused).
   */
  private more: Array<string | number> | Map<string, number> | null = null;

  get size(): number {
    const more = this.more;
    if (more instanceof Map) return more.size;
    const inline = (this.k0 === null ? 0 : 1) + (this.k1 === null ? 0 : 1) + (this.k2 === null ? 0 : 1);
    return inline + (more?.length ?? 0) / 2;
  }

  get(holder: string): number | undefined {
    const more = this.more;
    if (more instanceof Map) return more.get(holder);
    if (this.k0 === holder) return this.v0;
    if (this.k1 === holder) return this.v1;
    if (this.k2 === holder) return this.v2;
    if (more) for (let i = 0; i < more.length; i += 2) if (more[i] === holder) return more[i + 1] as number;
    return undefined;
  }

  has(holder: string): boolean {
    return this.get(holder) !== undefined;
  }

  set(holder: string, count: number): this {
    const more = this.more;
    if (more instanceof Map) more.set(holder, count);
    else if (this.k0 === holder) this.v0 = count;
    else if (this.k1 === holder) this.v1 = count;
    else if (this.k2 === holder) this.v2 = count;
    else if (!this.setInPairs(more, holder, count)) this.add(more, holder, count);
    return this;
  }

  private setInPairs(pairs: Array<string | number> | null, holder: string, count: number): boolean {
    if (pairs)
      for (let i = 0; i < pairs.length; i += 2) {
        if (pairs[i] === holder) {
          pairs[i + 1] = count;
          return true;
        }
      }
    return false;
  }

  /** A new holder: the first free inline field, else the pairs, else (past SMALL pairs) a Map. */
  private add(pairs: Array<string | number> | null, holder: string, count: number): void {
    if (this.k0 === null) {
      this.k0 = holder;
      this.v0 = count;
    } else if (this.k1 === null) {
      this.k1 = holder;
      this.v1 = count;
    } else if (this.k2 === null) {
      this.k2 = holder;
      this.v2 = count;
    } else if ((pairs?.length ?? 0) / 2 < SMALL)
      this.more = pairs ? [...pairs, holder, count] : [holder, count];
    else {
      const map = new Map(this.entries());
      map.set(holder, count);
      this.more = map;
      this.k0 = this.k1 = this.k2 = null;
    }
  }

  delete(holder: string): boolean {
    const more = this.more;
    if (more instanceof Map) return more.delete(holder);
    if (this.k0 === holder) this.k0 = null;
    else if (this.k1 === holder) this.k1 = null;
    else if (this.k2 === holder) this.k2 = null;
    else {
      const i = more ? more.indexOf(holder) : -1;
      if (!more || i < 0 || i % 2 !== 0) return false;
      this.more = more.length === 2 ? null : [...more.slice(0, i), ...more.slice(i + 2)];
      return true;
    }
    this.refill();
    return true;
  }

  /**
   * A freed inline field takes the last pair, so that a transient holder (a walk's reference taken
   * and dropped) does not leave the pairs array behind on a node with three holders. Iteration order
   * is the table's own (documents sort holders by name).
   */
  private refill(): void {
    const more = this.more;
    if (!Array.isArray(more)) return;
    const holder = more[more.length - 2] as string;
    const count = more[more.length - 1] as number;
    this.more = more.length === 2 ? null : more.slice(0, -2);
    this.add(this.more as Array<string | number> | null, holder, count);
  }

  *entries(): IterableIterator<[string, number]> {
    const more = this.more;
    if (more instanceof Map) {
      yield* more.entries();
      return;
    }
    if (this.k0 !== null) yield [this.k0, this.v0];
    if (this.k1 !== null) yield [this.k1, this.v1];
    if (this.k2 !== null) yield [this.k2, this.v2];
    if (more) for (let i = 0; i < more.length; i += 2) yield [more[i] as string, more[i + 1] as number];
  }

  *keys(): IterableIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  [Symbol.iterator](): IterableIterator<[string, number]> {
    return this.entries();
  }
}

/** The table of a node nobody has put unbalanced yet: shared, never written (refs.ts replaces it). */
export const NO_HOLDERS: HolderTable = Object.freeze(new HolderTable()) as HolderTable;

/** One reference operation, kept so the count can be re-derived from the ledger (invariants). */
export type RefOp = 1 | -1;

/**
 * The gets (+1) and puts (-1) since kref_init, in order: the ledger itself is the count the oldest
 * ones give (folded in through the same refcount rules, refs.ts), and the recent ones are bits of one
 * small integer. Folding keeps a hot node's ledger bounded without losing the check that the count
 * moved only through gets and puts.
 */
export class RefLedger implements Refcount {
  /** The base: kref_init's count with the folded operations applied. */
  count = 1;
  /**
   * The recent operations, oldest in bit 0 (set: a get), under a marker bit at position `length`, and
   * the base's saturation in the sign bit: one 32-bit small integer for all three, one field a node.
   */
  private recent = 1;

  /** Recent operations kept before the oldest half is folded: 30 and the marker fit below the sign. */
  static readonly KEPT = 30;

  get saturated(): boolean {
    return this.recent < 0;
  }

  set saturated(saturated: boolean) {
    this.recent = saturated ? this.recent | SATURATED_BIT : this.recent & ~SATURATED_BIT;
  }

  /** The operations with their marker, without the saturation bit. */
  private get marked(): number {
    return this.recent & ~SATURATED_BIT;
  }

  get length(): number {
    return 31 - Math.clz32(this.marked);
  }

  at(i: number): RefOp {
    return (this.marked >>> i) & 1 ? 1 : -1;
  }

  push(op: RefOp): void {
    const n = this.length;
    const ops = this.marked ^ (1 << n); // without the marker
    this.recent = (this.recent & SATURATED_BIT) | ops | ((op === 1 ? 1 : 0) << n) | (1 << (n + 1));
  }

  /** Forgets the oldest `k` operations (the caller has folded them into the base). */
  drop(k: number): void {
    this.recent = (this.recent & SATURATED_BIT) | (this.marked >>> k); // the marker moves down too
  }

  *ops(): IterableIterator<RefOp> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }
}

/** RefLedger.recent's sign bit: the base count saturated (REFCOUNT_SATURATED, K-REF-4). */
const SATURATED_BIT = 1 << 31;
