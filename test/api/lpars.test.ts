import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { problemOf, testApp } from '../helpers/app.ts';

let app: FastifyInstance;
before(async () => {
  ({ app } = await testApp({ LPARSIM_MAX_LPARS: '3' }));
});
after(() => app.close());

const post = (payload: unknown) =>
  app.inject({ method: 'POST', url: '/v1/lpars', payload: payload as object });

describe('LPAR resource', () => {
  it('creates an LPAR: 201, Location, the contract fields, a request id', async () => {
    const res = await post({ name: 'p9-a', profile: 'power9', kernel: '4.18', seed: 3 });
    assert.equal(res.statusCode, 201);
    const body = res.json();
    assert.equal(res.headers.location, `/v1/lpars/${body.id}`);
    assert.ok(res.headers['x-request-id']);
    assert.deepEqual(
      [body.name, body.profile, body.kernel, body.system, body.phandleScheme, body.seed],
      ['p9-a', 'power9', '4.18', 'p9-alpha', 'phyp', 3],
    );
    assert.equal(body.counts.attached, body.nodes);
    const got = await app.inject({ url: res.headers.location as string });
    assert.equal(got.json().id, body.id);
    const list = await app.inject({ url: '/v1/lpars' });
    assert.ok(list.json().items.some((l: { id: string }) => l.id === body.id));
  });

  it('power10 LPARs start on p10-alpha; a power9 LPAR on a POWER10 system is refused', async () => {
    const res = await post({ profile: 'power10', kernel: '5.16' });
    assert.equal(res.json().system, 'p10-alpha');
    const bad = await post({ profile: 'power9', kernel: '5.16', system: 'p10-alpha' });
    assert.equal(bad.statusCode, 400);
    assert.match(problemOf(bad).detail, /POWER10/);
  });

  it('refuses bad bodies with problem+json 400 naming the field', async () => {
    for (const payload of [
      { kernel: '9.9' },
      { kernel: '5.8', extra: 1 },
      { kernel: '5.8', seed: -1 },
      { kernel: '5.8', options: { cores: 0 } },
      { profile: 'power9' },
      { kernel: '5.8', name: '../x' },
    ]) {
      const res = await post(payload);
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      const p = problemOf(res);
      assert.equal(p.status, 400);
      assert.equal(p.instance, '/v1/lpars');
    }
    const garbage = await app.inject({
      method: 'POST',
      url: '/v1/lpars',
      payload: '{not json',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(garbage.statusCode, 400);
    problemOf(garbage);
  });

  it('unknown LPARs and routes are 404 problems; a name in use is 409; the LPAR limit is 413', async () => {
    const missing = await app.inject({ url: '/v1/lpars/lpar-999' });
    assert.equal(missing.statusCode, 404);
    assert.equal(problemOf(missing).title, 'LPAR not found');
    assert.equal(problemOf(await app.inject({ url: '/v2/nothing' })).status, 404);
    assert.equal((await post({ name: 'p9-a', kernel: '5.8' })).statusCode, 409);
    await post({ kernel: '5.0' });
    const over = await post({ kernel: '5.0' });
    assert.equal(over.statusCode, 413);
    assert.match(problemOf(over).detail, /LPARSIM_MAX_LPARS/);
  });

  it('deletes: 204, then 404', async () => {
    const id = (await app.inject({ url: '/v1/lpars' })).json().items[0].id;
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}` })).statusCode, 204);
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}` })).statusCode, 404);
  });
});

describe('LPARs from an uploaded DTB', () => {
  it('boots the same tree from a tree.dtb export, and refuses a bad blob with 422', async () => {
    const { app: a } = await testApp();
    const src = (
      await a.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '5.8', seed: 9 } })
    ).json();
    const dtb = (await a.inject({ url: `/v1/lpars/${src.id}/tree.dtb` })).rawPayload;
    const res = await a.inject({
      method: 'POST',
      url: '/v1/lpars',
      payload: { kernel: '4.18', dtb: dtb.toString('base64') },
    });
    assert.equal(res.statusCode, 201);
    assert.equal(res.json().profile, 'dtb');
    const dts = async (id: string) => (await a.inject({ url: `/v1/lpars/${id}/tree.dts` })).body;
    assert.equal(await dts(res.json().id), await dts(src.id));
    const bad = await a.inject({
      method: 'POST',
      url: '/v1/lpars',
      payload: {
        kernel: '4.18',
        dtb: Buffer.from('not a dtb at all, not at all.....................').toString('base64'),
      },
    });
    assert.equal(bad.statusCode, 422);
    assert.match(problemOf(bad).detail, /magic/);
    await a.close();
  });

  it('takes a raw DTB body (from-dtb), and a migration of it behaves as the built-in tree does', async () => {
    const { app: a } = await testApp();
    const src = (await a.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '4.18' } })).json();
    const dtb = (await a.inject({ url: `/v1/lpars/${src.id}/tree.dtb` })).rawPayload;
    const res = await a.inject({
      method: 'POST',
      url: '/v1/lpars/from-dtb?kernel=4.18&name=real&kasan=false',
      payload: dtb,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().options.kasan, false);
    const counts = [];
    for (const id of [src.id, res.json().id]) {
      for (const to of ['p9-beta', 'p9-alpha'])
        await a.inject({ method: 'POST', url: `/v1/lpars/${id}/migrations`, payload: { destination: to } });
      counts.push((await a.inject({ url: `/v1/lpars/${id}` })).json().counts);
    }
    assert.deepEqual(counts[1], counts[0]);
    assert.equal(counts[1].sysfsRenames, 1);
    const json = await a.inject({
      method: 'POST',
      url: '/v1/lpars/from-dtb?kernel=4.18',
      payload: { not: 'a blob' },
    });
    assert.equal(json.statusCode, 400);
    assert.match(problemOf(json).detail, /application\/octet-stream/);
    await a.close();
  });
});

describe('health, catalogue, docs', () => {
  it('answers healthz, readyz, metrics, profiles, systems and the docs page', async () => {
    assert.deepEqual((await app.inject({ url: '/healthz' })).json(), { status: 'ok' });
    assert.equal((await app.inject({ url: '/readyz' })).json().status, 'ready');
    assert.match((await app.inject({ url: '/metrics' })).body, /^lparsim_lpars \d+$/m);
    const profiles = (await app.inject({ url: '/v1/profiles' })).json();
    assert.deepEqual(
      profiles.items.map((p: { name: string }) => p.name),
      ['4.16', '4.18', '5.0', '5.4', '5.8', '5.10', '5.14', '5.16', '6.1', '6.6', '6.12'],
    );
    const systems = (await app.inject({ url: '/v1/systems' }))
      .json()
      .items.map((s: { name: string }) => s.name);
    assert.deepEqual(systems, ['p9-alpha', 'p9-beta', 'p10-alpha']);
    const docs = await app.inject({ url: '/docs/' });
    assert.equal(docs.statusCode, 200);
    assert.match(docs.headers['content-type'] as string, /html/);
    assert.equal((await app.inject({ url: '/openapi.json' })).json().openapi, '3.1.0');
  });

  it('adds a managed system (validated, 409 on a duplicate)', async () => {
    const body = { name: 'p9-gamma', processor: 'POWER9', serial: '12345AB', sharedInterruptPool: 7 };
    const res = await app.inject({ method: 'POST', url: '/v1/systems', payload: body });
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers.location, '/v1/systems/p9-gamma');
    assert.equal((await app.inject({ method: 'POST', url: '/v1/systems', payload: body })).statusCode, 409);
    assert.equal(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/systems',
          payload: { ...body, name: 'x', serial: 'nothex!' },
        })
      ).statusCode,
      400,
    );
  });
});
