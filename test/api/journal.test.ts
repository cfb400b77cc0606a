// Issue 11, point 1: with LPARSIM_DATA_DIR the service journals every request that changed a model
// (GET kernel actions included) before answering, and a new process replays it into the same LPARs.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Journal } from '../../src/journal/journal.ts';
import { lparDigest } from '../../src/lpar/digest.ts';
import { ofdtWrite, testApp } from '../helpers/app.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'lparsim-journal-'));
  dirs.push(d);
  return d;
}

/** Everything a user can see of each LPAR, and the model's digest. */
async function picture(app: FastifyInstance) {
  const out: Record<string, unknown> = {};
  for (const lpar of app.registry.lpars.values()) {
    const id = lpar.config.id;
    const get = async (url: string) => (await app.inject({ url: `/v1/lpars/${id}${url}` })).body;
    out[id] = {
      digest: lparDigest(lpar),
      doc: await get(''),
      dmesg: await get('/dmesg'),
      migrations: await get('/migrations'),
      cache: await get('/phandle-cache'),
      lastEvent: lpar.events.lastId,
    };
  }
  return out;
}

describe('the journal (issue 11)', () => {
  it('a new process replays the journal into the same LPARs: digests, dmesg, reports, event ids', async () => {
    const dir = dataDir();
    const { app } = await testApp({ LPARSIM_DATA_DIR: dir });
    const id = (
      await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '4.18', name: 'j' } })
    ).json().id as string;
    const gone = (await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '5.16' } })).json()
      .id as string;
    for (const destination of ['p9-beta', 'p9-alpha'])
      assert.equal(
        (await app.inject({ method: 'POST', url: `/v1/lpars/${id}/migrations`, payload: { destination } }))
          .statusCode,
        201,
      );
    assert.equal(
      (await ofdtWrite(app, id, 'add_node /vdevice/j@1 name 2 j\0 reg 4 \0\0\0\x01')).statusCode,
      200,
    );
    assert.equal((await ofdtWrite(app, id, 'remove_node 0xdeadbeef')).statusCode >= 400, true); // a failed write leaves dmesg
    const lpar = app.registry.get(id);
    const phandle = [...lpar.of.nodes.values()].find(
      (n) => n.phandle > 0 && n.fullName.startsWith('vty'),
    )!.phandle;
    const journal = new Journal(dir);
    const beforeLook = journal.count;
    // Looking is not journaled; a phandle lookup (a kernel action) is.
    await app.inject({ url: `/v1/lpars/${id}/refcounts` });
    for (const url of ['/tree.dtb', '/tree.dts', '/sysfs.tar', '/sysfs.tar.gz', '/events?follow=false'])
      assert.equal((await app.inject({ url: `/v1/lpars/${id}${url}` })).statusCode, 200, url);
    assert.equal(journal.count, beforeLook, 'an inspection adds no entry');
    const lookup = await app.inject({ url: `/v1/lpars/${id}/phandles/${phandle}` });
    assert.equal(lookup.statusCode, 200, lookup.body);
    assert.equal(journal.count, beforeLook + 1, 'a GET that ran kernel code is journaled');
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/lpars/${gone}` })).statusCode, 204);
    assert.equal(
      (await app.inject({ method: 'PUT', url: '/v1/lpars/k', payload: { kernel: '5.8' } })).statusCode,
      201,
    );
    const seen = await picture(app);
    await app.close();
    journal.close();

    const { app: again } = await testApp({ LPARSIM_DATA_DIR: dir });
    const replay = await again.journalReplay!();
    assert.deepEqual(replay.diverged, []);
    assert.ok(replay.entries >= 9, `${replay.entries} entries`);
    assert.deepEqual(await picture(again), seen);
    // The next id follows on: the deleted LPAR's id is not given out again.
    const next = (await again.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '5.8' } })).json()
      .id;
    assert.equal(next, 'lpar-4');
    await again.close();
  });

  it('a journal that cannot be written: that request and every later change are 503, looks go on', async () => {
    const { app } = await testApp({ LPARSIM_DATA_DIR: dataDir() });
    try {
      const id = (await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '5.0' } })).json()
        .id;
      assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
      app.journal!.close(); // as a disk that fails: the next append throws
      const write = await ofdtWrite(app, id, 'add_node /vdevice/j@1 name 2 j\0');
      assert.equal(write.statusCode, 503, write.body);
      assert.match(String(write.headers['content-type']), /^application\/problem\+json/);
      assert.match(write.json().detail, /could not be written .*restart it/);
      for (const r of [
        { method: 'POST' as const, url: `/v1/lpars/${id}/migrations`, payload: { destination: 'p9-beta' } },
        { method: 'POST' as const, url: '/v1/lpars', payload: { kernel: '5.0' } },
        { method: 'GET' as const, url: `/v1/lpars/${id}/phandles/0x1` },
      ])
        assert.equal((await app.inject(r)).statusCode, 503, r.url);
      assert.equal((await app.inject({ url: '/readyz' })).statusCode, 503);
      assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
      assert.equal((await app.inject({ url: `/v1/lpars/${id}/tree.dts` })).statusCode, 200, 'a look');
      assert.equal(app.registry.get(id).migrations.length, 0, 'the refused migration did not run');
    } finally {
      await app.close();
    }
  });

  it('without LPARSIM_DATA_DIR there is no journal and nothing to replay', async () => {
    const { app } = await testApp();
    assert.equal(app.journalReplay, undefined);
    await app.close();
  });
});
