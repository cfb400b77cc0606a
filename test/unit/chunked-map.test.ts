// kernel/chunked-map.ts behaves as a Map (and a Set) across its chunk boundaries: lookups, updates in
// place, deletes, insertion-order iteration, and a chunk emptied by deletes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ChunkedMap, ChunkedSet } from '../../src/kernel/chunked-map.ts';

describe('ChunkedMap', () => {
  it('matches a Map over 100k keys, three chunks and more', () => {
    const m = new ChunkedMap<number, number>();
    const ref = new Map<number, number>();
    for (let i = 0; i < 100_000; i++) {
      m.set(i * 7, i);
      ref.set(i * 7, i);
    }
    // Updates stay in place; deletes leave the order of the rest; a re-added key goes last.
    for (const k of [0, 7 * 40_000, 7 * 99_999]) {
      m.set(k, -1);
      ref.set(k, -1);
    }
    for (let i = 0; i < 40_000; i++) {
      m.delete(i * 7 + 7 * 30_000);
      ref.delete(i * 7 + 7 * 30_000);
    }
    m.set(7 * 35_000, 5);
    ref.set(7 * 35_000, 5);
    assert.equal(m.size, ref.size);
    assert.deepEqual([...m], [...ref]);
    assert.equal(m.get(7 * 35_000), 5);
    assert.equal(m.get(3), undefined);
    assert.equal(m.has(7 * 20_000), true);
    assert.equal(m.delete(3), false);
  });

  it('agrees with a Map on any sequence of sets and deletes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 50 })), { maxLength: 300 }),
        (ops) => {
          const m = new ChunkedMap<number, number>();
          const ref = new Map<number, number>();
          ops.forEach(([add, k], i) => {
            if (add) {
              m.set(k, i);
              ref.set(k, i);
            } else assert.equal(m.delete(k), ref.delete(k));
          });
          assert.deepEqual([...m.entries()], [...ref.entries()]);
          assert.equal(m.size, ref.size);
        },
      ),
    );
  });

  it('has a Set', () => {
    const s = new ChunkedSet<string>();
    for (let i = 0; i < 70_000; i++) s.add(`n${i}`);
    s.add('n5');
    assert.equal(s.size, 70_000);
    assert.ok(s.has('n69999') && !s.has('x'));
    assert.ok(s.delete('n0'));
    assert.equal([...s][0], 'n1');
  });
});
