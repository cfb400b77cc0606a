// The simulator's reference ledger of one node (K-REF-1): who holds how many references, the puts by
// holders that held none, and the recent gets and puts. A node has a few holders (its initial
// reference, sysfs, one per child in sysfs, a driver or two), and a Map costs more than a node, so a
// holder table keeps two in its own fields, a few more in a flat array of pairs, and a Map after that.
// It reads like a ReadonlyMap; only refs.ts writes it.

import type { Refcount } from '../kernel/refcount.ts';

// Two holders are kept in the table's own fields: most nodes have no more (of_node_init and sysfs).
/** Pairs kept in a flat array beyond the inline ones, before a Map takes over. */
const SMALL = 32;

export class HolderTable implements Iterable<[string, number]> {
  private k0: string | null = null;
  private v0 = 0;
  private k1: string | null = null;
  private v1 = 0;
  /** [name, count, name, count, …] beyond the inline two, exactly sized (copied to grow). */
  private pairs: Array<string | number> | null = null;
  /** Every holder once the table grew past 2 + SMALL (the fields and pairs are then unused). */
  private map: Map<string, number> | null = null;

  get size(): number {
    if (this.map) return this.map.size;
    return (this.k0 === null ? 0 : 1) + (this.k1 === null ? 0 : 1) + (this.pairs?.length ?? 0) / 2;
  }

  get(holder: string): number | undefined {
    if (this.map) return this.map.get(holder);
    if (this.k0 === holder) return this.v0;
    if (this.k1 === holder) return this.v1;
    const p = this.pairs;
    if (p) for (let i = 0; i < p.length; i += 2) if (p[i] === holder) return p[i + 1] as number;
    return undefined;
  }

  has(holder: string): boolean {
    return this.get(holder) !== undefined;
  }

  set(holder: string, count: number): this {
    if (this.map) {
      this.map.set(holder, count);
      return this;
    }
    if (this.k0 === holder) this.v0 = count;
    else if (this.k1 === holder) this.v1 = count;
    else {
      const p = this.pairs;
      if (p)
        for (let i = 0; i < p.length; i += 2) {
          if (p[i] === holder) {
            p[i + 1] = count;
            return this;
          }
        }
      if (this.k0 === null) {
        this.k0 = holder;
        this.v0 = count;
      } else if (this.k1 === null) {
        this.k1 = holder;
        this.v1 = count;
      } else if ((p?.length ?? 0) / 2 < SMALL) this.pairs = p ? [...p, holder, count] : [holder, count];
      else {
        const map = new Map(this.entries());
        map.set(holder, count);
        this.map = map;
        this.k0 = this.k1 = null;
        this.pairs = null;
      }
    }
    return this;
  }

  delete(holder: string): boolean {
    if (this.map) return this.map.delete(holder);
    if (this.k0 === holder) this.k0 = null;
    else if (this.k1 === holder) this.k1 = null;
    else {
      const p = this.pairs;
      const i = p ? p.indexOf(holder) : -1;
      if (!p || i < 0 || i % 2 !== 0) return false;
      this.pairs = p.length === 2 ? null : [...p.slice(0, i), ...p.slice(i + 2)];
    }
    return true;
  }

  *entries(): IterableIterator<[string, number]> {
    if (this.map) {
      yield* this.map.entries();
      return;
    }
    if (this.k0 !== null) yield [this.k0, this.v0];
    if (this.k1 !== null) yield [this.k1, this.v1];
    const p = this.pairs;
    if (p) for (let i = 0; i < p.length; i += 2) yield [p[i] as string, p[i + 1] as number];
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
  saturated = false;
  /** Bit i set: recent operation i was a get. */
  private bits = 0;
  private n = 0;

  /** Recent operations kept before the oldest half is folded: 30 fit in a small integer. */
  static readonly KEPT = 30;

  get length(): number {
    return this.n;
  }

  at(i: number): RefOp {
    return (this.bits >>> i) & 1 ? 1 : -1;
  }

  push(op: RefOp): void {
    if (op === 1) this.bits |= 1 << this.n;
    this.n += 1;
  }

  /** Forgets the oldest `k` operations (the caller has folded them into the base). */
  drop(k: number): void {
    this.bits >>>= k;
    this.n -= k;
  }

  *ops(): IterableIterator<RefOp> {
    for (let i = 0; i < this.n; i++) yield this.at(i);
  }
}
