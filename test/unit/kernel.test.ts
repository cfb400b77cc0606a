import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLogLine } from '../../src/kernel/printk.ts';
import { KERNEL_PROFILES } from '../../src/kernel/profiles.ts';
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

  it('a WARNING block has cut here, the WARNING line with pid, the call trace innermost first, and an end trace id', () => {
    const k = kernelFor('4.18');
    k.tasks.runAs('drmgr', () =>
      k.fn('outer', () => k.fn('inner', () => k.warn('drivers/of/dynamic.c', '__of_detach_node'))),
    );
    const log = k.log.lines.map((l) => l.text);
    const pid = k.tasks.task('drmgr').pid;
    assert.deepEqual(log.slice(0, 5), [
      '------------[ cut here ]------------',
      `WARNING: CPU: 0 PID: ${pid} at drivers/of/dynamic.c __of_detach_node`,
      'Call Trace:',
      ' inner',
      ' outer',
    ]);
    assert.match(log[5]!, /^---\[ end trace [0-9a-f]{16} \]---$/);
  });

  it('WARN_ONCE prints once per site per LPAR', () => {
    const k = kernelFor('5.8');
    assert.equal(k.warnOnce('s', 'f.c', 'fn', 'm'), true);
    assert.equal(k.warnOnce('s', 'f.c', 'fn', 'm'), false);
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

  it('the profile table matches spec section 1', () => {
    const row = (name: string) => KERNEL_PROFILES.find((p) => p.name === name)!;
    assert.deepEqual(
      KERNEL_PROFILES.map((p) => [
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
  });
});
