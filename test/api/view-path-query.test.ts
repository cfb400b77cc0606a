// A /sys or /proc/device-tree path can be sent as ?path= on the root (issue 12, point 11): OpenAPI
// cannot describe a multi-segment path parameter, a query parameter it can. Both forms are the same.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { testApp } from '../helpers/app.ts';

describe('?path= on the view roots', () => {
  let app: FastifyInstance;
  before(async () => {
    ({ app } = await testApp());
    await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '4.18', name: 'v' } });
  });
  after(() => app.close());

  for (const [urlForm, queryForm] of [
    ['/v1/lpars/v/sys/firmware/devicetree/base/cpus', '/v1/lpars/v/sys?path=firmware/devicetree/base/cpus'],
    [
      '/v1/lpars/v/sys/firmware/devicetree/base/cpus?limit=2',
      '/v1/lpars/v/sys?path=firmware%2Fdevicetree%2Fbase%2Fcpus&limit=2',
    ],
    [
      '/v1/lpars/v/proc/device-tree/cpus/%23address-cells',
      '/v1/lpars/v/proc/device-tree?path=cpus/%23address-cells',
    ],
    ['/v1/lpars/v/sys/devices/vio?stat=true', '/v1/lpars/v/sys?path=devices/vio&stat=true'],
  ])
    it(`${queryForm} answers as ${urlForm}`, async () => {
      const [a, b] = await Promise.all([app.inject({ url: urlForm }), app.inject({ url: queryForm })]);
      assert.equal(a.statusCode, 200, a.body);
      assert.equal(b.statusCode, a.statusCode);
      assert.equal(b.headers['content-type'], a.headers['content-type']);
      assert.equal(b.body, a.body);
    });

  it('a path that is not there is the same 404 both ways', async () => {
    const a = await app.inject({ url: '/v1/lpars/v/sys/no/such' });
    const b = await app.inject({ url: '/v1/lpars/v/sys?path=no/such' });
    assert.equal(a.statusCode, 404);
    assert.equal(b.statusCode, 404);
    assert.equal(b.json().detail, a.json().detail);
  });
});
