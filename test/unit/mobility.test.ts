import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ofPeekNodeByPath } from '../../src/of/base.ts';
import {
  ACTION_ADD,
  ACTION_DELETE,
  ACTION_UPDATE,
  CC_COMPLETE,
  type CcStep,
  encodeUpdateNodes,
  encodeUpdateProperties,
  RTAS_CALL_AGAIN,
  UPDATE_NODES_HEADER_WORDS,
} from '../../src/pseries/firmware.ts';
import { postMobilityFixup } from '../../src/pseries/mobility.ts';
import type { Rtas } from '../../src/pseries/rtas.ts';
import { dmesgText, newLpar } from '../helpers/model.ts';

/** An RTAS that answers from hand-built work areas. */
function scripted(
  nodeAreas: Uint8Array[],
  propAreas: Map<number, Uint8Array[]> = new Map(),
): Rtas & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    activateFirmware: () => 0,
    updateNodes(buf) {
      calls.push('update-nodes');
      buf.set(nodeAreas.shift() ?? new Uint8Array(buf.length));
      return nodeAreas.length ? RTAS_CALL_AGAIN : 0;
    },
    updateProperties(buf) {
      const h = new DataView(buf.buffer).getUint32(0);
      calls.push(`update-properties ${h.toString(16)}`);
      const areas = propAreas.get(h) ?? [];
      buf.set(areas.shift() ?? new Uint8Array(buf.length));
      return areas.length ? RTAS_CALL_AGAIN : 0;
    },
    configureConnector(): CcStep {
      return { rc: CC_COMPLETE };
    },
  };
}

function area(words: number[]): Uint8Array {
  const a = new Uint8Array(4096);
  const v = new DataView(a.buffer);
  words.forEach((x, i) => {
    v.setUint32((UPDATE_NODES_HEADER_WORDS + i) * 4, x >>> 0);
  });
  return a;
}

describe('the update loop reads work areas as K-MOB-2 says', () => {
  it('a list that spans calls: groups continue in the next work area, the header words are skipped', () => {
    const lpar = newLpar('4.18');
    const rtas = scripted([
      area([ACTION_DELETE | 1, 0xfffffff5]),
      area([ACTION_DELETE | 1, 0xfffffff4, 0, 0xdead]),
    ]);
    const { rc, operations } = postMobilityFixup(lpar.of, rtas, lpar.cacheinfo);
    assert.equal(rc, 0);
    assert.deepEqual(
      operations.map((o) => [o.action, o.phandle, o.outcome]),
      [
        ['delete', 0xfffffff5, 'done'],
        ['delete', 0xfffffff4, 'done'],
      ],
    );
    assert.deepEqual(rtas.calls, ['update-nodes', 'update-nodes']);
  });

  it('firmware splits long lists into 4 KiB work areas with the call-again status', () => {
    const updates = Array.from({ length: 3000 }, (_, i) => ({ action: 'delete' as const, phandle: i + 1 }));
    const areas = encodeUpdateNodes(updates);
    assert.ok(areas.length >= 3);
    const lpar = newLpar('4.16');
    const { operations } = postMobilityFixup(lpar.of, scripted(areas), lpar.cacheinfo);
    assert.equal(operations.length, 3000);
    assert.deepEqual(
      operations.slice(0, 2).map((o) => o.phandle),
      [1, 2],
    );
    assert.ok(
      operations.every((o) => o.outcome === 'not-found'),
      'per-op lookups that find nothing are silent',
    );
    assert.deepEqual(
      dmesgText(lpar).filter((l) => l.startsWith('mobility')),
      [],
    );
  });

  it('a partial property value is continued on the next call and applied once, whole', () => {
    const lpar = newLpar('5.8');
    const memory = ofPeekNodeByPath(lpar.of, '/ibm,dynamic-reconfiguration-memory')!;
    const big = Uint8Array.from({ length: 10_000 }, (_, i) => i & 0xff);
    const propAreas = encodeUpdateProperties(memory.phandle, '/ibm,dynamic-reconfiguration-memory', [
      { name: 'ibm,dynamic-memory', value: big },
      { name: 'gone', value: null },
    ]);
    assert.ok(propAreas.length >= 3, 'split over calls');
    const partialLen = new DataView(propAreas[0]!.buffer).getUint32(
      20 + 1 + 4 + '/ibm,dynamic-reconfiguration-memory'.length + 'ibm,dynamic-memory\0'.length,
    );
    assert.ok(partialLen & 0x80000000, 'the first chunk carries a negative length');
    let updates = 0;
    lpar.of.reconfigChain.push({ name: 't', notify: (a) => a === 'UPDATE_PROPERTY' && updates++ });
    const rtas = scripted(
      [area([ACTION_UPDATE | 1, memory.phandle])],
      new Map([[memory.phandle, propAreas]]),
    );
    postMobilityFixup(lpar.of, rtas, lpar.cacheinfo);
    assert.deepEqual(memory.properties.find('ibm,dynamic-memory')!.value, big);
    assert.equal(updates, 1);
  });

  it('central lookup: a failed lookup warns and, for an add, leaves the DRC index to be misread', () => {
    const lpar = newLpar('5.16');
    const rtas = scripted([area([ACTION_ADD | 2, 0x1234, 0x70000001, 0])]);
    const { operations } = postMobilityFixup(lpar.of, rtas, lpar.cacheinfo);
    assert.ok(dmesgText(lpar).includes('mobility: Failed lookup: phandle 0x1234 for action 0x3000000'));
    // The DRC index 0x70000001 is read as the second entry's parent phandle.
    assert.deepEqual(
      operations.map((o) => o.phandle),
      [0x1234, 0x70000001],
    );
    assert.ok(dmesgText(lpar).includes('mobility: Failed lookup: phandle 0x70000001 for action 0x3000000'));
  });

  it('a group that runs off the work area is stopped; the read is an out-of-bounds event, a KASAN report only with the what-if (E2)', () => {
    for (const kasan of [false, true]) {
      const lpar = newLpar('5.16', { options: { kasan } });
      const before = lpar.events.lastId;
      const { operations } = lpar.run('drmgr', () =>
        postMobilityFixup(lpar.of, scripted([area([ACTION_DELETE | 0xffffff, 0xfffffff5])]), lpar.cacheinfo),
      );
      assert.ok(operations.length < 1024);
      assert.ok(lpar.events.since(before).some((e) => e.type === 'out-of-bounds'));
      const kasanLines = dmesgText(lpar).filter((l) => l.includes('KASAN'));
      if (kasan)
        assert.ok(kasanLines.includes('BUG: KASAN: slab-out-of-bounds in pseries_devicetree_update'));
      else assert.deepEqual(kasanLines, [], 'powerpc64 had no KASAN: the overrun is silent in dmesg');
    }
  });

  it('an update-nodes error stops the loop and is reported by post_mobility_fixup', () => {
    const lpar = newLpar('4.18');
    const rtas: Rtas = {
      activateFirmware: () => 0,
      updateNodes: () => -9001,
      updateProperties: () => 0,
      configureConnector: () => ({ rc: CC_COMPLETE }),
    };
    assert.equal(postMobilityFixup(lpar.of, rtas, lpar.cacheinfo).rc, -9001);
    assert.ok(dmesgText(lpar).includes('Post-mobility device tree update failed: -9001'));
  });
});
