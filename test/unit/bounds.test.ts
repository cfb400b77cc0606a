// Bounded state for long-running services: dmesg ring buffer, folded reference ledgers, kept migrations.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KernelLog, SimClock } from '../../src/kernel/printk.ts';
import { checkInvariants } from '../../src/lpar/invariants.ts';
import { migrate } from '../../src/lpar/migrations.ts';
import { Registry } from '../../src/lpar/registry.ts';
import { ofPeekNodeByPath } from '../../src/of/base.ts';
import { ofNodeGet, ofNodePut } from '../../src/of/refs.ts';
import { LIMITS, newLpar } from '../helpers/model.ts';

describe('bounded state', () => {
  it('dmesg is a ring buffer: old lines go, line numbers keep counting, since() still answers', () => {
    const log = new KernelLog(new SimClock(), 100);
    for (let i = 1; i <= 450; i++) log.printk('info', `line ${i}`);
    assert.ok(log.lines.length <= 100);
    assert.equal(log.lines.at(-1)!.text, 'line 450');
    assert.equal(log.last, 450);
    assert.deepEqual(
      log.since(447).map((l) => l.seq),
      [448, 449, 450],
    );
    assert.equal(log.since(0)[0]!.seq, 351, 'only the kept lines');
  });

  it('a hot node keeps a bounded ledger, and the count still checks against it', () => {
    const lpar = newLpar('5.8');
    const vty = ofPeekNodeByPath(lpar.of, '/vdevice/vty@30000000')!;
    for (let i = 0; i < 5000; i++) {
      ofNodeGet(lpar.of, vty, 'hot');
      ofNodePut(lpar.of, vty, 'hot');
    }
    assert.ok(vty.refLedger.ops.length < 256);
    assert.ok(checkInvariants(lpar).ok);
    vty.kobj.ref.count += 1; // a change behind the ledger's back
    const inv = checkInvariants(lpar).items.find((i) => i.name === 'refcounts-match-ledger')!;
    assert.equal(inv.ok, false);
    assert.match(inv.details[0]!, /vty@30000000\): count 4, ledger gives 3/);
  });

  it('keeps the latest migrations; ids are never reused', () => {
    const registry = new Registry({ ...LIMITS, maxMigrationsKept: 2 });
    const lpar = registry.create({ profile: 'power9', kernel: '5.16' });
    const systems = ['p9-beta', 'p9-alpha'].map((n) => registry.system(n));
    for (let i = 0; i < 5; i++)
      migrate(
        lpar,
        { destination: systems[i % 2]!, dryRun: false, faults: [] },
        () => new Date(0),
        () => 0,
      );
    assert.deepEqual(
      lpar.migrations.map((m) => m.id),
      ['m4', 'm5'],
    );
  });
});
