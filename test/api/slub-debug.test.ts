// K-UAF-3 over the API: options.slubDebug, a stale driver's put on a freed node, and the SLUB report the
// next node allocation prints in dmesg.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createLparId, dmesgNext, dmesgSince, ofdtWrite, testApp } from '../helpers/app.ts';

let app: FastifyInstance;
before(async () => {
  ({ app } = await testApp());
});
after(() => app.close());

const create = (payload: object) => createLparId(app, payload);

/** 5.16: a node added, removed and its last reference put (freed), then put again by a stale holder. */
async function staleWrite(id: string): Promise<{ address: string; since: number }> {
  assert.equal((await ofdtWrite(app, id, 'add_node /vdevice/uaf@1 name 4 uaf\0')).statusCode, 200);
  const node = (await app.inject({ url: `/v1/lpars/${id}/nodes?path=/vdevice/uaf@1` })).json();
  assert.equal((await ofdtWrite(app, id, 'remove_node /vdevice/uaf@1')).statusCode, 200);
  const put = (holder: string) =>
    app.inject({
      method: 'POST',
      url: `/v1/lpars/${id}/refs/put`,
      payload: { node: { address: node.address }, holder },
    });
  assert.equal((await put('of_node_init')).statusCode, 200);
  assert.equal((await app.inject({ url: `/v1/lpars/${id}/nodes/${node.address}` })).json().state, 'freed');
  const since = await dmesgNext(app, id);
  assert.equal((await put('stale-driver')).statusCode, 200);
  return { address: node.address, since };
}

describe('K-UAF-3: slubDebug over the API', () => {
  it('options.slubDebug is kept, false by default, and is no what-if', async () => {
    const id = await create({ kernel: '5.16', options: { slubDebug: true } });
    const doc = (await app.inject({ url: `/v1/lpars/${id}` })).json();
    assert.equal(doc.options.slubDebug, true);
    assert.ok(!doc.whatIf.some((w: string) => w.includes('slub')), JSON.stringify(doc.whatIf));
    const plain = (await app.inject({ url: `/v1/lpars/${await create({ kernel: '5.16' })}` })).json();
    assert.equal(plain.options.slubDebug, false);
  });

  it('a non-boolean slubDebug is a 400', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/lpars',
      payload: { kernel: '5.16', options: { slubDebug: 'yes' } },
    });
    assert.equal(res.statusCode, 400);
  });

  it('the stale put prints nothing; the next add_node prints the Poison overwritten report in dmesg', async () => {
    const id = await create({ kernel: '5.16', options: { slubDebug: true } });
    const { address, since } = await staleWrite(id);
    assert.deepEqual(await dmesgSince(app, id, since), [], 'the write itself is silent');
    const next = await dmesgNext(app, id);
    assert.equal((await ofdtWrite(app, id, 'add_node /vdevice/new@2 name 4 new\0')).statusCode, 200);
    const d = await dmesgSince(app, id, next);
    assert.ok(d.includes('BUG kmalloc-256 (Not tainted): Poison overwritten'), d.join('\n'));
    assert.ok(d.some((l) => / @offset=\d+\. First byte 0x6a instead of 0x6b$/.test(l)));
    assert.ok(d.some((l) => l.startsWith(`Object 0x${address} @offset=`)));
    assert.ok(d.includes('Disabling lock debugging due to kernel taint'));
    assert.equal(d.at(-1), 'FIX kmalloc-256: Marking all objects used');
    // The allocation succeeded: the new node is there, and the LPAR's invariants hold.
    assert.equal(
      (await app.inject({ url: `/v1/lpars/${id}/nodes?path=/vdevice/new@2` })).json().state,
      'attached',
    );
    assert.equal((await app.inject({ url: `/v1/lpars/${id}/invariants` })).json().ok, true);
  });

  it('without slubDebug the same requests print no SLUB report', async () => {
    const id = await create({ kernel: '5.16' });
    await staleWrite(id);
    const next = await dmesgNext(app, id);
    assert.equal((await ofdtWrite(app, id, 'add_node /vdevice/new@2 name 4 new\0')).statusCode, 200);
    assert.ok(!(await dmesgSince(app, id, next)).some((l) => l.includes('Poison')));
  });

  it('from-dtb takes slubDebug in its query', async () => {
    const id = await create({ kernel: '4.18' });
    const dtb = (await app.inject({ url: `/v1/lpars/${id}/tree.dtb` })).rawPayload;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/lpars/from-dtb?kernel=4.18&slubDebug=true',
      payload: dtb,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().options.slubDebug, true);
  });
});
