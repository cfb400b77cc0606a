// Issue 11, point 2: GET /v1/lpars/{lpar}/journal exports how an LPAR came to be, POST
// /v1/lpars/import rebuilds it in another process: the same model (digest), dmesg, reports and
// events; a file from another version, a cut or edited file, or one whose replay diverges is a 422
// that changes nothing.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { lparDigest } from '../../src/lpar/digest.ts';
import { ofdtWrite, type Problem, testApp } from '../helpers/app.ts';

const NDJSON = { 'content-type': 'application/x-ndjson' };
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** What a user sees of one LPAR, with its own id written as `$id` (an import has another). */
async function picture(app: FastifyInstance, idOrName: string) {
  const id = app.registry.get(idOrName).config.id;
  const get = async (url: string) =>
    (await app.inject({ url: `/v1/lpars/${id}${url}` })).body.replaceAll(id, '$id');
  const doc = JSON.parse(await get(''));
  delete doc.id;
  return {
    doc,
    dmesg: await get('/dmesg'),
    migrations: await get('/migrations'),
    cache: await get('/phandle-cache'),
    refcounts: await get('/refcounts'),
    events: await get('/events?follow=false'),
  };
}

const lines = (body: string) =>
  body
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const unlines = (ls: readonly unknown[]) => `${ls.map((l) => JSON.stringify(l)).join('\n')}\n`;

async function importFile(app: FastifyInstance, body: string, query = '') {
  return app.inject({ method: 'POST', url: `/v1/lpars/import${query}`, headers: NDJSON, payload: body });
}

describe('portable histories (issue 11, point 2)', () => {
  let a: FastifyInstance;
  let exported: string;
  let sourceId: string;

  before(async () => {
    a = (await testApp()).app;
    // Another LPAR's requests are in its own history, not this one's.
    const other = (await a.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '5.16' } })).json()
      .id;
    sourceId = (
      await a.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '4.18', name: 'bug', seed: 7 } })
    ).json().id;
    for (const destination of ['p9-beta', 'p9-alpha'])
      assert.equal(
        (await a.inject({ method: 'POST', url: `/v1/lpars/bug/migrations`, payload: { destination } }))
          .statusCode,
        201,
      );
    await a.inject({
      method: 'POST',
      url: `/v1/lpars/${other}/migrations`,
      payload: { destination: 'p9-beta' },
    });
    assert.equal(
      (await ofdtWrite(a, 'bug', 'add_node /vdevice/j@1 name 2 j\0 reg 4 \0\0\0\x01')).statusCode,
      200,
    );
    assert.ok((await ofdtWrite(a, 'bug', 'remove_node 0xdeadbeef')).statusCode >= 400); // recorded too
    const lpar = a.registry.get('bug');
    const phandle = [...lpar.of.nodes.values()].find(
      (n) => n.phandle > 0 && n.fullName.startsWith('vty'),
    )!.phandle;
    assert.equal((await a.inject({ url: `/v1/lpars/bug/phandles/${phandle}` })).statusCode, 200);
    await a.inject({ url: '/v1/lpars/bug/refcounts' }); // a look: not in the history
    const res = await a.inject({ url: '/v1/lpars/bug/journal' });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /^application\/x-ndjson/);
    assert.equal(res.headers['content-disposition'], `attachment; filename="${sourceId}.journal.jsonl"`);
    exported = res.body;
  });
  after(() => a.close());

  it('exports the creation and every request that changed the LPAR, in order, each with a digest', () => {
    const ls = lines(exported);
    const header = ls[0]!;
    assert.equal(header.format, 'lparsim-journal/1');
    assert.equal(header.lpar, sourceId);
    assert.deepEqual(header.create, { profile: 'power9', kernel: '4.18', seed: 7 });
    assert.deepEqual(
      ls.slice(1, -1).map((l) => `${l.seq} ${l.method} ${l.path} ${l.status}`),
      [
        '1 POST /migrations 201',
        '2 POST /migrations 201',
        '3 POST /proc/ppc64/ofdt 200',
        `4 POST /proc/ppc64/ofdt ${ls[4]!.status}`,
        `5 GET ${ls[5]!.path} 200`,
      ],
    );
    assert.match(String(ls[5]!.path), /^\/phandles\//);
    assert.deepEqual(ls[1]!.body, { destination: 'p9-beta' }, 'a JSON body is kept as JSON');
    assert.equal(typeof ls[3]!.body64, 'string', 'a raw body as base64');
    assert.equal((ls[1]!.tape as number[]).length > 0, true, 'a migration reads the clock');
    const trailer = ls.at(-1)!;
    assert.deepEqual(Object.keys(trailer), ['end', 'entries', 'digest']);
    assert.equal(trailer.entries, 5);
    // Each line's digest is the state after it: all differ but the failed write's (it changed
    // dmesg, so it differs too), and the last is the live LPAR's, which was never replayed.
    const digests = ls.slice(0, -1).map((l) => l.digest);
    assert.equal(new Set(digests).size, digests.length);
    assert.equal(trailer.digest, lparDigest(a.registry.get('bug')));
  });

  it('an import in a fresh process rebuilds the same LPAR: digest, dmesg, reports, refcounts, events', async () => {
    const { app: b } = await testApp();
    try {
      await b.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '5.8' } }); // ids differ
      const res = await importFile(b, exported);
      assert.equal(res.statusCode, 201, res.body);
      const id = res.json().id as string;
      assert.equal(res.headers.location, `/v1/lpars/${id}`);
      assert.equal(res.json().name, 'bug');
      assert.equal(res.headers['x-lparsim-digest'], lines(exported).at(-1)!.digest);
      assert.deepEqual(await picture(b, id), await picture(a, 'bug'));
      // The imported LPAR's own history exports the same file, but for the id it was exported from.
      const again = lines((await b.inject({ url: `/v1/lpars/${id}/journal` })).body);
      const first = lines(exported);
      assert.equal(again[0]!.lpar, id);
      assert.deepEqual(again.slice(1), first.slice(1));
      assert.deepEqual({ ...again[0], lpar: sourceId }, first[0]);
      // And it goes on as any LPAR does: the same migration gives the same report on both.
      const migrate = async (app: FastifyInstance, lpar: string) =>
        (
          await app.inject({
            method: 'POST',
            url: `/v1/lpars/${lpar}/migrations`,
            payload: { destination: 'p9-beta' },
          })
        ).statusCode;
      assert.equal(await migrate(b, id), 201);
      assert.equal(await migrate(a, 'bug'), 201);
      assert.deepEqual((await picture(b, id)).dmesg, (await picture(a, 'bug')).dmesg);
    } finally {
      await b.close();
    }
  });

  it('imports under another name with ?name=, and refuses a taken name with 409', async () => {
    const { app: b } = await testApp();
    try {
      assert.equal((await importFile(b, exported)).statusCode, 201);
      const taken = await importFile(b, exported);
      assert.equal(taken.statusCode, 409);
      assert.match((taken.json() as Problem).detail, /\?name=/);
      const renamed = await importFile(b, exported, '?name=bug-2');
      assert.equal(renamed.statusCode, 201, renamed.body);
      assert.equal(renamed.json().name, 'bug-2');
      // The tree is the partition's as it was born: its ibm,partition-name is still "bug".
      const root = await b.inject({ url: '/v1/lpars/bug-2/nodes?path=/' });
      assert.equal(root.statusCode, 200, root.body);
      assert.match(root.body, /"ibm,partition-name"[^}]*"bug"/);
    } finally {
      await b.close();
    }
  });

  describe('refusals change nothing', () => {
    let b: FastifyInstance;
    before(async () => {
      b = (await testApp()).app;
    });
    after(() => b.close());

    const refused = async (body: string, status: number, title: RegExp, detail: RegExp) => {
      const res = await importFile(b, body);
      assert.equal(res.statusCode, status, res.body);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      const p = res.json() as Problem;
      assert.match(p.title, title);
      assert.match(p.detail, detail);
      assert.equal(b.registry.lpars.size, 0, 'nothing was created');
      return p;
    };

    it('a file from another lparsim version', async () => {
      const ls = lines(exported);
      ls[0] = { ...ls[0], version: '0.0.1' };
      await refused(unlines(ls), 422, /Incompatible history/, /0\.0\.1/);
    });

    it('a file that is not a history, or is cut, names the line', async () => {
      let p = await refused('not json\n', 422, /Not an lparsim history/, /^line 1: not JSON/);
      assert.equal((p as unknown as { line: number }).line, 1);
      const ls = lines(exported);
      p = await refused(unlines(ls.slice(0, -1)), 422, /Not an lparsim history/, /trailer/);
      assert.equal((p as unknown as { line: number }).line, ls.length - 1);
      const bad = [...ls];
      bad[2] = { ...bad[2], seq: 9 };
      await refused(unlines(bad), 422, /Not an lparsim history/, /^line 3: seq is 9, expected 2/);
      const unknown = [...ls];
      unknown[1] = { ...unknown[1], extra: 1 };
      await refused(unlines(unknown), 422, /Not an lparsim history/, /^line 2: /);
    });

    it('an edited request whose replay differs names the first entry that diverges', async () => {
      const ls = lines(exported);
      // The added node gets another reg: still 200, but another state from there on.
      const edited = Buffer.from('add_node /vdevice/j@1 name 2 j\0 reg 4 \0\0\0\x02', 'latin1');
      ls[3] = { ...ls[3], body64: edited.toString('base64') };
      const p = await refused(
        unlines(ls),
        422,
        /History diverges/,
        /after entry 3 \(POST \/proc\/ppc64\/ofdt\)/,
      );
      assert.equal((p as unknown as { entry: number }).entry, 3);
      // The second migration to where the first went: answered otherwise, with the replay's problem.
      const moved = lines(exported);
      moved[2] = { ...moved[2], body: { destination: 'p9-beta' } };
      await refused(
        unlines(moved),
        422,
        /History diverges/,
        /entry 2 \(POST \/migrations\) was answered 201 when recorded and 409 here \(Already on that system/,
      );
    });

    it('an edited status or digest is a divergence too', async () => {
      const ls = lines(exported);
      const status = [...ls];
      status[3] = { ...status[3], status: 400 };
      await refused(
        unlines(status),
        422,
        /History diverges/,
        /entry 3 \(POST \/proc\/ppc64\/ofdt\) was answered 400 when recorded and 200 here/,
      );
      const digest = [...ls];
      digest[0] = { ...digest[0], digest: '0'.repeat(64) };
      await refused(unlines(digest), 422, /History diverges/, /after the creation request/);
    });

    it('a JSON body is not a history (415)', async () => {
      const res = await b.inject({ method: 'POST', url: '/v1/lpars/import', payload: { a: 1 } });
      assert.equal(res.statusCode, 415, res.body);
      assert.equal(b.registry.lpars.size, 0);
    });
  });

  it('a reboot, an uploaded tree and an explicit reference replay too', async () => {
    const dtb = (await a.inject({ url: `/v1/lpars/bug/tree.dtb` })).rawPayload;
    const up = await a.inject({
      method: 'POST',
      url: '/v1/lpars/from-dtb?kernel=5.0&name=up',
      headers: { 'content-type': 'application/octet-stream' },
      payload: dtb,
    });
    assert.equal(up.statusCode, 201, up.body);
    assert.equal(
      (
        await a.inject({
          method: 'POST',
          url: '/v1/lpars/up/migrations',
          payload: { destination: 'p9-beta' },
        })
      ).statusCode,
      201,
    );
    assert.equal((await a.inject({ method: 'POST', url: '/v1/lpars/up/reboot' })).statusCode, 200);
    const ref = await a.inject({
      method: 'POST',
      url: '/v1/lpars/up/refs',
      payload: { node: { path: '/cpus' }, holder: 'test' },
    });
    assert.equal(ref.statusCode, 201, ref.body);
    const file = (await a.inject({ url: '/v1/lpars/up/journal' })).body;
    assert.deepEqual(
      lines(file)
        .slice(1, -1)
        .map((l) => `${l.method} ${l.path}`),
      ['POST /migrations', 'POST /reboot', 'POST /refs'],
    );
    const { app: b } = await testApp();
    try {
      const res = await importFile(b, file);
      assert.equal(res.statusCode, 201, res.body);
      assert.deepEqual(await picture(b, 'up'), await picture(a, 'up'));
    } finally {
      await b.close();
    }
  });

  it("the typed client exports and imports (what the CLI's journal and import commands call)", async () => {
    const { app: b, client } = await testApp();
    try {
      const created = await client.putLpar('c', { kernel: '5.0' });
      await client.migrate(created.id, { destination: 'p9-beta' });
      const file = await client.exportJournal('c');
      assert.equal(lines(file).length, 3);
      const copy = await client.importJournal(file, 'c-copy');
      assert.equal(copy.name, 'c-copy');
      assert.deepEqual((await picture(b, 'c-copy')).dmesg, (await picture(b, 'c')).dmesg);
    } finally {
      await b.close();
    }
  });

  it('a history past LPARSIM_MAX_HISTORY_BYTES cannot be exported (409), and the LPAR goes on', async () => {
    const { app } = await testApp({ LPARSIM_MAX_HISTORY_BYTES: '1024' });
    try {
      await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '5.16', name: 'long' } });
      for (let i = 0; i < 4; i++)
        assert.equal(
          (await ofdtWrite(app, 'long', `add_node /vdevice/n@${i} name 2 n\0 x 300 ${'x'.repeat(300)}`))
            .statusCode,
          200,
        );
      const res = await app.inject({ url: '/v1/lpars/long/journal' });
      assert.equal(res.statusCode, 409, res.body);
      assert.match((res.json() as Problem).detail, /LPARSIM_MAX_HISTORY_BYTES/);
    } finally {
      await app.close();
    }
  });

  it('with LPARSIM_DATA_DIR an import is journaled once and comes back after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lparsim-history-'));
    dirs.push(dir);
    const { app: b } = await testApp({ LPARSIM_DATA_DIR: dir });
    const res = await importFile(b, exported);
    assert.equal(res.statusCode, 201, res.body);
    const seen = await picture(b, 'bug');
    await b.close();
    const { app: c } = await testApp({ LPARSIM_DATA_DIR: dir });
    try {
      const replay = await c.journalReplay!();
      assert.deepEqual(replay, { entries: 1, diverged: [] });
      assert.deepEqual(await picture(c, 'bug'), seen);
      const again = await c.inject({ url: '/v1/lpars/bug/journal' });
      assert.deepEqual(lines(again.body).slice(1), lines(exported).slice(1));
    } finally {
      await c.close();
    }
  });
});
