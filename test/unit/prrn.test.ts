// K-PRRN: a PRRN event runs the ibm,update-nodes loop with scope -2 where the kernel handles PRRN
// (4.16 to 5.0), is dropped silently where topology updates are off by default (5.4, 5.8), and is
// logged as ignored from 5.10. The old loop's prrn_update_node looks each updated phandle up again.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KERNEL_PROFILES } from '../../src/kernel/profiles.ts';
import { migrate } from '../../src/lpar/migrations.ts';
import { enc } from '../../src/of/property.ts';
import { BUILTIN_SYSTEMS } from '../../src/pseries/systems.ts';
import { newLpar } from '../helpers/model.ts';

const at = () => new Date(0);
const ms = () => 0;

describe('PRRN events (K-PRRN)', () => {
  it('4.18 runs the update loop on the named nodes with scope -2 and applies the new values', () => {
    const lpar = newLpar('4.18');
    const before = lpar.events.lastId;
    const e = lpar.prrn(
      { nodes: [{ path: '/cpus', properties: [{ name: 'ibm,prrn-test', value: enc.u32(7) }] }] },
      at,
      ms,
    );
    assert.equal(e.handled, true);
    assert.equal(e.handling, 'update');
    const report = e.report as {
      rc: number;
      operations: Array<Record<string, unknown>>;
      firmwareCalls: unknown[];
    };
    assert.equal(report.rc, 0);
    assert.deepEqual(
      report.operations.map((o) => [o.action, o.outcome, o.prrn]),
      [['update', 'done', 'found']],
    );
    assert.deepEqual(
      [...lpar.resolve({ path: '/cpus' }).properties.find('ibm,prrn-test')!.value],
      [0, 0, 0, 7],
    );
    // prrn_update_node's own lookup took and dropped a reference, under its name.
    const holders = lpar.events
      .since(before)
      .filter((x) => x.type.startsWith('ref.') && x.data.holder === 'prrn_update_node');
    assert.ok(holders.length >= 2, JSON.stringify(holders.map((h) => h.type)));
  });

  it('a phandle naming no node is what the old kernel takes for an LMB to re-add', () => {
    const lpar = newLpar('5.0');
    const e = lpar.prrn({ nodes: [{ phandle: 0x1234abcd }] }, at, ms);
    const ops = (e.report as { operations: Array<Record<string, unknown>> }).operations;
    assert.deepEqual(
      ops.map((o) => [o.outcome, o.prrn]),
      [['not-found', 'lmb-readd']],
    );
  });

  it('another scope runs the loop without the PRRN special case', () => {
    const lpar = newLpar('4.18');
    const e = lpar.prrn({ nodes: [{ path: '/cpus' }], scope: 3 }, at, ms);
    const ops = (e.report as { operations: Array<Record<string, unknown>> }).operations;
    assert.equal(ops.length, 1);
    assert.equal(ops[0]!.prrn, undefined);
  });

  it('4.18: a PRRN after a migration finds the released platform-facilities node through the stale cache; 5.0 finds the new one', () => {
    for (const [kernel, state] of [
      ['4.18', 'released'],
      ['5.0', 'attached'],
    ] as const) {
      const lpar = newLpar(kernel);
      const phandle = lpar.resolve({ path: '/ibm,platform-facilities' }).phandle;
      migrate(
        lpar,
        { destination: BUILTIN_SYSTEMS.find((s) => s.name === 'p9-beta')!, dryRun: false, faults: [] },
        at,
        ms,
      );
      const e = lpar.prrn({ nodes: [{ phandle }] }, at, ms);
      const ops = (e.report as { operations: Array<{ node: { state: string } | null }> }).operations;
      assert.equal(ops[0]!.node?.state, state, kernel);
    }
  });

  it('each profile handles the event as its prrnEvents says', () => {
    for (const p of KERNEL_PROFILES) {
      const lpar = newLpar(p.name, { options: { cores: 1, threadsPerCore: 2, memoryGiB: 1 } });
      const e = lpar.prrn({ nodes: [{ path: '/cpus' }] }, at, ms);
      const report = e.report as { dmesg: string[]; firmwareCalls: unknown[] };
      assert.equal(e.handled, p.prrnEvents === 'update', p.name);
      assert.equal(report.firmwareCalls.length > 0, p.prrnEvents === 'update', p.name);
      assert.deepEqual(
        report.dmesg,
        p.prrnEvents === 'ignored' ? ['Platform resource reassignment ignored.'] : [],
        p.name,
      );
    }
  });

  it('a path firmware cannot name is refused before anything runs', () => {
    const lpar = newLpar('4.18');
    const actions = lpar.actions;
    assert.throws(() => lpar.prrn({ nodes: [{ path: '/no-such-node' }] }, at, ms), /no attached node/);
    assert.equal(lpar.actions, actions);
  });
});
