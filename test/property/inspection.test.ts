// Inspection never changes the model (issue 9 item 3). After a random history of real kernel actions
// (ofdt node and property writes, gets and puts, phandle lookups, migrations, cache rebuilds) on a
// random kernel with random options, a random sequence of inspection requests must leave lparDigest
// of the LPAR exactly as it was: no reference, no cache slot or counter, no pid, no dmesg line, no
// event. Each kind of inspection has its own property, so a failure names the endpoint and the part of
// the model it moved; one more mixes them all. LPARSIM_FUZZ_RUNS scales the runs (npm run fuzz).

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { type KernfsDir, kernfsPath } from '../../src/kernel/kernfs.ts';
import { changedParts, lparDigest, lparDigestParts } from '../../src/lpar/digest.ts';
import { attachedPath, staleEntries } from '../../src/lpar/documents.ts';
import type { Lpar } from '../../src/lpar/lpar.ts';
import { NODE_STATES, nodeState } from '../../src/of/node.ts';

const MIXED_RUNS = Number(process.env.LPARSIM_FUZZ_RUNS ?? 30);
const KIND_RUNS = Math.max(3, Math.round(MIXED_RUNS / 5));
const SEED = process.env.LPARSIM_FUZZ_SEED ? Number(process.env.LPARSIM_FUZZ_SEED) : undefined;
const KERNELS = ['4.16', '4.18', '5.0', '5.8', '5.16'] as const;
const NAMES = ['a', 'b@1', '__proto__', 'ibm,x', 'constructor'];
const HOLDERS = ['drv-a', 'drv-b', 'toString', 'of_node_init', 'sysfs'];
const PROPS = ['status', 'reg', 'name', 'security-key', 'ibm,phandle', 'compatible'];
const BOOT_PATHS = [
  '/',
  '/vdevice',
  '/vdevice/vty@30000000',
  '/cpus',
  '/ibm,platform-facilities',
  '/ibm,platform-facilities/ibm,random-v1',
  '/ibm,platform-facilities/ibm,compression-v1',
  '/memory@0',
];
const BASE = '/firmware/devicetree/base';

// ---- histories of real actions ----

type Action =
  | { kind: 'add'; parent: number; name: string; phandle: number | null }
  | { kind: 'remove'; path: number }
  | { kind: 'prop'; verb: 'add_property' | 'update_property' | 'remove_property'; path: number; name: string }
  | { kind: 'get'; by: 'path' | 'phandle' | 'address'; pick: number; holder: string }
  | { kind: 'putRef'; pick: number }
  | { kind: 'putHolder'; path: number; holder: string }
  | { kind: 'lookup'; phandle: number }
  | { kind: 'migrate' }
  | { kind: 'slot'; file: 'add_slot' | 'remove_slot'; pick: number }
  | { kind: 'rebuild' };

const pick = fc.nat({ max: 1 << 16 });
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      parent: pick,
      name: fc.constantFrom(...NAMES),
      phandle: fc.option(fc.integer({ min: 1, max: 24 }), { nil: null }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove' as const), path: pick }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('prop' as const),
      verb: fc.constantFrom('add_property' as const, 'update_property' as const, 'remove_property' as const),
      path: pick,
      name: fc.constantFrom(...PROPS),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('get' as const),
      by: fc.constantFrom('path' as const, 'phandle' as const, 'address' as const),
      pick,
      holder: fc.constantFrom(...HOLDERS),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('putRef' as const), pick }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('putHolder' as const),
      path: pick,
      holder: fc.constantFrom(...HOLDERS),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('lookup' as const),
      phandle: fc.oneof(fc.integer({ min: 1, max: 24 }), fc.constantFrom(0xfffffff5, 0xfffffff6, 0x1000)),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'migrate' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('slot' as const),
      file: fc.constantFrom('add_slot' as const, 'remove_slot' as const),
      pick,
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'rebuild' as const }) },
);

const lparArb = fc.record({
  kernel: fc.constantFrom(...KERNELS),
  seed: fc.nat({ max: 1000 }),
  kasan: fc.boolean(),
  slubDebug: fc.boolean(),
  refcountFull: fc.boolean(),
  dynamicDebug: fc.boolean(),
  pfoDevices: fc.constantFrom('kernel' as const, 'fixed' as const),
  cores: fc.integer({ min: 1, max: 2 }),
});

// ---- inspections ----

const INSPECTIONS = [
  'node-by-path',
  'node-by-address',
  'nodes-by-state',
  'refcounts',
  'leaks',
  'phandle-cache',
  'invariants',
  'metrics',
  'lpar',
  'vio',
  'drivers',
  'dmesg',
  'migrations',
  'tree.dtb',
  'tree.dts',
  'sysfs.tar',
  'sysfs.tar.gz',
  'sys-directory',
  'proc-device-tree-directory',
  'property-file',
  'sys-file',
  'stat',
  'refs',
  'events',
] as const;
type InspectionKind = (typeof INSPECTIONS)[number];

interface Inspection {
  readonly kind: InspectionKind;
  readonly pick: number;
  readonly variant: number;
}

const inspectionArb = (kinds: readonly InspectionKind[]): fc.Arbitrary<Inspection> =>
  fc.record({ kind: fc.constantFrom(...kinds), pick, variant: fc.nat({ max: 7 }) });

const enc = (parts: readonly string[]) => parts.map(encodeURIComponent).join('/');

/** What there is to look at now, read from the model without touching it. */
function targets(lpar: Lpar) {
  const nodes = [...lpar.of.nodes.values()];
  const dirs: string[] = [];
  const propertyFiles: string[] = [];
  const otherFiles: string[] = [];
  const entries: string[] = [];
  const walk = (dir: KernfsDir) => {
    dirs.push(kernfsPath(dir));
    for (const e of dir.entries.values()) {
      const path = kernfsPath(e);
      entries.push(path);
      if (e.kind === 'dir') walk(e);
      else if (e.kind === 'file') {
        if (path.startsWith(`${BASE}/`)) propertyFiles.push(path);
        // devspec_show takes and drops references: reading it is a kernel action (K-DRV-2).
        else if (e.name !== 'devspec') otherFiles.push(path);
      }
    }
  };
  walk(lpar.of.sysfs);
  return {
    attachedPaths: nodes.map((np) => attachedPath(lpar, np)).filter((p): p is string => p !== null),
    addresses: nodes.map((np) => np.address),
    unattached: [...lpar.of.unattached].map((np) => np.address),
    dirs,
    propertyFiles,
    otherFiles,
    entries,
    migrations: lpar.migrations.map((m) => m.id),
  };
}

const at = <T>(list: readonly T[], i: number): T | undefined =>
  list.length ? list[i % list.length] : undefined;

/** The URL of an inspection (absolute), or null when there is nothing of that kind to look at. */
function inspectionUrl(id: string, t: ReturnType<typeof targets>, q: Inspection): string | null {
  const lpar = `/v1/lpars/${id}`;
  const sysPath = (p: string) => `${lpar}/sys/${enc(p.split('/').filter(Boolean))}`;
  const pdtPath = (p: string) =>
    `${lpar}/proc/device-tree/${enc(p.slice(BASE.length).split('/').filter(Boolean))}`;
  const inBase = (p: string) => p === BASE || p.startsWith(`${BASE}/`);
  switch (q.kind) {
    case 'node-by-path': {
      const p = at(t.attachedPaths, q.pick);
      return p ? `${lpar}/nodes?path=${encodeURIComponent(p)}` : null;
    }
    case 'node-by-address': {
      // Half of the picks among nodes that are not attached: detached, released, freed, orphaned.
      const list = q.variant % 2 && t.unattached.length ? t.unattached : t.addresses;
      return `${lpar}/nodes/${at(list, q.pick)}`;
    }
    case 'nodes-by-state': {
      const state = at(NODE_STATES, q.pick);
      return q.variant % 3 === 0
        ? `${lpar}/nodes`
        : `${lpar}/nodes?state=${state}&offset=${q.variant % 2}&limit=${1 + (q.pick % 50)}`;
    }
    case 'refcounts':
      return q.variant % 2 ? `${lpar}/refcounts` : `${lpar}/refcounts?state=${at(NODE_STATES, q.pick)}`;
    case 'leaks':
    case 'phandle-cache':
    case 'invariants':
    case 'vio':
    case 'drivers':
    case 'refs':
      return `${lpar}/${q.kind}`;
    case 'metrics':
      return '/metrics';
    case 'lpar':
      return q.variant % 2 ? lpar : '/v1/lpars';
    case 'dmesg': {
      const query = [`since=${q.pick % 200}`];
      if (q.variant & 1) query.push('level=err');
      if (q.variant & 2) query.push('format=text');
      return `${lpar}/dmesg?${query.join('&')}`;
    }
    case 'migrations': {
      const m = at(t.migrations, q.pick);
      return q.variant % 2 && m ? `${lpar}/migrations/${m}` : `${lpar}/migrations`;
    }
    case 'tree.dtb':
    case 'tree.dts':
    case 'sysfs.tar':
    case 'sysfs.tar.gz':
      return `${lpar}/${q.kind}`;
    case 'sys-directory':
      return sysPath(at(t.dirs, q.pick)!);
    case 'proc-device-tree-directory': {
      const d = at(
        t.dirs.filter((p) => inBase(p)),
        q.pick,
      );
      return d ? pdtPath(d) : null;
    }
    case 'property-file': {
      const f = at(t.propertyFiles, q.pick);
      if (!f) return null;
      return q.variant % 2 ? pdtPath(f) : sysPath(f);
    }
    case 'sys-file': {
      const f = at(t.otherFiles, q.pick);
      return f ? sysPath(f) : null;
    }
    case 'stat':
      return `${sysPath(at(t.entries, q.pick)!)}?stat=true`;
    case 'events':
      return q.variant % 2 ? `${lpar}/events?follow=false` : `/v1/events?follow=false&since=${q.pick}`;
  }
}

// ---- the test ----

let app: FastifyInstance;
/** The last error the service logged, for the message of a 5xx. */
let lastError = '';
before(async () => {
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      const line = JSON.parse(String(chunk)) as { err?: { stack?: string } };
      if (line.err?.stack) lastError = line.err.stack;
      done();
    },
  });
  app = await buildApp({ ...loadConfig({ LPARSIM_MAX_LPARS: '4' }), LOG_LEVEL: 'error' }, { logStream });
});
after(() => app.close());

const hex = (v: number) => `0x${v.toString(16)}`;

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: string | object) {
  const res = await app.inject({
    method,
    url,
    ...(payload !== undefined
      ? {
          payload,
          headers: {
            'content-type': typeof payload === 'string' ? 'application/octet-stream' : 'application/json',
          },
        }
      : {}),
  });
  assert.ok(res.statusCode < 500, `${method} ${url} → ${res.statusCode} ${res.body}\n${lastError}`);
  return res;
}

/** Runs a history of real actions on LPAR `id` through the API. */
async function runHistory(id: string, lpar: Lpar, actions: readonly Action[]): Promise<void> {
  const base = `/v1/lpars/${id}`;
  const paths = [...BOOT_PATHS];
  const refs: string[] = [];
  const systems = ['p9-beta', 'p9-alpha'];
  let migrations = 0;
  const path = (i: number) => paths[i % paths.length]!;
  for (const a of actions) {
    switch (a.kind) {
      case 'add': {
        const p = `${path(a.parent).replace(/\/$/, '')}/${a.name}`;
        const ph = a.phandle ? ` ibm,phandle 4 ${String.fromCharCode(0, 0, 0, a.phandle)}` : '';
        const res = await call('POST', `${base}/proc/ppc64/ofdt`, `add_node ${p} name 2 n\0${ph}`);
        if (res.statusCode === 200) paths.push(p);
        break;
      }
      case 'remove':
        await call('POST', `${base}/proc/ppc64/ofdt`, `remove_node ${path(a.path)}`);
        break;
      case 'prop': {
        // The phandle as the model has it (a look that takes nothing), so the write finds its node.
        const np = [...lpar.of.nodes.values()].find((n) => attachedPath(lpar, n) === path(a.path));
        const phandle = np?.phandle ?? a.path % 24;
        const tail =
          a.verb === 'remove_property'
            ? a.name
            : `${a.name} 4 ${String.fromCharCode(0, 0, 1, a.path & 0xff)}`;
        await call('POST', `${base}/proc/ppc64/ofdt`, `${a.verb} ${hex(phandle)} ${tail}`);
        break;
      }
      case 'get': {
        const node =
          a.by === 'path'
            ? { path: path(a.pick) }
            : a.by === 'phandle'
              ? { phandle: 1 + (a.pick % 24) }
              : { address: at([...lpar.of.nodes.keys()], a.pick)! };
        const res = await call('POST', `${base}/refs`, { node, holder: a.holder });
        if (res.statusCode === 201) refs.push(res.json().id);
        break;
      }
      case 'putRef':
        if (refs.length) await call('DELETE', `${base}/refs/${refs.splice(a.pick % refs.length, 1)[0]}`);
        break;
      case 'putHolder':
        await call('POST', `${base}/refs/put`, { node: { path: path(a.path) }, holder: a.holder });
        break;
      case 'lookup':
        await call('GET', `${base}/phandles/${hex(a.phandle)}`);
        break;
      case 'migrate':
        if (migrations < 3)
          await call('POST', `${base}/migrations`, { destination: systems[migrations++ % 2] });
        break;
      case 'rebuild':
        await call('POST', `${base}/phandle-cache/rebuild`); // 409 on the models without one
        break;
      case 'slot': {
        // rpadlpar (K-SLOT): a virtual slot's vio device unregistered or registered, by its drc name
        // (the adapter's location code); a removed adapter node is ENODEV.
        const adapter = ['/vdevice/vty@30000000', '/vdevice/l-lan@30000002', '/vdevice/v-scsi@30000003'][
          a.pick % 3
        ]!;
        const node = await call('GET', `${base}/nodes?path=${encodeURIComponent(adapter)}`);
        if (node.statusCode !== 200) break;
        const loc = (node.json().properties as Array<{ name: string; value?: unknown }>).find(
          (p) => p.name === 'ibm,loc-code',
        );
        if (loc) await call('POST', `${base}/sys/bus/pci/slots/control/${a.file}`, String(loc.value));
        break;
      }
    }
  }
}

/** Each inspection in turn; the first that moves the digest fails with the part of the model it moved. */
async function inspect(id: string, lpar: Lpar, inspections: readonly Inspection[], context: string) {
  const start = lparDigest(lpar);
  let before = lparDigestParts(lpar);
  for (const q of inspections) {
    const url = inspectionUrl(id, targets(lpar), q);
    if (url === null) continue;
    const res = await call('GET', url);
    assert.equal(res.statusCode, 200, `GET ${url} → ${res.statusCode} ${res.body}`);
    const after = lparDigestParts(lpar);
    const moved = changedParts(before, after);
    assert.deepEqual(moved, [], `GET ${url} (${q.kind}) changed the model: ${moved.join(', ')} (${context})`);
    before = after;
  }
  assert.equal(lparDigest(lpar), start);
}

/** How many histories reached each kind of state worth looking at (printed as a test diagnostic). */
function reached(lpar: Lpar, tally: Record<string, number>): void {
  const states = new Set([...lpar.of.unattached].map((np) => nodeState(np)));
  const seen = {
    migrated: lpar.migrations.length > 0,
    detached: states.has('detached'),
    released: states.has('released'),
    freed: states.has('freed'),
    orphaned: states.has('orphaned'),
    staleSlot: staleEntries(lpar).length > 0,
    useAfterFree: lpar.k.counters.useAfterFree > 0,
    warning: lpar.k.counters.warnings > 0,
    rename: lpar.k.counters.sysfsRenames > 0,
    explicitRef: lpar.refs.size > 0,
  };
  tally.histories = (tally.histories ?? 0) + 1;
  for (const [what, yes] of Object.entries(seen)) if (yes) tally[what] = (tally[what] ?? 0) + 1;
}

const property = async (t: TestContext, kinds: readonly InspectionKind[], runs: number) => {
  const tally: Record<string, number> = {};
  await fc.assert(
    fc.asyncProperty(
      lparArb,
      fc.array(actionArb, { minLength: 8, maxLength: 30 }),
      fc.array(inspectionArb(kinds), { minLength: 1, maxLength: 16 }),
      async (options, actions, inspections) => {
        const { kernel, seed, cores, ...kernelOptions } = options;
        const created = await call('POST', '/v1/lpars', {
          kernel,
          seed,
          options: { ...kernelOptions, cores },
        });
        assert.equal(created.statusCode, 201, created.body);
        const id = created.json().id as string;
        const lpar = app.registry.get(id); // read only: the digest looks, the API acts
        try {
          await runHistory(id, lpar, actions);
          reached(lpar, tally);
          await inspect(id, lpar, inspections, `${kernel} ${JSON.stringify(kernelOptions)}`);
        } finally {
          await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}` });
        }
      },
    ),
    { numRuns: runs, seed: SEED, endOnFailure: true },
  );
  t.diagnostic(`histories reached: ${JSON.stringify(tally)}`);
};

describe('inspection never changes the model (issue 9)', () => {
  for (const kind of INSPECTIONS) {
    it(`GET ${kind} leaves the model as it was (${KIND_RUNS} histories)`, (t) =>
      property(t, [kind], KIND_RUNS));
  }
  it(`any mix of inspections leaves the model as it was (${MIXED_RUNS} histories)`, (t) =>
    property(t, INSPECTIONS, MIXED_RUNS));
});
