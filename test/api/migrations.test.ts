import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { fingerprint, problemOf, testApp } from '../helpers/app.ts';

let app: FastifyInstance;
before(async () => {
  ({ app } = await testApp());
});
after(() => app.close());

async function lpar(kernel: string, extra: object = {}): Promise<string> {
  return (await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel, ...extra } })).json().id;
}
const migrate = (id: string, payload: object) =>
  app.inject({ method: 'POST', url: `/v1/lpars/${id}/migrations`, payload });

describe('migrations (K-MOB)', () => {
  it('creates a migration with a report: operations, dmesg, renames, leaks, stale entries', async () => {
    const id = await lpar('4.18');
    const first = await migrate(id, { destination: 'p9-beta' });
    assert.equal(first.statusCode, 201);
    assert.equal(first.headers.location, `/v1/lpars/${id}/migrations/m1`);
    const m1 = first.json();
    assert.deepEqual([m1.state, m1.source, m1.destination], ['completed', 'p9-alpha', 'p9-beta']);
    assert.deepEqual(
      m1.workList.map((w: { action: string }) => w.action),
      ['delete', 'delete', 'delete', 'delete', 'update', 'update', 'add'],
    );
    assert.deepEqual(
      m1.report.operations.map((o: { outcome: string }) => o.outcome),
      Array(7).fill('done'),
    );
    assert.equal(m1.report.orphaned.length, 3);
    assert.equal(m1.report.staleCacheEntries.length, 4);
    assert.equal((await app.inject({ url: `/v1/lpars/${id}` })).json().system, 'p9-beta');
    const m2 = (await migrate(id, { destination: 'p9-alpha' })).json();
    assert.deepEqual(m2.report.renames, [
      { directory: 'base', from: 'ibm,platform-facilities', to: 'ibm,platform-facilities#1' },
    ]);
    assert.equal(m2.report.warnings, 4);
    const held = m2.report.leftDetached.find((n: { lastKnownPath: string }) =>
      n.lastKnownPath.endsWith('ibm,random-v1'),
    );
    assert.deepEqual(
      held.holders.map((h: { holder: string }) => h.holder),
      ['vio:ibm,random-v1'],
    );
    assert.equal(held.migrationsSurvived, 1);
    assert.ok(m2.report.dmesg.includes('Duplicate name in base, renamed to "ibm,platform-facilities#1"'));
    const list = (await app.inject({ url: `/v1/lpars/${id}/migrations` })).json().items;
    assert.deepEqual(
      list.map((m: { id: string }) => m.id),
      ['m1', 'm2'],
    );
    assert.equal((await app.inject({ url: `/v1/lpars/${id}/migrations/m2` })).json().id, 'm2');
    assert.equal((await app.inject({ url: `/v1/lpars/${id}/migrations/m9` })).statusCode, 404);
    assert.ok((await app.inject({ url: `/v1/lpars/${id}/invariants` })).json().ok);
  });

  it('5.16 ignores the platform facilities and leaves everything as it was', async () => {
    const id = await lpar('5.16', { options: { dynamicDebug: true } });
    const m = (await migrate(id, { destination: 'p9-beta' })).json();
    assert.deepEqual(
      m.report.operations.map((o: { outcome: string }) => o.outcome),
      ['ignored', 'ignored', 'ignored', 'ignored', 'done', 'done', 'ignored'],
    );
    assert.deepEqual(m.report.leftDetached, []);
    assert.ok(m.report.dmesg.includes('mobility: ignoring add operation for /ibm,platform-facilities'));
  });

  it('migrating to the current system is 409; an unknown system 404; bad bodies 400 — none change anything', async () => {
    const id = await lpar('5.8');
    const before = await fingerprint(app, id);
    const same = await migrate(id, { destination: 'p9-alpha' });
    assert.equal(same.statusCode, 409);
    problemOf(same);
    assert.equal((await migrate(id, { destination: 'p7-nowhere' })).statusCode, 404);
    assert.equal(
      (
        await migrate(id, {
          destination: 'p9-beta',
          faults: [{ call: 'ibm,update-nodes', onCall: 0, status: -2 }],
        })
      ).statusCode,
      400,
    );
    assert.equal(
      (await migrate(id, { destination: 'p9-beta', updates: [{ action: 'add', phandle: 1 }] })).statusCode,
      400,
    );
    assert.equal((await migrate(id, { destination: 'p9-beta', extra: true })).statusCode, 400);
    assert.equal(await fingerprint(app, id), before);
  });

  it('dryRun returns the work list and changes nothing', async () => {
    const id = await lpar('4.18');
    const before = await fingerprint(app, id);
    const m = (await migrate(id, { destination: 'p9-beta', dryRun: true })).json();
    assert.equal(m.dryRun, true);
    assert.equal(m.report, null);
    assert.deepEqual(m.workList[0], { action: 'delete', phandle: 0xfffffff5 });
    assert.deepEqual(m.workList.at(-1), { action: 'add', phandle: 0xffffffff, drc: 0x70000001 });
    const after = await fingerprint(app, id);
    assert.equal(
      after.split('\n').slice(0, 5).join('\n'),
      before.split('\n').slice(0, 5).join('\n'),
      'only the migration list differs',
    );
  });

  it('injected firmware errors: update-nodes -9001 fails the migration where the kernel stops', async () => {
    const id = await lpar('5.8');
    const m = (
      await migrate(id, {
        destination: 'p9-beta',
        faults: [{ call: 'ibm,update-nodes', onCall: 1, status: -9001 }],
      })
    ).json();
    assert.equal(m.state, 'failed');
    assert.equal(m.report.rc, -9001);
    assert.deepEqual(m.report.operations, []);
    assert.ok(m.report.dmesg.includes('Post-mobility device tree update failed: -9001'));
    const cc = (
      await migrate(id, {
        destination: 'p9-alpha',
        faults: [{ call: 'ibm,configure-connector', onCall: 3, status: -9003 }],
      })
    ).json();
    assert.equal(cc.state, 'completed', 'a failed add does not fail the update loop');
    assert.equal(cc.report.operations.at(-1).outcome, 'failed');
    assert.ok(cc.report.dmesg.includes('Unexpected Error (-9003) returned from configure-connector'));
    assert.ok((await app.inject({ url: `/v1/lpars/${id}/invariants` })).json().ok);
    // activate-firmware: a busy answer is retried; a hardware error is logged and the update still runs.
    const busy = (
      await migrate(id, {
        destination: 'p9-beta',
        faults: [{ call: 'ibm,activate-firmware', onCall: 1, status: -2 }],
      })
    ).json();
    assert.deepEqual(
      busy.report.firmwareCalls.slice(0, 2).map((c: { call: string; status: number }) => [c.call, c.status]),
      [
        ['ibm,activate-firmware', -2],
        ['ibm,activate-firmware', 0],
      ],
    );
    const hw = (
      await migrate(id, {
        destination: 'p9-alpha',
        faults: [{ call: 'ibm,activate-firmware', onCall: 1, status: -9001 }],
      })
    ).json();
    assert.ok(hw.report.dmesg.includes('Post-mobility activate-fw failed: -9001'));
    assert.equal(hw.state, 'completed');
  });

  it('an explicit update list: a property update reaches nx-842 through its name-matched notifier', async () => {
    const id = await lpar('5.8');
    const m = (
      await migrate(id, {
        destination: 'p9-beta',
        updates: [
          {
            action: 'update',
            phandle: '0xfffffff4',
            properties: [{ name: 'ibm,max-sync-cop', u32: [1, 0x2000, 0x1fe, 1, 0x2000, 0x1fe] }],
          },
        ],
      })
    ).json();
    assert.equal(m.report.operations[0].outcome, 'done');
    assert.ok(
      m.report.dmesg.includes(
        'nx_compress_pseries ibm,compression-v1: nx842_OF_upd: max_sync_size new:8192 old:4096',
      ),
    );
  });

  it('a destination that re-adds cache nodes deletes and re-adds l2/l3 under /cpus with their phandles', async () => {
    await app.inject({
      method: 'POST',
      url: '/v1/systems',
      payload: { name: 'p9-cachy', processor: 'POWER9', serial: '0C0FFEE', readdCacheNodes: true },
    });
    const id = await lpar('5.8', { options: { cores: 2 } });
    const m = (await migrate(id, { destination: 'p9-cachy' })).json();
    const adds = m.workList.filter((w: { action: string }) => w.action === 'add');
    assert.equal(adds.length, 1 + 4);
    const l2 = (await app.inject({ url: `/v1/lpars/${id}/nodes?path=/cpus/l2-cache@2000` })).json();
    assert.deepEqual(l2.flags, ['OF_DYNAMIC']);
  });
});
