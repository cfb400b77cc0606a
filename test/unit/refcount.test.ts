import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refcountDecAndTest, refcountInc, refcountStep } from '../../src/kernel/refcount.ts';
import { kernelFor } from '../helpers/model.ts';

const texts = (k: ReturnType<typeof kernelFor>) => k.log.lines.map((l) => l.text);

describe('K-REF-4 refcount behaviours', () => {
  it('plain: a get on 0 makes 1 silently, a put on 0 goes to -1 and never releases, a put to 0 releases again', () => {
    const k = kernelFor('4.18');
    const r = { count: 0, saturated: false };
    refcountInc(k, r);
    assert.equal(r.count, 1);
    assert.equal(refcountDecAndTest(k, r), true);
    assert.equal(refcountDecAndTest(k, r), false);
    assert.equal(r.count, -1);
    assert.deepEqual(texts(k), []);
  });

  it('refcountFull (4.x): increment on 0 and underflow are refused with WARN_ONCE each', () => {
    const k = kernelFor('4.18', { refcountFull: true });
    const r = { count: 0, saturated: false };
    refcountInc(k, r);
    refcountInc(k, r);
    assert.equal(r.count, 0);
    assert.equal(refcountDecAndTest(k, r), false);
    assert.equal(r.count, 0);
    const log = texts(k);
    assert.equal(
      log.filter((l) => l === 'refcount_t: increment on 0; use-after-free.').length,
      1,
      'once per call site',
    );
    assert.equal(log.filter((l) => l === 'refcount_t: underflow; use-after-free.').length, 1);
    assert.equal(k.counters.warnings, 2);
    // E12: 4.x's checked functions, at their lines; a WARN_ONCE has a message, so cut-here comes first.
    assert.match(log.find((l) => l.startsWith('WARNING:'))!, /at lib\/refcount\.c:153 refcount_inc\+0x/);
    assert.ok(log.some((l) => /at lib\/refcount\.c:187 refcount_sub_and_test\+0x/.test(l)));
    assert.deepEqual(log.slice(0, 2), [
      '------------[ cut here ]------------',
      'refcount_t: increment on 0; use-after-free.',
    ]);
  });

  it('E12: 5.0 with refcountFull names the *_checked functions in the WARNING line', () => {
    const k = kernelFor('5.0', { refcountFull: true });
    const r = { count: 0, saturated: false };
    refcountInc(k, r);
    refcountDecAndTest(k, r);
    const warnings = texts(k).filter((l) => l.startsWith('WARNING:'));
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /at lib\/refcount\.c:153 refcount_inc_checked\+0x[0-9a-f]+\/0x[0-9a-f]+$/);
    assert.match(
      warnings[1]!,
      /at lib\/refcount\.c:187 refcount_sub_and_test_checked\+0x[0-9a-f]+\/0x[0-9a-f]+$/,
    );
  });

  it('checked (5.5+): addition on 0 saturates; a saturated count never changes, each message has its own once-flag', () => {
    const k = kernelFor('5.8');
    const r = { count: 0, saturated: false };
    refcountInc(k, r);
    assert.equal(r.saturated, true);
    refcountInc(k, r);
    assert.equal(refcountDecAndTest(k, r), false);
    assert.equal(refcountDecAndTest(k, r), false);
    assert.equal(r.saturated, true);
    const log = texts(k);
    assert.ok(log.includes('refcount_t: addition on 0; use-after-free.'));
    assert.equal(log.filter((l) => l === 'refcount_t: saturated; leaking memory.').length, 1);
    assert.equal(log.filter((l) => l === 'refcount_t: underflow; use-after-free.').length, 1);
    // E12: each saturation type is its own WARN_ONCE site in refcount_warn_saturate, at its own line.
    for (const line of [25, 22, 28])
      assert.ok(
        log.some((l) =>
          new RegExp(
            `^WARNING: CPU: 0 PID: 0 at lib/refcount\\.c:${line} refcount_warn_saturate\\+0x[0-9a-f]+/0x[0-9a-f]+$`,
          ).test(l),
        ),
        `lib/refcount.c:${line}`,
      );
  });

  it('checked: a put on 0 saturates with underflow', () => {
    const r = { count: 0, saturated: false };
    const step = refcountStep('checked', r, -1);
    assert.equal(step.release, false);
    assert.equal(step.warn?.message, 'refcount_t: underflow; use-after-free.');
    assert.equal(r.saturated, true);
  });
});
