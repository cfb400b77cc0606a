import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { problemOf, testApp } from '../helpers/app.ts';

let app: FastifyInstance;
before(async () => {
  ({ app } = await testApp());
});
after(() => app.close());

const create = async (kernel: string) =>
  (await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel } })).json().id as string;

describe('phandle cache resource (K-CACHE)', () => {
  it('shows model, size, mask or hash bits, every occupied slot and the counters', async () => {
    const id = await create('4.18');
    const c = (await app.inject({ url: `/v1/lpars/${id}/phandle-cache` })).json();
    assert.deepEqual([c.model, c.size, c.mask, c.hashBits, c.holdsReferences], ['pow2', 64, 63, null, false]);
    assert.ok(c.slots.length > 0 && c.slots.length <= 64);
    assert.deepEqual(Object.keys(c.slots[0]).sort(), [
      'address',
      'lastKnownPath',
      'path',
      'phandle',
      'slot',
      'stale',
      'state',
    ]);
    assert.deepEqual(Object.keys(c.counters).sort(), [
      'collisions',
      'hits',
      'lookups',
      'misses',
      'staleHits',
      'useAfterFreeHits',
    ]);
    const hash = (await app.inject({ url: `/v1/lpars/${await create('5.8')}/phandle-cache` })).json();
    assert.deepEqual([hash.model, hash.size, hash.mask, hash.hashBits], ['hash128', 128, null, 7]);
  });

  it('a stale hit is flagged, not hidden, and the slot is reported stale', async () => {
    const id = await create('4.18');
    await app.inject({
      method: 'POST',
      url: `/v1/lpars/${id}/migrations`,
      payload: { destination: 'p9-beta' },
    });
    const look = (await app.inject({ url: `/v1/lpars/${id}/phandles/0xfffffff5` })).json();
    assert.deepEqual([look.how, look.stale, look.node.state], ['stale-hit', true, 'detached']);
    const cache = (await app.inject({ url: `/v1/lpars/${id}/phandle-cache` })).json();
    assert.equal(cache.staleEntries, 4);
    assert.equal(cache.slots.filter((s: { stale: boolean }) => s.stale).length, 4);
    assert.ok(cache.counters.staleHits >= 1);
  });

  it('rebuilds pow2 and pow2-refs; 409 for hash128 and none', async () => {
    for (const [kernel, status] of [
      ['4.18', 200],
      ['5.0', 200],
      ['5.8', 409],
      ['4.16', 409],
    ] as const) {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/lpars/${await create(kernel)}/phandle-cache/rebuild`,
      });
      assert.equal(res.statusCode, status, kernel);
      if (status === 409) assert.match(problemOf(res).detail, /K-CACHE-5/);
    }
  });
});

describe('dmesg, vio, drivers, invariants', () => {
  it('filters dmesg by line number and level, and prints dmesg text', async () => {
    const id = await create('4.18');
    const all = (await app.inject({ url: `/v1/lpars/${id}/dmesg` })).json();
    assert.ok(all.items.length >= 5);
    assert.match(all.items[0].line, /^\[\s+\d+\.\d{6}\] Linux version 4\.18/);
    const later = (await app.inject({ url: `/v1/lpars/${id}/dmesg?since=${all.next}` })).json();
    assert.deepEqual(later.items, []);
    await app.inject({
      method: 'POST',
      url: `/v1/lpars/${id}/refs/put`,
      payload: { node: { path: '/vdevice/vty@30000000' }, holder: 'bad' },
    });
    await app.inject({
      method: 'POST',
      url: `/v1/lpars/${id}/refs/put`,
      payload: { node: { path: '/vdevice/vty@30000000' }, holder: 'bad' },
    });
    const errs = (await app.inject({ url: `/v1/lpars/${id}/dmesg?since=${all.next}&level=err` })).json();
    assert.equal(errs.items[0].text, 'OF: ERROR: Bad of_node_put() on /vdevice/vty@30000000');
    assert.ok(
      errs.items.every((l: { level: string }) => ['emerg', 'alert', 'crit', 'err'].includes(l.level)),
    );
    const text = (await app.inject({ url: `/v1/lpars/${id}/dmesg?format=text` })).body;
    assert.match(text, /\] OF: ERROR: Bad of_node_put\(\) on \/vdevice\/vty@30000000\n/);
    assert.equal((await app.inject({ url: `/v1/lpars/${id}/dmesg?level=loud` })).statusCode, 400);
  });

  it('lists vio devices with their nodes and the drivers that bound them', async () => {
    const id = await create('5.8');
    const vio = (await app.inject({ url: `/v1/lpars/${id}/vio` })).json().items;
    assert.deepEqual(vio.map((d: { name: string }) => d.name).sort(), [
      '30000000',
      '30000002',
      '30000003',
      'ibm,compression-v1',
      'ibm,random-v1',
      'ibm,sym-encryption-v1',
    ]);
    const nx = vio.find((d: { name: string }) => d.name === 'ibm,compression-v1');
    assert.deepEqual(
      [nx.driver, nx.holder, nx.node.state],
      ['nx-compress-pseries', 'vio:ibm,compression-v1', 'attached'],
    );
    const drivers = (await app.inject({ url: `/v1/lpars/${id}/drivers` })).json().items;
    assert.deepEqual(
      drivers.map((d: { name: string; devices: string[] }) => [d.name, d.devices]),
      [
        ['pseries-rng', ['ibm,random-v1']],
        ['nx-compress-pseries', ['ibm,compression-v1']],
        ['nx-crypto', ['ibm,sym-encryption-v1']],
      ],
    );
  });

  it('reports each invariant by name', async () => {
    const inv = (await app.inject({ url: `/v1/lpars/${await create('5.16')}/invariants` })).json();
    assert.equal(inv.ok, true);
    assert.deepEqual(
      inv.items.map((i: { name: string }) => i.name),
      ['refcounts-match-ledger', 'attached-reachable-once', 'sysfs-consistent', 'cache-slots-known'],
    );
  });

  it('pfoDevices fixed: the vio bus follows detach and re-add (K-DRV-4); only the init leaks of E14 stay held', async () => {
    const id = (
      await app.inject({
        method: 'POST',
        url: '/v1/lpars',
        payload: { kernel: '5.8', options: { pfoDevices: 'fixed' } },
      })
    ).json().id;
    await app.inject({
      method: 'POST',
      url: `/v1/lpars/${id}/migrations`,
      payload: { destination: 'p9-beta' },
    });
    const names = (await app.inject({ url: `/v1/lpars/${id}/vio` }))
      .json()
      .items.map((d: { name: string }) => d.name);
    assert.ok(!names.includes('ibm,random-v1'), 'unregistered when its node was detached');
    const leaks = (await app.inject({ url: `/v1/lpars/${id}/leaks` })).json().items;
    const detached = leaks.filter((l: { state: string }) => l.state === 'detached');
    // E14: rng_init (4.16–5.8) and nx842_pseries_init (every profile) never put the node they looked
    // up at boot, so those two stay detached and held — by the init functions, not by any device.
    assert.deepEqual(
      detached.map((l: { lastKnownPath: string; holders: Array<{ holder: string; count: number }> }) => [
        l.lastKnownPath,
        l.holders,
      ]),
      [
        ['/ibm,platform-facilities/ibm,random-v1', [{ holder: 'rng_init', count: 1 }]],
        ['/ibm,platform-facilities/ibm,compression-v1', [{ holder: 'nx842_pseries_init', count: 1 }]],
      ],
      'no node left held by a device',
    );
  });
});
