// Helpers shared by the bench processes. Nothing here imports src/: the orchestrator (run.ts) loads
// this file too, and it must not load the code being measured into its own process.

export const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Nearest-rank percentile (p in 0..100) of an unsorted sample. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1]!;
}

/** Cores of a built-in power9 tree of about `nodes` nodes (a tree is ~3 nodes per core plus ~45). */
export const coresFor = (nodes: number): number => Math.max(1, Math.round((nodes - 45) / 3));

/** Least-squares slope of ln(t) against ln(n): the k of t ~ n^k. */
export function fitExponent(points: ReadonlyArray<{ n: number; t: number }>): number | null {
  const ps = points.filter((p) => p.n > 0 && p.t > 0 && Number.isFinite(p.t));
  if (ps.length < 2) return null;
  const xs = ps.map((p) => Math.log(p.n));
  const ys = ps.map((p) => Math.log(p.t));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}

/** The brief's wording: near-linear for k ≤ 1.15, else worse. */
export const NEAR_LINEAR_K = 1.15;
export function growthWord(k: number | null): string {
  if (k === null) return 'unknown (too few sizes)';
  return k <= NEAR_LINEAR_K ? `near-linear (k=${k.toFixed(2)})` : `worse (k=${k.toFixed(2)})`;
}

/** Collects garbage twice (finalizers of the first pass free more); a no-op without --expose-gc. */
export function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

/** A child process hands its result back over IPC and exits. */
export function sendResult(result: unknown): void {
  if (process.send) process.send({ type: 'result', result }, () => process.exit(0));
  else {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  }
}

/** Progress lines go to stderr so that they never mix with a result. */
export const progress = (line: string): void => {
  process.stderr.write(`  · ${line}\n`);
};

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A memory snapshot in bytes. */
export interface Mem {
  heapUsed: number;
  arrayBuffers: number;
  external: number;
  rss: number;
}

export function memNow(): Mem {
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, external: m.external, rss: m.rss };
}

export function memDelta(a: Mem, b: Mem): Mem {
  return {
    heapUsed: b.heapUsed - a.heapUsed,
    arrayBuffers: b.arrayBuffers - a.arrayBuffers,
    external: b.external - a.external,
    rss: b.rss - a.rss,
  };
}
