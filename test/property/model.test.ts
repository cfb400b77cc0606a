// Model-based property test (DESIGN.md invariants): random sequences of ofdt commands, gets, balanced
// and unbalanced puts, property edits, lookups, invalid requests, migrations, device-tree overlays
// (applied, and removed topmost or not) and DLPAR writes (cpu and memory, added and removed by count
// and by index, refused ones among them), driven through the API on every kernel profile; after every
// step the invariants hold, no answer is a 5xx, and a rejected request changed nothing.
// LPARSIM_FUZZ_RUNS raises the number of sequences (npm run fuzz), LPARSIM_FUZZ_SEED replays one run.
// Sequences it found are kept as fixed steps in test/unit/overlay-regressions.test.ts.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { KERNEL_NAMES } from '../../src/kernel/profiles.ts';
import { fingerprint, testApp } from '../helpers/app.ts';
import { overlayBlob } from '../helpers/overlays.ts';

const RUNS = Number(process.env.LPARSIM_FUZZ_RUNS ?? 170);
const KERNELS = KERNEL_NAMES;
const NAMES = ['a', 'b', 'c@1', '__proto__', 'name', 'constructor', 'x@2'];
const HOLDERS = ['drv-a', 'drv-b', 'toString', 'of_node_init'];
const PROPS = ['status', 'reg', 'name', 'hasOwnProperty', 'ibm,phandle'];
const BOOT_PATHS = [
  '/vdevice',
  '/vdevice/vty@30000000',
  '/vdevice/l-lan@30000002',
  '/cpus',
  '/ibm,platform-facilities',
  '/ibm,platform-facilities/ibm,random-v1',
  '/memory@0',
  '/chosen',
  '/ibm,dynamic-reconfiguration-memory',
];

/**
 * The partition's connectors: 2 cores booted and 2 spare, 2 GiB booted and 1 GiB spare (12 LMBs of
 * 256 MiB), so adds can succeed. Indexes run one past the last connector, which must be refused.
 */
const CPU_DRC = 0x1000_0000;
const CORES = { booted: 2, spare: 2 };
const LMB_DRC = 0x8000_0000;
const LMBS = (2 + 1) * 4;
/** Writes dlpar_store must refuse in its parse (EINVAL, nothing run): drmgr's mistakes. */
const DLPAR_JUNK = [
  'disk add count 1',
  'cpu frob index 0x10000002',
  'cpu add bogus 1',
  'memory add count',
  'memory remove index 0x1ffffffff',
  'cpu add count -1',
  'cpu',
];

type Op =
  | { kind: 'add'; parent: number; name: string; phandle: number | null }
  | { kind: 'remove'; path: number }
  | {
      kind: 'prop';
      verb: 'add_property' | 'update_property' | 'remove_property';
      path: number;
      name: string;
      value: number;
    }
  | { kind: 'get'; path: number; holder: string }
  | { kind: 'putRef'; ref: number }
  | { kind: 'putHolder'; path: number; holder: string }
  | { kind: 'lookup'; phandle: number }
  | { kind: 'bad'; which: number }
  | { kind: 'migrate' }
  | { kind: 'overlay'; which: number }
  | { kind: 'overlayRemove'; which: number }
  | {
      kind: 'dlpar';
      resource: 'cpu' | 'memory';
      action: 'add' | 'remove';
      by: 'count' | 'index' | 'junk';
      n: number;
    }
  | { kind: 'slot'; file: 'add_slot' | 'remove_slot'; which: number };

/** Target-path overlays (the built-in tree has no __symbols__): a new node, then values on it. */
const OVERLAYS = [overlayBlob('by-path'), overlayBlob('by-path-update'), overlayBlob('bad-path')];
/** Where the overlays put nodes, for the other steps to reach. */
const OVERLAY_PATHS = ['/sim-overlay'];

const idx = fc.nat({ max: 63 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      parent: idx,
      name: fc.constantFrom(...NAMES),
      phandle: fc.option(fc.integer({ min: 1, max: 40 }), { nil: null }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove' as const), path: idx }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('prop' as const),
      verb: fc.constantFrom('add_property' as const, 'update_property' as const, 'remove_property' as const),
      path: idx,
      name: fc.constantFrom(...PROPS),
      value: fc.nat({ max: 0xffff }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('get' as const),
      path: idx,
      holder: fc.constantFrom(...HOLDERS),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('putRef' as const), ref: idx }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('putHolder' as const),
      path: idx,
      holder: fc.constantFrom(...HOLDERS),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('lookup' as const),
      phandle: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(0xfffffff6, 0xfffffff5, 0xffffffff)),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('bad' as const), which: fc.nat({ max: 7 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'migrate' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('overlay' as const),
      which: fc.nat({ max: OVERLAYS.length - 1 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('overlayRemove' as const), which: idx }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('dlpar' as const),
      resource: fc.constantFrom('cpu' as const, 'memory' as const),
      action: fc.constantFrom('add' as const, 'remove' as const),
      by: fc.constantFrom('count' as const, 'index' as const, 'index' as const, 'junk' as const),
      n: idx,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('slot' as const),
      file: fc.constantFrom('add_slot' as const, 'remove_slot' as const),
      which: idx,
    }),
  },
);

/** The command a dlpar step writes: a count of 0 to 3, or an index up to one past the last connector. */
function dlparCommand(op: Extract<Op, { kind: 'dlpar' }>): string {
  if (op.by === 'junk') return DLPAR_JUNK[op.n % DLPAR_JUNK.length]!;
  if (op.by === 'count') return `${op.resource} ${op.action} count ${op.n % 4}`;
  const drc =
    op.resource === 'cpu'
      ? CPU_DRC + (op.n % (CORES.booted + CORES.spare + 1))
      : LMB_DRC + (op.n % (LMBS + 1));
  return `${op.resource} ${op.action} index 0x${drc.toString(16)}`;
}

/** What a refused DLPAR write may leave changed: only the log (the parse's lines) and the events. */
async function kernelState(app: FastifyInstance, id: string): Promise<string> {
  const parts: string[] = [];
  for (const url of ['/phandle-cache', '/refs', '/nodes?path=/cpus', '/leaks']) {
    parts.push((await app.inject({ url: `/v1/lpars/${id}${url}` })).body);
  }
  for (let url: string | null = '/refcounts'; url; ) {
    const page = await app.inject({ url: `/v1/lpars/${id}${url}` });
    parts.push(page.body);
    const next = page.json().next as string | null | undefined;
    url = next ? `/refcounts?cursor=${encodeURIComponent(next)}` : null;
  }
  return parts.join('\n');
}

let app: FastifyInstance;
before(async () => {
  ({ app } = await testApp({ LPARSIM_MAX_LPARS: '4' }));
});
after(() => app.close());

const hex = (v: number) => `0x${v.toString(16)}`;

describe('invariants under random operation sequences', () => {
  it(`hold after every step (${RUNS} sequences of 60-100 steps)`, async () => {
    let steps = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...KERNELS),
        fc.nat({ max: 1000 }),
        fc.boolean(),
        fc.array(opArb, { minLength: 60, maxLength: 100 }),
        async (kernel, seed, refcountFull, ops) => {
          const created = await app.inject({
            method: 'POST',
            url: '/v1/lpars',
            payload: {
              kernel,
              seed,
              options: {
                refcountFull,
                cores: CORES.booted,
                spareCores: CORES.spare,
                memoryGiB: 2,
                spareMemoryGiB: 1,
              },
            },
          });
          assert.equal(created.statusCode, 201);
          const id = created.json().id as string;
          const paths = [...BOOT_PATHS];
          const refs: string[] = [];
          const overlays: number[] = [];
          const systems = ['p9-beta', 'p9-alpha'];
          // The virtual slots' drc names as /vdevice lists them, and one no node has.
          const vdevice = (await app.inject({ url: `/v1/lpars/${id}/nodes?path=/vdevice` })).json() as {
            properties: Array<{ name: string; hex: string }>;
          };
          const namesHex = vdevice.properties.find((p) => p.name === 'ibm,drc-names')!.hex;
          const slotNames = [
            ...Buffer.from(namesHex, 'hex').subarray(4).toString('latin1').split('\0').slice(0, -1),
            'U0000.000.0000000-V9-C99',
          ];
          let migrations = 0;
          const call = async (
            method: 'GET' | 'POST' | 'DELETE',
            url: string,
            payload?: string | Buffer | object,
          ) => {
            const res = await app.inject({
              method,
              url: `/v1/lpars/${id}${url}`,
              ...(payload !== undefined
                ? {
                    payload,
                    headers: {
                      'content-type':
                        typeof payload === 'string' || Buffer.isBuffer(payload)
                          ? 'application/octet-stream'
                          : 'application/json',
                    },
                  }
                : {}),
            });
            assert.ok(res.statusCode < 500, `${method} ${url} → ${res.statusCode} ${res.body}`);
            return res;
          };
          try {
            for (const op of ops) {
              steps += 1;
              const path = (i: number) => paths[i % paths.length]!;
              switch (op.kind) {
                case 'add': {
                  const p = `${path(op.parent).replace(/\/$/, '')}/${op.name}`;
                  const ph = op.phandle ? ` ibm,phandle 4 ${String.fromCharCode(0, 0, 0, op.phandle)}` : '';
                  const res = await call('POST', '/proc/ppc64/ofdt', `add_node ${p} name 2 n\0${ph}`);
                  if (res.statusCode === 200) paths.push(p);
                  break;
                }
                case 'remove':
                  await call('POST', '/proc/ppc64/ofdt', `remove_node ${path(op.path)}`);
                  break;
                case 'prop': {
                  const found = await call('GET', `/nodes?path=${encodeURIComponent(path(op.path))}`);
                  const phandle = found.statusCode === 200 ? found.json().phandle : op.value;
                  const tail =
                    op.verb === 'remove_property'
                      ? op.name
                      : `${op.name} 4 ${String.fromCharCode(0, 0, op.value >> 8, op.value & 0xff)}`;
                  await call('POST', '/proc/ppc64/ofdt', `${op.verb} ${hex(phandle)} ${tail}`);
                  break;
                }
                case 'get': {
                  const res = await call('POST', '/refs', {
                    node: { path: path(op.path) },
                    holder: op.holder,
                  });
                  if (res.statusCode === 201) refs.push(res.json().id);
                  break;
                }
                case 'putRef':
                  if (refs.length) await call('DELETE', `/refs/${refs.splice(op.ref % refs.length, 1)[0]}`);
                  break;
                case 'putHolder':
                  await call('POST', '/refs/put', { node: { path: path(op.path) }, holder: op.holder });
                  break;
                case 'lookup':
                  await call('GET', `/phandles/${hex(op.phandle)}`);
                  break;
                case 'bad': {
                  const before = await fingerprint(app, id);
                  const bad = [
                    () => call('POST', '/refs', { node: { path: '/vdevice' }, holder: 'with space' }),
                    () => call('POST', '/nodes', { path: 'no-slash', properties: [] }),
                    () => call('GET', '/sys/firmware%2F..%2Fx'),
                    () => call('DELETE', '/refs/r999999'),
                    () => call('POST', '/migrations', { destination: 'nowhere' }),
                    () => call('GET', '/phandles/0x1ffffffff'),
                    // Never reach dlpar_store: a JSON body is not a write(2), an empty write stores nothing.
                    () => call('POST', '/sys/kernel/dlpar', { command: 'cpu add count 1' }),
                    () => call('POST', '/sys/kernel/dlpar', ''),
                  ][op.which]!;
                  const res = await bad();
                  assert.ok(res.statusCode >= 400 && res.statusCode < 500);
                  assert.equal(
                    await fingerprint(app, id),
                    before,
                    `a rejected request changed the LPAR (${op.which})`,
                  );
                  break;
                }
                case 'overlay': {
                  const res = await call('POST', '/overlays', OVERLAYS[op.which]!);
                  if (res.statusCode === 201) {
                    overlays.push(res.json().id);
                    for (const p of OVERLAY_PATHS) if (!paths.includes(p)) paths.push(p);
                  }
                  break;
                }
                case 'overlayRemove': {
                  // Mostly the topmost; otherwise any, which the kernel refuses with EBUSY.
                  if (!overlays.length) break;
                  const at = op.which % 2 ? overlays.length - 1 : op.which % overlays.length;
                  const res = await call('DELETE', `/overlays/${overlays[at]}`);
                  if (res.statusCode === 200) overlays.splice(at, 1);
                  else assert.ok([404, 409].includes(res.statusCode), res.body);
                  break;
                }
                case 'dlpar': {
                  const command = dlparCommand(op);
                  const before = op.by === 'junk' ? await kernelState(app, id) : '';
                  const res = await call('POST', '/sys/kernel/dlpar', command);
                  if (res.statusCode === 200) {
                    assert.equal(res.json().rc, Buffer.byteLength(command), res.body);
                    // Cores the add attached join the paths other steps reach (gets, ofdt removes).
                    if (op.resource === 'cpu' && op.action === 'add') {
                      const cpus = await call('GET', '/nodes?path=/cpus');
                      const children = cpus.statusCode === 200 ? cpus.json().children : [];
                      for (const c of children as Array<{ name: string }>) {
                        const p = `/cpus/${c.name}`;
                        if (!paths.includes(p)) paths.push(p);
                      }
                    }
                    break;
                  }
                  // A refusal is write(2)'s errno, as a problem: ENODEV 404, EBUSY/ENOSPC 409, else 422.
                  const problem = res.json();
                  assert.ok([404, 409, 422].includes(res.statusCode), `${command}: ${res.body}`);
                  assert.ok(problem.rc < 0 && typeof problem.errno === 'string', `${command}: ${res.body}`);
                  if (op.by === 'junk') {
                    assert.deepEqual([res.statusCode, problem.errno], [422, 'EINVAL'], command);
                    assert.equal(
                      await kernelState(app, id),
                      before,
                      `a refused parse changed the LPAR (${command})`,
                    );
                  }
                  break;
                }
                case 'slot': {
                  // rpadlpar (K-SLOT): a vio device registered or unregistered by drc name.
                  const name = slotNames[op.which % slotNames.length]!;
                  const res = await call('POST', `/sys/bus/pci/slots/control/${op.file}`, name);
                  if (res.statusCode === 200) assert.equal(res.json().rc, name.length, res.body);
                  else {
                    const problem = res.json();
                    assert.ok([404, 422].includes(res.statusCode), `${op.file} ${name}: ${res.body}`);
                    assert.ok(
                      ['ENODEV', 'EINVAL'].includes(problem.errno),
                      `${op.file} ${name}: ${res.body}`,
                    );
                  }
                  break;
                }
                case 'migrate':
                  if (migrations < 3) {
                    await call('POST', '/migrations', { destination: systems[migrations++ % 2] });
                  }
                  break;
              }
              const inv = await call('GET', '/invariants');
              assert.ok(
                inv.json().ok,
                `after ${JSON.stringify(op)} on ${kernel}: ${JSON.stringify(inv.json().items.filter((i: { ok: boolean }) => !i.ok))}`,
              );
            }
          } finally {
            await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}` });
          }
        },
      ),
      {
        numRuns: RUNS,
        seed: process.env.LPARSIM_FUZZ_SEED ? Number(process.env.LPARSIM_FUZZ_SEED) : undefined,
      },
    );
    assert.ok(steps >= RUNS * 60, `ran ${steps} steps`);
  });
});

describe('a node /proc/ppc64/ofdt added under a core that DLPAR then removes', () => {
  // Found by the DLPAR steps: 6.1+ removes a core with one changeset DETACH_NODE entry per node
  // (pseries_cpuhp_detach_nodes, 6.1.20 hotplug-cpu.c:643-671), which unlinks only that node, so its
  // child stays attached below it, out of the root's reach; before, dlpar_detach_node detaches the
  // children first (5.15.16 dlpar.c:258-276). The invariant check allows exactly that case.
  for (const [kernel, state] of [
    ['5.16', 'freed'],
    ['6.1', 'attached'],
  ] as const) {
    it(`is ${state} on ${kernel}, and the invariants hold`, async () => {
      const created = await app.inject({
        method: 'POST',
        url: '/v1/lpars',
        payload: { kernel, options: { cores: 2, spareCores: 1 } },
      });
      const id = created.json().id as string;
      try {
        const url = `/v1/lpars/${id}`;
        const core = '/cpus/PowerPC,POWER9@0';
        const add = await app.inject({
          method: 'POST',
          url: `${url}/proc/ppc64/ofdt`,
          headers: { 'content-type': 'application/octet-stream' },
          payload: `add_node ${core}/sim name 4 sim\0`,
        });
        assert.equal(add.statusCode, 200, add.body);
        const child = (
          await app.inject({ url: `${url}/nodes?path=${encodeURIComponent(`${core}/sim`)}` })
        ).json();
        const removed = await app.inject({
          method: 'POST',
          url: `${url}/sys/kernel/dlpar`,
          headers: { 'content-type': 'text/plain' },
          payload: 'cpu remove index 0x10000000',
        });
        assert.equal(removed.statusCode, 200, removed.body);
        assert.equal((await app.inject({ url: `${url}/nodes/${child.address}` })).json().state, state);
        const byPath = await app.inject({ url: `${url}/nodes?path=${encodeURIComponent(`${core}/sim`)}` });
        assert.equal(byPath.statusCode, 404);
        const inv = (await app.inject({ url: `${url}/invariants` })).json();
        assert.ok(inv.ok, JSON.stringify(inv.items));
      } finally {
        await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}` });
      }
    });
  }
});
