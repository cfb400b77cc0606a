// The node document written straight from the node (src/lpar/documents.ts nodeDocumentJson, issue 10's
// node GET speed-up) is the text JSON.stringify writes for nodeDocument, so the one nodeDocJson and
// the NodeDoc schema serializer write (test/api/nodes.test.ts): on every node of migrated trees with
// odd values, references, unbalanced puts, dead properties and freed nodes; and a value's members
// (valueMembersJson) are those of decodeValue, toHex and u64Cells for any bytes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeDocJson } from '../../src/http/schemas/nodes.ts';
import { nodeDocument, nodeDocumentJson } from '../../src/lpar/documents.ts';
import { decodeValue, toHex, u64Cells, valueMembersJson } from '../../src/of/property.ts';
import { testApp } from '../helpers/app.ts';

/** What propertyDocument's members after `length` are, as JSON.stringify writes them. */
function expectedMembers(value: Uint8Array): string {
  const d = decodeValue(value);
  const u64 = d.kind === 'u32' ? u64Cells(value) : null;
  const doc = {
    hex: toHex(value),
    type: d.kind,
    ...('value' in d ? { value: d.value } : {}),
    ...(u64 ? { u64 } : {}),
  };
  return JSON.stringify(doc).slice(1, -1);
}

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe('valueMembersJson', () => {
  it('writes what the decoded value gives, for odd and random values', () => {
    const odd = [
      '',
      '\0',
      'a\0',
      'a\0b\0',
      '\0\0',
      'a\0\0',
      '\0a\0',
      'say "hi"\0',
      'back\\slash\0',
      'q"\0r\\\0',
      '~ \0',
      '\x7f\0',
      '\x1f\0',
      '\xc3\xa9t\0',
      'abcd',
      'abcdefgh',
      'abcdefg\0',
      '\0\0\0\x01\0\0\0\x02',
      '\xff\xff\xff\xff\0\0\0\x01',
      'ab'.repeat(40),
      `${'x'.repeat(100)}\0${'y'.repeat(20)}\0`,
    ].map(bytes);
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 16;
    };
    const alphabet = [0, 0x20, 0x22, 0x41, 0x5c, 0x7e, 0x7f, 0x80, 0xff, 0x0a];
    for (let n = 0; n < 2000; n++) {
      const v = new Uint8Array(random() % 24);
      for (let i = 0; i < v.length; i++)
        v[i] = random() % 2 ? alphabet[random() % alphabet.length]! : random();
      if (random() % 2 && v.length > 0) v[v.length - 1] = 0;
      odd.push(v);
    }
    for (const v of odd) assert.equal(valueMembersJson(v), expectedMembers(v), `[${[...v].join(',')}]`);
  });
});

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
