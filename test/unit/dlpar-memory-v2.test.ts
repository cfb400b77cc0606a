// Memory DLPAR on a tree that describes its LMBs as `ibm,dynamic-memory-v2` (K-DLPAR-4, note 52), as
// real PowerVM trees do: drmem reads the sets, and drmem_update_dt writes the table back as a new v2
// property of runs with equal aa index and flags, never as v1.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkInvariants } from '../../src/lpar/invariants.ts';
import type { Lpar } from '../../src/lpar/lpar.ts';
import { ofFindProperty, ofPeekNodeByPath } from '../../src/of/base.ts';
import { fdtEncode } from '../../src/of/fdt.ts';
import { ofFlattenLiveTree } from '../../src/of/unflatten.ts';
import { MAX_V2_LMBS } from '../../src/pseries/hotplug-memory.ts';
import { newLpar } from '../helpers/model.ts';

const DRCONF = '/ibm,dynamic-reconfiguration-memory';

interface LmbSet {
  seq: number;
  base: bigint;
  drc: number;
  aa: number;
  flags: number;
}

function drconfValue(lpar: Lpar, name: string): Uint8Array | undefined {
  return ofFindProperty(ofPeekNodeByPath(lpar.of, DRCONF)!, name)?.value;
}

/** The v1 table's LMBs, grouped into v2 sets as drmem_update_dt_v2 groups them. */
function setsFromV1(v1: Uint8Array): LmbSet[] {
  const view = new DataView(v1.buffer, v1.byteOffset, v1.byteLength);
  const sets: LmbSet[] = [];
  for (let i = 0; i < view.getUint32(0); i++) {
    const off = 4 + i * 24;
    const lmb = {
      base: view.getBigUint64(off),
      drc: view.getUint32(off + 8),
      aa: view.getUint32(off + 16),
      flags: view.getUint32(off + 20),
    };
    const last = sets.at(-1);
    if (last && last.aa === lmb.aa && last.flags === lmb.flags) last.seq += 1;
    else sets.push({ seq: 1, ...lmb });
  }
  return sets;
}

function encodeV2(sets: readonly LmbSet[]): Uint8Array {
  const out = new Uint8Array(4 + sets.length * 24);
  const view = new DataView(out.buffer);
  view.setUint32(0, sets.length);
  sets.forEach((s, i) => {
    const off = 4 + i * 24;
    view.setUint32(off, s.seq);
    view.setBigUint64(off + 4, s.base);
    view.setUint32(off + 12, s.drc);
    view.setUint32(off + 16, s.aa);
    view.setUint32(off + 20, s.flags);
  });
  return out;
}

function decodeV2(v: Uint8Array): LmbSet[] {
  const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
  return Array.from({ length: view.getUint32(0) }, (_, i) => {
    const off = 4 + i * 24;
    return {
      seq: view.getUint32(off),
      base: view.getBigUint64(off + 4),
      drc: view.getUint32(off + 12),
      aa: view.getUint32(off + 16),
      flags: view.getUint32(off + 20),
    };
  });
}

function ofdt(lpar: Lpar, text: string, value?: Uint8Array) {
  const head = new TextEncoder().encode(text);
  const bytes = value ? new Uint8Array([...head, ...value]) : head;
  const r = lpar.ofdt(bytes);
  assert.ok(r.ok, `${text}: ${r.ok ? '' : r.errno}`);
}

/** The built-in tree (4 GiB, 1 GiB spare) with its v1 table replaced by the same LMBs as v2, by ofdt. */
function v2Lpar(kernel: string, sets?: LmbSet[]): Lpar {
  const lpar = newLpar(kernel, { options: { memoryGiB: 4, spareMemoryGiB: 1 } });
  const v2 = encodeV2(sets ?? setsFromV1(drconfValue(lpar, 'ibm,dynamic-memory')!));
  // ofdt names a property's node by phandle (parse_node).
  const ph = `0x${ofPeekNodeByPath(lpar.of, DRCONF)!.phandle.toString(16)}`;
  ofdt(lpar, `remove_property ${ph} ibm,dynamic-memory`);
  ofdt(lpar, `add_property ${ph} ibm,dynamic-memory-v2 ${v2.length} `, v2);
  return lpar;
}

const assigned = (sets: readonly LmbSet[]) =>
  sets.filter((s) => s.flags & 0x8).reduce((n, s) => n + s.seq, 0);
const total = (sets: readonly LmbSet[]) => sets.reduce((n, s) => n + s.seq, 0);

describe('memory DLPAR with ibm,dynamic-memory-v2', () => {
  for (const kernel of ['4.18', '5.8', '5.16', '6.12']) {
    it(`${kernel}: add and remove change the sets, written back as v2 only`, () => {
      const lpar = v2Lpar(kernel);
      const before = decodeV2(drconfValue(lpar, 'ibm,dynamic-memory-v2')!);
      assert.deepEqual([total(before), assigned(before)], [20, 16]);

      const add = lpar.dlpar('memory add count 2');
      assert.ok(add.rc > 0, `${add.rc} ${add.report.dmesg.join(' | ')}`);
      const added = decodeV2(drconfValue(lpar, 'ibm,dynamic-memory-v2')!);
      assert.deepEqual([total(added), assigned(added)], [20, 18]);
      assert.equal(drconfValue(lpar, 'ibm,dynamic-memory'), undefined, 'no v1 property appears');
      // One run of assigned LMBs, then the unassigned ones; the sets still follow drc by drc.
      let drc = added[0]!.drc;
      for (const s of added) {
        assert.equal(s.drc, drc);
        drc += s.seq;
      }

      const rm = lpar.dlpar('memory remove index 0x80000008');
      assert.ok(rm.rc > 0, `${rm.rc} ${rm.report.dmesg.join(' | ')}`);
      const removed = decodeV2(drconfValue(lpar, 'ibm,dynamic-memory-v2')!);
      assert.equal(assigned(removed), 17);
      // The removed LMB splits the assigned run: a set of one unassigned LMB at drc 0x80000008.
      const hole = removed.find((s) => s.drc === 0x80000008)!;
      assert.deepEqual([hole.seq, hole.flags & 0x8], [1, 0]);
      assert.ok(checkInvariants(lpar).ok);
    });
  }

  it('an uploaded tree with only v2 boots with the memory its sets describe', () => {
    const lpar = v2Lpar('5.8');
    const blob = fdtEncode(ofFlattenLiveTree(lpar.of.root!));
    const up = newLpar('5.8', { dtb: blob });
    // 20 LMBs of 256 MiB: memoryFromTree counts the sets' LMBs as it counts v1's.
    assert.equal(up.firmwareRecord.memoryGiB, 5);
    assert.equal(lpar.firmwareRecord.memoryGiB, 4);
  });

  it("a set's LMB count is read up to MAX_V2_LMBS, so a hostile table cannot exhaust memory", () => {
    const huge: LmbSet = { seq: 0xffffffff, base: 0n, drc: 0x80000000, aa: 0, flags: 0x8 };
    const lpar = v2Lpar('5.16', [huge]);
    const rm = lpar.dlpar('memory remove count 1');
    assert.ok(rm.rc > 0, `${rm.rc} ${rm.report.dmesg.join(' | ')}`);
    const after = decodeV2(drconfValue(lpar, 'ibm,dynamic-memory-v2')!);
    assert.equal(total(after), MAX_V2_LMBS);
    assert.equal(assigned(after), MAX_V2_LMBS - 1);
  });
});
