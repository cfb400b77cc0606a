// Model-based property test (DESIGN.md invariants): random sequences of ofdt commands, gets, balanced
// and unbalanced puts, property edits, lookups, invalid requests, migrations and device-tree overlays
// (applied, and removed topmost or not), driven through the API on random kernel profiles; after
// every step the invariants hold, no answer is a 5xx, and a rejected request changed nothing.
// LPARSIM_FUZZ_RUNS raises the number of sequences (npm run fuzz), LPARSIM_FUZZ_SEED replays one run.
// Sequences it found are kept as fixed steps in test/unit/overlay-regressions.test.ts.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { fingerprint, testApp } from '../helpers/app.ts';
import { overlayBlob } from '../helpers/overlays.ts';

const RUNS = Number(process.env.LPARSIM_FUZZ_RUNS ?? 170);
const KERNELS = ['4.16', '4.18', '5.0', '5.8', '5.16'] as const;
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
  | { kind: 'overlayRemove'; which: number };

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
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('bad' as const), which: fc.nat({ max: 5 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'migrate' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('overlay' as const),
      which: fc.nat({ max: OVERLAYS.length - 1 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('overlayRemove' as const), which: idx }) },
);

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
            payload: { kernel, seed, options: { refcountFull, cores: 2 } },
          });
          assert.equal(created.statusCode, 201);
          const id = created.json().id as string;
          const paths = [...BOOT_PATHS];
          const refs: string[] = [];
          const overlays: number[] = [];
          const systems = ['p9-beta', 'p9-alpha'];
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
