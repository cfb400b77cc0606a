import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { fingerprint, problemOf, testApp } from '../helpers/app.ts';

let app: FastifyInstance;
let id: string;
before(async () => {
  ({ app } = await testApp());
  id = (await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '5.8' } })).json().id;
});
after(() => app.close());

const get = (url: string) => app.inject({ url: `/v1/lpars/${id}${url}` });
const post = (url: string, payload: unknown) =>
  app.inject({ method: 'POST', url: `/v1/lpars/${id}${url}`, payload: payload as object });

describe('nodes', () => {
  it('serves the contract node document by path', async () => {
    const n = (await get('/nodes?path=/ibm,platform-facilities/ibm,compression-v1')).json();
    assert.equal(n.path, '/ibm,platform-facilities/ibm,compression-v1');
    assert.equal(n.phandle, 0xfffffff4);
    assert.equal(n.state, 'attached');
    // E14: nx842_pseries_init's of_find_compatible_node is never put.
    assert.equal(n.refcount, 4);
    assert.deepEqual(
      n.holders.map((h: { holder: string }) => h.holder),
      ['nx842_pseries_init', 'of_node_init', 'sysfs', 'vio:ibm,compression-v1'],
    );
    const status = n.properties.find((p: { name: string }) => p.name === 'status');
    assert.deepEqual(
      [status.type, status.value, status.hex, status.length],
      ['string', 'okay', '6f6b617900', 5],
    );
    const cop = n.properties.find((p: { name: string }) => p.name === 'ibm,max-sync-cop');
    assert.deepEqual(cop.value, [1, 0x1000, 0x1fe, 1, 0x1000, 0x1fe]);
    const byAddress = (await get(`/nodes/${n.address}`)).json();
    assert.equal(byAddress.fullName, 'ibm,compression-v1');
    const pf = (await get('/nodes?path=/ibm,platform-facilities')).json();
    assert.deepEqual(
      pf.children.map((c: { name: string }) => c.name),
      ['ibm,random-v1', 'ibm,compression-v1', 'ibm,sym-encryption-v1'],
    );
  });

  it('lists nodes by state, and answers 404 and 400 problems for bad selectors', async () => {
    const attached = (await get('/nodes?state=attached')).json();
    assert.equal(attached.total, (await get('')).json().counts.attached);
    assert.equal((await get('/nodes?state=gone')).statusCode, 400);
    assert.equal((await get('/nodes?path=/nope')).statusCode, 404);
    for (const bad of ['/vdevice/..', '/vdevice/%00x', `/${'n'.repeat(300)}`, 'vdevice']) {
      const res = await get(`/nodes?path=${bad}`);
      assert.equal(res.statusCode, 400, bad);
      assert.equal(problemOf(res).title, 'Bad path');
    }
    const initrd = (await get('/nodes?path=/chosen'))
      .json()
      .properties.find((p: { name: string }) => p.name === 'linux,initrd-start');
    assert.deepEqual(initrd.u64, ['0x3e000000']);
    assert.equal((await get('/nodes/c0000000ffffffff')).statusCode, 404);
    assert.equal((await get('/nodes/xyz')).statusCode, 400);
  });

  it('looks phandles up as the kernel does, in hex or decimal', async () => {
    const hex = (await get('/phandles/0xfffffff5')).json();
    const dec = (await get(`/phandles/${0xfffffff5}`)).json();
    assert.equal(hex.node.address, dec.node.address);
    assert.equal(hex.found, true);
    assert.ok(['hit', 'miss'].includes(hex.how));
    assert.equal(dec.how, 'hit', 'the first lookup stored it in its slot');
    const none = (await get('/phandles/0x1')).json();
    assert.deepEqual([none.found, none.node], [false, null]);
    for (const bad of ['0x1ffffffff', '99999999999', 'abc', '-1'])
      assert.equal((await get(`/phandles/${bad}`)).statusCode, 400, bad);
  });
});

describe('references (K-REF-1)', () => {
  it('takes and puts references by named holders, shows them, and records unbalanced puts', async () => {
    const ref = await post('/refs', { node: { path: '/vdevice/vty@30000000' }, holder: 'my-driver' });
    assert.equal(ref.statusCode, 201);
    const r = ref.json();
    assert.equal(r.node.refcount, 4);
    assert.ok(
      r.node.holders.some(
        (h: { holder: string; count: number }) => h.holder === 'my-driver' && h.count === 1,
      ),
    );
    const byPhandle = (await post('/refs', { node: { phandle: '0xfffffff5' }, holder: 'rng-user' })).json();
    assert.equal(byPhandle.node.path, '/ibm,platform-facilities/ibm,random-v1');
    assert.equal((await get('/refs')).json().items.length, 2);
    const put = await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}/refs/${r.id}` });
    assert.equal(put.json().node.refcount, 3);
    assert.equal(
      (await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}/refs/${r.id}` })).statusCode,
      404,
    );
    const unbalanced = (
      await post('/refs/put', { node: { path: '/vdevice/vty@30000000' }, holder: 'stranger' })
    ).json();
    assert.equal(unbalanced.refcount, 2);
    const doc = (await get(`/nodes/${unbalanced.address}`)).json();
    assert.deepEqual(doc.unbalancedPuts, [{ holder: 'stranger', count: 1 }]);
    const rc = (await get('/refcounts'))
      .json()
      .items.find((i: { address: string }) => i.address === unbalanced.address);
    assert.equal(rc.refcount, 2);
    assert.ok((await get('/invariants')).json().ok);
  });

  it('bad holders, refs and node selectors are 4xx and change nothing', async () => {
    const before = await fingerprint(app, id);
    for (const body of [
      { node: { path: '/vdevice' }, holder: '' },
      { node: { path: '/vdevice' }, holder: 'has space' },
      { node: { path: '/vdevice', address: 'c000000002000000' }, holder: 'x' },
      { node: { phandle: '0xzz' }, holder: 'x' },
      { node: { path: 'relative' }, holder: 'x' },
      { node: { path: '/no/such' }, holder: 'x' },
    ]) {
      const res = await post('/refs', body);
      assert.ok(
        res.statusCode === 400 || res.statusCode === 404,
        `${JSON.stringify(body)} → ${res.statusCode}`,
      );
      problemOf(res);
    }
    assert.equal(
      (await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}/refs/__proto__` })).statusCode,
      400,
    );
    assert.equal(
      (await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}/refs/r424242` })).statusCode,
      404,
    );
    assert.equal(await fingerprint(app, id), before);
  });

  it('leaks lists detached nodes with their holders after a migration', async () => {
    const m = await post('/migrations', { destination: 'p9-beta' });
    assert.equal(m.statusCode, 201);
    const leaks = (await get('/leaks')).json().items;
    const random = leaks.find(
      (l: { lastKnownPath: string }) => l.lastKnownPath === '/ibm,platform-facilities/ibm,random-v1',
    );
    assert.equal(random.state, 'detached');
    // E14: rng_init's boot lookup (5.8 has no put) holds it too.
    assert.deepEqual(
      random.holders.map((h: { holder: string }) => h.holder),
      ['rng_init', 'rng-user', 'vio:ibm,random-v1'],
    );
    assert.ok(leaks.filter((l: { state: string }) => l.state === 'orphaned').length === 3);
  });
});
