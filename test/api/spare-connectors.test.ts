// Create options for DLPAR (issue 14 point 2): spareCores and spareMemoryGiB give the partition
// connectors it may later fill; without them the tree is the one it always was.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testApp } from '../helpers/app.ts';

interface Prop {
  name: string;
  u32?: number[];
  hex?: string;
}

describe('spare connectors at create', () => {
  it('list every core in /cpus and the maximum in /rtas, and are kept in the LPAR document', async () => {
    const { app } = await testApp();
    const create = (options: Record<string, number>) =>
      app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '5.16', options } });
    const props = async (id: string, path: string) =>
      (await app.inject({ url: `/v1/lpars/${id}/nodes?path=${path}` })).json().properties as Prop[];

    const plain = (await create({ cores: 4 })).json();
    assert.equal(plain.options.spareCores, 0);
    assert.ok(!(await props(plain.id, '/cpus')).some((p) => p.name === 'ibm,drc-indexes'));
    assert.ok(!(await props(plain.id, '/rtas')).some((p) => p.name === 'ibm,lrdr-capacity'));

    const res = await create({ cores: 4, spareCores: 2, spareMemoryGiB: 1 });
    assert.equal(res.statusCode, 201, res.body);
    const spare = res.json();
    assert.deepEqual([spare.options.spareCores, spare.options.spareMemoryGiB], [2, 1]);
    assert.equal(spare.counts.nodes, plain.counts.nodes, 'a spare core has no node until it is added');
    const drcs = (await props(spare.id, '/cpus')).find((p) => p.name === 'ibm,drc-indexes');
    assert.ok(drcs, 'ibm,drc-indexes in /cpus');
    assert.ok((await props(spare.id, '/rtas')).some((p) => p.name === 'ibm,lrdr-capacity'));
    // The memory: 32 GiB assigned plus 1 GiB unassigned, as 256 MiB LMBs in ibm,dynamic-memory.
    const before = (await props(plain.id, '/ibm,dynamic-reconfiguration-memory')).find(
      (p) => p.name === 'ibm,dynamic-memory',
    );
    const after = (await props(spare.id, '/ibm,dynamic-reconfiguration-memory')).find(
      (p) => p.name === 'ibm,dynamic-memory',
    );
    assert.ok(before?.hex && after?.hex);
    assert.equal((after.hex.length - before.hex.length) / 2, 4 * 24, 'four more 24-byte LMB entries');
    await app.close();
  });

  it('refuses a negative count with a 400 naming the option', async () => {
    const { app } = await testApp();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/lpars',
      payload: { kernel: '5.16', options: { spareCores: -1 } },
    });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().detail, /spareCores/);
    await app.close();
  });
});
