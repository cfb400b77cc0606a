// Issue 11, point 3: reset and names. URLs take an id or a name; PUT creates by name idempotently;
// DELETE /v1/lpars?confirm=true removes all; reboot boots the same tree again on the same kernel.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { fingerprint, problemOf, testApp } from '../helpers/app.ts';

let app: FastifyInstance;
before(async () => {
  ({ app } = await testApp());
});
after(() => app.close());

const json = (method: 'POST' | 'PUT' | 'DELETE' | 'GET', url: string, payload?: unknown) =>
  app.inject({ method, url, ...(payload !== undefined ? { payload: payload as object } : {}) });

const dmesgOf = async (lpar: string) => (await json('GET', `/v1/lpars/${lpar}/dmesg`)).json();

async function migrate(lpar: string, destination: string) {
  const res = await json('POST', `/v1/lpars/${lpar}/migrations`, { destination });
  assert.equal(res.statusCode, 201, res.body);
}

describe('reset and names (issue 11)', () => {
  it('every {lpar} in a URL takes the id or the name', async () => {
    const created = await json('POST', '/v1/lpars', { kernel: '5.8', name: 'web' });
    assert.equal(created.statusCode, 201);
    const id = created.json().id as string;
    for (const url of [
      '/v1/lpars/web',
      '/v1/lpars/web/dmesg',
      '/v1/lpars/web/phandle-cache',
      '/v1/lpars/web/refcounts',
    ])
      assert.equal((await json('GET', url)).statusCode, 200, url);
    assert.equal((await json('GET', '/v1/lpars/web')).json().id, id);
    assert.equal((await json('GET', '/v1/lpars/web')).body, (await json('GET', `/v1/lpars/${id}`)).body);
    const missing = await json('GET', '/v1/lpars/nobody');
    assert.equal(missing.statusCode, 404);
    assert.match(problemOf(missing).detail, /no LPAR with id or name "nobody"/);
    assert.equal((await json('DELETE', '/v1/lpars/web')).statusCode, 204);
    assert.equal((await json('GET', `/v1/lpars/${id}`)).statusCode, 404);
  });

  it('a name in the form of an id is refused (it would shadow that LPAR), changing nothing', async () => {
    const list = (await json('GET', '/v1/lpars')).body;
    const res = await json('POST', '/v1/lpars', { kernel: '5.8', name: 'lpar-900' });
    assert.equal(res.statusCode, 400);
    assert.match(problemOf(res).detail, /form of an LPAR id/);
    assert.equal((await json('GET', '/v1/lpars')).body, list);
  });

  it('PUT by name: 201 the first time, 200 for the same body (nothing changes), 409 for another', async () => {
    const body = { kernel: '4.18', seed: 7, options: { cores: 2 } };
    const first = await json('PUT', '/v1/lpars/db', body);
    assert.equal(first.statusCode, 201, first.body);
    const id = first.json().id as string;
    assert.equal(first.headers.location, `/v1/lpars/${id}`);
    await migrate('db', 'p9-beta');
    const state = await fingerprint(app, id);
    // Keys in another order are the same body.
    const again = await json('PUT', '/v1/lpars/db', { options: { cores: 2 }, seed: 7, kernel: '4.18' });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json().id, id);
    assert.equal(await fingerprint(app, id), state, 'an idempotent PUT changes nothing');
    const other = await json('PUT', '/v1/lpars/db', { ...body, seed: 8 });
    assert.equal(other.statusCode, 409);
    assert.match(problemOf(other).detail, /different body/);
    const mismatch = await json('PUT', '/v1/lpars/db', { ...body, name: 'other' });
    assert.equal(mismatch.statusCode, 400);
    assert.equal(await fingerprint(app, id), state);
    assert.equal((await json('DELETE', '/v1/lpars/db')).statusCode, 204);
  });

  it('reboot boots the same tree on the same kernel: the dmesg of a fresh boot, no migrations, same id and name', async () => {
    const created = await json('POST', '/v1/lpars', { kernel: '4.18', name: 'boot-me' });
    const id = created.json().id as string;
    const fresh = await dmesgOf(id);
    await migrate(id, 'p9-beta');
    await migrate(id, 'p9-alpha');
    const leaks = (await json('GET', `/v1/lpars/${id}/leaks`)).json();
    assert.ok(leaks.items.length > 0, '4.18 leaks after two migrations');
    assert.notDeepEqual(await dmesgOf(id), fresh);
    const rebooted = await json('POST', '/v1/lpars/boot-me/reboot');
    assert.equal(rebooted.statusCode, 200, rebooted.body);
    assert.equal(rebooted.json().id, id);
    assert.equal(rebooted.json().name, 'boot-me');
    assert.deepEqual(await dmesgOf(id), fresh);
    assert.deepEqual((await json('GET', `/v1/lpars/${id}/migrations`)).json().items, []);
    assert.deepEqual((await json('GET', `/v1/lpars/${id}/leaks`)).json().items, []);
    assert.equal(
      (await json('GET', '/v1/lpars')).json().items.filter((l: { id: string }) => l.id === id).length,
      1,
    );
    assert.equal((await json('DELETE', `/v1/lpars/${id}`)).statusCode, 204);
  });

  it('reboot of an uploaded tree boots the same blob', async () => {
    const src = (await json('POST', '/v1/lpars', { kernel: '5.8' })).json().id as string;
    const dtb = (await json('GET', `/v1/lpars/${src}/tree.dtb`)).rawPayload;
    const up = await json('POST', '/v1/lpars', {
      kernel: '5.16',
      dtb: dtb.toString('base64'),
      name: 'uploaded',
    });
    assert.equal(up.statusCode, 201, up.body);
    const tree = (await json('GET', '/v1/lpars/uploaded/tree.dts')).body;
    assert.equal((await json('POST', '/v1/lpars/uploaded/reboot')).statusCode, 200);
    assert.equal((await json('GET', '/v1/lpars/uploaded/tree.dts')).body, tree);
    assert.equal((await json('GET', '/v1/lpars/uploaded')).json().kernel, '5.16');
  });

  it('DELETE /v1/lpars needs ?confirm=true; then every LPAR goes and ids are not reused', async () => {
    await json('POST', '/v1/lpars', { kernel: '5.8' });
    const before = (await json('GET', '/v1/lpars')).json().items as Array<{ id: string }>;
    assert.ok(before.length >= 2);
    const refused = await json('DELETE', '/v1/lpars');
    assert.equal(refused.statusCode, 400);
    assert.match(problemOf(refused).detail, /confirm=true/);
    assert.equal((await json('GET', '/v1/lpars')).json().items.length, before.length);
    const done = await json('DELETE', '/v1/lpars?confirm=true');
    assert.equal(done.statusCode, 200);
    assert.deepEqual(done.json(), { deleted: before.length });
    assert.deepEqual((await json('GET', '/v1/lpars')).json().items, []);
    const next = (await json('POST', '/v1/lpars', { kernel: '5.8' })).json().id as string;
    const highest = Math.max(...before.map((l) => Number(l.id.slice(5))));
    assert.ok(Number(next.slice(5)) > highest, `${next} after ${highest}`);
  });
});

describe('the client (issue 11)', () => {
  it('puts by name idempotently, reboots and deletes all', async () => {
    const { app: a, client } = await testApp();
    try {
      const first = await client.putLpar('compose-db', { kernel: '5.8', seed: 3 });
      const again = await client.putLpar('compose-db', { kernel: '5.8', seed: 3 });
      assert.equal(again.id, first.id);
      await assert.rejects(client.putLpar('compose-db', { kernel: '5.16' }), /409|different body/);
      assert.equal((await client.rebootLpar('compose-db')).id, first.id);
      assert.equal(await client.deleteAllLpars(), 1);
      assert.deepEqual((await client.listLpars()).items, []);
    } finally {
      await a.close();
    }
  });
});
