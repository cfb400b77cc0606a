import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { Ref } from '../../src/http/schemas/common.ts';
import { NodeDoc, NodeSummaryPage, nodeDocJson } from '../../src/http/schemas/nodes.ts';
import { SHARED_SCHEMAS } from '../../src/http/schemas/shared.ts';
import { nodeDocument } from '../../src/lpar/documents.ts';
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
    assert.equal(n.phandle, '0xfffffff4', 'a phandle as users type it');
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
    assert.deepEqual(
      [hex.phandle, dec.phandle, hex.node.phandle],
      ['0xfffffff5', '0xfffffff5', '0xfffffff5'],
    );
    assert.equal(hex.useAfterFree, 0, 'a count of use-after-free hits, as in counts');
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

/**
 * What fastify's schema serializer writes for a payload under a response schema (the reference the
 * node routes answered with before nodeDocJson), or null when it refuses the payload.
 */
async function referenceSerializer() {
  const ref = Fastify();
  // The schemas the routes reference by $id, as the service registers them (schemas/shared.ts).
  for (const schema of SHARED_SCHEMAS) ref.addSchema(schema);
  let payload: unknown;
  ref.get('/doc', { schema: { response: { 200: Ref(NodeDoc) } } }, async () => payload);
  ref.get(
    '/union',
    { schema: { response: { 200: Type.Union([Ref(NodeDoc), Ref(NodeSummaryPage)]) } } },
    async () => payload,
  );
  await ref.ready();
  const write = async (schema: 'doc' | 'union', value: unknown): Promise<string | null> => {
    payload = value;
    const res = await ref.inject({ url: `/${schema}` });
    return res.statusCode === 200 ? res.body : null;
  };
  return { write, close: () => ref.close() };
}

describe('node documents as JSON', () => {
  it('are the bytes the NodeDoc schema serializer writes, for every node of migrated trees', async () => {
    const ref = await referenceSerializer();
    const { app: other } = await testApp();
    const states = new Set<string>();
    try {
      for (const [kernel, profile] of [
        ['4.18', 'power9'],
        ['5.16', 'power10'],
      ] as const) {
        const lparId = (
          await other.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel, profile } })
        ).json().id;
        const at = (url: string) => `/v1/lpars/${lparId}${url}`;
        const send = (method: 'POST' | 'DELETE', url: string, payload?: object) =>
          other.inject({ method, url: at(url), ...(payload ? { payload } : {}) });
        assert.equal((await send('POST', '/migrations', { destination: 'p9-beta' })).statusCode, 201);
        assert.equal((await send('POST', '/migrations', { destination: 'p9-alpha' })).statusCode, 201);
        // Odd values (u64-aligned, strings, bytes, empty, non-ASCII, long), a dead property, holders.
        const hexes = [
          '',
          '00',
          '6100',
          '61006200',
          '0000',
          'c3a97400',
          '1f00',
          '0000000100000002',
          'ab'.repeat(40),
        ];
        const added = await send('POST', '/nodes', {
          path: '/vdevice/odd@1',
          properties: hexes.map((hex, i) => ({ name: `p${i}`, hex })),
        });
        assert.equal(added.statusCode, 201, added.body);
        const odd = (await other.inject({ url: at('/nodes?path=/vdevice/odd@1') })).json();
        const phandle = odd.phandle !== '0x0' ? odd.phandle : '0xfffffff5';
        await send('POST', '/refs', { node: { path: '/vdevice/odd@1' }, holder: 'z-holder' });
        await send('POST', '/refs/put', { node: { path: '/vdevice/vty@30000000' }, holder: 'stranger' });
        await other.inject({
          method: 'POST',
          url: at('/proc/ppc64/ofdt'),
          headers: { 'content-type': 'application/octet-stream' },
          payload: Buffer.from(`update_property ${phandle} p1 3 zz\0`, 'latin1'),
        });
        const lpar = other.registry.get(lparId);
        for (const np of lpar.of.nodes.values()) {
          const doc = nodeDocument(lpar, np);
          states.add(doc.state);
          const expected = await ref.write('doc', doc);
          assert.ok(expected !== null);
          assert.equal(nodeDocJson(doc), expected, np.address);
          assert.equal((await other.inject({ url: at(`/nodes/${np.address}`) })).body, expected);
          if (doc.path !== null) {
            const byPath = await other.inject({ url: at(`/nodes?path=${encodeURIComponent(doc.path)}`) });
            // Two attached nodes can share a path after a migration (the sysfs rename): the first wins.
            const found = nodeDocument(lpar, lpar.resolve({ path: doc.path }));
            assert.equal(byPath.body, await ref.write('union', found), doc.path);
          }
        }
        // A page of the same route: what the response union wrote for it.
        for (const query of ['', '?state=detached', '?limit=7']) {
          const page = await other.inject({ url: at(`/nodes${query}`) });
          assert.equal(page.statusCode, 200);
          assert.equal(page.headers['content-type'], 'application/json; charset=utf-8');
          assert.equal(page.body, await ref.write('union', JSON.parse(page.body)), query);
        }
      }
      assert.deepEqual([...states].sort(), ['attached', 'detached', 'freed', 'orphaned', 'released']);
    } finally {
      await other.close();
      await ref.close();
    }
  });

  it('leaves any other shape to the schema serializer', async () => {
    const ref = await referenceSerializer();
    try {
      const lpar = app.registry.get(id);
      const np = lpar.resolve({ path: '/chosen' });
      const doc = nodeDocument(lpar, np) as unknown as Record<string, unknown>;
      const props = doc.properties as Array<Record<string, unknown>>;
      assert.ok(
        props.some((p) => p.u64 !== undefined),
        'a u64 property, written in schema order',
      );
      assert.equal(nodeDocJson(doc), await ref.write('doc', doc));
      const variants: Array<[string, unknown, 'null' | 'same']> = [
        ['an extra member', { ...doc, extra: 1 }, 'null'],
        ['members in another order', { name: doc.name, ...doc }, 'null'],
        ['a missing member', { ...doc, children: undefined }, 'null'],
        ['a number for a string', { ...doc, name: 42 }, 'null'],
        ['a fraction for an integer', { ...doc, refcount: 1.5 }, 'null'],
        ['a number for the phandle', { ...doc, phandle: 0xfffffff5 }, 'null'],
        ['a string for an integer', { ...doc, refcount: '3' }, 'null'],
        ['saturated', { ...doc, refcount: 'saturated' }, 'same'],
        ['a toJSON', { ...doc, sysfs: { ...(doc.sysfs as object), toJSON: () => ({}) } }, 'null'],
        ['a holder with more', { ...doc, holders: [{ holder: 'a', count: 1, why: 'x' }] }, 'null'],
        ['a freed record', { ...doc, freed: { comm: 'x', pid: 1, trace: 't', usec: 2 } }, 'same'],
        [
          'a freed record with more',
          { ...doc, freed: { comm: 'x', pid: 1, trace: 't', usec: 2, y: 1 } },
          'null',
        ],
        ['a property with more', { ...doc, properties: [{ ...props[0], more: true }] }, 'null'],
        ['a value of another kind', { ...doc, properties: [{ ...props[0], value: { a: 1 } }] }, 'null'],
        ['escapes', { ...doc, name: 'a"b\\c\u0001\ud800', flags: ['\n'] }, 'same'],
        ['null', null, 'null'],
        ['an array', [doc], 'null'],
      ];
      for (const [what, value, outcome] of variants) {
        const json = nodeDocJson(value);
        if (outcome === 'null') assert.equal(json, null, what);
        else assert.equal(json, await ref.write('doc', value), what);
      }
    } finally {
      await ref.close();
    }
  });
});
