// Requests are validated strictly (issue 12, point 11): a JSON body is taken exactly as the document
// types it, with no coercion, while the URL's text parts are read as their types; a wrong enum or
// union of constants says which values are allowed (point 4).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type Problem, testApp } from '../helpers/app.ts';

describe('strict request validation', () => {
  let app: FastifyInstance;
  before(async () => {
    ({ app } = await testApp());
  });
  after(() => app.close());

  const create = (payload: unknown) =>
    app.inject({ method: 'POST', url: '/v1/lpars', payload: payload as object });

  for (const [body, detail] of [
    [{ kernel: 4.18 }, 'body.kernel: must be string'],
    [{ kernel: '4.18', seed: '7' }, 'body.seed: must be integer'],
    [{ kernel: '4.18', options: { kasan: 'false' } }, 'body.options.kasan: must be boolean'],
    [{ kernel: '4.18', options: { cores: '4' } }, 'body.options.cores: must be integer'],
  ] as const)
    it(`${JSON.stringify(body)} is a 400, not coerced`, async () => {
      const res = await create(body);
      assert.equal(res.statusCode, 400, res.body);
      assert.equal((res.json() as Problem).detail, detail);
      assert.equal(app.registry.lpars.size, 0);
    });

  it('a wrong enum or union of constants lists the allowed values once', async () => {
    let p = (await create({ kernel: '4.17' })).json() as Problem;
    assert.equal(
      p.detail,
      'body.kernel: must be one of "4.16", "4.18", "5.0", "5.4", "5.8", "5.10", "5.14", "5.16", "6.1", "6.6", "6.12"',
    );
    p = (await create({ kernel: '4.18', profile: 'power8' })).json() as Problem;
    assert.equal(p.detail, 'body.profile: must be one of "power9", "power10"');
  });

  it('a put names its node by path or address, as its schema says (not by phandle)', async () => {
    const id = (await create({ kernel: '4.18' })).json().id;
    const put = (node: object) =>
      app.inject({ method: 'POST', url: `/v1/lpars/${id}/refs/put`, payload: { node, holder: 'x' } });
    const res = await put({ phandle: '0xfffffff7' });
    assert.equal(res.statusCode, 400);
    assert.equal(
      (res.json() as Problem).detail,
      'body.node: must be an object with one of the keys path, address',
    );
    assert.equal((await put({ path: '/cpus' })).statusCode, 200);
    await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}` });
  });

  it('a JSON property of a million u32 cells is a node, not a stack overflow (no spread of client lists)', async () => {
    const id = (await create({ kernel: '4.18' })).json().id;
    const res = await app.inject({
      method: 'POST',
      url: `/v1/lpars/${id}/nodes`,
      payload: { path: '/vdevice/big@1', properties: [{ name: 'cells', u32: new Array(1_000_000).fill(7) }] },
    });
    assert.equal(res.statusCode, 201, res.body.slice(0, 300));
    const node = await app.inject({
      url: `/v1/lpars/${id}/sys/firmware/devicetree/base/vdevice/big@1/cells?stat=true`,
    });
    assert.equal(node.json().size, 4_000_000);
    await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}` });
  });

  it("the querystring's text is read as its types", async () => {
    const id = (await create({ kernel: '4.18' })).json().id;
    const res = await app.inject({ url: `/v1/lpars/${id}/refcounts?limit=2` });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().items.length, 2);
    const bad = await app.inject({ url: `/v1/lpars/${id}/refcounts?limit=two` });
    assert.equal(bad.statusCode, 400);
    await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}` });
  });
});
