// Bench child: the model API measured directly, in a fresh process (run.ts spawns it).
//
// - lookup throughput per cache model, hits, misses and absent phandles in separate loops (plus the
//   old round-robin over every phandle, which mixes them and mostly measures cache thrash);
// - create and migration time against node count (kernel 5.16), in process;
// - repeated migrations on 100k over 1k nodes, interleaved, for 4.18 and 5.16;
// - the missed-lookup walk (walkFor) against a loop over a compact array of {phandle, flags};
// - a sysfs listing and a property read on 100k over 1k nodes.

import * as views from '../src/lpar/views.ts';
import { forEachOfAllnodes } from '../src/of/base.ts';
import { cacheSlotOf, ofFindNodeByPhandle, walkFor } from '../src/of/phandle-cache.ts';
import { ofNodePut } from '../src/of/refs.ts';
import { coresFor, fullGc, median, progress, sendResult } from './lib.ts';
import { benchRegistry, createLpar, type Lpar, migrateOnce } from './lparsim.ts';

interface Args {
  quick: boolean;
  sizes: number[];
}
const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const QUICK = args.quick;
const registry = benchRegistry({ maxLpars: 100, maxNodesPerLpar: 400_000 });
const out: Record<string, unknown> = {};
const HOLDER = 'bench';

/** Runs one part of the bench; a part that throws is recorded as {error} and the others still run. */
async function attempt(name: string, fn: () => Promise<unknown> | unknown): Promise<void> {
  try {
    out[name] = await fn();
  } catch (e) {
    const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    progress(`${name}: ${error}`);
    out[name] = { error };
  }
}

// ---------------------------------------------------------------------------------------------------
// 1. Lookups per cache model
// ---------------------------------------------------------------------------------------------------

/** Rate of `look` over `seq` (cycled), in timed rounds; the cache counters' deltas say what was measured. */
function lookupLoop(lpar: Lpar, seq: readonly number[]) {
  const of = lpar.of;
  const c = of.cache.counters;
  const look = (h: number) => ofNodePut(of, ofFindNodeByPhandle(of, h, HOLDER).node, HOLDER);
  for (let i = 0; i < 2000; i++) look(seq[i % seq.length]!); // warm the JIT and the slots
  const before = { lookups: c.lookups, hits: c.hits, misses: c.misses, stale: c.staleHits };
  const rounds = QUICK ? 3 : 7;
  const roundMs = QUICK ? 100 : 250;
  const rates: number[] = [];
  let j = 0;
  for (let r = 0; r < rounds; r++) {
    let ops = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < roundMs) {
      for (let i = 0; i < 500; i++) look(seq[j++ % seq.length]!);
      ops += 500;
      t = performance.now();
    }
    rates.push(ops / ((t - t0) / 1000));
  }
  const lookups = c.lookups - before.lookups;
  return {
    perSecond: median(rates),
    rates,
    lookups,
    hitFraction: (c.hits - before.hits) / lookups,
    missFraction: (c.misses - before.misses) / lookups,
    staleHitFraction: (c.staleHits - before.stale) / lookups,
  };
}

async function lookups(kernel: string) {
  // 64 cores, as before: a few hundred phandles, so the pow2 and hash128 slots collide as they do on a real LPAR.
  const lpar = await createLpar(registry, { profile: 'power9', kernel, options: { cores: 64 } });
  const of = lpar.of;
  const cache = of.cache;
  const handles = [...new Set([...forEachOfAllnodes(of)].map((n) => n.phandle >>> 0).filter((h) => h !== 0))];
  const present = new Set(handles);
  const look = (h: number) => ofNodePut(of, ofFindNodeByPhandle(of, h, HOLDER).node, HOLDER);
  const slotHolds = (h: number) => {
    const slot = cacheSlotOf(cache, h);
    return slot !== null && (cache.slots[slot]?.phandle ?? 0) >>> 0 === h;
  };

  // A phandle known to be cached: looked up once (a miss fills its slot), then it stays.
  let hitHandle: number | null = null;
  if (cache.model !== 'none')
    for (const h of handles) {
      look(h);
      if (slotHolds(h)) {
        hitHandle = h;
        break;
      }
    }
  // Phandles that miss: two present phandles sharing a slot evict each other on every lookup; the
  // uncached model misses on every phandle.
  let missSeq: number[] | null = null;
  if (cache.model === 'none') missSeq = handles;
  else {
    const bySlot = new Map<number, number[]>();
    for (const h of handles) {
      const s = cacheSlotOf(cache, h);
      if (s === null) continue;
      const list = bySlot.get(s) ?? [];
      list.push(h);
      bySlot.set(s, list);
      if (list.length === 2) {
        missSeq = list;
        break;
      }
    }
  }
  let absent = 0x1234_5678;
  while (present.has(absent)) absent += 1;

  const result = {
    kernel,
    model: cache.model,
    phandles: handles.length,
    hit: hitHandle === null ? null : { phandle: hitHandle, ...lookupLoop(lpar, [hitHandle]) },
    miss: missSeq === null ? null : { phandles: missSeq.slice(0, 4), ...lookupLoop(lpar, missSeq) },
    absent: { phandle: absent, ...lookupLoop(lpar, [absent]) },
    roundRobin: lookupLoop(lpar, handles),
  };
  registry.delete(lpar.config.id);
  return result;
}

const lookupResults: Record<string, unknown> = {};
for (const kernel of ['4.16', '4.18', '5.0', '5.8']) {
  progress(`lookups on ${kernel}`);
  try {
    const r = await lookups(kernel);
    lookupResults[r.model] = r;
  } catch (e) {
    lookupResults[kernel] = { kernel, error: e instanceof Error ? e.message : String(e) };
  }
}
out.lookups = lookupResults;
fullGc();

// ---------------------------------------------------------------------------------------------------
// 2. Create and migration time against node count (5.16), in process
// ---------------------------------------------------------------------------------------------------

const SCALE_KERNEL = '5.16';
const kept = new Map<number, Lpar>();
{
  // Warm-up, so that the smallest size does not pay for compiling the code.
  const w = await createLpar(registry, {
    profile: 'power9',
    kernel: SCALE_KERNEL,
    options: { cores: coresFor(1000) },
  });
  await migrateOnce(registry, w);
  await migrateOnce(registry, w);
  registry.delete(w.config.id);
}
const scaling: unknown[] = [];
for (const n of args.sizes) {
  fullGc();
  progress(`in-process create and migrations at ${n} nodes`);
  try {
    const t0 = performance.now();
    const lpar = await createLpar(registry, {
      profile: 'power9',
      kernel: SCALE_KERNEL,
      options: { cores: coresFor(n) },
    });
    const createMs = performance.now() - t0;
    const first = await migrateOnce(registry, lpar);
    const reps: number[] = [];
    const states = new Set<string>([first.state]);
    for (let i = 0; i < (QUICK ? 3 : 5); i++) {
      const m = await migrateOnce(registry, lpar);
      reps.push(m.ms);
      states.add(m.state);
    }
    scaling.push({
      target: n,
      nodes: lpar.of.nodes.size,
      createMs,
      firstMigrationMs: first.ms,
      migrationMedianMs: median(reps),
      migrationMs: reps,
      migrationStates: [...states],
    });
    if (n === 1000 || n === 100_000) kept.set(n, lpar);
    else registry.delete(lpar.config.id);
  } catch (e) {
    // A size the committed code cannot create is a result, not the end of the bench.
    const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    progress(`${n} nodes: ${error}`);
    scaling.push({ target: n, error });
  }
}
out.scaling = { kernel: SCALE_KERNEL, sizes: scaling };

// ---------------------------------------------------------------------------------------------------
// 3. Repeated migrations, 100k over 1k nodes, interleaved so that machine noise hits both alike; the
//    first migration of each pair (which fills the caches) is not counted.
// ---------------------------------------------------------------------------------------------------

async function migrationRatio(kernel: string, small: Lpar, large: Lpar, count: number) {
  fullGc();
  const times = { small: [] as number[], large: [] as number[] };
  for (let i = 0; i < count; i++) {
    for (const [key, lpar] of [
      ['small', small],
      ['large', large],
    ] as const) {
      const m = await migrateOnce(registry, lpar);
      if (i > 0) times[key].push(m.ms);
    }
  }
  const smallMs = median(times.small);
  const largeMs = median(times.large);
  return {
    kernel,
    smallNodes: small.of.nodes.size,
    largeNodes: large.of.nodes.size,
    smallMs,
    largeMs,
    ratio: largeMs / smallMs,
    reps: count - 1,
  };
}

const make = (kernel: string, n: number) =>
  createLpar(registry, { profile: 'power9', kernel, options: { cores: coresFor(n) } });
const count = QUICK ? 11 : 41;
const ratios: Record<string, unknown> = {};
out.migrationRatio = ratios;
try {
  progress('migration ratio 100k / 1k on 4.18');
  const small = await make('4.18', 1000);
  const large = await make('4.18', 100_000);
  ratios['4.18'] = await migrationRatio('4.18', small, large, count);
  registry.delete(small.config.id);
  registry.delete(large.config.id);
} catch (e) {
  ratios['4.18'] = { error: e instanceof Error ? e.message : String(e) };
}
let small516: Lpar | null = null;
let large516: Lpar | null = null;
try {
  small516 = kept.get(1000) ?? (await make(SCALE_KERNEL, 1000));
  large516 = kept.get(100_000) ?? (await make(SCALE_KERNEL, 100_000));
  progress('migration ratio 100k / 1k on 5.16');
  ratios[SCALE_KERNEL] = await migrationRatio(SCALE_KERNEL, small516, large516, count);
} catch (e) {
  ratios[SCALE_KERNEL] = { error: e instanceof Error ? e.message : String(e) };
}

// ---------------------------------------------------------------------------------------------------
// 4. The missed-lookup walk against a loop over a compact array (not the same node objects)
// ---------------------------------------------------------------------------------------------------
await attempt('walk', () => {
  progress('walk against a compact array');
  if (!large516) throw new Error('no 100k-node LPAR');
  fullGc();
  const of = large516.of;
  const all = [...forEachOfAllnodes(of)];
  let missing = 0x1234_5678;
  while (all.some((n) => n.phandle >>> 0 === missing)) missing += 1;
  // Compact: small fresh objects allocated back to back, holding only what the walk compares.
  const compact = all.map((n) => ({ phandle: n.phandle, flags: n.flags }));
  const phandles = Uint32Array.from(all, (n) => n.phandle >>> 0);
  const flags = Uint32Array.from(all, (n) => n.flags);
  const reps = QUICK ? 15 : 41;
  const t = {
    walk: [] as number[],
    compact: [] as number[],
    typed: [] as number[],
    sameObjects: [] as number[],
  };
  let sink = 0;
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    sink += walkFor(of, missing, true) ? 1 : 0;
    t.walk.push(performance.now() - t0);
    t0 = performance.now();
    for (let i = 0; i < compact.length; i++)
      if (compact[i]!.phandle === missing && !(compact[i]!.flags & 4)) sink += 1;
    t.compact.push(performance.now() - t0);
    t0 = performance.now();
    for (let i = 0; i < phandles.length; i++) if (phandles[i] === missing && !(flags[i]! & 4)) sink += 1;
    t.typed.push(performance.now() - t0);
    t0 = performance.now();
    for (let i = 0; i < all.length; i++) if (all[i]!.phandle === missing && !(all[i]!.flags & 4)) sink += 1;
    t.sameObjects.push(performance.now() - t0);
  }
  const walkMs = median(t.walk);
  return {
    nodes: all.length,
    walkMedianMs: walkMs,
    compactArrayMedianMs: median(t.compact),
    ratio: walkMs / median(t.compact),
    typedArrayMedianMs: median(t.typed),
    sameNodeObjectsLoopMedianMs: median(t.sameObjects),
    sameNodeObjectsRatio: walkMs / median(t.sameObjects),
    reps,
    sink,
  };
});

// ---------------------------------------------------------------------------------------------------
// 5. A sysfs listing and a property read cost the directory, not the LPAR (interleaved)
// ---------------------------------------------------------------------------------------------------
await attempt('views', () => {
  progress('sysfs listing and property read, 100k / 1k');
  if (!small516 || !large516) throw new Error('no 1k- and 100k-node LPARs');
  const pair = [
    ['small', small516],
    ['large', large516],
  ] as const;
  // Looked up by name: the listing API is being paginated, and either form will do for this row.
  const v = views as unknown as Record<string, unknown>;
  const list = (v.listDirectory ?? v.listDirectoryPage) as
    | ((lpar: Lpar, dir: unknown, req?: unknown) => unknown)
    | undefined;
  const parts = ['firmware', 'devicetree', 'base', 'ibm,platform-facilities'];
  const once = (lpar: Lpar) => {
    const dir = views.lookupView(lpar, 'sys', parts);
    if (dir.kind === 'dir') list?.(lpar, dir, { limit: 100 });
    views.readViewFile(lpar, views.lookupView(lpar, 'sys', [...parts, 'ibm,random-v1', 'status']));
  };
  const samples = { small: [] as number[], large: [] as number[] };
  for (let round = 0; round < (QUICK ? 21 : 61); round++) {
    for (const [key, lpar] of pair) {
      const t0 = performance.now();
      for (let i = 0; i < 200; i++) once(lpar);
      samples[key].push(((performance.now() - t0) * 1000) / 200);
    }
  }
  const s = median(samples.small);
  const l = median(samples.large);
  return { smallUs: s, largeUs: l, ratio: l / s };
});

sendResult(out);
