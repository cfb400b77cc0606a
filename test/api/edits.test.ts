import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { fingerprint, problemOf, testApp } from '../helpers/app.ts';

let app: FastifyInstance;
let id: string;
before(async () => {
  ({ app } = await testApp());
  id = (await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '4.18' } })).json().id;
});
after(() => app.close());

const ofdt = (body: string | Buffer, type = 'application/octet-stream') =>
  app.inject({
    method: 'POST',
    url: `/v1/lpars/${id}/proc/ppc64/ofdt`,
    payload: body,
    headers: { 'content-type': type },
  });

describe('/proc/ppc64/ofdt over HTTP', () => {
  it('takes raw bytes (octet-stream or text/plain) and answers errnos as problems', async () => {
    const bytes = Buffer.from(
      'add_node /vdevice/raw@1 name 4 raw\x00 ibm,phandle 4 \x00\x00\xab\xcd',
      'latin1',
    );
    const ok = await ofdt(bytes);
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { command: 'add_node', bytes: bytes.length });
    assert.equal(
      (await app.inject({ url: `/v1/lpars/${id}/phandles/0xabcd` })).json().node.path,
      '/vdevice/raw@1',
    );
    const busy = await ofdt('remove_node /vdevice', 'text/plain');
    assert.equal(busy.statusCode, 409);
    assert.equal(problemOf(busy).errno, 'EBUSY');
    const nodev = await ofdt('remove_node /vdevice/none');
    assert.equal(nodev.statusCode, 404);
    assert.equal(problemOf(nodev).errno, 'ENODEV');
    const inval = await ofdt('frobnicate /x');
    assert.equal(problemOf(inval).errno, 'EINVAL');
    assert.equal(inval.statusCode, 400);
  });

  it('JSON equivalents build the same commands', async () => {
    const add = await app.inject({
      method: 'POST',
      url: `/v1/lpars/${id}/nodes`,
      payload: {
        path: '/vdevice/json@2',
        properties: [
          { name: 'name', string: 'json' },
          { name: 'reg', u32: [2] },
          { name: 'ibm,phandle', hex: '00001111' },
        ],
      },
    });
    assert.equal(add.statusCode, 201);
    const n = (await app.inject({ url: `/v1/lpars/${id}/nodes?path=/vdevice/json@2` })).json();
    assert.deepEqual(
      n.properties.map((p: { name: string }) => p.name),
      ['ibm,phandle', 'reg', 'name'],
      'ofdt prepends each property',
    );
    assert.deepEqual(n.flags, ['OF_DYNAMIC']);
    const put = await app.inject({
      method: 'PUT',
      url: `/v1/lpars/${id}/properties`,
      payload: { phandle: '0x1111', property: { name: 'status', string: 'okay' } },
    });
    assert.equal(put.statusCode, 200);
    const del = await app.inject({
      method: 'DELETE',
      url: `/v1/lpars/${id}/properties?phandle=0x1111&name=status`,
    });
    assert.equal(del.statusCode, 200);
    const gone = await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}/nodes?path=/vdevice/json@2` });
    assert.equal(gone.statusCode, 200);
    // K-OFDT-3: the two property commands took lookup references they never put, so the removed node
    // stays detached, held by `ofdt`.
    const after = (await app.inject({ url: `/v1/lpars/${id}/nodes/${n.address}` })).json();
    assert.equal(after.state, 'detached');
    assert.deepEqual(after.holders, [{ holder: 'ofdt', count: 2 }]);
  });

  it('__proto__ and constructor are ordinary node and property names', async () => {
    assert.equal(
      (await ofdt('add_node /vdevice/__proto__ __proto__ 2 x\x00 constructor 1 y')).statusCode,
      200,
    );
    const n = (await app.inject({ url: `/v1/lpars/${id}/nodes?path=/vdevice/__proto__` })).json();
    assert.deepEqual(
      n.properties.map((p: { name: string }) => p.name),
      ['constructor', '__proto__'],
    );
    const dir = (
      await app.inject({ url: `/v1/lpars/${id}/sys/firmware/devicetree/base/vdevice/__proto__` })
    ).json();
    assert.deepEqual(
      dir.items.map((i: { name: string }) => i.name),
      ['__proto__', 'constructor'],
    );
  });

  it('malformed JSON edits are 400 and change nothing', async () => {
    const before = await fingerprint(app, id);
    for (const payload of [
      { path: 'relative', properties: [] },
      { path: '/vdevice/x y', properties: [] },
      { path: '/vdevice/x', properties: [{ name: 'a b', string: 'x' }] },
      { path: '/vdevice/x', properties: [{ name: 'a', hex: 'abc' }] },
      { path: '/vdevice/x', properties: [{ name: 'a', u32: [2 ** 32] }] },
      { path: '/vdevice/x', properties: [{ name: 'a', string: 'x', u32: [1] }] },
    ]) {
      const res = await app.inject({ method: 'POST', url: `/v1/lpars/${id}/nodes`, payload });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      problemOf(res);
    }
    assert.equal(await fingerprint(app, id), before);
  });

  it('a body over the configured limit is a 413 problem', async () => {
    const { app: small } = await testApp({ LPARSIM_BODY_LIMIT_BYTES: '2048' });
    const lpar = (await small.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '5.8' } })).json()
      .id;
    const res = await small.inject({
      method: 'POST',
      url: `/v1/lpars/${lpar}/proc/ppc64/ofdt`,
      payload: Buffer.alloc(4096, 0x41),
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(res.statusCode, 413);
    problemOf(res);
    await small.close();
  });
});
