// The errata to kernel-of.md (spec/errata.md, E1–E14) as a user of the API sees them: problem
// documents, dmesg, node documents and counters. Each test names the erratum it checks.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import {
  createLparId,
  dmesgNext,
  dmesgSince,
  holderNames,
  nodeByPath,
  ofdtWrite,
  problemKind,
  problemOf,
  testApp,
} from '../helpers/app.ts';

let app: FastifyInstance;
before(async () => {
  ({ app } = await testApp());
});
after(() => app.close());

const create = (payload: object) => createLparId(app, payload);

/** E7: the parent does not exist, so pseries_of_derive_parent answers ERR_PTR(-EINVAL). */
const ORPHAN_ADD = 'add_node /no-such/x name 2 x\0';

describe('E7: add_node under a missing parent oopses the kernel', () => {
  it('panicOnOops: the writer is killed (409 task-killed, panicked), the partition panics and refuses kernel work', async () => {
    const id = await create({ kernel: '4.18', options: { panicOnOops: true } });
    const since = await dmesgNext(app, id);
    const res = await ofdtWrite(app, id, ORPHAN_ADD);
    assert.equal(res.statusCode, 409);
    const p = problemOf(res);
    assert.equal(problemKind(p), 'task-killed');
    assert.equal(p.panicked, true);
    assert.equal(p.signal, 'SIGSEGV');
    assert.equal(p.comm, 'drmgr');
    assert.equal(p.errno, undefined, 'not an errno: the write never returned');
    assert.deepEqual(p.taint, ['D']);
    const dmesg = await dmesgSince(app, id, since);
    assert.ok(dmesg.includes('Oops: Kernel access of bad area, sig: 11 [#1]'), dmesg.join('\n'));
    assert.deepEqual(dmesg.slice(-2), [
      'Kernel panic - not syncing: Fatal exception',
      '---[ end Kernel panic - not syncing: Fatal exception ]---',
    ]);

    // Kernel actions are refused with a `panicked` problem, and change nothing.
    const lpar = `/v1/lpars/${id}`;
    const before = (await app.inject({ url: `${lpar}/refcounts` })).body;
    const late = await ofdtWrite(app, id, 'add_node /vdevice/late@1 name 5 late\0');
    assert.equal(late.statusCode, 409, late.body);
    assert.equal(problemKind(problemOf(late)), 'panicked');
    for (const [method, url, payload] of [
      ['GET', `${lpar}/phandles/0xfffffff5`, undefined],
      ['POST', `${lpar}/migrations`, { destination: 'p9-beta' }],
      ['POST', `${lpar}/refs`, { node: { path: '/vdevice' }, holder: 'late' }],
      ['POST', `${lpar}/refs/put`, { node: { path: '/vdevice' }, holder: 'late' }],
      ['POST', `${lpar}/nodes`, { path: '/vdevice/late@1', properties: [{ name: 'name', string: 'late' }] }],
      ['PUT', `${lpar}/properties`, { phandle: '0xfffffff5', property: { name: 'status', string: 'okay' } }],
      ['POST', `${lpar}/phandle-cache/rebuild`, undefined],
    ] as const) {
      const r = await app.inject({ method, url, ...(payload ? { payload } : {}) });
      assert.equal(r.statusCode, 409, `${method} ${url}: ${r.body}`);
      assert.equal(problemKind(problemOf(r)), 'panicked', `${method} ${url}`);
    }
    // Inspection still answers, and shows what the kernel did before it died.
    assert.equal((await app.inject({ url: `${lpar}/nodes?path=/vdevice` })).statusCode, 200);
    assert.equal((await app.inject({ url: `${lpar}/refcounts` })).body, before);
    assert.equal((await app.inject({ url: `${lpar}/dmesg` })).statusCode, 200);
    const doc = (await app.inject({ url: lpar })).json();
    assert.equal(doc.options.panicOnOops, true);
    assert.deepEqual([doc.health.panicked, doc.health.oopses], [true, 1]);
    assert.match(doc.health.taint, /^Tainted: G {6}D/);
    assert.ok(!(await dmesgSince(app, id, since)).some((l) => l.includes('late')));
    // Deleting it is still possible.
    assert.equal((await app.inject({ method: 'DELETE', url: lpar })).statusCode, 204);
  });

  it('without panicOnOops: the writer is killed (409 task-killed, not panicked) and the LPAR goes on, tainted D', async () => {
    const id = await create({ kernel: '4.18' });
    const since = await dmesgNext(app, id);
    const res = await ofdtWrite(app, id, ORPHAN_ADD);
    assert.equal(res.statusCode, 409);
    const p = problemOf(res);
    assert.equal(problemKind(p), 'task-killed');
    assert.equal(p.panicked, false);
    assert.equal(p.errno, undefined);
    const oops = await dmesgSince(app, id, since);
    assert.ok(!oops.some((l) => l.includes('Kernel panic')));
    // The oops's own CPU line: D is added after the dump (oops_end), so it is not tainted yet.
    assert.ok(
      oops.some((l) => /^CPU: 0 PID: \d+ Comm: drmgr Not tainted 4\.18\.0-lparsim #1$/.test(l)),
      oops.join('\n'),
    );

    // A later write succeeds; a later lookup answers.
    const ok = await ofdtWrite(app, id, 'add_node /vdevice/after@1 name 6 after\0');
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal((await nodeByPath(app, id, '/vdevice/after@1')).state, 'attached');
    assert.equal((await app.inject({ url: `/v1/lpars/${id}/phandles/0xfffffff5` })).json().found, true);
    // A later stack dump (Bad of_node_put on a node put to 0) shows the D taint.
    const later = await dmesgNext(app, id);
    for (let i = 0; i < 2; i++)
      await app.inject({
        method: 'POST',
        url: `/v1/lpars/${id}/refs/put`,
        payload: { node: { path: '/vdevice/vty@30000000' }, holder: 'bad' },
      });
    const dump = await dmesgSince(app, id, later);
    assert.ok(dump.includes('OF: ERROR: Bad of_node_put() on /vdevice/vty@30000000'), dump.join('\n'));
    const cpu = dump.find((l) => l.startsWith('CPU: '));
    assert.match(cpu!, / Comm: bad Tainted: G {6}D {11}4\.18\.0-lparsim #1$/);
    const health = (await app.inject({ url: `/v1/lpars/${id}` })).json().health;
    assert.deepEqual([health.panicked, health.oopses], [false, 1]);
    assert.match(health.taint, /^Tainted: G {6}D/);
    // And migrations still run.
    const m = await app.inject({
      method: 'POST',
      url: `/v1/lpars/${id}/migrations`,
      payload: { destination: 'p9-beta' },
    });
    assert.equal(m.statusCode, 201);
  });

  it('5.8 panicked: reading devspec runs %pOF (E5), a kernel action, so it is refused; property files still read', async () => {
    const id = await create({ kernel: '5.8', options: { panicOnOops: true } });
    assert.equal((await ofdtWrite(app, id, ORPHAN_ADD)).statusCode, 409);
    const devspec = await app.inject({ url: `/v1/lpars/${id}/sys/devices/vio/ibm,random-v1/devspec` });
    assert.equal(devspec.statusCode, 409);
    assert.equal(problemKind(problemOf(devspec)), 'panicked');
    const status = await app.inject({
      url: `/v1/lpars/${id}/proc/device-tree/ibm,platform-facilities/ibm,random-v1/status`,
    });
    assert.equal(status.statusCode, 200);
    assert.equal(status.body, 'okay\u0000');
  });

  const FAULTS: Record<string, RegExp> = {
    '4.16': /^Unable to handle kernel paging request for data at address 0x[0-9a-f]{8}$/,
    '4.18': /^Unable to handle kernel paging request for data at address 0x[0-9a-f]{8}$/,
    '5.0': /^BUG: Kernel NULL pointer dereference at 0x[0-9a-f]{8}$/,
    '5.8': /^BUG: Kernel NULL pointer dereference on read at 0x[0-9a-f]{8}$/,
    '5.16': /^BUG: Kernel NULL pointer dereference on read at 0x[0-9a-f]{8}$/,
  };
  for (const [kernel, fault] of Object.entries(FAULTS)) {
    it(`${kernel}: the report is that release’s fault line, the Oops line, the task’s CPU line and the call trace`, async () => {
      const id = await create({ kernel });
      const since = await dmesgNext(app, id);
      assert.equal((await ofdtWrite(app, id, ORPHAN_ADD)).statusCode, 409);
      const d = await dmesgSince(app, id, since);
      assert.match(d[0]!, fault);
      assert.match(d[1]!, /^Faulting instruction address: 0x[0-9a-f]{16}$/);
      assert.equal(d[2], 'Oops: Kernel access of bad area, sig: 11 [#1]');
      assert.ok(d.includes('Modules linked in:'));
      assert.ok(
        d.some((l) =>
          new RegExp(`^CPU: 0 PID: \\d+ Comm: drmgr Not tainted ${kernel}\\.0-lparsim #1$`).test(l),
        ),
      );
      const at = d.indexOf('Call Trace:');
      assert.ok(at > 0);
      const frames = d.slice(at + 1).filter((l) => l.startsWith('['));
      assert.deepEqual(
        frames.map((l) => /\] ([A-Za-z_]+)\+0x/.exec(l)?.[1]),
        ['kobject_put', 'of_node_put', 'pSeries_reconfig_add_node', 'do_add_node', 'ofdt_write'],
      );
      assert.match(d.at(-1)!, /^---\[ end trace [0-9a-f]{16} \]---$/);
    });
  }

  it('4.16’s panic closing line lacks its `]---`', async () => {
    const id = await create({ kernel: '4.16', options: { panicOnOops: true } });
    await ofdtWrite(app, id, ORPHAN_ADD);
    assert.equal((await dmesgSince(app, id)).at(-1), '---[ end Kernel panic - not syncing: Fatal exception');
  });
});

describe('E2: no KASAN on these kernels by default; use-after-free is still counted', () => {
  /** 4.18: a dynamic node cached by a lookup, removed (freed cleanly, E1), then looked up again. */
  async function useAfterFree(options?: object) {
    const id = await create({ kernel: '4.18', ...(options ? { options } : {}) });
    assert.equal(
      (await ofdtWrite(app, id, 'add_node /vdevice/uaf@1 name 4 uaf\0 ibm,phandle 4 \x00\x00\x12\x34'))
        .statusCode,
      200,
    );
    const first = (await app.inject({ url: `/v1/lpars/${id}/phandles/0x1234` })).json();
    assert.deepEqual([first.found, first.useAfterFree], [true, 0]);
    const since = await dmesgNext(app, id);
    assert.equal((await ofdtWrite(app, id, 'remove_node /vdevice/uaf@1')).statusCode, 200);
    assert.equal(
      (await app.inject({ url: `/v1/lpars/${id}/nodes/${first.node.address}` })).json().state,
      'freed',
    );
    const before = (await app.inject({ url: `/v1/lpars/${id}` })).json().counts.useAfterFree;
    const again = (await app.inject({ url: `/v1/lpars/${id}/phandles/0x1234` })).json();
    const counts = (await app.inject({ url: `/v1/lpars/${id}` })).json().counts;
    // The lookup's useAfterFree counts its hits as the LPAR's counts.useAfterFree does.
    assert.equal(again.useAfterFree, counts.useAfterFree - before);
    return { id, since, again, counts };
  }

  it('by default (kasan false) the lookup of the freed node reports useAfterFree, the counters count it, dmesg is silent', async () => {
    const { id, since, again, counts } = await useAfterFree();
    assert.equal((await app.inject({ url: `/v1/lpars/${id}` })).json().options.kasan, false);
    assert.deepEqual([again.how, again.node.state], ['stale-hit', 'freed']);
    assert.ok(again.useAfterFree >= 1, JSON.stringify(again));
    assert.ok(counts.useAfterFree >= 1, JSON.stringify(counts));
    const d = await dmesgSince(app, id, since);
    assert.ok(!d.some((l) => l.includes('KASAN')), d.join('\n'));
    assert.ok(!d.some((l) => l.includes('==================')));
  });

  it('with options.kasan true (a what-if) the KASAN report appears', async () => {
    const { id, since, again, counts } = await useAfterFree({ kasan: true });
    assert.ok(again.useAfterFree >= 1);
    assert.ok(counts.useAfterFree >= 1);
    const d = await dmesgSince(app, id, since);
    assert.ok(d.includes('BUG: KASAN: use-after-free in of_find_node_by_phandle'), d.join('\n'));
    assert.ok(d.includes('=================================================================='));
  });

  it('the LPAR document says kasan: true is a what-if where it shows the option', async () => {
    const id = await create({ kernel: '4.18', options: { kasan: true } });
    const doc = (await app.inject({ url: `/v1/lpars/${id}` })).json();
    assert.equal(doc.options.kasan, true);
    const note = doc.whatIf.find((w: string) => w.startsWith('kasan:'));
    assert.match(note ?? '', /no KASAN/, JSON.stringify(doc.whatIf));
    const plain = (await app.inject({ url: `/v1/lpars/${await create({ kernel: '4.18' })}` })).json();
    assert.ok(!plain.whatIf.some((w: string) => w.startsWith('kasan:')), 'the default is no what-if');
  });
});

describe('boot references seen through GET …/nodes?path=… (E3, E10, E14)', () => {
  it('4.18: rng_init and nx842_pseries_init hold their nodes (E14); children hold parents (E3); cpus and caches are held (E10)', async () => {
    const id = await create({ kernel: '4.18' });
    const random = await nodeByPath(app, id, '/ibm,platform-facilities/ibm,random-v1');
    assert.deepEqual(holderNames(random), ['of_node_init', 'rng_init', 'vio:ibm,random-v1']);
    const nx = await nodeByPath(app, id, '/ibm,platform-facilities/ibm,compression-v1');
    assert.deepEqual(holderNames(nx), ['nx842_pseries_init', 'of_node_init', 'vio:ibm,compression-v1']);
    // E3: 1 + one per child directory; `base` itself hangs off the kset.
    const root = await nodeByPath(app, id, '/');
    assert.equal(root.refcount, 12);
    assert.equal(holderNames(root).filter((h) => h.startsWith('child:')).length, 11);
    assert.ok(holderNames(root).includes('child:vdevice'));
    assert.deepEqual(holderNames(await nodeByPath(app, id, '/vdevice')), [
      'child:l-lan@30000002',
      'child:v-scsi@30000003',
      'child:vty@30000000',
      'of_node_init',
    ]);
    assert.equal((await nodeByPath(app, id, '/ibm,platform-facilities')).refcount, 4);
    // E10: 1 + 8 cpu devices + a split L1 (2 cacheinfo objects) = 11; its l2 1 + 1.
    const cpu = await nodeByPath(app, id, '/cpus/PowerPC,POWER9@0');
    assert.equal(cpu.refcount, 11);
    assert.deepEqual(holderNames(cpu), [
      'cacheinfo×2',
      'cpu:0',
      'cpu:1',
      'cpu:2',
      'cpu:3',
      'cpu:4',
      'cpu:5',
      'cpu:6',
      'cpu:7',
      'of_node_init',
    ]);
    const second = await nodeByPath(app, id, '/cpus/PowerPC,POWER9@8');
    assert.ok(holderNames(second).includes('cpu:8') && holderNames(second).includes('cpu:15'));
    assert.deepEqual(holderNames(await nodeByPath(app, id, '/cpus/l2-cache@2000')), [
      'cacheinfo',
      'of_node_init',
    ]);
    assert.deepEqual(holderNames(await nodeByPath(app, id, '/cpus/l3-cache@3000')), [
      'cacheinfo',
      'of_node_init',
    ]);
    assert.ok((await app.inject({ url: `/v1/lpars/${id}/invariants` })).json().ok);
  });

  it('5.16: rng_init puts its node (the 5.15 source), nx842_pseries_init still leaks; sysfs adds one each', async () => {
    const id = await create({ kernel: '5.16' });
    const random = await nodeByPath(app, id, '/ibm,platform-facilities/ibm,random-v1');
    assert.deepEqual(holderNames(random), ['of_node_init', 'sysfs', 'vio:ibm,random-v1']);
    const nx = await nodeByPath(app, id, '/ibm,platform-facilities/ibm,compression-v1');
    assert.ok(holderNames(nx).includes('nx842_pseries_init'));
    assert.equal((await nodeByPath(app, id, '/')).refcount, 13);
    assert.equal((await nodeByPath(app, id, '/cpus/PowerPC,POWER9@0')).refcount, 12);
    assert.deepEqual(holderNames(await nodeByPath(app, id, '/cpus/l2-cache@2000')), [
      'cacheinfo',
      'of_node_init',
      'sysfs',
    ]);
    const dmesg = await dmesgSince(app, id);
    assert.ok(dmesg.includes('pseries-rng: Registering arch random hook.'));
  });

  it('E14: after a migration detaches them, the boot nodes stay held by the init functions (pfoDevices fixed too)', async () => {
    for (const options of [{}, { pfoDevices: 'fixed' }]) {
      const id = await create({ kernel: '4.18', options });
      const random = await nodeByPath(app, id, '/ibm,platform-facilities/ibm,random-v1');
      const nx = await nodeByPath(app, id, '/ibm,platform-facilities/ibm,compression-v1');
      await app.inject({
        method: 'POST',
        url: `/v1/lpars/${id}/migrations`,
        payload: { destination: 'p9-beta' },
      });
      const r = (await app.inject({ url: `/v1/lpars/${id}/nodes/${random.address}` })).json();
      const n = (await app.inject({ url: `/v1/lpars/${id}/nodes/${nx.address}` })).json();
      assert.equal(r.state, 'detached', JSON.stringify(options));
      assert.ok(holderNames(r).includes('rng_init'), JSON.stringify(options));
      assert.equal(n.state, 'detached');
      assert.ok(holderNames(n).includes('nx842_pseries_init'));
    }
  });

  it('E10: 4.18 never drops cacheinfo’s holds, so re-added cache nodes leave the old ones detached; 5.8 rebuilds', async () => {
    await app.inject({
      method: 'POST',
      url: '/v1/systems',
      payload: { name: 'p9-errata-cachy', processor: 'POWER9', serial: '0E10E10', readdCacheNodes: true },
    });
    const results: Record<string, { old: { state: string; holders: string[] }; now: string[] }> = {};
    for (const kernel of ['4.18', '5.8']) {
      const id = await create({ kernel, options: { cores: 2 } });
      const old = await nodeByPath(app, id, '/cpus/l2-cache@2000');
      const m = await app.inject({
        method: 'POST',
        url: `/v1/lpars/${id}/migrations`,
        payload: { destination: 'p9-errata-cachy' },
      });
      assert.equal(m.json().state, 'completed');
      const gone = (await app.inject({ url: `/v1/lpars/${id}/nodes/${old.address}` })).json();
      const now = await nodeByPath(app, id, '/cpus/l2-cache@2000');
      assert.notEqual(now.address, old.address, 'the l2 node was re-added');
      results[kernel] = { old: { state: gone.state, holders: holderNames(gone) }, now: holderNames(now) };
    }
    assert.deepEqual(results['4.18'], {
      old: { state: 'detached', holders: ['cacheinfo'] },
      now: ['of_node_init'],
    });
    assert.equal(results['5.8']!.old.state, 'released');
    assert.deepEqual(results['5.8']!.old.holders, []);
    assert.deepEqual(results['5.8']!.now, ['cacheinfo', 'of_node_init', 'sysfs']);
  });
});

describe('ofdt remove_node and puts to 0 (E1, E3, E4)', () => {
  it('E1: 4.18 frees a node removed through ofdt cleanly; 5.8 leaks it, detached and held by of_node_init', async () => {
    for (const [kernel, want] of [
      ['4.18', { state: 'freed', refcount: 0, holders: [] as string[] }],
      ['5.8', { state: 'detached', refcount: 1, holders: ['of_node_init'] }],
    ] as const) {
      const id = await create({ kernel });
      assert.equal((await ofdtWrite(app, id, 'add_node /vdevice/e1@1 name 3 e1\0')).statusCode, 200);
      const added = await nodeByPath(app, id, '/vdevice/e1@1');
      // E3: the child's directory holds its parent.
      assert.ok(holderNames(await nodeByPath(app, id, '/vdevice')).includes('child:e1@1'));
      assert.equal((await ofdtWrite(app, id, 'remove_node /vdevice/e1@1')).statusCode, 200);
      const after = (await app.inject({ url: `/v1/lpars/${id}/nodes/${added.address}` })).json();
      assert.deepEqual(
        { state: after.state, refcount: after.refcount, holders: holderNames(after) },
        want,
        kernel,
      );
      assert.ok(!holderNames(await nodeByPath(app, id, '/vdevice')).includes('child:e1@1'), 'E3: dropped');
      const leaks = (await app.inject({ url: `/v1/lpars/${id}/leaks` })).json().items;
      assert.equal(
        leaks.some((l: { address: string }) => l.address === added.address),
        kernel === '5.8',
        kernel,
      );
      assert.equal((await app.inject({ url: `/v1/lpars/${id}` })).json().counts.useAfterFree, 0);
    }
  });

  it('E4: a put to 0 on an attached node removes its sysfs directory and the parent’s child reference', async () => {
    const id = await create({ kernel: '4.18' });
    const vty = await nodeByPath(app, id, '/vdevice/vty@30000000');
    assert.equal(vty.refcount, 2);
    for (let i = 0; i < 2; i++)
      await app.inject({
        method: 'POST',
        url: `/v1/lpars/${id}/refs/put`,
        payload: { node: { path: '/vdevice/vty@30000000' }, holder: 'bad' },
      });
    const after = await nodeByPath(app, id, '/vdevice/vty@30000000');
    assert.deepEqual([after.state, after.refcount, after.sysfs.inSysfs], ['attached', 0, false]);
    const sys = `/v1/lpars/${id}/sys/firmware/devicetree/base/vdevice/vty@30000000`;
    assert.equal((await app.inject({ url: sys })).statusCode, 404);
    assert.equal(
      (await app.inject({ url: `/v1/lpars/${id}/proc/device-tree/vdevice/vty@30000000` })).statusCode,
      404,
    );
    assert.ok(!holderNames(await nodeByPath(app, id, '/vdevice')).includes('child:vty@30000000'));
    const dev = (await app.inject({ url: `/v1/lpars/${id}/sys/devices/vio/30000000` })).json();
    assert.equal(dev.items.find((i: { name: string }) => i.name === 'of_node').broken, true);
    assert.ok((await app.inject({ url: `/v1/lpars/${id}/invariants` })).json().ok);
  });
});

describe('5.16 migration texts (E8, E9)', () => {
  it('a failed update logs `mobility: device tree update failed`, after the in-kernel suspend lines', async () => {
    const id = await create({ kernel: '5.16' });
    const m = (
      await app.inject({
        method: 'POST',
        url: `/v1/lpars/${id}/migrations`,
        payload: { destination: 'p9-beta', faults: [{ call: 'ibm,update-nodes', onCall: 1, status: -9001 }] },
      })
    ).json();
    assert.equal(m.state, 'failed');
    assert.deepEqual(m.report.dmesg, [
      'mobility: calling ibm,suspend-me on CPU 0',
      'mobility: CPU 0 waking all threads',
      'mobility: device tree update failed: -9001',
    ]);
    assert.ok(!m.report.dmesg.some((l: string) => l.startsWith('Post-mobility')));
  });
});
