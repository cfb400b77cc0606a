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
    assert.ok(log.includes('WARNING: CPU: 0 PID: 0 at lib/refcount.c refcount_warn_saturate'));
  });

  it('checked: a put on 0 saturates with underflow', () => {
    const r = { count: 0, saturated: false };
    const step = refcountStep('checked', r, -1);
    assert.equal(step.release, false);
    assert.equal(step.warn?.message, 'refcount_t: underflow; use-after-free.');
    assert.equal(r.saturated, true);
  });
});
