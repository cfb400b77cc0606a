// `switches` on LPAR creation: a what-if kernel, the base profile with some switches overridden. Each
// test boots the overridden kernel next to the plain one and shows, through the API, that the switch
// (and only the switch) changed what the kernel does.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { holderNames, nodeByPath, problemOf, testApp } from '../helpers/app.ts';

let app: FastifyInstance;
before(async () => {
  ({ app } = await testApp());
});
after(() => app.close());

const createRes = (payload: object) => app.inject({ method: 'POST', url: '/v1/lpars', payload });
async function create(payload: object): Promise<string> {
  const res = await createRes(payload);
  assert.equal(res.statusCode, 201, res.body);
  return res.json().id;
}
const migrate = async (id: string, destination = 'p9-beta') => {
  const res = await app.inject({
    method: 'POST',
    url: `/v1/lpars/${id}/migrations`,
    payload: { destination },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
};
const lparCount = async () => (await app.inject({ url: '/v1/lpars' })).json().items.length as number;

describe('switch overrides on POST /v1/lpars', () => {
  it('4.18 with {"phandleCache":"pow2-refs"}: the cache holds references and a migration leaves no stale entry', async () => {
    const plain = await create({ kernel: '4.18' });
    const custom = await create({ kernel: '4.18', switches: { phandleCache: 'pow2-refs' } });
    const cache = (await app.inject({ url: `/v1/lpars/${custom}/phandle-cache` })).json();
    assert.deepEqual([cache.model, cache.holdsReferences], ['pow2-refs', true]);
    const plainCache = (await app.inject({ url: `/v1/lpars/${plain}/phandle-cache` })).json();
    assert.deepEqual([plainCache.model, plainCache.holdsReferences], ['pow2', false]);
    const random = '/ibm,platform-facilities/ibm,random-v1';
    assert.ok(holderNames(await nodeByPath(app, custom, random)).includes('phandle_cache'));
    assert.ok(!holderNames(await nodeByPath(app, plain, random)).includes('phandle_cache'));

    // One migration: plain 4.18 keeps the detached nodes in their slots (K-CACHE stale entries);
    // pow2-refs evicts them on detach, so the same lookup is a miss that finds nothing.
    await migrate(plain);
    await migrate(custom);
    const counts = async (id: string) => (await app.inject({ url: `/v1/lpars/${id}` })).json().counts;
    assert.equal((await counts(plain)).staleCacheEntries, 4);
    assert.equal((await counts(custom)).staleCacheEntries, 0);
    const look = async (id: string) =>
      (await app.inject({ url: `/v1/lpars/${id}/phandles/0xfffffff5` })).json();
    const stale = await look(plain);
    assert.deepEqual([stale.how, stale.stale, stale.node.state], ['stale-hit', true, 'detached']);
    const evicted = await look(custom);
    assert.deepEqual([evicted.how, evicted.found, evicted.stale], ['miss', false, false]);
    assert.ok((await app.inject({ url: `/v1/lpars/${custom}/invariants` })).json().ok);
  });

  it('5.8 with {"skipPlatformFacilities":true}: the migration ignores the platform facilities, in 5.8’s words (no pr_fmt)', async () => {
    const plain = await create({ kernel: '5.8' });
    const custom = await create({ kernel: '5.8', switches: { skipPlatformFacilities: true } });
    const outcomes = (m: { report: { operations: Array<{ outcome: string }> } }) =>
      m.report.operations.map((o) => o.outcome);
    const p = await migrate(plain);
    assert.deepEqual(outcomes(p), Array(7).fill('done'));
    assert.ok(!p.report.dmesg.some((l: string) => l.includes('ignoring')));
    const c = await migrate(custom);
    assert.deepEqual(outcomes(c), ['ignored', 'ignored', 'ignored', 'ignored', 'done', 'done', 'ignored']);
    // 5.8's mobility.c has no pr_fmt (mobilityPrFmt false), so the K-MOB-7 lines carry no prefix;
    // %pOFfp prints the path, a colon and the phandle in decimal.
    const ignoring = c.report.dmesg.filter((l: string) => l.includes('ignoring'));
    assert.deepEqual(ignoring, [
      'ignoring remove operation for /ibm,platform-facilities/ibm,random-v1:4294967285',
      'ignoring remove operation for /ibm,platform-facilities/ibm,compression-v1:4294967284',
      'ignoring remove operation for /ibm,platform-facilities/ibm,sym-encryption-v1:4294967283',
      'ignoring remove operation for /ibm,platform-facilities:4294967286',
      'ignoring add operation for /ibm,platform-facilities',
    ]);
    assert.deepEqual(c.report.leftDetached, []);
    assert.equal((await nodeByPath(app, custom, '/ibm,platform-facilities/ibm,random-v1')).state, 'attached');
    // Every other 5.8 behaviour stays: no in-kernel suspend lines (E8 is suspendInKernel's).
    assert.ok(!c.report.dmesg.some((l: string) => l.includes('waking all threads')));
  });

  it('the prefix follows mobilityPrFmt: 5.8 with both switches prints `mobility: ignoring …`', async () => {
    const id = await create({
      kernel: '5.8',
      switches: { skipPlatformFacilities: true, mobilityPrFmt: true },
    });
    const m = await migrate(id);
    assert.ok(
      m.report.dmesg.includes(
        'mobility: ignoring remove operation for /ibm,platform-facilities/ibm,random-v1:4294967285',
      ),
      m.report.dmesg.join('\n'),
    );
    assert.ok(m.report.dmesg.includes('mobility: ignoring add operation for /ibm,platform-facilities'));
  });

  it('rngInitPut both ways (E14): 4.18 with the 5.15 fix drops rng_init’s hold; 5.16 without it keeps one', async () => {
    const random = '/ibm,platform-facilities/ibm,random-v1';
    const fixed = await create({ kernel: '4.18', switches: { rngInitPut: true } });
    assert.ok(!holderNames(await nodeByPath(app, fixed, random)).includes('rng_init'));
    const leaky = await create({ kernel: '5.16', switches: { rngInitPut: false } });
    assert.ok(holderNames(await nodeByPath(app, leaky, random)).includes('rng_init'));
    // The hook is registered either way.
    const dmesg = (await app.inject({ url: `/v1/lpars/${fixed}/dmesg` }))
      .json()
      .items.map((l: { text: string }) => l.text);
    assert.ok(dmesg.includes('pseries-rng: Registering arch random hook.'));
  });

  it('an empty object, or a switch equal to the profile’s own value boot the profile itself', async () => {
    for (const switches of [{}, { phandleCache: 'pow2' }]) {
      const id = await create({ kernel: '4.18', switches });
      const doc = (await app.inject({ url: `/v1/lpars/${id}` })).json();
      assert.equal(doc.kernel, '4.18');
      assert.deepEqual([doc.kernelProfile.custom, doc.kernelProfile.overrides], [false, {}]);
      const cache = (await app.inject({ url: `/v1/lpars/${id}/phandle-cache` })).json();
      assert.deepEqual([cache.model, cache.holdsReferences], ['pow2', false]);
    }
  });

  it('an unknown switch or a bad value is a 400 problem and boots nothing', async () => {
    const count = await lparCount();
    for (const [switches, names] of [
      [{ phandleCache: 'lru' }, 'phandleCache'],
      [{ phandleCache: true }, 'phandleCache'],
      [{ sysfsHoldsRef: 'yes' }, 'sysfsHoldsRef'],
      [{ refcount: 'full' }, 'refcount'],
      [{ mobilityLookup: 1 }, 'mobilityLookup'],
    ] as const) {
      const res = await createRes({ kernel: '5.8', switches });
      assert.equal(res.statusCode, 400, JSON.stringify(switches));
      const p = problemOf(res);
      assert.equal(p.status, 400);
      assert.ok(`${p.detail} ${JSON.stringify(p.errors ?? [])}`.includes(names), `${names}: ${res.body}`);
    }
    for (const switches of [
      { noSuchSwitch: true },
      { __proto__: null, constructor: true },
      'pow2-refs',
      [1],
    ]) {
      const res = await createRes({ kernel: '5.8', switches });
      assert.equal(res.statusCode, 400, JSON.stringify(switches));
      problemOf(res);
    }
    assert.equal(await lparCount(), count, 'no LPAR was created');
  });

  it('the 400 for an unknown switch names it', async () => {
    const res = await createRes({ kernel: '5.8', switches: { noSuchSwitch: true } });
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /noSuchSwitch/);
    assert.equal(res.json().errors[0].path, '/switches/noSuchSwitch');
  });

  it('the LPAR document shows a custom kernel: its base, the overrides, every switch, and a what-if note', async () => {
    const id = await create({ kernel: '4.18', switches: { phandleCache: 'pow2-refs' } });
    const doc = (await app.inject({ url: `/v1/lpars/${id}` })).json();
    assert.equal(doc.kernel, '4.18');
    assert.deepEqual(
      [doc.kernelProfile.base, doc.kernelProfile.custom, doc.kernelProfile.overrides],
      ['4.18', true, { phandleCache: 'pow2-refs' }],
    );
    assert.equal(doc.kernelProfile.switches.phandleCache, 'pow2-refs');
    assert.equal(doc.kernelProfile.switches.sysfsHoldsRef, false, 'the other switches are 4.18’s');
    assert.ok(
      doc.whatIf.some((w: string) => w.includes('phandleCache=pow2-refs')),
      JSON.stringify(doc.whatIf),
    );
    const plain = (await app.inject({ url: `/v1/lpars/${await create({ kernel: '4.18' })}` })).json();
    assert.deepEqual([plain.kernelProfile.custom, plain.kernelProfile.overrides], [false, {}]);
    assert.deepEqual(plain.whatIf, []);
  });
});
