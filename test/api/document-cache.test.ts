// The node document cache (lpar/document-cache.ts) never answers a document the model no longer has:
// after each kind of kernel action, the node GET is the document built afresh from the model.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeDocument } from '../../src/lpar/documents.ts';
import { testApp } from '../helpers/app.ts';

const RNG = '/ibm,platform-facilities/ibm,random-v1';

describe('node documents between kernel actions', () => {
  it('are what the model holds now, after every kind of change', async () => {
    const { app } = await testApp();
    try {
      const id = (await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '4.18' } })).json()
        .id;
      const url = (path: string) => `/v1/lpars/${id}/nodes?path=${encodeURIComponent(path)}`;
      // By address: a migration detaches the platform-facilities nodes, and the old one is still asked for.
      const watched = await Promise.all(
        [RNG, '/vdevice', '/'].map(async (path) => (await app.inject({ url: url(path) })).json().address),
      );
      const fresh = (address: string) => {
        const lpar = app.registry.get(id);
        return JSON.parse(JSON.stringify(nodeDocument(lpar, lpar.nodeByAddress(address))));
      };
      const check = async (what: string) => {
        for (const address of watched) {
          const byAddress = `/v1/lpars/${id}/nodes/${address}`;
          const twice = [await app.inject({ url: byAddress }), await app.inject({ url: byAddress })];
          for (const res of twice) assert.deepEqual(res.json(), fresh(address), `${address} after ${what}`);
        }
      };
      const send = async (method: 'POST' | 'PUT' | 'DELETE', path: string, payload?: unknown) => {
        const res = await app.inject({ method, url: `/v1/lpars/${id}${path}`, payload: payload as object });
        assert.ok(res.statusCode < 300, `${method} ${path}: ${res.statusCode} ${res.body}`);
        return res.json();
      };
      await check('boot');
      const ref = await send('POST', '/refs', { node: { path: RNG }, holder: 'cache-test' });
      await check('of_node_get');
      await send('DELETE', `/refs/${ref.id}`);
      await check('of_node_put');
      const vty = (await app.inject({ url: url('/vdevice/vty@30000000') })).json().phandle;
      await send('POST', '/properties', { phandle: vty, property: { name: 'cache-test', u32: [1] } });
      await check('a property added');
      await app.inject({
        method: 'POST',
        url: `/v1/lpars/${id}/proc/ppc64/ofdt`,
        headers: { 'content-type': 'application/octet-stream' },
        payload: 'add_node /vdevice/cache-test@1',
      });
      await check('an ofdt add_node');
      await send('POST', '/migrations', { destination: 'p9-beta' });
      await check('a migration');
      await send('POST', '/phandle-cache/rebuild');
      await check('a cache rebuild');
    } finally {
      await app.close();
    }
  });
});
