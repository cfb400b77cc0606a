import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskKilled } from '../../src/kernel/kernel.ts';
import { ofPeekNodeByPath } from '../../src/of/base.ts';
import { nodeState } from '../../src/of/node.ts';
import { cString } from '../../src/of/property.ts';
import { ofdtWrite } from '../../src/pseries/reconfig.ts';
import { dmesgText, newLpar, te } from '../helpers/model.ts';

const w = (lpar: ReturnType<typeof newLpar>, s: string) => ofdtWrite(lpar.of, te.encode(s));

describe('/proc/ppc64/ofdt (K-OFDT)', () => {
  it('add_node: properties in reverse order, OF_DYNAMIC, attached; an existing path (the root too) is EINVAL; a missing parent oopses (E7)', () => {
    const lpar = newLpar('5.8');
    assert.deepEqual(w(lpar, 'add_node /vdevice/t@1 name 2 t\0 reg 4 \0\0\0\x01'), {
      ok: true,
      command: 'add_node',
    });
    const np = ofPeekNodeByPath(lpar.of, '/vdevice/t@1')!;
    assert.deepEqual(
      np.properties.map((p) => p.name),
      ['reg', 'name'],
    );
    assert.equal(nodeState(np), 'attached');
    assert.equal(w(lpar, 'add_node /vdevice/t@1 name 2 t\0').ok, false);
    // The existing-path check comes first: "/" is found, so it is EINVAL before any parent is derived.
    const root = w(lpar, 'add_node / name 2 x\0');
    assert.equal(!root.ok && root.errno, 'EINVAL');
    // E7: a missing parent is ERR_PTR(-EINVAL), put like a node: the writer is killed, no errno comes back.
    assert.throws(() => w(lpar, 'add_node /nope/x name 2 x\0'), TaskKilled);
    assert.deepEqual([...lpar.k.taints], ['D']);
    const noSpace = w(lpar, 'add_node /vdevice/u');
    assert.equal(!noSpace.ok && noSpace.errno, 'EINVAL', 'the kernel needs a space after the path');
  });

  it('a malformed property prints the parse failure and is EINVAL', () => {
    const lpar = newLpar('5.8');
    for (const cmd of [
      'add_node /vdevice/x name',
      'add_node /vdevice/x name x 2 ab',
      'add_node /vdevice/x name 9 short',
      'add_node /vdevice/x name 2 abc',
    ]) {
      const r = w(lpar, cmd);
      assert.equal(!r.ok && r.errno, 'EINVAL', cmd);
    }
    assert.ok(
      dmesgText(lpar).some((l) => /^property parse failed in parse_next_property at line \d+$/.test(l)),
    );
    assert.equal(ofPeekNodeByPath(lpar.of, '/vdevice/x'), null);
  });

  it('remove_node: ENODEV when absent, EBUSY with children; no extra put (E1): 4.x frees cleanly, 5.x leaks the initial reference', () => {
    for (const kernel of ['4.16', '4.18', '5.0', '5.8', '5.16']) {
      const lpar = newLpar(kernel);
      assert.equal((w(lpar, 'remove_node /vdevice/none') as { errno?: string }).errno, 'ENODEV');
      assert.equal((w(lpar, 'remove_node /vdevice') as { errno?: string }).errno, 'EBUSY');
      w(lpar, 'add_node /vdevice/t@2 name 2 t\0');
      const np = ofPeekNodeByPath(lpar.of, '/vdevice/t@2')!;
      assert.equal(w(lpar, 'remove_node /vdevice/t@2').ok, true);
      assert.equal(lpar.k.counters.useAfterFree, 0, kernel);
      assert.equal(lpar.k.counters.warnings, 0, kernel);
      if (kernel.startsWith('4.')) assert.equal(nodeState(np), 'freed', kernel);
      else {
        assert.equal(nodeState(np), 'detached', kernel);
        assert.equal(np.kobj.ref.count, 1, kernel);
        assert.deepEqual([...np.holders], [['of_node_init', 1]], kernel);
      }
    }
  });

  it('property commands find the node by phandle through the cache and never put that reference', () => {
    const lpar = newLpar('5.8');
    const vty = ofPeekNodeByPath(lpar.of, '/vdevice/vty@30000000')!;
    const before = vty.kobj.ref.count;
    const h = `0x${vty.phandle.toString(16)}`;
    assert.equal(w(lpar, `add_property ${h} extra 3 ab\0`).ok, true);
    assert.equal(w(lpar, `add_property ${h} extra 3 cd\0`).ok, true, 'of_add_property result is ignored');
    assert.equal(w(lpar, `update_property ${vty.phandle} extra 3 xy\0`).ok, true);
    assert.equal(cString(vty.properties.find('extra')!.value), 'xy');
    assert.equal(w(lpar, `remove_property ${h} extra`).ok, true);
    assert.equal((w(lpar, `remove_property ${h} extra`) as { errno?: string }).errno, 'ENODEV');
    assert.equal((w(lpar, 'add_property 0x12345 a 1 b') as { errno?: string }).errno, 'ENODEV');
    assert.equal(vty.kobj.ref.count, before + 5, 'five lookups that found the node, none put');
    assert.equal(vty.holders.get('ofdt'), 5);
  });

  it('unknown commands and a missing space are EINVAL', () => {
    const lpar = newLpar('4.16');
    assert.equal((w(lpar, 'frobnicate /x') as { errno?: string }).errno, 'EINVAL');
    assert.equal((w(lpar, 'remove_node') as { errno?: string }).errno, 'EINVAL');
    assert.equal((w(lpar, '__proto__ /x') as { errno?: string }).errno, 'EINVAL');
  });
});
