// npm run bench: the performance figures of the issues, each a ratio measured in one run (these
// machines are noisy). Prints a table and writes bench/results.json with the machine and commit.
//
// 1. Repeated platform-facilities migrations on 4.18 (stale hits) and 5.16 (hits): median time on a
//    100k-node LPAR over the median on a 1k-node LPAR (target ≤ 1.5).
// 2. A missed phandle lookup walks the tree: the walk over a plain loop on an array of as many objects
//    (target ≤ 2).
// 3. Lookup throughput per cache model (hits).
// 4. HTTP: autocannon on loopback against node reads and phandle lookups (bounded in time).

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import autocannon from 'autocannon';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { migrate } from '../src/lpar/migrations.ts';
import { Registry } from '../src/lpar/registry.ts';
import { listDirectory, lookupView, readViewFile } from '../src/lpar/views.ts';
import { forEachOfAllnodes } from '../src/of/base.ts';
import { ofFindNodeByPhandle, walkFor } from '../src/of/phandle-cache.ts';
import { ofNodePut } from '../src/of/refs.ts';

const QUICK = process.argv.includes('--quick');
const registry = new Registry({
  maxLpars: 100,
  maxNodesPerLpar: 400_000,
  maxEventsPerLpar: 1000,
  maxTreeDepth: 64,
});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const coresFor = (nodes: number) => Math.max(1, Math.round((nodes - 45) / 3));
const results: Record<string, unknown> = {};
const rows: Array<[string, string, string]> = [];

/** Collects garbage between phases (npm run bench passes --expose-gc) so one phase's heap does not time the next. */
const collect = () => (globalThis as { gc?: () => void }).gc?.();

/**
 * Repeated migrations of a small and a large LPAR, interleaved so that machine noise hits both alike;
 * the first migration of each (which fills the caches) is not counted.
 */
function migrationMedians(kernel: string, count: number) {
  const small = registry.create({ profile: 'power9', kernel, options: { cores: coresFor(1_000) } });
  const large = registry.create({ profile: 'power9', kernel, options: { cores: coresFor(100_000) } });
  collect();
  const systems = ['p9-beta', 'p9-alpha'].map((n) => registry.system(n));
  const times = { small: [] as number[], large: [] as number[] };
  for (let i = 0; i < count; i++) {
    for (const [key, lpar] of [
      ['small', small],
      ['large', large],
    ] as const) {
      const t0 = performance.now();
      migrate(
        lpar,
        { destination: systems[i % 2]!, dryRun: false, faults: [] },
        () => new Date(),
        () => performance.now(),
      );
      if (i > 0) times[key].push(performance.now() - t0);
    }
  }
  const result = {
    smallNodes: small.of.nodes.size,
    largeNodes: large.of.nodes.size,
    smallMs: median(times.small),
    largeMs: median(times.large),
  };
  registry.delete(small.config.id);
  registry.delete(large.config.id);
  return result;
}

// 1. migration scaling
for (const kernel of ['4.18', '5.16']) {
  const m = migrationMedians(kernel, QUICK ? 11 : 41);
  const ratio = m.largeMs / m.smallMs;
  results[`migration-${kernel}`] = { ...m, ratio, target: 1.5 };
  rows.push([
    `repeated migration ${kernel}: 100k / 1k nodes`,
    `${m.largeMs.toFixed(3)} ms / ${m.smallMs.toFixed(3)} ms`,
    `${ratio.toFixed(2)} (≤ 1.5)`,
  ]);
}

// 2. the walk against a plain loop over an array of the same node objects, same run. For the record also
//    against a compact array of small objects: that gap is memory layout, not the walk.
{
  const lpar = registry.create({ profile: 'power9', kernel: '5.8', options: { cores: coresFor(100_000) } });
  collect();
  const all = [...forEachOfAllnodes(lpar.of)];
  const compact = all.map((n) => ({ phandle: n.phandle, flags: n.flags }));
  const reps = QUICK ? 15 : 41;
  const walkTimes: number[] = [];
  const loopTimes: number[] = [];
  const compactTimes: number[] = [];
  let sink = 0;
  const missing = 0x1234_5678;
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    sink += walkFor(lpar.of, missing, true) ? 1 : 0;
    walkTimes.push(performance.now() - t0);
    t0 = performance.now();
    for (let i = 0; i < all.length; i++) if (all[i]!.phandle === missing && !(all[i]!.flags & 4)) sink += 1;
    loopTimes.push(performance.now() - t0);
    t0 = performance.now();
    for (let i = 0; i < compact.length; i++)
      if (compact[i]!.phandle === missing && !(compact[i]!.flags & 4)) sink += 1;
    compactTimes.push(performance.now() - t0);
  }
  const ratio = median(walkTimes) / median(loopTimes);
  const compactRatio = median(walkTimes) / median(compactTimes);
  results.walk = {
    nodes: all.length,
    walkMedianMs: median(walkTimes),
    arrayLoopMedianMs: median(loopTimes),
    ratio,
    target: 2,
    compactArrayMedianMs: median(compactTimes),
    compactRatio,
    sink,
  };
  rows.push([
    `missed lookup walk / array loop (${all.length} nodes)`,
    `${median(walkTimes).toFixed(3)} ms / ${median(loopTimes).toFixed(3)} ms`,
    `${ratio.toFixed(2)} (≤ 2)`,
  ]);
  rows.push([
    '  same walk / loop over compact objects',
    `${median(walkTimes).toFixed(3)} ms / ${median(compactTimes).toFixed(3)} ms`,
    `${compactRatio.toFixed(2)} (memory layout)`,
  ]);
  registry.delete(lpar.config.id);
}

// 3. lookup throughput per cache model (every attached phandle, repeatedly)
for (const kernel of ['4.16', '4.18', '5.0', '5.8']) {
  const lpar = registry.create({ profile: 'power9', kernel, options: { cores: 64 } });
  const handles = [...forEachOfAllnodes(lpar.of)].map((n) => n.phandle);
  const rounds = QUICK ? 50 : 200;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (const h of handles) ofNodePut(lpar.of, ofFindNodeByPhandle(lpar.of, h, 'bench').node, 'bench');
  }
  const seconds = (performance.now() - t0) / 1000;
  const perSecond = (rounds * handles.length) / seconds;
  const c = lpar.of.cache.counters;
  results[`lookups-${lpar.of.cache.model}`] = { kernel, perSecond, hits: c.hits, misses: c.misses };
  rows.push([
    `lookups/s, ${lpar.of.cache.model} (${kernel}, ${handles.length} phandles)`,
    `${Math.round(perSecond).toLocaleString('en')}`,
    `hits ${c.hits}, misses ${c.misses}`,
  ]);
  registry.delete(lpar.config.id);
}

// 3b. a sysfs directory listing and a property read cost the directory, not the LPAR (interleaved)
{
  const small = registry.create({ profile: 'power9', kernel: '5.8', options: { cores: coresFor(1_000) } });
  const large = registry.create({ profile: 'power9', kernel: '5.8', options: { cores: coresFor(100_000) } });
  collect();
  const parts = ['firmware', 'devicetree', 'base', 'ibm,platform-facilities'];
  const once = (lpar: typeof small) => {
    const dir = lookupView(lpar, 'sys', parts);
    if (dir.kind === 'dir') listDirectory(lpar, dir);
    readViewFile(lpar, lookupView(lpar, 'sys', [...parts, 'ibm,random-v1', 'status']));
  };
  const samples = { small: [] as number[], large: [] as number[] };
  for (let round = 0; round < (QUICK ? 21 : 61); round++) {
    for (const [key, lpar] of [
      ['small', small],
      ['large', large],
    ] as const) {
      const t0 = performance.now();
      for (let i = 0; i < 200; i++) once(lpar);
      samples[key].push(((performance.now() - t0) * 1000) / 200);
    }
  }
  const s = median(samples.small);
  const l = median(samples.large);
  results.views = { smallUs: s, largeUs: l, ratio: l / s };
  rows.push([
    'sysfs listing + property read: 100k / 1k nodes',
    `${l.toFixed(2)} µs / ${s.toFixed(2)} µs`,
    `${(l / s).toFixed(2)} (≈ 1)`,
  ]);
  registry.delete(small.config.id);
  registry.delete(large.config.id);
}

// 4. HTTP on loopback
{
  const app = await buildApp({ ...loadConfig({}), LOG_LEVEL: 'silent' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '4.18' } });
  for (const [name, path] of [
    ['GET node by path', '/v1/lpars/lpar-1/nodes?path=/ibm,platform-facilities/ibm,random-v1'],
    ['GET phandle lookup', '/v1/lpars/lpar-1/phandles/0xfffffff5'],
    ['GET sysfs listing', '/v1/lpars/lpar-1/sys/firmware/devicetree/base/cpus'],
  ] as const) {
    const r = await autocannon({
      url: `http://127.0.0.1:${port}${path}`,
      connections: 10,
      duration: QUICK ? 2 : 5,
    });
    results[`http-${name}`] = {
      requestsPerSecond: r.requests.average,
      p99Ms: r.latency.p99,
      non2xx: r.non2xx,
      errors: r.errors,
    };
    rows.push([
      `HTTP ${name}`,
      `${Math.round(r.requests.average).toLocaleString('en')} req/s`,
      `p99 ${r.latency.p99} ms, non-2xx ${r.non2xx}`,
    ]);
  }
  await app.close();
}

let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
} catch {}
const machine = {
  cpus: os.cpus().length,
  model: os.cpus()[0]?.model ?? 'unknown',
  memGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
};
writeFileSync(
  new URL('./results.json', import.meta.url),
  `${JSON.stringify({ measuredAt: new Date().toISOString(), commit, machine, quick: QUICK, results }, null, 2)}\n`,
);

const width = Math.max(...rows.map((r) => r[0].length));
console.log(
  `lparsim bench — ${machine.model}, ${machine.cpus} cpus, node ${machine.node}, commit ${commit.slice(0, 10)}`,
);
for (const [a, b, c] of rows) console.log(`${a.padEnd(width)}  ${b.padEnd(28)}  ${c}`);
