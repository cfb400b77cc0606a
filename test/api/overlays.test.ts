// Overlays over HTTP (issue 14 point 4): a labelled overlay on an LPAR booted from a dtc-compiled tree
// with __symbols__, the kernel's errnos as problems, and, as kernel actions, a restart from the
// journal and an export/import that bring the overlays back with the same digest.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { lparDigest, lparDigestParts } from '../../src/lpar/digest.ts';
import { testApp } from '../helpers/app.ts';
import { assertHistoryDurable, lparPicture } from '../helpers/durability.ts';
import { overlayBlob } from '../helpers/overlays.ts';

let shared: FastifyInstance;
before(async () => {
  shared = (await testApp()).app;
});
after(async () => {
  await shared.close();
});

const octets = { 'content-type': 'application/octet-stream' };

async function boot(app: FastifyInstance, kernel: string, name: string): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: `/v1/lpars/from-dtb?kernel=${kernel}&name=${name}`,
    headers: octets,
    payload: overlayBlob('base'),
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().id;
}

const apply = (app: FastifyInstance, id: string, name: string) =>
  app.inject({
    method: 'POST',
    url: `/v1/lpars/${id}/overlays`,
    headers: octets,
    payload: overlayBlob(name),
  });

/** A labelled device overlay and one on top of it; the top one removed again. */
async function overlayHistory(app: FastifyInstance, kernel: string): Promise<string> {
  const id = await boot(app, kernel, 'ov');
  assert.equal((await apply(app, id, 'add-device')).statusCode, 201);
  assert.equal((await apply(app, id, 'on-top')).statusCode, 201);
  const rm = await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}/overlays/2` });
  assert.equal(rm.statusCode, 200, rm.body);
  assert.equal((await apply(app, id, 'on-top')).statusCode, 201);
  return id;
}

const picture = (app: FastifyInstance, id: string) =>
  lparPicture(app, id, {
    dmesg: '/dmesg',
    overlays: '/overlays',
    sensor: '/nodes?path=/bus@1000/sensor@10',
    cache: '/phandle-cache',
  });

describe('overlays over HTTP', () => {
  it('5.0 applies a labelled overlay: 201, Location, the changeset, the refilled cache', async () => {
    const app = shared;
    {
      const id = await boot(app, '5.0', 'five');
      const res = await apply(app, id, 'add-device');
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.headers.location, `/v1/lpars/${id}/overlays/1`);
      const o = res.json();
      assert.deepEqual(
        o.fragments.map((f: { target: { path: string }; symbols: boolean }) => [f.target.path, f.symbols]),
        [
          ['/bus@1000', false],
          ['/bus@1000/leds', false],
          ['/__symbols__', true],
        ],
      );
      assert.deepEqual(
        o.newNodes.map((n: { path: string; state: string }) => [n.path, n.state]),
        [
          ['/bus@1000/sensor@10', 'attached'],
          ['/bus@1000/sensor@10/channel@0', 'attached'],
        ],
      );
      assert.ok(
        o.entries.some(
          (e: { action: string; property: string }) =>
            e.action === 'UPDATE_PROPERTY' && e.property === 'status',
        ),
      );
      // 5.0's overlay code refills the whole cache after the apply: the sensor (the new node with a
      // phandle) is in it at once.
      assert.deepEqual(o.phandleCache, { model: 'pow2-refs', handling: 'rebuild' });
      assert.deepEqual([o.report.cacheRebuilds, o.report.newNodesCached], [1, 1]);
      assert.ok(
        o.report.dmesg.includes(
          'OF: overlay: WARNING: memory leak will occur if overlay removed, property: /bus@1000/leds/status',
        ),
      );
      const one = await app.inject({ url: `/v1/lpars/${id}/overlays/1` });
      assert.equal(one.statusCode, 200);
      const { report: _, ...doc } = o;
      assert.deepEqual(one.json(), doc);
      // Inspection: the GETs leave the model as it was.
      const before = lparDigest(app.registry.get(id));
      await app.inject({ url: `/v1/lpars/${id}/overlays` });
      await app.inject({ url: `/v1/lpars/${id}/overlays/1` });
      assert.equal(lparDigest(app.registry.get(id)), before);
    }
  });

  it('answers the kernel errnos with their lines, and refuses what is not a blob', async () => {
    const app = shared;
    {
      const id = await boot(app, '6.12', 'six');
      const bad = await apply(app, id, 'bad-path');
      assert.equal(bad.statusCode, 422);
      assert.match(String(bad.headers['content-type']), /^application\/problem\+json/);
      assert.deepEqual(
        [bad.json().errno, bad.json().rc, bad.json().dmesg],
        [
          'EINVAL',
          -22,
          [
            "OF: overlay: find target, node: /fragment@0, path '/no/such/node' not found",
            'OF: overlay: init_overlay_changeset() failed, ret = -22',
          ],
        ],
      );
      // The kernel's lines stay in dmesg.
      assert.match(
        (await app.inject({ url: `/v1/lpars/${id}/dmesg` })).body,
        /init_overlay_changeset\(\) failed/,
      );
      const garbage = await app.inject({
        method: 'POST',
        url: `/v1/lpars/${id}/overlays`,
        headers: octets,
        payload: Buffer.from('not a device tree blob at all, longer than a header'),
      });
      assert.deepEqual(
        [garbage.statusCode, garbage.json().dmesg],
        [422, ['OF: overlay: Invalid overlay_fdt header']],
      );
      const asJson = await app.inject({ method: 'POST', url: `/v1/lpars/${id}/overlays`, payload: { a: 1 } });
      assert.equal(asJson.statusCode, 415);
      assert.equal((await apply(app, id, 'add-device')).statusCode, 201);
      assert.equal((await apply(app, id, 'on-top')).statusCode, 201);
      const busy = await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}/overlays/1` });
      assert.deepEqual([busy.statusCode, busy.json().errno], [409, 'EBUSY']);
      assert.deepEqual(busy.json().dmesg, [
        'OF: overlay: node_overlaps_later_cs: #1 overlaps with #2 @/bus@1000/sensor@10',
        'OF: overlay: overlay #1 is not topmost',
      ]);
      const gone = await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}/overlays/7` });
      assert.deepEqual([gone.statusCode, gone.json().errno], [404, 'ENODEV']);
      assert.equal((await app.inject({ url: `/v1/lpars/${id}/overlays/7` })).statusCode, 404);
    }
  });

  it('an overlay with more nodes than the LPAR may still attach is a 413 before the kernel runs', async () => {
    const app = shared;
    const limits = app.registry.limits as { maxNodesPerLpar: number };
    const max = limits.maxNodesPerLpar;
    try {
      const id = await boot(app, '5.16', 'small');
      // The base tree's 5 nodes leave 11 of 16; the labelled overlay's blob has 14.
      limits.maxNodesPerLpar = 16;
      const lines = app.registry.get(id).k.log.last;
      const res = await apply(app, id, 'add-device');
      assert.equal(res.statusCode, 413, res.body);
      assert.match(res.json().detail, /LPARSIM_MAX_NODES_PER_LPAR/);
      assert.equal(app.registry.get(id).k.log.last, lines, 'the kernel printed nothing');
    } finally {
      limits.maxNodesPerLpar = max;
    }
  });

  it('the digest covers the applied overlays', async () => {
    const app = shared;
    {
      const id = await boot(app, '5.8', 'dig');
      const part = () => lparDigestParts(app.registry.get(id))['of.overlays'];
      const none = part();
      assert.ok(none);
      assert.equal((await apply(app, id, 'add-device')).statusCode, 201);
      assert.notEqual(part(), none);
      assert.equal(
        (await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}/overlays/1` })).statusCode,
        200,
      );
      assert.equal(part(), none, 'no overlay applied: the list digests as it did');
    }
  });

  it('survives a restart from the journal and an export/import, with the same digest', async () => {
    await assertHistoryDurable({
      history: (app) => overlayHistory(app, '4.18'),
      picture,
      journalPath: '/overlays',
      // The replayed overlays are the kernel's: the topmost can go, and the ids continue.
      afterRestart: async (again, id) => {
        assert.equal(
          (await again.inject({ method: 'DELETE', url: `/v1/lpars/${id}/overlays/2` })).statusCode,
          200,
        );
        assert.equal((await apply(again, id, 'on-top')).json().id, 2);
      },
      copyName: 'ov-copy',
    });
  });
});
