// The compact holder table and reference ledger (issue 10, point 1) answer as a Map and a list would.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HolderTable, RefLedger } from '../../src/of/holders.ts';

/** A small deterministic generator, so that a failure repeats. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x;
  };
}

const sorted = (entries: Iterable<[string, number]>) =>
  [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

describe('HolderTable', () => {
  it('holds what a Map holds through random sets and deletes, across inline, pairs and Map', () => {
    for (const names of [4, 12, 60]) {
      const next = lcg(names);
      const table = new HolderTable();
      const map = new Map<string, number>();
      for (let step = 0; step < 3000; step++) {
        const holder = `h${next() % names}`;
        if (next() % 3 === 0) assert.equal(table.delete(holder), map.delete(holder), `delete ${holder}`);
        else {
          const count = (next() % 5) + 1;
          table.set(holder, count);
          map.set(holder, count);
        }
        assert.equal(table.size, map.size);
        assert.equal(table.get(holder), map.get(holder));
        assert.equal(table.has(holder), map.has(holder));
      }
      assert.deepEqual(sorted(table), sorted(map));
      assert.deepEqual([...table.keys()].sort(), [...map.keys()].sort());
    }
  });

  it('keeps three holders inline after a transient fourth came and went', () => {
    const table = new HolderTable();
    for (const h of ['of_node_init', 'sysfs', 'cache_chain_instantiate', 'cacheinfo']) table.set(h, 1);
    table.delete('cache_chain_instantiate');
    assert.equal((table as unknown as { more: unknown }).more, null);
    assert.deepEqual(sorted(table), [
      ['cacheinfo', 1],
      ['of_node_init', 1],
      ['sysfs', 1],
    ]);
  });
});

describe('RefLedger', () => {
  it('keeps up to KEPT operations in order and drops the oldest', () => {
    const next = lcg(7);
    const ledger = new RefLedger();
    const list: Array<1 | -1> = [];
    for (let step = 0; step < 500; step++) {
      if (ledger.length === RefLedger.KEPT) {
        const k = (next() % RefLedger.KEPT) + 1;
        ledger.drop(k);
        list.splice(0, k);
      }
      const op = next() % 2 ? 1 : -1;
      ledger.push(op);
      list.push(op);
      assert.equal(ledger.length, list.length);
      assert.deepEqual([...ledger.ops()], list);
    }
  });
});

describe('RefLedger saturation', () => {
  it('is kept apart from the operations', () => {
    const ledger = new RefLedger();
    for (const op of [1, 1, -1] as const) ledger.push(op);
    ledger.saturated = true;
    assert.equal(ledger.saturated, true);
    assert.deepEqual([...ledger.ops()], [1, 1, -1]);
    ledger.push(-1);
    ledger.drop(1);
    assert.deepEqual([...ledger.ops()], [1, -1, -1]);
    assert.equal(ledger.saturated, true);
    ledger.saturated = false;
    assert.equal(ledger.saturated, false);
    assert.deepEqual([...ledger.ops()], [1, -1, -1]);
  });
});
