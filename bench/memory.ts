// Bench child: memory per node and per LPAR, in a fresh process per measurement so that earlier
// phases leave nothing behind. run.ts starts it with the node flags of `npm start` plus --expose-gc.
//
//   {"mode":"tree","nodes":N,"count":C}            C built-in power9 trees of about N nodes each
//   {"mode":"fleet","source":"dtb"|"builtin","count":C,"nodes":N}
//                                                  C LPARs of about N nodes, booted from one shared
//                                                  blob or each from the built-in profile
//
// Heap is measured after two full collections before and after; the figures are deltas.

import v8 from 'node:v8';
import { loadConfig } from '../src/config.ts';
import { fdtEncode } from '../src/of/fdt.ts';
import { ofFlattenLiveTree } from '../src/of/unflatten.ts';
import { coresFor, fullGc, memDelta, memNow, progress, sendResult } from './lib.ts';
import { benchRegistry, createLpar, type Lpar } from './lparsim.ts';

type Args =
  | { mode: 'tree'; nodes: number; count?: number }
  | { mode: 'fleet'; source: 'dtb' | 'builtin'; count: number; nodes: number };
const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const KERNEL = '5.8';

/** The budget a default `npm start` would apply: LPARSIM_MEMORY_BUDGET_MB once src/ has it, else the V8 heap limit. */
function defaultBudget() {
  const config = loadConfig({}) as unknown as Record<string, unknown>;
  const mb = config.LPARSIM_MEMORY_BUDGET_MB;
  const heapLimit = v8.getHeapStatistics().heap_size_limit;
  if (typeof mb === 'number' && mb > 0)
    return { bytes: mb * 2 ** 20, source: 'LPARSIM_MEMORY_BUDGET_MB default', heapLimit };
  return {
    bytes: heapLimit,
    source: 'V8 heap limit of npm start (no LPARSIM_MEMORY_BUDGET_MB in config)',
    heapLimit,
  };
}

/** A memory delta divided among `n` nodes or LPARs. */
function share(d: ReturnType<typeof memDelta>, n: number) {
  return {
    heapUsed: d.heapUsed / n,
    arrayBuffers: d.arrayBuffers / n,
    heapPlusArrayBuffers: (d.heapUsed + d.arrayBuffers) / n,
    rss: d.rss / n,
  };
}

const registry = benchRegistry({ maxLpars: 5000, maxNodesPerLpar: 400_000 });
const build = (nodes: number, name?: string) =>
  createLpar(registry, {
    profile: 'power9',
    kernel: KERNEL,
    options: { cores: coresFor(nodes) },
    ...(name ? { name } : {}),
  });

// Warm-up: compile the create path and allocate what any LPAR's first create allocates once.
{
  const w = await build(1000);
  registry.delete(w.config.id);
}

if (args.mode === 'tree') {
  // `count` trees of the size, so that a small tree's figure is what one more tree costs, not the
  // noise of one measurement (lazily compiled code, the string table, a young generation growing).
  const count = Math.max(1, args.count ?? 1);
  fullGc();
  const before = memNow();
  const t0 = performance.now();
  const lpars: Lpar[] = [];
  for (let i = 0; i < count; i++) lpars.push(await build(args.nodes, `t${i}`));
  const createMs = (performance.now() - t0) / count;
  fullGc();
  const d = memDelta(before, memNow());
  const nodes = lpars[0]!.of.nodes.size;
  sendResult({
    mode: 'tree',
    kernel: KERNEL,
    target: args.nodes,
    nodes,
    trees: count,
    createMs,
    delta: d,
    perNode: share(d, nodes * count),
    budget: defaultBudget(),
    alive: registry.lpars.size,
  });
} else {
  let blob: Uint8Array | null = null;
  if (args.source === 'dtb') {
    const src = await build(args.nodes);
    blob = fdtEncode(ofFlattenLiveTree(src.of.root!));
    registry.delete(src.config.id);
  }
  fullGc();
  const before = memNow();
  const t0 = performance.now();
  const lpars: Lpar[] = [];
  let refused: string | null = null;
  for (let i = 0; i < args.count; i++) {
    try {
      lpars.push(
        blob
          ? await createLpar(registry, { profile: 'power9', kernel: KERNEL, dtb: blob, name: `f${i}` })
          : await build(args.nodes, `f${i}`),
      );
    } catch (e) {
      refused = e instanceof Error ? e.message : String(e);
      break;
    }
    if (i % 20 === 19) progress(`${i + 1} LPARs (${args.source})`);
  }
  const createMs = performance.now() - t0;
  fullGc();
  const after = memNow();
  const d = memDelta(before, after);
  const n = lpars.length;
  const nodes = n ? lpars.reduce((s, l) => s + l.of.nodes.size, 0) / n : 0;
  sendResult({
    mode: 'fleet',
    source: args.source,
    kernel: KERNEL,
    requested: args.count,
    created: n,
    refused,
    nodesPerLpar: nodes,
    blobBytes: blob?.length ?? null,
    createMsPerLpar: createMs / Math.max(1, n),
    baseline: before,
    after,
    delta: d,
    perLpar: share(d, n),
    budget: defaultBudget(),
  });
}
