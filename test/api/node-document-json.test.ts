// The node GET's text (src/lpar/documents.ts nodeDocumentJson, issue 10's node GET speed-up: the
// native JSON.stringify of nodeDocument, without nodeDocJson's shape checks) is what nodeDocJson, and
// so the NodeDoc schema serializer (test/api/nodes.test.ts), writes: on every node of migrated trees
// with odd values, references, unbalanced puts, dead properties and freed nodes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeDocJson } from '../../src/http/schemas/nodes.ts';
import { nodeDocument, nodeDocumentJson } from '../../src/lpar/documents.ts';
import { testApp } from '../helpers/app.ts';

describe('nodeDocumentJson', () => {
  it('is JSON.stringify(nodeDocument), the schema path, for every node of migrated trees', async () => {
    const { app } = await testApp();
    const states = new Set<string>();
    try {
      for (const [kernel, profile] of [
        ['4.18', 'power9'],
        ['5.16', 'power10'],
      ] as const) {
        const id = (
          await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel, profile } })
        ).json().id;
        const at = (url: string) => `/v1/lpars/${id}${url}`;
        const send = (method: 'POST' | 'DELETE', url: string, payload?: object) =>
          app.inject({ method, url: at(url), ...(payload ? { payload } : {}) });
        assert.equal((await send('POST', '/migrations', { destination: 'p9-beta' })).statusCode, 201);
        assert.equal((await send('POST', '/migrations', { destination: 'p9-alpha' })).statusCode, 201);
        const hexes = [
          '',
          '00',
          '6100',
          '2268692200',
          '5c00',
          '61220062005c00',
          'c3a97400',
          '0000000100000002',
        ];
        const added = await send('POST', '/nodes', {
          path: '/vdevice/odd@1',
          properties: hexes.map((hex, i) => ({ name: `p${i}`, hex })),
        });
        assert.equal(added.statusCode, 201, added.body);
        await send('POST', '/refs', { node: { path: '/vdevice/odd@1' }, holder: 'z-holder' });
        await send('POST', '/refs', { node: { path: '/vdevice/odd@1' }, holder: 'a "quoted" holder' });
        await send('POST', '/refs/put', { node: { path: '/vdevice/vty@30000000' }, holder: 'stranger' });
        const phandle = (await app.inject({ url: at('/nodes?path=/vdevice/odd@1') })).json().phandle;
        await app.inject({
          method: 'POST',
          url: at('/proc/ppc64/ofdt'),
          headers: { 'content-type': 'application/octet-stream' },
          payload: Buffer.from(`update_property ${phandle} p1 3 zz\0`, 'latin1'),
        });
        const lpar = app.registry.get(id);
        for (const np of lpar.of.nodes.values()) {
          const doc = nodeDocument(lpar, np);
          states.add(doc.state);
          const text = nodeDocumentJson(lpar, np);
          assert.equal(text, JSON.stringify(doc), np.address);
          assert.equal(text, nodeDocJson(doc), np.address);
        }
      }
      assert.deepEqual([...states].sort(), ['attached', 'detached', 'freed', 'orphaned', 'released']);
    } finally {
      await app.close();
    }
  });
});
