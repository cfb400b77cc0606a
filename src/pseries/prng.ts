// A small seeded generator (mulberry32): the same seed always gives the same tree.

export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = (seed ^ 0x5bd1e995) >>> 0;
  }
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  hex(digits: number): string {
    let out = '';
    while (out.length < digits) out += this.u32().toString(16).padStart(8, '0');
    return out.slice(0, digits).toUpperCase();
  }
}
