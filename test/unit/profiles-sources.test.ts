// Issue 14 point 1: the profiles added from the 5.4.0, 5.10.7, 5.14.2, 6.1.20, 6.6.9 and 6.12.0 sources
// (docs/kernel-model.md section D), and the three switches those trees brought: waitMemoryTransfer
// (6.1+), pofSkipsSelf and detachSysfsInCore (6.6+). Each switch is tested through what a user sees:
// dmesg lines, reference counts and node states.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kernelProfile, type SwitchName } from '../../src/kernel/profiles.ts';
import { migrate } from '../../src/lpar/migrations.ts';
import { ofPeekNodeByPath } from '../../src/of/base.ts';
import { ofDetachNode } from '../../src/of/dynamic.ts';
import { nodeState } from '../../src/of/node.ts';
import { ofNodeFullName } from '../../src/of/printk-of.ts';
import { ofNodePut } from '../../src/of/refs.ts';
import { BUILTIN_SYSTEMS } from '../../src/pseries/systems.ts';
import { newLpar, te } from '../helpers/model.ts';

type TestLpar = ReturnType<typeof newLpar>;

const beta = BUILTIN_SYSTEMS.find((s) => s.name === 'p9-beta')!;
const since = (lpar: TestLpar, mark: number) => lpar.k.log.since(mark).map((l) => l.text);
const node = (lpar: TestLpar, path: string) => ofPeekNodeByPath(lpar.of, path)!;

describe('the profiles read from the 5.4 to 6.12 sources', () => {
  const COLUMNS: SwitchName[] = [
    'phandleCache',
    'sysfsRefBeforeAdd',
    'refcount',
    'mobilityLookup',
    'skipPlatformFacilities',
    'pofTakesRefs',
    'rngInitPut',
    'parentPutAfterRelease',
    'suspendInKernel',
    'mobilityPrFmt',
    'waitMemoryTransfer',
    'pofSkipsSelf',
    'detachSysfsInCore',
  ];
  const ROWS: Record<string, (string | boolean)[]> = {
    '5.4': [
      'pow2-refs',
      true,
      'plain',
      'per-op',
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ],
    '5.10': [
      'hash128',
      false,
      'checked',
      'per-op',
      false,
      true,
      true,
      true,
      false,
      false,
      false,
      false,
      false,
    ],
    '5.14': [
      'hash128',
      false,
      'checked',
      'central',
      false,
      true,
      true,
      true,
      true,
      true,
      false,
      false,
      false,
    ],
    '6.1': ['hash128', false, 'checked', 'central', true, true, true, true, true, true, true, false, false],
    '6.6': ['hash128', false, 'checked', 'central', true, true, true, true, true, true, true, true, true],
    '6.12': ['hash128', false, 'checked', 'central', true, true, true, true, true, true, true, true, true],
  };

  it('each has the switch values its tree shows', () => {
    for (const [name, want] of Object.entries(ROWS)) {
      const p = kernelProfile(name);
      assert.ok(p, `profile ${name} exists`);
      assert.deepEqual(
        COLUMNS.map((c) => p[c]),
        want,
        name,
      );
      // Common to all of them: the sysfs reference, the dlpar put, cacheinfo's rebuild, cut-here.
      for (const s of ['sysfsHoldsRef', 'dlparDetachPut', 'cacheinfoRebuild', 'cutHereAlways'] as const)
        assert.equal(p[s], true, `${name} ${s}`);
    }
  });

  it('each has the release facts of its build', () => {
    const facts = (name: string) => {
      const p = kernelProfile(name)!;
      return [p.kobjOffset, p.taintFlags, p.faultMessages, p.dieBannerPageSize, p.release];
    };
    assert.deepEqual(facts('5.4'), [0x50, 18, 'bug', true, '5.4.0-lparsim']);
    assert.deepEqual(facts('5.10'), [0x58, 18, 'bug-access', true, '5.10.0-lparsim']);
    assert.deepEqual(facts('5.14'), [0x80, 18, 'bug-access', true, '5.14.0-lparsim']);
    for (const name of ['6.1', '6.6', '6.12'])
      assert.deepEqual(facts(name), [0x80, 19, 'bug-access', true, `${name}.0-lparsim`]);
    const p54 = kernelProfile('5.4')!;
    assert.equal(p54.warnLines['refcount:inc-on-0'], 'lib/refcount.c:156');
    assert.equal(p54.warnLines['refcount:underflow'], 'lib/refcount.c:190');
    assert.equal(p54.functionNames.refcount_inc, 'refcount_inc_checked');
    // One WARN_ON for both checks from 6.6.
    for (const [name, line] of [
      ['6.6', 'drivers/of/dynamic.c:261'],
      ['6.12', 'drivers/of/dynamic.c:263'],
    ] as const) {
      const p = kernelProfile(name)!;
      assert.equal(p.warnLines.__of_detach_node, line);
      assert.equal(p.warnLines['__of_detach_node!parent'], line);
    }
  });

  it('6.1 prints 19 taint columns in the CPU line of a WARNING; 5.16 prints 18', () => {
    for (const [kernel, columns] of [
      ['5.16', 18],
      ['6.1', 19],
    ] as const) {
      const lpar = newLpar(kernel);
      lpar.ofdt(te.encode('add_node /vdevice/t@1 name 2 t\0'));
      const np = node(lpar, '/vdevice/t@1');
      ofDetachNode(lpar.of, np);
      ofDetachNode(lpar.of, np); // the first WARNING: still "Not tainted"
      const mark = lpar.k.log.last;
      ofDetachNode(lpar.of, np); // the second shows W
      const log = since(lpar, mark);
      const cpu = log.find((l) => l.startsWith('CPU: 0 PID:'))!;
      const taint = /Tainted: (.*) \d+\.\d+\.0-lparsim #1$/.exec(cpu)?.[1];
      assert.equal(taint?.length, columns, `${kernel}: ${cpu}`);
      assert.ok(taint?.startsWith('G        W'), cpu);
      const end = log.find((l) => l.startsWith('---[ end trace'))!;
      // 6.1 prints a zero trace id; earlier releases the boot's random one.
      assert.equal(end === '---[ end trace 0000000000000000 ]---', kernel === '6.1', end);
    }
  });

  it('6.12 names the UID in the CPU line; 6.6 does not', () => {
    for (const [kernel, uid] of [
      ['6.6', false],
      ['6.12', true],
    ] as const) {
      const lpar = newLpar(kernel);
      lpar.ofdt(te.encode('add_node /vdevice/t@1 name 2 t\0'));
      const np = node(lpar, '/vdevice/t@1');
      ofDetachNode(lpar.of, np);
      const mark = lpar.k.log.last;
      ofDetachNode(lpar.of, np);
      const cpu = since(lpar, mark).find((l) => l.startsWith('CPU: 0 '))!;
      assert.match(cpu, uid ? /^CPU: 0 UID: 0 PID: \d+ Comm: / : /^CPU: 0 PID: \d+ Comm: /, kernel);
    }
  });
});

describe('waitMemoryTransfer (K-MOB-1, 6.1+)', () => {
  const migration = (kernel: string, switches = {}) => {
    const lpar = newLpar(kernel, { switches });
    const mark = lpar.k.log.last;
    const m = migrate(
      lpar,
      { destination: beta, dryRun: false, faults: [] },
      () => new Date(0),
      () => 0,
    );
    assert.ok(m.report);
    return since(lpar, mark);
  };
  const WAIT = 'mobility: waiting for memory transfer to complete...';
  const DONE = 'mobility: memory transfer completed.';

  it('6.1, 6.6 and 6.12 log both ends of the wait after the device-tree update, as the last lines of the migration', () => {
    for (const kernel of ['6.1', '6.6', '6.12']) {
      const log = migration(kernel);
      const wait = log.indexOf(WAIT);
      assert.ok(wait > log.indexOf('mobility: CPU 0 waking all threads'), `${kernel}: after the resume`);
      assert.deepEqual(log.slice(wait), [WAIT, DONE], kernel);
    }
  });

  it('5.14 and 5.16 do not wait; the switch alone adds the lines to 5.16', () => {
    for (const kernel of ['5.14', '5.16']) {
      const log = migration(kernel);
      assert.ok(!log.includes(WAIT) && !log.includes(DONE), kernel);
    }
    const log = migration('5.16', { waitMemoryTransfer: true });
    assert.deepEqual(log.slice(-2), [WAIT, DONE]);
  });
});

describe('pofSkipsSelf (E5, 6.6+)', () => {
  /** Puts /vdevice/vty@30000000 to 0 while attached: `Bad of_node_put() on %pOF` prints it at count 0. */
  const badPut = (kernel: string, switches = {}) => {
    const lpar = newLpar(kernel, { switches });
    const vty = node(lpar, '/vdevice/vty@30000000');
    const mark = lpar.k.log.last;
    for (let n = vty.kobj.ref.count; n > 0; n--) ofNodePut(lpar.of, vty, 'buggy');
    return { log: since(lpar, mark), ref: vty.kobj.ref, warnings: lpar.k.counters.warnings };
  };

  it('6.1: the %pOF of the bad put gets the node at 0, warns and saturates it', () => {
    const { log, ref } = badPut('6.1');
    assert.ok(log.includes('OF: ERROR: Bad of_node_put() on /vdevice/vty@30000000'), log.join('\n'));
    assert.ok(log.includes('refcount_t: addition on 0; use-after-free.'), log.join('\n'));
    assert.equal(ref.saturated, true);
  });

  it('6.6 and 6.12: the same print names the node without touching its count, which stays at 0', () => {
    for (const kernel of ['6.6', '6.12']) {
      const { log, ref, warnings } = badPut(kernel);
      assert.ok(log.includes('OF: ERROR: Bad of_node_put() on /vdevice/vty@30000000'), kernel);
      assert.ok(!log.some((l) => l.startsWith('refcount_t:')), `${kernel}: ${log.join('\n')}`);
      assert.equal(ref.saturated, false, kernel);
      assert.equal(ref.count, 0, kernel);
      assert.equal(warnings, 0, kernel);
    }
  });

  it('the switch, not the version: 6.1 with pofSkipsSelf stays at 0, 6.6 without it saturates', () => {
    assert.equal(badPut('6.1', { pofSkipsSelf: true }).ref.saturated, false);
    assert.equal(badPut('6.6', { pofSkipsSelf: false }).ref.saturated, true);
  });

  it('the ancestors are still got and put: a print leaves every count as it was', () => {
    const lpar = newLpar('6.6');
    const vty = node(lpar, '/vdevice/vty@30000000');
    const vdevice = node(lpar, '/vdevice');
    const before = [vty.kobj.ref.count, vdevice.kobj.ref.count];
    lpar.k.events = [];
    assert.equal(ofNodeFullName(lpar.of, vty), '/vdevice/vty@30000000');
    assert.deepEqual([vty.kobj.ref.count, vdevice.kobj.ref.count], before);
    const pofGets = lpar.k.events.filter((e) => e.type === 'ref.get' && e.holder === '%pOF');
    assert.ok(
      pofGets.some((e) => e.address === vdevice.address),
      'the parent is got',
    );
    assert.ok(!pofGets.some((e) => e.address === vty.address), 'the node itself is not');
  });
});

describe('detachSysfsInCore (K-DETACH-1, 6.6+)', () => {
  /** Detaches a fresh ofdt node twice; returns its count after each detach and the second WARNING's line. */
  const doubleDetach = (kernel: string, switches = {}) => {
    const lpar = newLpar(kernel, { switches });
    lpar.ofdt(te.encode('add_node /vdevice/t@1 name 2 t\0'));
    const np = node(lpar, '/vdevice/t@1');
    const counts = [np.kobj.ref.count];
    ofDetachNode(lpar.of, np);
    counts.push(np.kobj.ref.count);
    const mark = lpar.k.log.last;
    ofDetachNode(lpar.of, np);
    counts.push(np.kobj.ref.count);
    const warning = since(lpar, mark).find((l) => l.startsWith('WARNING:'));
    return { counts, warning, state: nodeState(np) };
  };

  it('6.1: the second detach warns and its sysfs step still puts a reference, freeing the node', () => {
    const { counts, warning, state } = doubleDetach('6.1');
    assert.deepEqual(counts, [2, 1, 0]);
    assert.match(warning ?? '', / at drivers\/of\/dynamic\.c:260 __of_detach_node\+/);
    assert.equal(state, 'freed');
  });

  it('6.6 and 6.12: the second detach warns at the one WARN_ON and puts nothing', () => {
    for (const [kernel, line] of [
      ['6.6', 261],
      ['6.12', 263],
    ] as const) {
      const { counts, warning, state } = doubleDetach(kernel);
      assert.deepEqual(counts, [2, 1, 1], kernel);
      assert.match(
        warning ?? '',
        new RegExp(` at drivers/of/dynamic\\.c:${line} __of_detach_node\\+`),
        kernel,
      );
      assert.equal(state, 'detached', kernel);
    }
  });

  it('the first detach behaves the same either way: unlinked, out of sysfs, one reference put', () => {
    for (const detachSysfsInCore of [false, true]) {
      const lpar = newLpar('6.1', { switches: { detachSysfsInCore } });
      lpar.ofdt(te.encode('add_node /vdevice/t@1 name 2 t\0'));
      const np = node(lpar, '/vdevice/t@1');
      ofDetachNode(lpar.of, np);
      assert.equal(np.kobj.inSysfs, false, String(detachSysfsInCore));
      assert.equal(np.kobj.ref.count, 1, String(detachSysfsInCore));
      assert.equal(ofPeekNodeByPath(lpar.of, '/vdevice/t@1'), null);
    }
  });
});
