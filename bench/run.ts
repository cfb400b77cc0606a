// npm run bench: the performance figures of issue 10 (point 6, and the measurements of points 1 and 3),
// from the COMMITTED code. Prints a table and writes bench/results.json (every figure, the targets and
// pass/fail per target, the machine, the commit measured and whether the working tree differed).
//
//   npm run bench                 full run (several minutes on 2 cores)
//   npm run bench -- --quick      fewer repetitions, no 250k-node size, results to the temp directory
//   … --worktree                  measure the working tree instead of HEAD (the JSON says so)
//   … --only=memory,model,http,journal,dtb   some phases (development)
//   … --out=FILE                  where to write the JSON
//   … --sizes=1000,100000         node counts of the scaling series (development)
//
// What is measured where. This process is the orchestrator and load generator; it never loads src/.
// It extracts HEAD's src/, package.json and README.md (git archive) into a temporary snapshot, copies bench/*.ts
// beside them, and runs every measurement in a child process of that snapshot:
//   memory.ts  one fresh process per measurement: heap, arrayBuffers and RSS per node after GC for
//              built-in trees of 1k, 10k, 100k nodes; 2k-node LPARs from one shared blob and built in.
//   model.ts   the model API directly: lookups per cache model (hit / miss / absent loops), create and
//              migration against node count, migrations 100k over 1k nodes interleaved, the missed-
//              lookup walk against a compact {phandle, flags} array, sysfs listing 100k over 1k.
//   server.ts  the service (buildApp with the default configuration, the node flags of `npm start`)
//              with a bare route and an event-loop-delay probe in the same process; this process
//              drives it over loopback (autocannon, creates, uploads, migrations, exports, ofdt).
//   poller.ts  a third process polling /healthz every 5 ms (open loop) during each heavy operation.
//   journal    two servers, one with LPARSIM_DATA_DIR: ofdt writes, kernel-action GETs, node GETs and
//              migrations sent to both, interleaved; the journal's cost as a ratio of medians.
//   dtb.ts     fdtDecode and fdtEncode against fdtdump on the server's largest tree.dtb.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Agent, request } from 'undici';
import { coresFor, fitExponent, growthWord, median, NEAR_LINEAR_K, percentile } from './lib.ts';

// ---------------------------------------------------------------------------------------------------
// Arguments, commit, snapshot
// ---------------------------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const option = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const QUICK = flag('quick');
const WORKTREE = flag('worktree');
const ONLY = new Set((option('only') ?? 'memory,model,http,journal,dtb').split(','));
const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(BENCH_DIR, '..');
const OUT =
  option('out') ??
  (QUICK ? path.join(os.tmpdir(), 'lparsim-bench-quick.json') : path.join(BENCH_DIR, 'results.json'));
const SIZES =
  option('sizes')
    ?.split(',')
    .map(Number)
    .filter((n) => n > 0) ?? (QUICK ? [1_000, 10_000, 100_000] : [1_000, 10_000, 100_000, 250_000]);
const LARGEST = SIZES[SIZES.length - 1]!;
const startedAt = Date.now();
const loadAtStart = os.loadavg();

const git = (...a: string[]) => execFileSync('git', a, { cwd: REPO, encoding: 'utf8' }).trim();
const commit = git('rev-parse', 'HEAD');
// What differs from HEAD in the code measured (src/, package files) and in the bench itself.
const codeChanges = git(
  'status',
  '--porcelain',
  '--untracked-files=no',
  '--',
  'src',
  'package.json',
  'package-lock.json',
);
const benchChanges = git('status', '--porcelain', '--', 'bench', ':!bench/results.json');

let ROOT = REPO;
if (!WORKTREE) {
  ROOT = path.join(os.tmpdir(), `lparsim-bench-snapshot-${process.pid}`);
  rmSync(ROOT, { recursive: true, force: true });
  mkdirSync(path.join(ROOT, 'bench'), { recursive: true });
  // README.md too: the service serves it at /docs/readme and reads it when it starts.
  const tar = execFileSync('git', ['archive', '--format=tar', commit, 'src', 'package.json', 'README.md'], {
    cwd: REPO,
    maxBuffer: 1 << 30,
  });
  execFileSync('tar', ['-x', '-C', ROOT], { input: tar });
  for (const f of readdirSync(BENCH_DIR))
    if (f.endsWith('.ts')) copyFileSync(path.join(BENCH_DIR, f), path.join(ROOT, 'bench', f));
  symlinkSync(path.join(REPO, 'node_modules'), path.join(ROOT, 'node_modules'), 'dir');
  const snapshot = ROOT;
  process.on('exit', () => rmSync(snapshot, { recursive: true, force: true }));
}
const measuredPackage = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};
/** The node flags `npm start` passes (e.g. a heap size), so the server and memory children run as it does. */
const START_FLAGS = (() => {
  const words = (measuredPackage.scripts.start ?? '').split(/\s+/);
  const at = words.indexOf('node');
  const flags: string[] = [];
  for (let i = at + 1; at >= 0 && i < words.length && words[i]!.startsWith('-'); i++) flags.push(words[i]!);
  return flags;
})();
const MODEL_FLAGS = ['--expose-gc', '--max-old-space-size=8192'];

const log = (line: string) =>
  process.stderr.write(`[${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
log(
  `lparsim bench${QUICK ? ' (quick)' : ''}: commit ${commit.slice(0, 12)}${WORKTREE ? ' + working tree' : ' (HEAD snapshot)'}, ` +
    `npm start flags [${START_FLAGS.join(' ')}], phases ${[...ONLY].join(',')}`,
);

// ---------------------------------------------------------------------------------------------------
// Children
// ---------------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function spawnChild(file: string, args: string[], flags: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawn(process.execPath, [...flags, path.join(ROOT, 'bench', file), ...args], {
    cwd: ROOT,
    env,
    // Children's output (progress lines, the server's error logs) goes to stderr, never into the table.
    stdio: ['ignore', 2, 2, 'ipc'],
  });
}

/** Runs a child to its result; a crash or a timeout is a result too ({error}). */
function runChild(file: string, args: unknown, flags: string[], timeoutMs: number): Promise<Json> {
  return new Promise((resolve) => {
    const child = spawnChild(file, [JSON.stringify(args)], flags);
    let result: Json | null = null;
    const timer = setTimeout(() => {
      result = { error: `timed out after ${timeoutMs / 1000} s` };
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (m: { type: string; result: Json }) => {
      if (m.type === 'result') result = m.result;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(result ?? { error: `${file} exited (${signal ?? code}) without a result` });
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// Results and targets
// ---------------------------------------------------------------------------------------------------

const results: Json = {};
interface Target {
  name: string;
  value: number | null;
  op: '≤' | '≥' | '<';
  limit: number;
  unit: string;
  pass: boolean | null;
  note?: string;
}
const targets: Target[] = [];
function target(
  name: string,
  value: number | null | undefined,
  op: Target['op'],
  limit: number,
  unit = '',
  note?: string,
) {
  const v = value === undefined || value === null || !Number.isFinite(value) ? null : value;
  const pass = v === null ? null : op === '≤' ? v <= limit : op === '≥' ? v >= limit : v < limit;
  targets.push({ name, value: v, op, limit, unit, pass, ...(note ? { note } : {}) });
}
const rows: Array<[string, string, string]> = [];
const section = (title: string) => rows.push([`— ${title}`, '', '']);
const row = (a: string, b: string, c = '') => rows.push([a, b, c]);
const f = (x: unknown, digits = 2) =>
  typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
const int = (x: unknown) =>
  typeof x === 'number' && Number.isFinite(x) ? Math.round(x).toLocaleString('en') : 'n/a';
const mib = (bytes: unknown) => (typeof bytes === 'number' ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : 'n/a');
const sizeLabel = (n: number) => (n >= 1000 ? `${n / 1000}k` : `${n}`);

// ---------------------------------------------------------------------------------------------------
// 1. Memory (point 1): fresh child per measurement
// ---------------------------------------------------------------------------------------------------

const memFlags = ['--expose-gc', ...START_FLAGS];
let budgetBytes: number | null = null;
let budgetSource = 'not measured';
if (ONLY.has('memory')) {
  const trees: Json[] = [];
  // Trees per size: the per-node cost of a small tree is measured over several (memory.ts).
  const treeSizes: ReadonlyArray<readonly [nodes: number, count: number]> = [
    [1_000, 20],
    [10_000, 4],
    [100_000, 1],
  ];
  for (const [n, count] of treeSizes) {
    log(`memory: ${count} built-in tree(s) of ${sizeLabel(n)} nodes (fresh process)`);
    trees.push(await runChild('memory.ts', { mode: 'tree', nodes: n, count }, memFlags, 300_000));
  }
  // The blob fleet is measured at the size issue 10 names, 1,000 LPARs, in one process: RSS after GC
  // is not linear in the LPAR count (the young generation and V8's page pool are there once), so a
  // smaller fleet extrapolated would overstate it. Built-in LPARs share nothing: 100 of them, scaled.
  const fleetCounts = { dtb: QUICK ? 50 : 1000, builtin: QUICK ? 20 : 100 } as const;
  const fleets: Record<string, Json> = {};
  for (const source of ['dtb', 'builtin'] as const) {
    const count = fleetCounts[source];
    log(
      `memory: ${count} LPARs of ~2k nodes, ${source === 'dtb' ? 'booted from one shared blob' : 'built in'}`,
    );
    fleets[source] = await runChild(
      'memory.ts',
      { mode: 'fleet', source, count, nodes: 2000 },
      memFlags,
      900_000,
    );
  }
  const budget = (trees.find((t) => t.budget)?.budget ?? null) as { bytes: number; source: string } | null;
  budgetBytes = budget?.bytes ?? null;
  budgetSource = budget?.source ?? 'unknown';
  section('memory per node (heap = heapUsed + arrayBuffers after GC, fresh process per size)');
  for (const t of trees) {
    const p = t.perNode as Json | undefined;
    if (!p) {
      row(`tree ${sizeLabel(t.target as number)}`, `error: ${String(t.error)}`);
      continue;
    }
    row(
      `built-in tree, ${int(t.nodes)} nodes${(t.trees as number) > 1 ? ` (${t.trees} of them)` : ''}`,
      `${int(p.heapPlusArrayBuffers)} B/node`,
      `heapUsed ${int(p.heapUsed)}, arrayBuffers ${int(p.arrayBuffers)}, RSS ${int(p.rss)} B/node (≤ 1024)`,
    );
    target(
      `heap per node, built-in ${sizeLabel(t.target as number)}`,
      p.heapPlusArrayBuffers as number,
      '≤',
      1024,
      'B',
    );
  }
  const fleetEstimates: Json = {};
  for (const [source, fl] of Object.entries(fleets)) {
    const p = fl.perLpar as Json | undefined;
    if (!p) {
      row(`2k-node LPARs (${source})`, `error: ${String(fl.error ?? fl.refused)}`);
      continue;
    }
    const perLpar = p.heapPlusArrayBuffers as number;
    const baseline = fl.baseline as Json;
    // The process's RSS with 1,000 of them when that many were made, else extrapolated from those made.
    const measured = (fl.created as number) >= 1000;
    const rss1000 = measured
      ? ((fl.after as Json).rss as number)
      : (baseline.rss as number) + 1000 * (p.rss as number);
    const fitBudget = budgetBytes ? Math.floor(budgetBytes / perLpar) : null;
    fleetEstimates[source] = { perLparBytes: perLpar, rssFor1000Bytes: rss1000, fitUnderBudget: fitBudget };
    row(
      `${int(fl.created)} LPARs of ${int(fl.nodesPerLpar)} nodes, ${source === 'dtb' ? 'one shared blob' : 'built in'}`,
      `${mib(perLpar)} heap/LPAR`,
      `RSS ${mib(p.rss)}/LPAR; 1,000: ${(rss1000 / 2 ** 30).toFixed(2)} GiB RSS ${measured ? '(measured, whole process)' : '(extrapolated)'}; budget holds ≈ ${int(fitBudget)}`,
    );
    fleetEstimates[source] = { ...(fleetEstimates[source] as Json), rssFor1000Measured: measured };
    if (source === 'dtb')
      target(
        `1,000 LPARs of ~2k nodes from one blob, RSS (${measured ? 'measured' : 'extrapolated'})`,
        rss1000 / 2 ** 30,
        '<',
        2,
        'GiB',
      );
  }
  row('default budget', budgetBytes ? mib(budgetBytes) : 'n/a', budgetSource);
  results.memory = { trees, fleets, fleetEstimates, budget: { bytes: budgetBytes, source: budgetSource } };
}

// ---------------------------------------------------------------------------------------------------
// 2. The model API
// ---------------------------------------------------------------------------------------------------

if (ONLY.has('model')) {
  log(`model: lookups, in-process scaling ${SIZES.map(sizeLabel).join('/')}, migration ratio, walk, views`);
  const m = await runChild('model.ts', { quick: QUICK, sizes: SIZES }, MODEL_FLAGS, 600_000);
  results.model = m;
  if (m.error) row('model phase', `error: ${String(m.error)}`);
  const lookups = (m.lookups ?? {}) as Record<string, Json>;
  section('phandle lookups per cache model (of_find_node_by_phandle + of_node_put, model API)');
  for (const [model, r] of Object.entries(lookups)) {
    const part = (x: unknown) => {
      const p = x as Json | null;
      return p ? `${int(p.perSecond)}/s (hits ${f((p.hitFraction as number) * 100, 0)} %)` : 'n/a (no cache)';
    };
    row(`${model} (${r.kernel}), hit loop on one cached phandle`, part(r.hit));
    row(
      `${model} (${r.kernel}), miss loop (existing phandles)`,
      part(r.miss),
      model === 'none' ? 'every phandle in turn' : 'two phandles sharing a slot, evicting each other',
    );
    row(`${model} (${r.kernel}), miss loop (absent phandle)`, part(r.absent));
    row(
      `${model} (${r.kernel}), round-robin over ${r.phandles} phandles`,
      part(r.roundRobin),
      'mixed: cache thrash',
    );
  }
  const ratios = (m.migrationRatio ?? {}) as Record<string, Json>;
  section('migrations, model API (repeated platform-facilities migration, interleaved, first not counted)');
  for (const [kernel, r] of Object.entries(ratios)) {
    row(
      `migration ${kernel}: ${int(r.largeNodes)} / ${int(r.smallNodes)} nodes`,
      `${f(r.largeMs, 3)} ms / ${f(r.smallMs, 3)} ms`,
      `${f(r.ratio)} (≤ 1.5)`,
    );
    target(`migration time 100k / 1k nodes (${kernel})`, r.ratio as number, '≤', 1.5);
  }
  const w = m.walk as Json | undefined;
  if (w) {
    section('missed lookup: the all-nodes walk against a loop over a compact array');
    row(
      `walkFor / compact {phandle, flags} array (${int(w.nodes)} nodes)`,
      `${f(w.walkMedianMs, 3)} ms / ${f(w.compactArrayMedianMs, 3)} ms`,
      `${f(w.ratio)} (reported: issue 10 asks for the comparison, with no target)`,
    );
    row(
      '  for reference: typed arrays; the same node objects',
      `${f(w.typedArrayMedianMs, 3)} ms; ${f(w.sameNodeObjectsLoopMedianMs, 3)} ms`,
      `walk / same objects ${f(w.sameNodeObjectsRatio)}`,
    );
  }
  const v = m.views as Json | undefined;
  if (v)
    row(
      'sysfs listing + property read: 100k / 1k nodes',
      `${f(v.largeUs)} µs / ${f(v.smallUs)} µs`,
      `${f(v.ratio)} (≈ 1)`,
    );
}

// ---------------------------------------------------------------------------------------------------
// 3. HTTP: the server in its own process, load from this one, /healthz from a third
// ---------------------------------------------------------------------------------------------------

const dispatcher = new Agent({ connections: 8, headersTimeout: 900_000, bodyTimeout: 900_000 });
let base = '';
interface HttpResult {
  status: number;
  ms: number;
  bytes: number;
  headers: Record<string, unknown>;
  body: Buffer | null;
}
/** One request, timed to the last byte; the body is kept unless `discard` (big exports are only counted). */
async function http(
  method: string,
  url: string,
  opts: { json?: unknown; raw?: Buffer; discard?: boolean } = {},
): Promise<HttpResult> {
  const t0 = performance.now();
  const headers: Record<string, string> = {};
  let body: string | Buffer | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.raw) {
    headers['content-type'] = 'application/octet-stream';
    body = opts.raw;
  }
  const res = await request(`${base}${url}`, { method: method as 'GET', headers, body, dispatcher });
  let bytes = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (!opts.discard || res.statusCode >= 300) chunks.push(chunk);
  }
  return {
    status: res.statusCode,
    ms: performance.now() - t0,
    bytes,
    headers: res.headers,
    body: opts.discard && res.statusCode < 300 ? null : Buffer.concat(chunks),
  };
}
const jsonOf = (r: HttpResult): Json => {
  try {
    return (JSON.parse(r.body?.toString('utf8') ?? '{}') ?? {}) as Json;
  } catch {
    return {};
  }
};
const problem = (r: HttpResult) =>
  `${r.status} ${String(jsonOf(r).detail ?? jsonOf(r).title ?? '').slice(0, 160)}`;

/** POST a create (JSON or a raw blob); waits for a 202 booting LPAR to finish. */
async function createOverHttp(url: string, opts: { json?: unknown; raw?: Buffer }) {
  const t0 = performance.now();
  let r: HttpResult;
  try {
    r = await http('POST', url, opts);
  } catch (e) {
    // A server that refuses a body it will not read (413) closes the socket while the body is sent.
    const code = (e as { code?: string }).code ?? (e instanceof Error ? e.message : String(e));
    const size = opts.raw ? ` of ${mib(opts.raw.length)}` : '';
    const limit = serverConfig.LPARSIM_BODY_LIMIT_BYTES;
    return {
      ok: false as const,
      status: 0,
      error: `${code}: connection closed while sending the body${size} (LPARSIM_BODY_LIMIT_BYTES=${String(limit)})`,
      ms: performance.now() - t0,
    };
  }
  if (r.status !== 201 && r.status !== 202)
    return { ok: false as const, status: r.status, error: problem(r), ms: performance.now() - t0 };
  let doc = jsonOf(r);
  const location = String(r.headers.location ?? `/v1/lpars/${String(doc.id)}`);
  while (r.status === 202 && (doc.state === 'booting' || doc.status === 'booting')) {
    await new Promise((res) => setTimeout(res, 25));
    const g = await http('GET', location);
    if (g.status !== 200)
      return { ok: false as const, status: g.status, error: problem(g), ms: performance.now() - t0 };
    doc = jsonOf(g);
  }
  return {
    ok: true as const,
    status: r.status,
    id: String(doc.id),
    nodes: doc.nodes as number,
    system: String(doc.system),
    ms: performance.now() - t0,
    doc,
  };
}

let systems: Array<{ name: string; processor: string }> = [];
let serverConfig: Json = {};
const otherThan = (name: string) => {
  const me = systems.find((s) => s.name === name);
  return systems.find((s) => s.processor === me?.processor && s.name !== name)?.name ?? 'p9-beta';
};

interface Server {
  child: ChildProcess;
  poller: ChildProcess;
  port: number;
  base: string;
  config: Json;
}
function waitMessage<T>(child: ChildProcess, type: string, timeoutMs = 120_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} message in ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: { type: string }) => {
      if (m.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`${type}: process exited (${signal ?? code})`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
async function startServer(env: Record<string, string> = {}): Promise<Server> {
  const child = spawnChild('server.ts', [], ['--expose-gc', ...START_FLAGS], {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...env,
  });
  const listening = await waitMessage<{ port: number; config: Json }>(child, 'listening');
  const url = `http://127.0.0.1:${listening.port}`;
  const poller = spawnChild('poller.ts', [url, '5'], []);
  await waitMessage(poller, 'ready');
  const s = { child, poller, port: listening.port, base: url, config: listening.config };
  useServer(s);
  systems = ((jsonOf(await http('GET', '/v1/systems')).items ?? []) as typeof systems).map((x) => ({
    name: x.name,
    processor: x.processor,
  }));
  return s;
}
/** Requests go to this server from now on. */
function useServer(s: Server) {
  base = s.base;
  serverConfig = s.config;
}
async function stopServer(s: Server) {
  await Promise.all(
    [s.poller, s.child].map((c) => {
      if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.disconnect();
      const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
      return exited.then(() => clearTimeout(t));
    }),
  );
}
const alive = (s: Server) => s.child.exitCode === null && s.child.signalCode === null;

interface Window {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  failures: number;
  unanswered: number;
}
/**
 * A heavy operation with /healthz polled from the poller process and the server's event-loop delay
 * (reset before, read after).
 */
async function heavy<T extends Json>(s: Server, fn: () => Promise<T>) {
  await http('GET', '/bench/eld?reset=1');
  // The histogram drops the first interval after a reset (it has no previous tick to measure from),
  // so let it tick before the operation can block the loop.
  await new Promise((r) => setTimeout(r, 35));
  s.poller.send({ cmd: 'start' });
  await waitMessage(s.poller, 'started');
  const t0 = performance.now();
  let value: T | { error: string };
  try {
    value = await fn();
  } catch (e) {
    value = { error: e instanceof Error ? e.message : String(e) };
  }
  const ms = performance.now() - t0;
  s.poller.send({ cmd: 'stop' });
  const w = await waitMessage<{ latencies: number[]; failures: number; unanswered: number }>(
    s.poller,
    'window',
    300_000,
  );
  const healthz: Window = {
    count: w.latencies.length,
    p50Ms: percentile(w.latencies, 50),
    p99Ms: percentile(w.latencies, 99),
    maxMs: w.latencies.length ? Math.max(...w.latencies) : Number.NaN,
    failures: w.failures,
    unanswered: w.unanswered,
  };
  let eld: Json | null = null;
  if (alive(s))
    eld = jsonOf(
      await http('GET', '/bench/eld?reset=1').catch(
        () => ({ status: 0, body: null }) as unknown as HttpResult,
      ),
    );
  return { ...value, ms, healthz, eventLoopDelay: eld };
}

const KERNEL = '5.16';
const OFDT_BODY = Buffer.concat([
  Buffer.from('add_node /bench-big name 10 bench-big\0 bench,blob 8388608 ', 'latin1'),
  Buffer.alloc(8 * 2 ** 20, 0x5a),
]);

/**
 * The heavy operations on one LPAR, each with /healthz and event-loop delay: repeated migrations, the
 * three exports (tree.dtb kept), the 8 MiB ofdt write.
 */
async function exercise(
  s: Server,
  id: string,
  system: string,
  n: number,
  what: { migrations: boolean; exports: boolean; ofdt: boolean },
) {
  const figures: Json = {};
  let dtb: Buffer | null = null;
  if (what.migrations) {
    log(`http: ${sizeLabel(n)} nodes: migrations`);
    const reps = QUICK ? 3 : 5;
    figures.migration = await heavy(s, async () => {
      const ms: number[] = [];
      const serverMs: number[] = [];
      const states: string[] = [];
      for (let i = 0; i <= reps; i++) {
        const destination = otherThan(system);
        const r = await http('POST', `/v1/lpars/${id}/migrations`, { json: { destination } });
        if (r.status !== 201) return { error: problem(r), httpMs: ms, serverMs };
        system = destination;
        const m = jsonOf(r);
        states.push(String(m.state));
        ms.push(r.ms);
        serverMs.push(((m.report as Json | null)?.durationMs as number) ?? Number.NaN);
      }
      // The first fills the caches; the median is of the others.
      return {
        firstMs: ms[0],
        medianMs: median(ms.slice(1)),
        serverMedianMs: median(serverMs.slice(1)),
        httpMs: ms,
        serverMs,
        states: [...new Set(states)],
      };
    });
  }
  if (what.exports)
    for (const [name, url] of [
      ['tree.dtb', `/v1/lpars/${id}/tree.dtb`],
      ['tree.dts', `/v1/lpars/${id}/tree.dts`],
      ['sysfs.tar', `/v1/lpars/${id}/sysfs.tar`],
    ] as const) {
      log(`http: ${sizeLabel(n)} nodes: GET ${name}`);
      figures[name] = await heavy(s, async () => {
        const r = await http('GET', url, { discard: name !== 'tree.dtb' });
        if (name === 'tree.dtb' && r.status === 200) dtb = r.body;
        return { status: r.status, bytes: r.bytes, ...(r.status !== 200 ? { error: problem(r) } : {}) };
      });
    }
  if (what.ofdt) {
    log(`http: ${sizeLabel(n)} nodes: ofdt add_node with an 8 MiB property`);
    figures.ofdt = await heavy(s, async () => {
      const r = await http('POST', `/v1/lpars/${id}/proc/ppc64/ofdt`, { raw: OFDT_BODY });
      return {
        status: r.status,
        requestBytes: OFDT_BODY.length,
        ...(r.status !== 200 ? { error: problem(r) } : {}),
      };
    });
  }
  return { figures, dtb: dtb as Buffer | null };
}

/**
 * Uploads a blob through from-dtb; at the largest size migrates the LPAR it booted once, and runs
 * what `rest` asks (what a failed create could not measure); deletes it.
 */
async function uploadAndExercise(
  s: Server,
  n: number,
  blob: Buffer,
  largest: boolean,
  rest: { migrations: boolean; exports: boolean; ofdt: boolean },
) {
  let upId = '';
  let system = '';
  const upload = await heavy(s, async () => {
    const c = await createOverHttp(`/v1/lpars/from-dtb?kernel=${KERNEL}`, { raw: blob });
    if (!c.ok) return { status: c.status, bytes: blob.length, error: c.error };
    upId = c.id;
    system = c.system;
    return { status: c.status, bytes: blob.length, nodes: c.nodes };
  });
  let figures: Json | null = null;
  if (upId && (largest || rest.migrations || rest.exports || rest.ofdt)) {
    figures = {};
    if (largest && !rest.migrations) {
      log('http: a migration of the uploaded LPAR');
      figures.migrationOnce = await heavy(s, async () => {
        const r = await http('POST', `/v1/lpars/${upId}/migrations`, {
          json: { destination: otherThan(system) },
        });
        return {
          status: r.status,
          ...(r.status !== 201 ? { error: problem(r) } : { state: jsonOf(r).state }),
        };
      });
    }
    Object.assign(figures, (await exercise(s, upId, system, n, rest)).figures);
  }
  if (upId) await http('DELETE', `/v1/lpars/${upId}`);
  return { upload, figures };
}

let blobFile: string | null = null;
let blobFrom: Json = { source: "the server's tree.dtb of its largest LPAR" };
process.on('exit', () => {
  if (blobFile) rmSync(blobFile, { force: true });
});
if (ONLY.has('http')) {
  let s = await startServer();
  const http_: Json = {};
  results.http = http_;

  // 3a. Node GET against a bare route of the same process, interleaved.
  {
    log('http: node GET against the bare route (autocannon in this process, server in its own)');
    const c = await createOverHttp('/v1/lpars', { json: { kernel: '4.18' } });
    if (!c.ok) throw new Error(`create for the HTTP bench: ${c.error}`);
    const nodeUrl = `/v1/lpars/${c.id}/nodes?path=/ibm,platform-facilities/ibm,random-v1`;
    const doc = await http('GET', nodeUrl);
    await http('PUT', '/bench/bare', { json: jsonOf(doc) });
    const bareBytes = (await http('GET', '/bench/bare')).bytes;
    // Many short rounds, each a pair in alternating order (bare, node, node, bare, …), and the median
    // of the pairs' ratios: a window's throughput on this shared 2-core machine swings by 1.7× from
    // one second to the next, far more than the two routes differ, and a slow spell then lands on
    // both routes of a pair instead of on one route's median.
    const duration = 2;
    const rounds = QUICK ? 3 : 9;
    const cannon = async (url: string, seconds = duration) => {
      const r = await autocannon({ url: `${base}${url}`, connections: 10, pipelining: 1, duration: seconds });
      return {
        rps: r.requests.average,
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        non2xx: r.non2xx,
        errors: r.errors,
        bytesPerRequest: r.throughput.average / Math.max(1, r.requests.average),
      };
    };
    await cannon('/bench/bare', 1); // warm both routes
    await cannon(nodeUrl, 1);
    const bare: Json[] = [];
    const node: Json[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const [b, n] =
        i % 2 === 0
          ? [await cannon('/bench/bare'), await cannon(nodeUrl)]
          : await cannon(nodeUrl).then(async (n) => [await cannon('/bench/bare'), n]);
      bare.push(b);
      node.push(n);
      ratios.push((n.rps as number) / (b.rps as number));
    }
    const bareRps = median(bare.map((r) => r.rps as number));
    const nodeRps = median(node.map((r) => r.rps as number));
    const ratio = median(ratios);
    const extra: Json = {};
    for (const [name, url] of [
      ['phandle lookup', `/v1/lpars/${c.id}/phandles/0xfffffff5`],
      ['sysfs listing (cpus)', `/v1/lpars/${c.id}/sys/firmware/devicetree/base/cpus`],
    ] as const)
      extra[name] = await cannon(url);
    await http('DELETE', `/v1/lpars/${c.id}`);
    http_.nodeGet = {
      url: nodeUrl,
      nodeBytes: doc.bytes,
      bareBytes,
      bare,
      node,
      bareRps,
      nodeRps,
      ratios,
      ratio,
      extra,
      connections: 10,
      durationS: duration,
      rounds,
    };
    section(
      'HTTP on loopback (server child, LOG_LEVEL=warn; autocannon 10 connections in the bench process)',
    );
    row(
      `GET node / bare route (${doc.bytes} B / ${bareBytes} B JSON)`,
      `${int(nodeRps)} / ${int(bareRps)} req/s`,
      `${f(ratio)} (≥ 0.8; median of ${rounds} paired rounds); p99 ${node[0]?.p99Ms} / ${bare[0]?.p99Ms} ms`,
    );
    for (const [name, r] of Object.entries(extra) as Array<[string, Json]>)
      row(`GET ${name}`, `${int(r.rps)} req/s`, `p99 ${r.p99Ms} ms, non-2xx ${r.non2xx}`);
    target('node GET / bare fastify route, req/s (median of paired rounds)', ratio, '≥', 0.8);
  }

  // 3b. Create, migration, exports, upload against node count, with /healthz and event-loop delay.
  const scale: Json[] = [];
  http_.scaling = { kernel: KERNEL, sizes: scale };
  for (const n of SIZES) {
    const entry: Json = { target: n };
    scale.push(entry);
    let dtb: Buffer | null = null;
    let created = false;
    try {
      if (!alive(s)) {
        log('http: the server died; starting a new one');
        await stopServer(s);
        s = await startServer();
      }
      log(`http: ${sizeLabel(n)} nodes: create`);
      const before = jsonOf(await http('POST', '/bench/gc'));
      let id = '';
      let system = '';
      const create = await heavy(s, async () => {
        const c = await createOverHttp('/v1/lpars', {
          json: { kernel: KERNEL, options: { cores: coresFor(n) } },
        });
        if (!c.ok) return { status: c.status, error: c.error };
        id = c.id;
        system = c.system;
        return { status: c.status, nodes: c.nodes };
      });
      entry.create = create;
      if (id) {
        created = true;
        entry.nodes = (create as Json).nodes;
        const after = jsonOf(await http('POST', '/bench/gc'));
        const heapDelta =
          (after.heapUsed as number) +
          (after.arrayBuffers as number) -
          ((before.heapUsed as number) + (before.arrayBuffers as number));
        entry.serverMemory = {
          before,
          after,
          heapPerNode: heapDelta / (entry.nodes as number),
          rssPerNode: ((after.rss as number) - (before.rss as number)) / (entry.nodes as number),
        };
        const x = await exercise(s, id, system, n, { migrations: true, exports: true, ofdt: n >= 100_000 });
        dtb = x.dtb;
        Object.assign(entry, x.figures);
        entry.delete = await http('DELETE', `/v1/lpars/${id}`).then((r) => ({ status: r.status, ms: r.ms }));
      } else log(`http: ${sizeLabel(n)} nodes: create failed: ${String((create as Json).error)}`);
    } catch (e) {
      entry.error = e instanceof Error ? e.message : String(e);
      log(`http: ${sizeLabel(n)} nodes: ${String(entry.error)}`);
      if (!alive(s)) entry.serverExit = s.child.signalCode ?? s.child.exitCode;
    }

    // Upload: this size's tree.dtb, or, when the server could not give one, a blob built in a child.
    try {
      if (!alive(s)) {
        await stopServer(s);
        s = await startServer();
      }
      const file = path.join(os.tmpdir(), `lparsim-bench-${process.pid}-${sizeLabel(n)}.dtb`);
      if (dtb) writeFileSync(file, dtb);
      else {
        log(`http: ${sizeLabel(n)} nodes: no tree.dtb from the server; building the blob in a child`);
        const b = await runChild('blob.ts', { nodes: n, file }, MODEL_FLAGS, 400_000);
        entry.blob = b;
        if (!b.error) dtb = readFileSync(file);
      }
      if (!dtb) continue;
      if (n === LARGEST) {
        blobFile = file;
        blobFrom = (entry.blob as Json | undefined) ?? blobFrom;
      } else rmSync(file, { force: true });
      const blob = dtb;
      log(`http: ${sizeLabel(n)} nodes: upload the tree.dtb (${mib(blob.length)})`);
      // Whatever the built-in LPAR could not give (a failed create) is measured on the uploaded one.
      const rest = { migrations: !created, exports: !created, ofdt: !created && n >= 100_000 };
      const up = await uploadAndExercise(s, n, blob, n === LARGEST, rest);
      entry.upload = up.upload;
      if (up.figures) entry.uploaded = up.figures;
      if (
        !(up.upload as Json).nodes &&
        /body|too large|413|EPIPE|ECONNRESET/i.test(
          String((up.upload as Json).error) + String((up.upload as Json).status),
        )
      ) {
        // The default limits refuse the blob (the round trip fails, recorded above); the upload time
        // and /healthz during a 250k-node upload are still figures, so measure them on a server that
        // accepts the body.
        const limit = Math.min(2 ** 30, Math.max(64 * 2 ** 20, 2 * blob.length));
        log(
          `http: ${sizeLabel(n)} nodes: upload refused; again on a server with LPARSIM_BODY_LIMIT_BYTES=${limit}`,
        );
        const s2 = await startServer({ LPARSIM_BODY_LIMIT_BYTES: String(limit) });
        try {
          const again = await uploadAndExercise(s2, n, blob, n === LARGEST, rest);
          entry.uploadRaisedLimit = { bodyLimitBytes: limit, ...again.upload };
          if (again.figures) entry.uploaded = { bodyLimitBytes: limit, ...again.figures };
        } finally {
          await stopServer(s2);
          useServer(s);
        }
      }
    } catch (e) {
      entry.uploadError = e instanceof Error ? e.message : String(e);
      log(`http: ${sizeLabel(n)} nodes: upload: ${String(entry.uploadError)}`);
    }
  }
  await stopServer(s);
}

// ---------------------------------------------------------------------------------------------------
// 3c. The journal's cost (issue 11): the same requests on a server with LPARSIM_DATA_DIR and on one
// without, interleaved request by request, median latency of each kind and their ratio
// ---------------------------------------------------------------------------------------------------

if (ONLY.has('journal')) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lparsim-bench-journal-'));
  const memory = await startServer();
  const durable = await startServer({ LPARSIM_DATA_DIR: dataDir });
  const servers = [memory, durable] as const;
  const ids: string[] = [];
  for (const s of servers) {
    useServer(s);
    const c = await createOverHttp('/v1/lpars', { json: { kernel: '4.18' } });
    if (!c.ok) throw new Error(`create for the journal bench: ${c.error}`);
    ids.push(c.id);
  }
  const rounds = QUICK ? 60 : 300;
  const migrationRounds = QUICK ? 10 : 40;
  const kinds: Array<[string, number, (id: string, i: number) => Promise<HttpResult>]> = [
    [
      'ofdt add_node (raw POST)',
      rounds,
      (id, i) =>
        http('POST', `/v1/lpars/${id}/proc/ppc64/ofdt`, {
          raw: Buffer.from(`add_node /vdevice/bench@${i} name 5 bench\0`, 'latin1'),
        }),
    ],
    [
      'phandle lookup (kernel-action GET)',
      rounds,
      (id) => http('GET', `/v1/lpars/${id}/phandles/0xfffffff5`),
    ],
    ['node GET (look, not journaled)', rounds, (id) => http('GET', `/v1/lpars/${id}/nodes?path=/cpus`)],
    [
      'migration (POST)',
      migrationRounds,
      (id, i) =>
        http('POST', `/v1/lpars/${id}/migrations`, { json: { destination: i % 2 ? 'p9-alpha' : 'p9-beta' } }),
    ],
  ];
  const journal: Json = { dataDir: 'os.tmpdir()', kinds: {} };
  results.journal = journal;
  section('The journal (LPARSIM_DATA_DIR: node:sqlite WAL, synchronous=FULL) against in-memory, interleaved');
  for (const [name, n, send] of kinds) {
    log(`journal: ${name} × ${n} on each server`);
    const ms: [number[], number[]] = [[], []];
    for (let i = 0; i < n; i++)
      for (const k of [0, 1] as const) {
        useServer(servers[k]);
        const r = await send(ids[k]!, i);
        if (r.status >= 400) throw new Error(`journal bench ${name}: ${problem(r)}`);
        ms[k].push(r.ms);
      }
    const mem = median(ms[0]);
    const dur = median(ms[1]);
    (journal.kinds as Json)[name] = { n, memoryMedianMs: mem, journalMedianMs: dur, ratio: dur / mem };
    row(`${name}: journal / memory`, `${f(dur, 2)} / ${f(mem, 2)} ms`, `${f(dur / mem)}×`);
  }
  for (const s of servers) await stopServer(s);
  rmSync(dataDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------
// 4. DTB parse and encode against fdtdump, on the server's largest tree.dtb
// ---------------------------------------------------------------------------------------------------

if (ONLY.has('dtb')) {
  let blobSource = blobFrom;
  if (!blobFile) {
    // Without a tree.dtb from the HTTP phase: a child builds the blob (blob.ts says how).
    blobFile = path.join(os.tmpdir(), `lparsim-bench-${process.pid}-${sizeLabel(LARGEST)}.dtb`);
    log(`dtb: building a ${sizeLabel(LARGEST)}-node blob in a child`);
    blobSource = await runChild('blob.ts', { nodes: LARGEST, file: blobFile }, MODEL_FLAGS, 400_000);
  }
  log(`dtb: fdtDecode and fdtEncode against fdtdump on ${blobFile}`);
  const d = blobSource.error
    ? { error: `no blob: ${String(blobSource.error)}` }
    : await runChild('dtb.ts', { file: blobFile, reps: QUICK ? 3 : 7 }, MODEL_FLAGS, 400_000);
  d.blob = blobSource;
  rmSync(blobFile, { force: true });
  results.dtb = d;
  section(`DTB codec against fdtdump (same blob, median of ${QUICK ? 3 : 7})`);
  const dump = d.fdtdump as Json | undefined;
  const dumpMs = (dump?.medianMs as number | undefined) ?? null;
  const parse = (d.parse as Json | undefined)?.medianMs as number | undefined;
  const encode = (d.encode as Json | undefined)?.medianMs as number | undefined;
  row('blob source', '', String((d.blob as Json).source ?? (d.blob as Json).error ?? 'n/a').slice(0, 100));
  if (d.error) row('dtb phase', `error: ${String(d.error)}`);
  else {
    row(
      `blob`,
      `${mib(d.bytes)}, ${int(d.nodes)} nodes`,
      `fdtdump ${f(dumpMs, 0)} ms${dump?.error ? ` (${String(dump.error)})` : ''}`,
    );
    row(
      'fdtDecode / fdtdump',
      `${f(parse, 0)} ms / ${f(dumpMs, 0)} ms`,
      `${f(dumpMs ? (parse ?? 0) / dumpMs : null)} (≤ 2)`,
    );
    row(
      'fdtEncode / fdtdump',
      `${f(encode, 0)} ms / ${f(dumpMs, 0)} ms`,
      `${f(dumpMs ? (encode ?? 0) / dumpMs : null)} (≤ 2)`,
    );
  }
  target(
    `DTB parse / fdtdump (${sizeLabel(LARGEST)} nodes)`,
    dumpMs && parse ? parse / dumpMs : null,
    '≤',
    2,
  );
  target(
    `DTB encode / fdtdump (${sizeLabel(LARGEST)} nodes)`,
    dumpMs && encode ? encode / dumpMs : null,
    '≤',
    2,
  );
}

// ---------------------------------------------------------------------------------------------------
// Scaling table, growth, /healthz per heavy operation
// ---------------------------------------------------------------------------------------------------

const growth: Json = {};
function growthRow(name: string, points: Array<{ n: number; t: number; size: number }>) {
  const k = fitExponent(points);
  const top = points.length >= 2 ? fitExponent(points.slice(-2)) : null;
  growth[name] = { k, lastPairK: top, verdict: growthWord(k), points };
  row(
    `${name}`,
    `${points.map((p) => `${sizeLabel(p.size)}:${p.t >= 100 ? p.t.toFixed(0) : p.t.toFixed(1)}`).join(' ')} ms`,
    `${growthWord(k)}; last pair k=${f(top)}`,
  );
  target(`growth of ${name} (k of t ~ n^k)`, k, '≤', NEAR_LINEAR_K, '', 'near-linear');
}
const model = results.model as Json | undefined;
const modelScaling = ((model?.scaling as Json | undefined)?.sizes ?? []) as Json[];
const httpScaling = (((results.http as Json | undefined)?.scaling as Json | undefined)?.sizes ??
  []) as Json[];
if (modelScaling.length || httpScaling.length) {
  section(
    `time against node count (kernel 5.16; k = least-squares exponent over ${SIZES.map(sizeLabel).join(', ')})`,
  );
  const pts = (list: Json[], pick: (e: Json) => unknown) =>
    list
      .map((e) => ({
        n: (e.nodes as number) ?? (e.target as number),
        t: pick(e) as number,
        size: e.target as number,
      }))
      .filter((p) => typeof p.t === 'number' && Number.isFinite(p.t));
  if (modelScaling.length) {
    growthRow(
      'create, model API',
      pts(modelScaling, (e) => e.createMs),
    );
    growthRow(
      'migration, model API (median)',
      pts(modelScaling, (e) => e.migrationMedianMs),
    );
    for (const e of modelScaling.filter((x) => x.error)) {
      row(`  ${sizeLabel(e.target as number)} nodes, model API`, 'failed', String(e.error).slice(0, 100));
      target(
        `create of ${sizeLabel(e.target as number)} nodes, model API, succeeds`,
        0,
        '≥',
        1,
        '',
        '1 = created',
      );
    }
  }
  if (httpScaling.length) {
    // Where the built-in LPAR of a size could not be created, its figures come from the LPAR that
    // the same size's blob booted (marked "uploaded LPAR" in the table).
    const op = (e: Json, name: string): { o: Json | undefined; uploaded: boolean } => {
      const own = e[name] as Json | undefined;
      if (own) return { o: own, uploaded: false };
      const up = (e.uploaded as Json | undefined)?.[name] as Json | undefined;
      return { o: up, uploaded: up !== undefined };
    };
    const uploadOf = (e: Json) =>
      ((e.upload as Json | undefined)?.nodes ? e.upload : (e.uploadRaisedLimit ?? e.upload)) as
        | Json
        | undefined;
    const good = (o: Json | undefined) => (o && !o.error ? o : undefined);
    growthRow(
      'create over HTTP',
      pts(httpScaling, (e) => good(e.create as Json | undefined)?.ms),
    );
    growthRow(
      'migration over HTTP (median)',
      pts(httpScaling, (e) => good(op(e, 'migration').o)?.medianMs),
    );
    for (const name of ['tree.dtb', 'tree.dts', 'sysfs.tar'])
      growthRow(
        `GET ${name}`,
        pts(httpScaling, (e) => good(op(e, name).o)?.ms),
      );
    // An upload the default body limit refuses is timed on the server with the raised limit.
    growthRow(
      'upload tree.dtb (from-dtb)',
      pts(httpScaling, (e) => {
        const up = uploadOf(e);
        return up?.nodes ? up.ms : null;
      }),
    );
    section(
      'per size: create status, export sizes, upload round trip at default limits, server heap per node',
    );
    for (const e of httpScaling) {
      const up = e.upload as Json | undefined;
      const mem = e.serverMemory as Json | undefined;
      const c = e.create as Json | undefined;
      const bytes = (name: string) => mib(op(e, name).o?.bytes);
      row(
        `${sizeLabel(e.target as number)} nodes`,
        `dtb ${bytes('tree.dtb')}, dts ${bytes('tree.dts')}, tar ${bytes('sysfs.tar')}`,
        [
          `create ${c ? (c.error ? String(c.error).slice(0, 70) : String(c.status)) : 'n/a'}`,
          `upload ${up ? (up.error ? String(up.error).slice(0, 70) : String(up.status)) : 'n/a'}`,
          `server heap ${int(mem?.heapPerNode)} B/node`,
          ...(e.error ? [`error: ${String(e.error).slice(0, 80)}`] : []),
          ...(e.blob
            ? [`blob: ${String((e.blob as Json).source ?? (e.blob as Json).error).slice(0, 60)}`]
            : []),
        ].join('; '),
      );
      target(
        `create of ${sizeLabel(e.target as number)} nodes over HTTP succeeds`,
        c ? (c.error ? 0 : 1) : null,
        '≥',
        1,
        '',
        '1 = 2xx',
      );
      target(
        `tree.dtb of ${sizeLabel(e.target as number)} nodes uploads again under the default limits`,
        up ? (up.nodes ? 1 : 0) : null,
        '≥',
        1,
        '',
        '1 = 2xx',
      );
    }
    const withMem = httpScaling.filter((e) => e.serverMemory);
    const memAt = withMem[withMem.length - 1];
    if (memAt && budgetBytes) {
      const mem = memAt.serverMemory as Json;
      const perLpar = (mem.heapPerNode as number) * 250_000;
      row(
        '250k-node LPARs under the default budget',
        int(Math.floor(budgetBytes / perLpar)),
        `server heap per node at ${sizeLabel(memAt.target as number)} (${int(mem.heapPerNode)} B) × 250k${memAt.target === 250_000 ? '' : ' (extrapolated)'}`,
      );
      results.fit250k = {
        perLparBytes: perLpar,
        count: Math.floor(budgetBytes / perLpar),
        from: `server heap per node at ${memAt.target}`,
      };
    }
    for (const e of httpScaling.filter((x) => (x.target as number) >= 100_000)) {
      const n = e.target as number;
      const isTarget = n === LARGEST;
      section(
        `/healthz from a separate process every 5 ms (open loop) during each operation, ${sizeLabel(n)} nodes; server event-loop delay${isTarget ? '' : ' (for reference)'}`,
      );
      const up = uploadOf(e);
      const raised = up !== undefined && up === e.uploadRaisedLimit;
      const ops: Array<[string, { o: Json | undefined; uploaded: boolean }]> = [
        [`create ${sizeLabel(n)}-node LPAR`, { o: e.create as Json | undefined, uploaded: false }],
        [
          `upload ${sizeLabel(n)}-node DTB${raised ? ' (body limit raised)' : ''}`,
          { o: up, uploaded: false },
        ],
        [`migrations (${QUICK ? 4 : 6} in a row)`, op(e, 'migration')],
        [
          'a migration of the uploaded LPAR',
          { o: (e.uploaded as Json | undefined)?.migrationOnce as Json | undefined, uploaded: true },
        ],
        ['GET sysfs.tar', op(e, 'sysfs.tar')],
        ['GET tree.dtb', op(e, 'tree.dtb')],
        ['GET tree.dts', op(e, 'tree.dts')],
        ['ofdt add_node, 8 MiB property', op(e, 'ofdt')],
      ];
      for (const [name, { o, uploaded }] of ops) {
        if (!o && !isTarget) continue;
        const label = `${name}${uploaded && !name.includes('uploaded') ? ' (uploaded LPAR)' : ''}`;
        const h = o?.healthz as Window | undefined;
        const eld = o?.eventLoopDelay as Json | undefined;
        row(
          label,
          h ? `p50 ${f(h.p50Ms, 1)} / p99 ${f(h.p99Ms, 1)} / max ${f(h.maxMs, 0)} ms` : 'n/a',
          `${o ? `op ${f(o.ms, 0)} ms${o.error ? ` (${String(o.error).slice(0, 60)})` : ''}; ` : ''}eld p99 ${f(eld?.p99Ms, 0)} max ${f(eld?.maxMs, 0)} ms; n=${h?.count ?? 0}`,
        );
        if (isTarget)
          target(
            `/healthz p99 during ${label}`,
            h?.p99Ms,
            '<',
            100,
            'ms',
            o?.error ? `operation failed: ${String(o.error).slice(0, 100)}` : undefined,
          );
        // An operation that failed does not meet the target, however /healthz did meanwhile.
        if (isTarget && o?.error) targets[targets.length - 1]!.pass = false;
      }
    }
  }
}
results.growth = growth;

// ---------------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------------

const machine = {
  cpus: os.cpus().length,
  model: os.cpus()[0]?.model ?? 'unknown',
  memGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
};
const summary = {
  measuredAt: new Date().toISOString(),
  commit,
  measured: WORKTREE ? 'working tree' : 'HEAD snapshot (git archive of src/, package.json and README.md)',
  // The working tree differed from HEAD in src/ or the package files (not measured unless --worktree).
  dirty: codeChanges !== '',
  dirtyFiles: codeChanges ? codeChanges.split('\n') : [],
  benchDirty: benchChanges !== '',
  quick: QUICK,
  durationS: (Date.now() - startedAt) / 1000,
  // Other work on the machine skews absolute times (ratios are measured interleaved in one run).
  loadAverage: { atStart: loadAtStart, atEnd: os.loadavg() },
  machine,
  startFlags: START_FLAGS,
  sizes: SIZES,
  targets,
  passed: targets.filter((t) => t.pass === true).length,
  failed: targets.filter((t) => t.pass === false).length,
  notMeasured: targets.filter((t) => t.pass === null).length,
  results,
};
writeFileSync(OUT, `${JSON.stringify(summary, null, 2)}\n`);

const body = rows.filter((r) => !r[0].startsWith('— '));
const width = Math.max(...body.map((r) => r[0].length));
const width2 = Math.max(...body.map((r) => r[1].length));
console.log(
  `\nlparsim bench${QUICK ? ' (quick)' : ''} — ${machine.model}, ${machine.cpus} cpus, node ${machine.node}, ` +
    `commit ${commit.slice(0, 12)}${WORKTREE ? ' + working tree' : ''}${codeChanges ? ' (working tree differs; HEAD measured)' : ''}`,
  `\nload average ${loadAtStart.map((x) => x.toFixed(1)).join(' ')} at start, ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} at end`,
);
for (const [a, b, c] of rows)
  console.log(a.startsWith('— ') ? `\n${a}` : `${a.padEnd(width)}  ${b.padEnd(width2)}  ${c}`);
console.log('\ntargets');
for (const t of targets)
  console.log(
    `  ${t.pass === null ? 'n/a ' : t.pass ? 'pass' : 'FAIL'}  ${t.name}: ${t.value === null ? 'not measured' : f(t.value)}${t.unit ? ` ${t.unit}` : ''} (${t.op} ${t.limit})`,
  );
console.log(
  `\n${summary.passed} passed, ${summary.failed} failed, ${summary.notMeasured} not measured; ${f(summary.durationS, 0)} s; wrote ${OUT}`,
);
await dispatcher.close();
