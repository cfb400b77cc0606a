// K-SLOT over HTTP: a write of a drc name to /sys/bus/pci/slots/control/add_slot or remove_slot is a
// kernel action as task drmgr, journaled, replayed after a restart and carried by an exported
// history with the same digest; a negative rc is write(2)'s errno as problem+json; the files read as
// rpadlpar's show functions print them; a PCI name and malformed bodies change nothing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { changedParts, lparDigest, lparDigestParts } from '../../src/lpar/digest.ts';
import { createLparId, testApp } from '../helpers/app.ts';
import { assertHistoryDurable, lparPicture } from '../helpers/durability.ts';

const write = (app: FastifyInstance, id: string, file: string, body: string | Buffer, type = 'text/plain') =>
  app.inject({
    method: 'POST',
    url: `/v1/lpars/${id}/sys/bus/pci/slots/control/${file}`,
    headers: { 'content-type': type },
    payload: body,
  });

/** The drc name of a /vdevice adapter: its location code, as /vdevice's ibm,drc-names lists it. */
async function drcName(app: FastifyInstance, id: string, path: string): Promise<string> {
  const doc = (await app.inject({ url: `/v1/lpars/${id}/nodes?path=${path}` })).json() as {
    properties: Array<{ name: string; value?: unknown }>;
  };
  return String(doc.properties.find((p) => p.name === 'ibm,loc-code')?.value);
}

const picture = (app: FastifyInstance, id: string) =>
  lparPicture(app, id, { dmesg: '/dmesg', vio: '/vio', lan: '/nodes?path=/vdevice/l-lan@30000002' });

describe('/sys/bus/pci/slots/control over HTTP (K-SLOT)', () => {
  it('remove_slot and add_slot move the vio device; the refusals are the kernel errnos', async () => {
    const { app } = await testApp();
    try {
      const id = await createLparId(app, { kernel: '4.18' });
      const lan = await drcName(app, id, '/vdevice/l-lan@30000002');
      const file = await app.inject({ url: `/v1/lpars/${id}/sys/bus/pci/slots/control/add_slot` });
      assert.deepEqual([file.statusCode, file.body], [200, '0\n']);
      const stat = (
        await app.inject({ url: `/v1/lpars/${id}/sys/bus/pci/slots/control/remove_slot?stat=true` })
      ).json();
      assert.deepEqual([stat.type, stat.mode], ['file', '0644']);

      const before = lparDigestParts(app.registry.get(id));
      const rm = await write(app, id, 'remove_slot', `${lan}\n`);
      assert.equal(rm.statusCode, 200, rm.body);
      const doc = rm.json();
      assert.deepEqual([doc.file, doc.drcName, doc.rc], ['remove_slot', lan, lan.length + 1]);
      assert.deepEqual(doc.report.unregistered, [
        { device: '30000002', node: '/vdevice/l-lan@30000002', nodeState: 'attached' },
      ]);
      assert.deepEqual(doc.report.dmesg, [`rpadlpar_io: slot ${lan} removed`]);
      assert.ok(changedParts(before, lparDigestParts(app.registry.get(id))).length > 0);
      const vio = (await app.inject({ url: `/v1/lpars/${id}/vio` })).json();
      assert.ok(!JSON.stringify(vio).includes('"30000002"'), 'the device is off the bus');
      assert.equal((await app.inject({ url: `/v1/lpars/${id}/sys/devices/vio/30000002` })).statusCode, 404);

      const again = await write(app, id, 'remove_slot', lan);
      assert.equal(again.statusCode, 422);
      assert.match(String(again.headers['content-type']), /^application\/problem\+json/);
      const p = again.json();
      assert.deepEqual(
        [p.errno, p.errnoValue, p.rc, p.dmesg],
        ['EINVAL', 22, -22, [`rpadlpar_io: slot ${lan} removed`]],
      );
      const add = await write(app, id, 'add_slot', Buffer.from(lan), 'application/octet-stream');
      assert.equal(add.statusCode, 200, add.body);
      assert.deepEqual(
        add.json().report.registered.map((d: { device: string }) => d.device),
        ['30000002'],
      );
      const none = await write(app, id, 'add_slot', 'U0000.000.0000000-V1-C99');
      assert.deepEqual([none.statusCode, none.json().errno, none.json().dmesg], [404, 'ENODEV', []]);

      // Refused before the kernel: an empty write, a JSON body; neither changes the model.
      const digest = lparDigest(app.registry.get(id));
      assert.equal((await write(app, id, 'add_slot', '')).statusCode, 400);
      const asJson = await app.inject({
        method: 'POST',
        url: `/v1/lpars/${id}/sys/bus/pci/slots/control/add_slot`,
        payload: { name: lan },
      });
      assert.equal(asJson.statusCode, 415);
      assert.equal(lparDigest(app.registry.get(id)), digest);
      // A name of 64 bytes or more: the store answers 0 and does nothing.
      const long = await write(app, id, 'remove_slot', 'x'.repeat(64));
      assert.deepEqual([long.statusCode, long.json().rc, long.json().drcName], [200, 0, null]);
      assert.ok(
        JSON.stringify((await app.inject({ url: `/v1/lpars/${id}/vio` })).json()).includes('30000002'),
      );

      // Events: slot.written after vio.unregistered / vio.registered.
      const events = (await app.inject({ url: `/v1/lpars/${id}/events?follow=false` })).body
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => JSON.parse(l.slice(6)) as { type: string; data: Record<string, unknown> });
      const types = events.map((e) => e.type).filter((t) => t === 'slot.written' || t.startsWith('vio.'));
      assert.deepEqual(types.slice(-7), [
        'vio.unregistered',
        'slot.written',
        'slot.written',
        'vio.registered',
        'slot.written',
        'slot.written',
        'slot.written',
      ]);
      const last = events.filter((e) => e.type === 'slot.written').at(-1)!.data;
      assert.deepEqual([last.file, last.drcName, last.rc], ['remove_slot', null, 0]);
    } finally {
      await app.close();
    }
  });

  it('a drc name that names a PHB is 422 before the kernel runs', async () => {
    const { app } = await testApp();
    try {
      const id = await createLparId(app, { kernel: '5.16', options: { pciAdapters: 1 } });
      // The root lists the PHB's connector (index 0x20000000) under "PHB 1", as a real tree would.
      const root = (await app.inject({ url: `/v1/lpars/${id}/nodes?path=/` })).json();
      const set = async (name: string, hex: string) => {
        const v = Buffer.from(hex, 'hex');
        const cmd = Buffer.concat([Buffer.from(`update_property ${root.phandle} ${name} ${v.length} `), v]);
        const res = await app.inject({
          method: 'POST',
          url: `/v1/lpars/${id}/proc/ppc64/ofdt`,
          headers: { 'content-type': 'application/octet-stream' },
          payload: cmd,
        });
        assert.equal(res.statusCode, 200, res.body);
      };
      await set('ibm,drc-indexes', '0000000120000000');
      await set('ibm,drc-names', `00000001${Buffer.from('PHB 1\0').toString('hex')}`);
      await set('ibm,drc-types', `00000001${Buffer.from('PHB\0').toString('hex')}`);
      await set('ibm,drc-power-domains', '00000001ffffffff');
      const digest = lparDigest(app.registry.get(id));
      const res = await write(app, id, 'remove_slot', 'PHB 1');
      assert.equal(res.statusCode, 422);
      assert.match(res.json().detail, /names a PHB/);
      assert.deepEqual([res.json().drcName, res.json().nodeType], ['PHB 1', 'phb']);
      assert.equal(lparDigest(app.registry.get(id)), digest, 'nothing ran');
    } finally {
      await app.close();
    }
  });

  it('survives a restart from the journal and an export/import, with the same digest', async () => {
    let vty = '';
    await assertHistoryDurable({
      history: async (app) => {
        const id = await createLparId(app, { kernel: '5.0', name: 'sl', seed: 4 });
        const lan = await drcName(app, id, '/vdevice/l-lan@30000002');
        vty = await drcName(app, id, '/vdevice/vty@30000000');
        for (const [file, name] of [
          ['remove_slot', lan],
          ['add_slot', lan],
          ['remove_slot', vty],
        ] as const)
          assert.equal((await write(app, id, file, name)).statusCode, 200, `${file} ${name}`);
        return id;
      },
      picture,
      journalPath: '/sys/bus/pci/slots/control/remove_slot',
      afterRestart: async (again, id) => {
        assert.equal((await write(again, id, 'add_slot', vty)).statusCode, 200);
      },
      copyName: 'sl-copy',
    });
  });
});
