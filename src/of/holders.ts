// A small table of holder name → count for one node (K-REF-1), used for the unbalanced puts: most
// nodes never have any, and an empty Map costs about a kilobyte, so the table is a flat array of
// pairs until it grows past a few entries, and a Map after that. It reads like a ReadonlyMap; only
// the ledger in refs.ts writes it.

const SMALL = 8;

export class HolderTable implements Iterable<[string, number]> {
  /** [name, count, name, count, …] while small; null once `map` took over. */
  private pairs: Array<string | number> | null = [];
  private map: Map<string, number> | null = null;

  get size(): number {
    return this.map ? this.map.size : this.pairs!.length / 2;
  }

  get(holder: string): number | undefined {
    if (this.map) return this.map.get(holder);
    const p = this.pairs!;
    for (let i = 0; i < p.length; i += 2) if (p[i] === holder) return p[i + 1] as number;
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
    const p = this.pairs!;
    for (let i = 0; i < p.length; i += 2) {
      if (p[i] === holder) {
        p[i + 1] = count;
        return this;
      }
    }
    if (p.length / 2 < SMALL) p.push(holder, count);
    else {
      this.map = new Map(this.entries());
      this.map.set(holder, count);
      this.pairs = null;
    }
    return this;
  }

  delete(holder: string): boolean {
    if (this.map) return this.map.delete(holder);
    const p = this.pairs!;
    for (let i = 0; i < p.length; i += 2) {
      if (p[i] === holder) {
        p.splice(i, 2);
        return true;
      }
    }
    return false;
  }

  *entries(): IterableIterator<[string, number]> {
    if (this.map) {
      yield* this.map.entries();
      return;
    }
    const p = this.pairs!;
    for (let i = 0; i < p.length; i += 2) yield [p[i] as string, p[i + 1] as number];
  }

  *keys(): IterableIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  [Symbol.iterator](): IterableIterator<[string, number]> {
    return this.entries();
  }
}
