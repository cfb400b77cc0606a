import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { printTainted } from '../../src/kernel/kernel.ts';
import { formatLogLine } from '../../src/kernel/printk.ts';
import { DEFAULT_KERNEL_OPTIONS, KERNEL_PROFILES } from '../../src/kernel/profiles.ts';
import { kernelFor } from '../helpers/model.ts';

describe('printk and WARN (spec section 2)', () => {
  it('formats dmesg timestamps as seconds.microseconds, right-aligned', () => {
    assert.equal(formatLogLine({ seq: 1, usec: 12_345_678, level: 'info', text: 'x' }), '[   12.345678] x');
    assert.equal(formatLogLine({ seq: 1, usec: 5, level: 'info', text: 'y' }), '[    0.000005] y');
  });

  it('timestamps increase monotonically', () => {
    const k = kernelFor('5.8');
    k.printk('info', 'a');
    k.printk('info', 'b');
    assert.ok(k.log.lines[1]!.usec > k.log.lines[0]!.usec);
  });

  it('E12: a WARNING block as powerpc prints it: the WARNING line at file:line func+off/size, modules, the CPU line, one frame a line, the end marker', () => {
    const k = kernelFor('4.18');
    k.tasks.runAs('drmgr', () => k.fn('outer', () => k.fn('inner', () => k.warn('__of_detach_node'))));
    const log = k.log.lines.map((l) => l.text);
    const pid = k.tasks.task('drmgr').pid;
    // 4.18: a bare WARN_ON is a trap and prints no cut-here line.
    assert.match(
      log[0]!,
      new RegExp(
        `^WARNING: CPU: 0 PID: ${pid} at drivers/of/dynamic\\.c:252 __of_detach_node\\+0x[0-9a-f]+/0x[0-9a-f]+$`,
      ),
    );
    assert.equal(log[1], 'Modules linked in:');
    assert.equal(log[2], `CPU: 0 PID: ${pid} Comm: drmgr Not tainted 4.18.0-lparsim #1`);
    assert.equal(log[3], 'Call Trace:');
    assert.match(
      log[4]!,
      /^\[[0-9a-f]{16}\] \[[0-9a-f]{16}\] inner\+0x[0-9a-f]+\/0x[0-9a-f]+ \(unreliable\)$/,
    );
    assert.match(log[5]!, /^\[[0-9a-f]{16}\] \[[0-9a-f]{16}\] outer\+0x[0-9a-f]+\/0x[0-9a-f]+$/);
    assert.match(log[6]!, /^---\[ end trace [0-9a-f]{16} \]---$/);
    assert.equal(log.length, 7);
    assert.deepEqual([...k.taints], ['W'], 'W is set once the block is printed');
  });

  it('WARN_ONCE prints once per site per LPAR', () => {
    const k = kernelFor('5.8');
    assert.equal(k.warnOnce('s', 'fn', 'm'), true);
    assert.equal(k.warnOnce('s', 'fn', 'm'), false);
    assert.equal(k.counters.warnings, 1);
  });

  it('pids are stable per task name', () => {
    const k = kernelFor('5.8');
    assert.equal(k.tasks.task('cat').pid, k.tasks.task('cat').pid);
    assert.notEqual(k.tasks.task('cat').pid, k.tasks.task('drmgr').pid);
  });

  it('the KASAN report names the function, the access, both tasks and the object; kasan off only counts', () => {
    for (const kasan of [true, false]) {
      const k = kernelFor('4.18', { kasan });
      const obj = { address: 'c000000002000100', freed: null as null | ReturnType<typeof k.freeRecord> };
      k.tasks.runAs('drmgr', () => k.fn('kfree_path', () => (obj.freed = k.freeRecord())));
      k.tasks.runAs('cat', () => k.access(obj, 'of_node_put', 4, true));
      assert.equal(k.counters.useAfterFree, 1);
      const log = k.log.lines.map((l) => l.text);
      if (!kasan) assert.deepEqual(log, []);
      else {
        assert.ok(log.includes('BUG: KASAN: use-after-free in of_node_put'));
        assert.ok(
          log.includes(`Write of size 4 at addr c000000002000100 by task cat/${k.tasks.task('cat').pid}`),
        );
        assert.ok(log.includes(`Freed by task drmgr/${k.tasks.task('drmgr').pid}: kfree_path`));
      }
    }
  });

  it('the profile table matches spec section 1 and the errata switches (E1-E14)', () => {
    const row = (name: string) => KERNEL_PROFILES.find((p) => p.name === name)!;
    // The spec's five profiles; the later ones are checked in test/unit/profiles-sources.test.ts.
    const SPEC = KERNEL_PROFILES.filter((p) => ['4.16', '4.18', '5.0', '5.8', '5.16'].includes(p.name));
    assert.deepEqual(
      SPEC.map((p) => [
        p.name,
        p.phandleCache,
        p.sysfsHoldsRef,
        p.dlparDetachPut,
        p.refcount,
        p.mobilityLookup,
        p.skipPlatformFacilities,
      ]),
      [
        ['4.16', 'none', false, false, 'plain', 'per-op', false],
        ['4.18', 'pow2', false, false, 'plain', 'per-op', false],
        ['5.0', 'pow2-refs', true, true, 'plain', 'per-op', false],
        ['5.8', 'hash128', true, true, 'checked', 'per-op', false],
        ['5.16', 'hash128', true, true, 'checked', 'central', true],
      ],
    );
    assert.equal(row('5.16').skipPlatformFacilities, true);
    // The errata's switches, one column each: E11, E5, E10, E14, E4, E12, E8, E9.
    assert.deepEqual(
      SPEC.map((p) => [
        p.name,
        p.sysfsRefBeforeAdd,
        p.pofTakesRefs,
        p.cacheinfoRebuild,
        p.rngInitPut,
        p.parentPutAfterRelease,
        p.cutHereAlways,
        p.suspendInKernel,
        p.mobilityPrFmt,
      ]),
      [
        ['4.16', false, false, false, false, false, false, false, false],
        ['4.18', false, false, false, false, false, false, false, false],
        ['5.0', true, false, false, false, false, false, false, false],
        ['5.8', false, true, true, false, false, true, false, false],
        ['5.16', false, true, true, true, true, true, true, true],
      ],
    );
  });

  it("E12: the real line of __of_detach_node's OF_DETACHED check per release; 5.0 names its checked refcount functions", () => {
    assert.deepEqual(
      KERNEL_PROFILES.map((p) => [p.name, p.warnLines.__of_detach_node]),
      [
        ['4.16', 'drivers/of/dynamic.c:252'],
        ['4.18', 'drivers/of/dynamic.c:252'],
        ['5.0', 'drivers/of/dynamic.c:258'],
        ['5.4', 'drivers/of/dynamic.c:258'],
        ['5.8', 'drivers/of/dynamic.c:258'],
        ['5.10', 'drivers/of/dynamic.c:258'],
        ['5.14', 'drivers/of/dynamic.c:260'],
        ['5.16', 'drivers/of/dynamic.c:260'],
        ['6.1', 'drivers/of/dynamic.c:260'],
        ['6.6', 'drivers/of/dynamic.c:261'],
        ['6.12', 'drivers/of/dynamic.c:263'],
      ],
    );
    const v50 = KERNEL_PROFILES.find((p) => p.name === '5.0')!;
    assert.equal(v50.warnLines.of_find_node_by_phandle, 'drivers/of/base.c:1240');
    assert.equal(v50.functionNames.refcount_inc, 'refcount_inc_checked');
  });

  it('E2: kasan is off by default (powerpc64 had no KASAN); E7: panicOnOops is off by default', () => {
    assert.equal(DEFAULT_KERNEL_OPTIONS.kasan, false);
    assert.equal(DEFAULT_KERNEL_OPTIONS.panicOnOops, false);
  });

  it('E12: print_tainted has one column per flag, G first and a space for each unset flag (17 flags on 4.16)', () => {
    assert.equal(printTainted(new Set()), 'Not tainted');
    assert.equal(printTainted(new Set(['W'])), 'Tainted: G        W        ');
    assert.equal(printTainted(new Set(['W']), 17), 'Tainted: G        W       ');
    assert.equal(printTainted(new Set(['D', 'W'])), 'Tainted: G      D W        ');
    assert.equal(printTainted(new Set(['D'])), 'Tainted: G      D          ');
  });
});
