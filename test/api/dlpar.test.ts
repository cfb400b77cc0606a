// K-DLPAR-4 over HTTP: a write to /sys/kernel/dlpar is a kernel action as task drmgr, so it is
// journaled, replayed after a restart and carried by an exported history, with the same model
// digest; a negative rc is what write(2) answers drmgr, as problem+json with the kernel's lines.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { changedParts, lparDigestParts } from '../../src/lpar/digest.ts';
import { createLparId, testApp } from '../helpers/app.ts';
import { assertHistoryDurable, assertRestartReplays, lparPicture } from '../helpers/durability.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const write = (app: FastifyInstance, id: string, command: string, type = 'text/plain') =>
  app.inject({
    method: 'POST',
    url: `/v1/lpars/${id}/sys/kernel/dlpar`,
    headers: { 'content-type': type },
    payload: command,
  });

/** A 5.16 LPAR with 2 spare cores and 1 GiB spare memory: a core and an LMB added, the core removed. */
async function dlparHistory(app: FastifyInstance): Promise<string> {
  const id = await createLparId(app, {
    kernel: '5.16',
    name: 'dl',
    seed: 5,
    options: { cores: 2, spareCores: 2, spareMemoryGiB: 1 },
  });
  for (const command of ['cpu add index 0x10000002', 'memory add count 1', 'cpu remove index 0x10000002']) {
    const res = await write(app, id, command);
    assert.equal(res.statusCode, 200, `${command}: ${res.body}`);
  }
  return id;
}

const picture = (app: FastifyInstance, id: string) =>
  lparPicture(app, id, {
    dmesg: '/dmesg',
    cpus: '/nodes?path=/cpus',
    memory: '/nodes?path=/ibm,dynamic-reconfiguration-memory',
  });

describe('/sys/kernel/dlpar over HTTP (K-DLPAR-4)', () => {
  it('adds a core with its connector calls, reads the file, and answers errnos as problems', async () => {
    const { app } = await testApp();
    try {
      const id = await createLparId(app, { kernel: '6.1', options: { cores: 2, spareCores: 1 } });
      const before = lparDigestParts(app.registry.get(id));
      const res = await write(app, id, 'cpu add index 0x10000002');
      assert.equal(res.statusCode, 200, res.body);
      const doc = res.json();
      assert.deepEqual(
        [doc.rc, doc.request, doc.report.dmesg],
        [24, { resource: 'cpu', action: 'add', idType: 'index', index: 0x10000002 }, []],
      );
      assert.deepEqual(doc.report.firmwareCalls.map((c: { call: string }) => c.call).slice(0, 4), [
        'get-sensor-state',
        'set-indicator',
        'set-indicator',
        'ibm,configure-connector',
      ]);
      // 6.1 attaches the core and its l2 and l3 by changeset.
      assert.equal(doc.report.countsDelta.attached, 3);
      assert.ok(changedParts(before, lparDigestParts(app.registry.get(id))).includes('dlpar'));

      const file = await app.inject({ url: `/v1/lpars/${id}/sys/kernel/dlpar` });
      assert.deepEqual([file.statusCode, file.body], [200, 'memory,cpu\n']);
      const stat = (await app.inject({ url: `/v1/lpars/${id}/sys/kernel/dlpar?stat=true` })).json();
      assert.deepEqual([stat.type, stat.mode], ['file', '0644']);

      const again = await write(app, id, 'cpu add index 0x10000002');
      assert.equal(again.statusCode, 422);
      assert.match(String(again.headers['content-type']), /^application\/problem\+json/);
      const p = again.json();
      assert.deepEqual(
        [p.errno, p.errnoValue, p.rc, p.dmesg],
        [
          'EINVAL',
          22,
          -22,
          [
            'pseries-hotplug-cpu: CPU with drc index 10000002 already exists',
            'dlpar: Could not handle DLPAR request "cpu add index 0x10000002"',
          ],
        ],
      );
      const gone = await write(app, id, 'cpu remove index 0x10000099');
      assert.deepEqual([gone.statusCode, gone.json().errno], [404, 'ENODEV']);
      const rma = await write(app, id, 'memory remove index 0x80000000');
      assert.deepEqual([rma.statusCode, rma.json().errno], [409, 'EBUSY']);
      assert.equal((await write(app, id, '')).statusCode, 400);
      const asJson = await app.inject({
        method: 'POST',
        url: `/v1/lpars/${id}/sys/kernel/dlpar`,
        payload: { command: 'cpu add count 1' },
      });
      assert.equal(asJson.statusCode, 415);
      // 6.12's dlpar_show names the dt resource too.
      const late = await createLparId(app, { kernel: '6.12' });
      assert.equal((await app.inject({ url: `/v1/lpars/${late}/sys/kernel/dlpar` })).body, 'memory,cpu,dt\n');
    } finally {
      await app.close();
    }
  });

  it("6.12's dt resource prunes an adapter's node; the releases before refuse I/O resources", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lparsim-dlpar-dt-'));
    dirs.push(dir);
    const { app } = await testApp({ LPARSIM_DATA_DIR: dir });
    try {
      const create = (kernel: string) =>
        app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel, seed: 3 } });
      const old = (await create('6.6')).json().id as string;
      const phb = await write(app, old, 'phb add index 0x20000000');
      assert.equal(phb.statusCode, 422);
      assert.deepEqual(
        [phb.json().errno, phb.json().dmesg],
        [
          'EINVAL',
          [
            'dlpar: Invalid resource specified.',
            'dlpar: Could not handle DLPAR request "phb add index 0x20000000"',
          ],
        ],
      );

      const id = (await create('6.12')).json().id as string;
      const rm = await write(app, id, 'dt remove index 0x30000002');
      assert.equal(rm.statusCode, 200, rm.body);
      const doc = rm.json();
      assert.deepEqual(doc.request, { resource: 'dt', action: 'remove', idType: 'index', index: 0x30000002 });
      assert.deepEqual(doc.report.firmwareCalls, []);
      // The vio device of l-lan@30000002 still holds the node: detached and leaked (K-DRV-4).
      assert.ok(
        doc.report.leakedNodes.some(
          (l: { lastKnownPath: string }) => l.lastKnownPath === '/vdevice/l-lan@30000002',
        ),
        JSON.stringify(doc.report.leakedNodes),
      );
      // The built-in tree has no ibm,drc-info: no parent for the connector, -EIO.
      const add = await write(app, id, 'dt add index 0x30000002');
      assert.deepEqual([add.statusCode, add.json().errno], [422, 'EIO']);
      const seen = await picture(app, id);
      await app.close();
      await assertRestartReplays(dir, id, seen, picture, async () => {});
    } finally {
      await app.close();
    }
  });

  it('survives a restart from the journal and an export/import, with the same digest', async () => {
    await assertHistoryDurable({
      history: dlparHistory,
      picture,
      journalPath: '/sys/kernel/dlpar',
      // The replayed connectors: the core's, released before the restart, is free again.
      afterRestart: async (again, id) => {
        assert.equal((await write(again, id, 'cpu add index 0x10000002')).statusCode, 200);
      },
      copyName: 'dl-copy',
    });
  });
});
