// Whole-tree listings page with a cursor and cost the page, not the tree (issue 10, point 5):
// nodes?state=, /refcounts, /leaks and the /sys and /proc/device-tree directory listings. Pages
// concatenate to exactly the unpaged listing, a cursor resumes after changes without repeating an
// unchanged item, bad cursors and limits are 400 problems, and the work a page does is counted (not
// timed) on a directory of 21,000 entries.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { allPages, type LparsimClient } from '../../src/client/client.ts';
import { PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX } from '../../src/http/schemas/common.ts';
import { KernfsDir } from '../../src/kernel/kernfs.ts';
import { slabAddressOf } from '../../src/kernel/slab.ts';
import { encodeCursor, leaks, refcounts } from '../../src/lpar/documents.ts';
import type { Lpar } from '../../src/lpar/lpar.ts';
import { listDirectory } from '../../src/lpar/views.ts';
import { NODE_STATES } from '../../src/of/node.ts';
import { NodeTable } from '../../src/of/node-table.ts';
import { runScenario } from '../../src/scenario/runner.ts';
import { ofdtWrite, problemOf, testApp } from '../helpers/app.ts';

const RUNS = Number(process.env.LPARSIM_FUZZ_RUNS ?? 40);
const SEED = process.env.LPARSIM_FUZZ_SEED ? Number(process.env.LPARSIM_FUZZ_SEED) : undefined;
const BASE = '/sys/firmware/devicetree/base';

let app: FastifyInstance;
let client: LparsimClient;
/** A 4.18 LPAR with a history: nodes of every state (attached, detached, released, freed, orphaned). */
let id: string;
before(async () => {
  ({ app, client } = await testApp());
  id = (
    await app.inject({
      method: 'POST',
      url: '/v1/lpars',
      payload: { kernel: '4.18', options: { cores: 12 } },
    })
  ).json().id;
  for (let i = 1; i <= 6; i++) assert.equal((await add(id, `/vdevice/t@${i}`)).statusCode, 200);
  assert.equal((await ofdtWrite(app, id, 'remove_node /vdevice/t@5')).statusCode, 200);
  for (const to of ['p9-beta', 'p9-alpha'])
    assert.equal(
      (await app.inject({ method: 'POST', url: `/v1/lpars/${id}/migrations`, payload: { destination: to } }))
        .statusCode,
      201,
    );
});
after(() => app.close());

const add = (lpar: string, path: string) =>
  ofdtWrite(app, lpar, `add_node ${path} name 2 t\x00 device_type 5 test\x00`);
const get = (url: string) => app.inject({ url: `/v1/lpars/${id}${url}` });
const model = (lpar = id): Lpar => app.registry.get(lpar);

interface Page {
  items: Array<{ address?: string; name?: string }>;
  next: string | null;
}

/** Every page of `url` (which may already have a query) at `limit`. */
async function pagesOf(url: string, limit: number, lpar = id): Promise<Page[]> {
  const sep = url.includes('?') ? '&' : '?';
  const pages: Page[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await app.inject({ url: `/v1/lpars/${lpar}${url}${sep}${query}` });
    assert.equal(res.statusCode, 200, res.body);
    const page = res.json() as Page;
    assert.ok(page.items.length <= limit);
    if (page.next !== null) assert.equal(page.items.length, limit, 'only the last page is short');
    pages.push(page);
    cursor = page.next;
    assert.ok(pages.length < 10_000);
  } while (cursor !== null);
  return pages;
}

const addresses = (pages: Page[]) => pages.flatMap((p) => p.items.map((i) => i.address!));
const names = (pages: Page[]) => pages.flatMap((p) => p.items.map((i) => i.name!));
const byAddress = <T extends { address: string }>(list: T[]) =>
  [...list].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));

/** The path under /sys of a view path (/proc/device-tree is /sys/firmware/devicetree/base). */
const sysPath = (view: string) =>
  view.startsWith('/proc/device-tree') ? `${BASE.slice(4)}${view.slice(17)}` : view.slice(4);

/** The kernfs directory at `path` (under /sys). */
function kernfsDir(lpar: Lpar, path: string): KernfsDir {
  let dir = lpar.of.sysfs;
  for (const part of path.split('/').filter(Boolean)) {
    const next = dir.entries.get(part);
    assert.equal(next?.kind, 'dir', path);
    dir = next as KernfsDir;
  }
  return dir;
}

/** Counts what is read of a Map or Set: entries iterated, and gets. Restore when done. */
function countWork(collection: Map<unknown, unknown> | Set<unknown> | KernfsDir | NodeTable) {
  const counts = { iterated: 0, gets: 0 };
  const target = collection as unknown as Record<PropertyKey, unknown>;
  const methods: PropertyKey[] = ['keys', 'values', 'entries', Symbol.iterator];
  for (const m of methods) {
    if (typeof target[m] !== 'function') continue; // a directory's `entries` is the directory
    const original = (target[m] as () => Iterator<unknown>).bind(collection);
    target[m] = () => {
      const it = original();
      const counted: IterableIterator<unknown> = {
        next: () => {
          const r = it.next();
          if (!r.done) counts.iterated += 1;
          return r;
        },
        [Symbol.iterator]: () => counted,
      };
      return counted;
    };
  }
  // A lookup by key, or (the node table) by allocation index.
  const lookups = collection instanceof NodeTable ? ['get', 'at'] : ['get'];
  if (collection instanceof Map || collection instanceof KernfsDir || collection instanceof NodeTable)
    for (const m of lookups) {
      const original = (target[m] as (key: unknown) => unknown).bind(collection);
      target[m] = (key: unknown) => {
        counts.gets += 1;
        return original(key);
      };
    }
  return {
    counts,
    restore: () => {
      for (const m of [...methods, ...lookups]) delete target[m];
    },
  };
}

describe('pages concatenate to exactly the unpaged listing', () => {
  it('has nodes of every state to page over, and addresses as the slab gives them', () => {
    const lpar = model();
    for (const state of NODE_STATES) assert.ok(refcounts(lpar, state).length > 0, `a ${state} node`);
    // The cursor of a node listing goes straight to an allocation index through the slab's formula.
    [...lpar.of.nodes.keys()].forEach((address, i) => {
      assert.equal(address, slabAddressOf(i));
    });
  });

  it('node listings in address order, at any limit (property)', async () => {
    const lpar = model();
    const urls = [
      ['/refcounts', refcounts(lpar)],
      ...NODE_STATES.map((s) => [`/refcounts?state=${s}`, refcounts(lpar, s)] as const),
      ['/nodes', refcounts(lpar)],
      ...NODE_STATES.map((s) => [`/nodes?state=${s}`, refcounts(lpar, s)] as const),
      ['/leaks', byAddress(leaks(lpar))],
    ] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom(...urls),
        async (limit, [url, all]) => {
          const pages = await pagesOf(url, limit);
          assert.deepEqual(
            addresses(pages),
            all.map((n) => n.address),
            `${url} at limit ${limit}`,
          );
          // Each item is the unpaged document of that node.
          assert.deepEqual(
            pages.flatMap((p) => p.items),
            (await get(`${url}${url.includes('?') ? '&' : '?'}limit=${PAGE_LIMIT_MAX}`)).json().items,
          );
        },
      ),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
    );
  });

  it('nodes?state= says how many there are in all, on every page', async () => {
    const counts = (await get('')).json().counts;
    for (const state of NODE_STATES) {
      const pages = await pagesOf(`/nodes?state=${state}`, 3);
      for (const p of pages) assert.equal((p as Page & { total: number }).total, counts[state]);
      assert.equal(addresses(pages).length, counts[state]);
    }
    assert.equal((await get('/nodes?limit=1')).json().total, model().of.nodes.size);
  });

  it('directory listings: every entry once, at any limit; a page is sorted by name (property)', async () => {
    const lpar = model();
    const dirs = [
      '/sys',
      `/sys${BASE.slice(4)}`,
      `${BASE}/vdevice`,
      `${BASE}/cpus`,
      '/sys/devices/vio',
      '/proc/device-tree/cpus',
    ];
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 30 }), fc.constantFrom(...dirs), async (limit, dir) => {
        const pages = await pagesOf(dir, limit);
        const all = listDirectory(lpar, kernfsDir(lpar, sysPath(dir)));
        assert.deepEqual(
          [...names(pages)].sort(),
          all.map((e) => e.name),
          `${dir} at limit ${limit}`,
        );
        for (const p of pages) {
          const sorted = [...p.items].sort((a, b) => (a.name! < b.name! ? -1 : a.name! > b.name! ? 1 : 0));
          assert.deepEqual(p.items, sorted);
        }
        assert.deepEqual(
          pages.flatMap((p) => p.items).sort((a, b) => (a.name! < b.name! ? -1 : 1)),
          all,
        );
      }),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
    );
  });

  it('a directory that fits in one page lists whole and sorted, with next null', async () => {
    const dir = (await get('/sys')).json();
    assert.deepEqual(
      dir.items.map((i: { name: string }) => i.name),
      ['devices', 'firmware'],
    );
    assert.equal(dir.next, null);
    // A file answers its bytes as before; its stat has no next.
    const stat = (await get(`${BASE}/cpus/name?stat=true`)).json();
    assert.equal(stat.type, 'file');
    assert.equal('next' in stat, false);
  });
});

describe('a cursor resumes after changes without repeating an unchanged item', () => {
  it('refcounts and nodes?state=attached: nodes added and removed between pages', async () => {
    const { id: lp } = await client.createLpar({ kernel: '5.8' });
    const m = async (path: string) => (await client.nodeByPath(lp, path)).address;
    for (const url of ['/refcounts', '/nodes?state=attached']) {
      for (const i of [1, 3]) assert.equal((await add(lp, `/vdevice/m@${i}`)).statusCode, 200);
      const before = (
        url === '/refcounts' ? await client.refcounts(lp) : await client.nodesByState(lp, 'attached')
      ).items.map((n) => n.address);
      const [m1, m3] = [await m('/vdevice/m@1'), await m('/vdevice/m@3')];
      const sep = url.includes('?') ? '&' : '?';
      // The first page ends at m@1; then m@1 and m@3 (after the cursor) are removed and m@9 added.
      const limit = before.indexOf(m1) + 1;
      const first = (await app.inject({ url: `/v1/lpars/${lp}${url}${sep}limit=${limit}` })).json() as Page;
      assert.equal(first.items.at(-1)!.address, m1);
      for (const i of [1, 3])
        assert.equal((await ofdtWrite(app, lp, `remove_node /vdevice/m@${i}`)).statusCode, 200);
      assert.equal((await add(lp, '/vdevice/m@9')).statusCode, 200);
      const added = await m('/vdevice/m@9');
      const rest: string[] = [];
      for (let cursor = first.next; cursor !== null; ) {
        const page = (
          await app.inject({ url: `/v1/lpars/${lp}${url}${sep}limit=2&cursor=${cursor}` })
        ).json() as Page;
        rest.push(...page.items.map((i) => i.address!));
        cursor = page.next;
      }
      const seen = [...first.items.map((i) => i.address!), ...rest];
      assert.equal(new Set(seen).size, seen.length, `${url}: no node twice`);
      for (const a of before.filter((a) => a !== m1 && a !== m3))
        assert.equal(seen.filter((s) => s === a).length, 1, `${url}: ${a} once`);
      assert.ok(rest.includes(added), `${url}: the node added after the cursor is on a later page`);
      if (url === '/refcounts') assert.ok(rest.includes(m3), 'a removed node is still a node');
      else assert.ok(!rest.includes(m3), 'a removed node is not attached');
      assert.equal((await ofdtWrite(app, lp, 'remove_node /vdevice/m@9')).statusCode, 200);
    }
    await client.deleteLpar(lp);
  });

  it('leaks: a migration between pages adds leaks after the cursor, repeats none', async () => {
    const { id: lp } = await client.createLpar({ kernel: '4.18' });
    await client.migrate(lp, { destination: 'p9-beta' });
    const before = (await client.leaks(lp)).items.map((l) => l.address);
    assert.ok(before.length >= 2);
    const first = (await app.inject({ url: `/v1/lpars/${lp}/leaks?limit=1` })).json() as Page;
    await client.migrate(lp, { destination: 'p9-alpha' });
    const rest = (
      await allPages<{ address: string }, Page & { items: Array<{ address: string }> }>(async (cursor) =>
        cursor === undefined
          ? { items: [], next: first.next }
          : (await app.inject({ url: `/v1/lpars/${lp}/leaks?limit=1&cursor=${cursor}` })).json(),
      )
    ).items.map((l) => l.address);
    const seen = [first.items[0]!.address!, ...rest];
    assert.equal(new Set(seen).size, seen.length, 'no leak twice');
    const now = (await client.leaks(lp)).items.map((l) => l.address);
    assert.deepEqual(seen, now, 'still leaking: every one, in address order');
    assert.ok(now.length > before.length, 'the second migration leaked more');
    await client.deleteLpar(lp);
  });

  it('directories: entries added and removed between pages, the cursor entry itself removed', async () => {
    const { id: lp } = await client.createLpar({ kernel: '5.8' });
    for (let i = 1; i <= 6; i++) assert.equal((await add(lp, `/vdevice/d@${i}`)).statusCode, 200);
    const dir = kernfsDir(model(lp), `${BASE.slice(4)}/vdevice`);
    const url = `/v1/lpars/${lp}${BASE}/vdevice`;
    const order = () => [...dir.entries.keys()];

    // The first page ends at d@2 in directory order; d@2 (the cursor's entry) and d@5 (not yet listed)
    // are removed, d@7 added: the rest lists every unchanged entry once, from right after d@2.
    const before = order();
    const limit = before.indexOf('d@2') + 1;
    const first = (await app.inject({ url: `${url}?limit=${limit}` })).json() as Page;
    assert.ok(names([first]).includes('d@2'));
    for (const gone of ['d@2', 'd@5'])
      assert.equal((await ofdtWrite(app, lp, `remove_node /vdevice/${gone}`)).statusCode, 200);
    assert.equal((await add(lp, '/vdevice/d@7')).statusCode, 200);
    const rest: string[] = [];
    for (let cursor = first.next; cursor !== null; ) {
      const page = (await app.inject({ url: `${url}?limit=2&cursor=${cursor}` })).json() as Page;
      rest.push(...names([page]));
      cursor = page.next;
    }
    const seen = [...names([first]), ...rest];
    assert.equal(new Set(seen).size, seen.length, 'no entry twice');
    const unchanged = before.filter((n) => n !== 'd@2' && n !== 'd@5');
    for (const n of unchanged) assert.ok(seen.includes(n), `${n} listed`);
    assert.ok(rest.includes('d@7'), 'the entry added after the cursor is listed');
    assert.ok(!rest.includes('d@5'), 'the entry removed before it was reached is not');
    // Nothing before the cursor's entry went, so the rest is exact: what followed d@2, and d@7.
    assert.deepEqual([...rest].sort(), [...before.slice(limit).filter((n) => n !== 'd@5'), 'd@7'].sort());

    // Entries before the cursor removed: the page resumes right after the cursor's entry.
    const again = order();
    const cut = again.indexOf('d@4');
    const page1 = (await app.inject({ url: `${url}?limit=${cut + 1}` })).json() as Page;
    for (const gone of ['d@1', 'd@3'])
      assert.equal((await ofdtWrite(app, lp, `remove_node /vdevice/${gone}`)).statusCode, 200);
    const page2 = (
      await app.inject({ url: `${url}?limit=${PAGE_LIMIT_MAX}&cursor=${page1.next}` })
    ).json() as Page;
    assert.deepEqual(
      [...names([page2])].sort(),
      again.slice(cut + 1).sort(),
      'exactly the entries after d@4',
    );
    await client.deleteLpar(lp);
  });
});

describe('bad cursors and limits are 400 problems', () => {
  it('refuses cursors it did not hand out, for another listing or another directory', async () => {
    const nodeCursor = (await get('/refcounts?limit=1')).json().next as string;
    const dirCursor = (await get(`${BASE}/cpus?limit=1`)).json().next as string;
    const otherDir = (await get('/sys/devices/vio?limit=1')).json().next as string;
    assert.ok(nodeCursor && dirCursor && otherDir);
    const cases: Array<[string, RegExp]> = [
      ['/refcounts?cursor=abc', /not a cursor/],
      [`/refcounts?cursor=${nodeCursor}A`, /not a cursor/],
      [`/refcounts?cursor=${encodeCursor(['node', 'c0000000ffffff00'])}`, /names no node/],
      [`/refcounts?cursor=${encodeCursor(['node', 7])}`, /names no node/],
      [`/refcounts?cursor=${dirCursor}`, /another kind of listing/],
      [`/leaks?cursor=${dirCursor}`, /another kind of listing/],
      [`/nodes?state=attached&cursor=${dirCursor}`, /another kind of listing/],
      [`${BASE}/cpus?cursor=${nodeCursor}`, /another kind of listing/],
      [`${BASE}/cpus?cursor=${otherDir}`, /another directory/],
      [`${BASE}/cpus?cursor=${encodeCursor(['dir', 'x', -1, 'cpus'])}`, /not a cursor/],
      [`${BASE}/cpus/name?cursor=${dirCursor}`, /not a directory/],
    ];
    for (const [url, detail] of cases) {
      const res = await get(url);
      assert.equal(res.statusCode, 400, url);
      const p = problemOf(res);
      assert.equal(p.title, 'Bad cursor', url);
      assert.match(p.detail, /cursor/, url);
      assert.match(p.detail, detail, url);
      assert.deepEqual(
        p.errors?.map((e) => e.path),
        ['/cursor'],
        url,
      );
    }
    // Not even shaped like one: the schema refuses it, naming it too.
    const res = await get('/leaks?cursor=%21%21');
    assert.equal(res.statusCode, 400);
    assert.deepEqual(
      problemOf(res).errors?.map((e) => [e.where, e.path]),
      [['querystring', '/cursor']],
    );
  });

  it('refuses a limit below 1 or above the maximum, and cursor with offset', async () => {
    for (const url of ['/refcounts', '/leaks', '/nodes?state=attached&', `${BASE}/cpus`]) {
      for (const limit of ['0', String(PAGE_LIMIT_MAX + 1), 'many', '-1', '1.5']) {
        const u = `${url.replace(/&$/, '')}${url.endsWith('&') ? '&' : '?'}limit=${limit}`;
        const res = await get(u);
        assert.equal(res.statusCode, 400, u);
        assert.deepEqual(
          problemOf(res).errors?.map((e) => e.path),
          ['/limit'],
          u,
        );
      }
      const max = await get(
        `${url.replace(/&$/, '')}${url.endsWith('&') ? '&' : '?'}limit=${PAGE_LIMIT_MAX}`,
      );
      assert.equal(max.statusCode, 200);
    }
    const cursor = (await get('/nodes?limit=1')).json().next;
    const both = await get(`/nodes?cursor=${cursor}&offset=1`);
    assert.equal(both.statusCode, 400);
    assert.equal(problemOf(both).title, 'Conflicting query');
    assert.equal((await get('/leaks?offset=1')).statusCode, 400);
    assert.equal((await get(`/nodes?path=/cpus&cursor=${cursor}`)).statusCode, 400);
  });

  it('offset (deprecated) still skips matches', async () => {
    const all = addresses(await pagesOf('/nodes?state=attached', PAGE_LIMIT_MAX));
    const page = (await get('/nodes?state=attached&offset=3&limit=4')).json();
    assert.deepEqual(
      page.items.map((i: { address: string }) => i.address),
      all.slice(3, 7),
    );
    const unfiltered = (await get('/nodes?offset=2&limit=2')).json();
    assert.deepEqual(
      unfiltered.items.map((i: { address: string }) => i.address),
      [slabAddressOf(2), slabAddressOf(3)],
    );
  });
});

describe('a page costs the page, not the tree (counted on 21,000 cpus)', () => {
  let big: string;
  let lpar: Lpar;
  before(async () => {
    // 7,000 cores: /cpus holds a cpu, an l2 and an l3 node per core, plus its properties.
    big = (await client.createLpar({ kernel: '5.8', options: { cores: 7000 } })).id;
    lpar = model(big);
    assert.ok(lpar.of.nodes.size > 21_000);
  });
  after(() => client.deleteLpar(big));

  it('lists the first page of a 21,000-entry directory reading about one page of entries', async () => {
    const cpus = kernfsDir(lpar, `${BASE.slice(4)}/cpus`);
    assert.ok(cpus.entries.size > 21_000);
    const work = countWork(cpus.entries);
    try {
      const first = await app.inject({ url: `/v1/lpars/${big}${BASE}/cpus` });
      assert.equal(first.statusCode, 200);
      const page = first.json() as Page;
      assert.equal(page.items.length, PAGE_LIMIT_DEFAULT);
      // A directory this big keeps a seekable order (kernfs.ts): pages never iterate its Map.
      assert.equal(work.counts.iterated, 0, `read ${work.counts.iterated} entries`);
      work.counts.iterated = 0;
      const second = (
        await app.inject({ url: `/v1/lpars/${big}/proc/device-tree/cpus?limit=100&cursor=${page.next}` })
      ).json() as Page;
      assert.equal(second.items.length, 100);
      assert.equal(work.counts.iterated, 0, `read ${work.counts.iterated} entries`);
      assert.equal(
        new Set([...names([page]), ...names([second])]).size,
        PAGE_LIMIT_DEFAULT + 100,
        'two pages, no entry twice',
      );
    } finally {
      work.restore();
    }
    // And the whole directory, through the client, which follows every page.
    const listing = await client.list(big, `${BASE}/cpus`, PAGE_LIMIT_MAX);
    assert.equal(listing.items?.length, cpus.entries.size);
    assert.equal(new Set(listing.items?.map((e) => e.name)).size, cpus.entries.size);
  });

  it('a big directory resumes after entries before and after the cursor went, by creation sequence', async () => {
    const cpus = kernfsDir(lpar, `${BASE.slice(4)}/cpus`);
    const url = `/v1/lpars/${big}${BASE}/cpus`;
    const before = [...cpus.entries.keys()];
    const first = (await app.inject({ url: `${url}?limit=40` })).json() as Page;
    // Two l3 leaves go: one listed on the first page, one not yet reached.
    const listed = before.slice(0, 40).find((n) => n.startsWith('l3-cache@'))!;
    const ahead = before.slice(40).find((n) => n.startsWith('l3-cache@'))!;
    for (const gone of [listed, ahead])
      assert.equal((await ofdtWrite(app, big, `remove_node /cpus/${gone}`)).statusCode, 200);
    const second = (await app.inject({ url: `${url}?limit=40&cursor=${first.next}` })).json() as Page;
    assert.deepEqual(
      names([second]).sort(),
      before
        .slice(40)
        .filter((n) => n !== ahead)
        .slice(0, 40)
        .sort(),
      'exactly the next unchanged entries, in creation order',
    );
  });

  it('node pages look up one page of nodes by address; other states read only the not-attached set', async () => {
    const nodes = countWork(lpar.of.nodes);
    const unattached = countWork(lpar.of.unattached);
    const leaksNow = lpar.of.unattached.size;
    try {
      const check = async (url: string, maxGets: number, maxUnattached: number) => {
        nodes.counts.gets = 0;
        nodes.counts.iterated = 0;
        unattached.counts.iterated = 0;
        const res = await app.inject({ url: `/v1/lpars/${big}${url}` });
        assert.equal(res.statusCode, 200, res.body);
        const page = res.json() as Page;
        assert.equal(nodes.counts.iterated, 0, `${url}: the node table is not walked`);
        assert.ok(nodes.counts.gets <= maxGets, `${url}: ${nodes.counts.gets} lookups`);
        assert.ok(unattached.counts.iterated <= maxUnattached, `${url}: ${unattached.counts.iterated} read`);
        return page;
      };
      const first = await check('/refcounts', PAGE_LIMIT_DEFAULT + 1, 0);
      assert.equal(first.items.length, PAGE_LIMIT_DEFAULT);
      const deep = (await check(`/refcounts?cursor=${first.next}&limit=10`, 11, 0)).items;
      assert.equal(deep[0]!.address, slabAddressOf(PAGE_LIMIT_DEFAULT));
      // A cursor deep into the tree costs no more than one at its start.
      const late = encodeCursor(['node', slabAddressOf(20_000)]);
      const tail = await check(`/refcounts?cursor=${late}&limit=10`, 11, 0);
      assert.equal(tail.items[0]!.address, slabAddressOf(20_001));
      await check('/nodes?state=attached', PAGE_LIMIT_DEFAULT + 1 + leaksNow, 2 * leaksNow);
      await check(`/nodes?state=attached&cursor=${late}&limit=10`, 11 + leaksNow, 2 * leaksNow);
      for (const state of NODE_STATES.filter((s) => s !== 'attached'))
        await check(`/nodes?state=${state}`, 0, 2 * leaksNow);
      await check('/leaks', 0, leaksNow);
    } finally {
      nodes.restore();
      unattached.restore();
    }
  });
});

describe('the scenario runner and the client follow every page', () => {
  it('compares sysfs children of a directory bigger than a page whole', async () => {
    const { id: lp } = await client.createLpar({ kernel: '5.8', options: { cores: 200 } });
    const listing = await client.list(lp, `${BASE}/cpus`, 50);
    const subdirs = (listing.items ?? []).filter((e) => e.type === 'dir').map((e) => e.name);
    assert.ok(subdirs.length > PAGE_LIMIT_DEFAULT, `${subdirs.length} subdirectories`);
    assert.deepEqual(
      (await client.list(lp, `${BASE}/cpus`)).items?.map((e) => e.name).sort(),
      (listing.items ?? []).map((e) => e.name).sort(),
    );
    await client.deleteLpar(lp);
    const scenario = (children: string[]) => ({
      name: 'big cpus',
      kernels: ['5.8' as const],
      lpar: { options: { cores: 200 } },
      steps: [{ do: 'expect' as const, sysfs: { children: { [`${BASE}/cpus`]: children } } }],
    });
    const ok = await runScenario(client, scenario(subdirs), '5.8');
    assert.deepEqual(ok.failures, []);
    const missing = await runScenario(client, scenario(subdirs.slice(1)), '5.8');
    assert.equal(missing.ok, false, 'one subdirectory fewer than the listing fails');
  });

  it('nodesByState, refcounts and leaks follow next to the end', async () => {
    const lpar = model();
    const attached = await client.nodesByState(id, 'attached', 7);
    assert.equal(attached.items.length, attached.total);
    assert.deepEqual(
      attached.items.map((n) => n.address),
      refcounts(lpar, 'attached').map((n) => n.address),
    );
    assert.equal((await client.refcounts(id, undefined, 9)).items.length, lpar.of.nodes.size);
    assert.deepEqual(
      (await client.leaks(id, 2)).items.map((l) => l.address),
      byAddress(leaks(lpar)).map((l) => l.address),
    );
  });
});
