import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ofFindNodeByPath, ofPeekNodeByPath } from '../../src/of/base.ts';
import {
  ofAddProperty,
  ofAttachNode,
  ofDetachNode,
  ofNodeAlloc,
  ofRemoveProperty,
  ofUpdateProperty,
} from '../../src/of/dynamic.ts';
import { FdtError, fdtDecode, fdtEncode } from '../../src/of/fdt.ts';
import { nodeState, OF_DYNAMIC } from '../../src/of/node.ts';
import { ofNodeFullName, ofNodeFullNamePhandle } from '../../src/of/printk-of.ts';
import { enc } from '../../src/of/property.ts';
import { ofNodeGet, ofNodePut } from '../../src/of/refs.ts';
import { ofReconfigNotifierRegister } from '../../src/of/state.ts';
import { bootTree, fnode, ph } from '../helpers/model.ts';

const tree = () =>
  fnode('', ph(1), [
    fnode('vdevice', { ...ph(2), 'dup#1': enc.string('x') }, [fnode('vty@30000000', ph(3))]),
    fnode('memory@0', ph(4)),
  ]);

const texts = (of: ReturnType<typeof bootTree>) => of.k.log.lines.map((l) => l.text);

describe('nodes, paths and %pOF (K-NODE, spec section 2)', () => {
  it('finds nodes by full name only: a component without the unit address matches nothing', () => {
    const of = bootTree('5.8', tree());
    assert.equal(ofPeekNodeByPath(of, '/vdevice/vty@30000000')?.fullName, 'vty@30000000');
    // __of_find_node_by_path compares kbasename(full_name) with the whole component.
    assert.equal(ofPeekNodeByPath(of, '/memory@0')?.fullName, 'memory@0');
    assert.equal(ofPeekNodeByPath(of, '/memory'), null);
    assert.equal(ofPeekNodeByPath(of, '/vdevice/vty@30000001'), null);
    assert.equal(ofPeekNodeByPath(of, 'vdevice'), null);
    assert.equal(ofPeekNodeByPath(of, '/')?.fullName, '/');
  });

  it('of_find_node_by_path takes a reference for the holder', () => {
    const of = bootTree('5.8', tree());
    const np = ofFindNodeByPath(of, '/vdevice', 'tester')!;
    assert.equal(np.holders.get('tester'), 1);
    ofNodePut(of, np, 'tester');
    assert.equal(np.holders.has('tester'), false);
  });

  it('prints %pOF from parent pointers and %pOFfp with the decimal phandle; the root is "/" before 5.5 and "" from 5.5 (E5)', () => {
    const of = bootTree('5.8', tree());
    const vty = ofPeekNodeByPath(of, '/vdevice/vty@30000000')!;
    assert.equal(ofNodeFullName(of, vty), '/vdevice/vty@30000000');
    // fwnode_full_name_string: the unflattened root's name and prefix are both empty.
    assert.equal(ofNodeFullName(of, of.root), '');
    assert.equal(ofNodeFullNamePhandle(of, vty), '/vdevice/vty@30000000:3');
    const old = bootTree('4.18', tree());
    assert.equal(ofNodeFullName(old, old.root), '/', 'device_node_gen_full_name special-cases the root');
    assert.equal(
      ofNodeFullName(old, ofPeekNodeByPath(old, '/vdevice/vty@30000000')),
      '/vdevice/vty@30000000',
    );
  });

  it('boot nodes hold the initial reference, sysfs a second one with sysfsHoldsRef (K-NODE-3), and each child in sysfs one (E3)', () => {
    const old = bootTree('4.18', tree());
    const fresh = bootTree('5.8', tree());
    const vdevice = ofPeekNodeByPath(old, '/vdevice')!;
    assert.equal(vdevice.kobj.ref.count, 2, "the initial reference and vty@30000000's kobject");
    assert.deepEqual([...vdevice.holders.keys()].sort(), ['child:vty@30000000', 'of_node_init']);
    assert.equal(
      ofPeekNodeByPath(old, '/vdevice/vty@30000000')!.kobj.ref.count,
      1,
      'a leaf holds only its own',
    );
    assert.deepEqual([...ofPeekNodeByPath(fresh, '/vdevice')!.holders.keys()].sort(), [
      'child:vty@30000000',
      'of_node_init',
      'sysfs',
    ]);
    // E3: `base` hangs off the devicetree kset, so the root holds nothing for itself.
    assert.deepEqual([...old.root!.holders.keys()].sort(), [
      'child:memory@0',
      'child:vdevice',
      'of_node_init',
    ]);
  });
});

describe('sysfs (K-SYSFS)', () => {
  it('a clash with a property file renames the directory #1 with the kernel warning, no OF prefix', () => {
    const of = bootTree('5.8', tree());
    const parent = ofPeekNodeByPath(of, '/vdevice')!;
    const np = ofNodeAlloc(of, 'dup', [{ name: 'name', value: enc.string('dup') }], OF_DYNAMIC);
    np.parent = parent;
    ofAttachNode(of, np);
    // "dup" is free, so it keeps its name; a second "dup" collides with it and with the file "dup#1".
    const np2 = ofNodeAlloc(of, 'dup', [{ name: 'name', value: enc.string('dup') }], OF_DYNAMIC);
    np2.parent = parent;
    ofAttachNode(of, np2);
    assert.equal(np.kobj.sysfsName, 'dup');
    assert.equal(np2.kobj.sysfsName, 'dup#2');
    assert.ok(texts(of).includes('Duplicate name in vdevice, renamed to "dup#2"'));
    assert.equal(of.k.counters.sysfsRenames, 1);
  });

  it('after 16 tries safe_name uses name#16 even if taken; the add fails and the node stays out of sysfs', () => {
    const of = bootTree('5.8', tree());
    const parent = ofPeekNodeByPath(of, '/vdevice')!;
    const added = [];
    for (let i = 0; i < 18; i++) {
      const np = ofNodeAlloc(of, 'same', [{ name: 'name', value: enc.string('same') }], OF_DYNAMIC);
      np.parent = parent;
      ofAttachNode(of, np);
      added.push(np);
    }
    assert.deepEqual(
      added.slice(0, 3).map((n) => n.kobj.sysfsName),
      ['same', 'same#1', 'same#2'],
    );
    assert.equal(added[16]!.kobj.sysfsName, 'same#16');
    assert.equal(added[17]!.kobj.inSysfs, false, 'the 18th gets same#16 again: kobject_add fails');
    assert.equal(added[17]!.kobj.ref.count, 1, 'no sysfs reference without a successful add');
    assert.equal(nodeState(added[17]!), 'attached');
  });

  it('security- properties are mode 0400 and size 0', () => {
    const of = bootTree(
      '5.8',
      fnode('', ph(1), [fnode('n', { 'security-key': enc.string('hunter2'), plain: enc.u32(1) })]),
    );
    const dir = ofPeekNodeByPath(of, '/n')!.kobj.dir!;
    const sec = dir.entries.get('security-key')!;
    assert.equal(sec.mode, 0o400);
    assert.equal(sec.kind === 'file' && sec.size(), 0);
    assert.equal(dir.entries.get('plain')!.mode, 0o444);
  });
});

describe('attach, detach and release (K-ATTACH, K-DETACH, K-REF-2)', () => {
  it('attach links the node first, drops a subtree handed in, then notifies; detach twice WARNs', () => {
    const of = bootTree('4.18', tree());
    const seen: string[] = [];
    ofReconfigNotifierRegister(of, { name: 't', notify: (a, rd) => seen.push(`${a} ${rd.dn.fullName}`) });
    const parent = ofPeekNodeByPath(of, '/vdevice')!;
    const np = ofNodeAlloc(
      of,
      'new@1',
      [
        { name: 'name', value: enc.string('new') },
        { name: 'ibm,phandle', value: enc.u32(0x99) },
      ],
      OF_DYNAMIC,
    );
    const orphan = ofNodeAlloc(of, 'kid', [], OF_DYNAMIC);
    np.child = orphan;
    orphan.parent = np;
    np.parent = parent;
    ofAttachNode(of, np);
    assert.equal(parent.child, np, 'first child');
    assert.equal(np.phandle, 0x99, 'ibm,phandle when neither phandle nor linux,phandle');
    assert.equal(np.child, null);
    assert.equal(nodeState(orphan), 'orphaned');
    ofDetachNode(of, np);
    assert.equal(
      nodeState(np),
      'freed',
      '4.x: sysfs detach drops the initial reference; the node is dynamic',
    );
    ofNodeGet(of, np, 'late');
    assert.equal(of.k.counters.useAfterFree, 1);
    assert.deepEqual(seen, ['ATTACH_NODE new@1', 'DETACH_NODE new@1']);
    const vty = ofPeekNodeByPath(of, '/vdevice/vty@30000000')!;
    ofNodeGet(of, vty, 'x');
    ofDetachNode(of, vty);
    ofDetachNode(of, vty);
    assert.equal(of.k.counters.warnings, 1);
    // E12: the release's own line, the symbol with offset and size; a bare WARN_ON on 4.18 has no cut-here.
    assert.ok(
      texts(of).some((l) =>
        /^WARNING: CPU: 0 PID: \d+ at drivers\/of\/dynamic\.c:252 __of_detach_node\+0x[0-9a-f]+\/0x[0-9a-f]+$/.test(
          l,
        ),
      ),
    );
    assert.equal(texts(of).includes('------------[ cut here ]------------'), false);
    assert.equal(nodeState(vty), 'released', 'a boot node is never freed');
  });

  it('a put to 0 on an attached node prints Bad of_node_put with a stack dump and frees nothing', () => {
    const of = bootTree('4.18', tree());
    const vty = ofPeekNodeByPath(of, '/vdevice/vty@30000000')!;
    ofNodePut(of, vty, 'buggy');
    assert.ok(texts(of).includes('OF: ERROR: Bad of_node_put() on /vdevice/vty@30000000'));
    assert.ok(texts(of).includes('Call Trace:'));
    assert.equal(nodeState(vty), 'attached');
    assert.equal(vty.unbalancedPuts.get('buggy'), 1);
  });
});

describe('properties (K-PROP)', () => {
  it('add appends (EEXIST changes nothing), update replaces in place keeping the old one dead, remove moves it to the dead list', () => {
    const of = bootTree('5.8', tree());
    const np = ofPeekNodeByPath(of, '/memory@0')!;
    const actions: string[] = [];
    ofReconfigNotifierRegister(of, { name: 't', notify: (a, rd) => actions.push(`${a}:${rd.prop?.name}`) });
    assert.equal(ofAddProperty(of, np, { name: 'x', value: enc.u32(1) }), 0);
    assert.equal(ofAddProperty(of, np, { name: 'x', value: enc.u32(2) }), -17);
    assert.deepEqual(
      np.properties.map((p) => p.name),
      ['name', 'phandle', 'x'],
    );
    ofUpdateProperty(of, np, { name: 'name', value: enc.string('mem') });
    assert.deepEqual(
      np.properties.map((p) => p.name),
      ['name', 'phandle', 'x'],
    );
    assert.equal(np.deadProperties[0]!.name, 'name');
    assert.equal(ofRemoveProperty(of, np, 'x'), 0);
    assert.equal(ofRemoveProperty(of, np, 'x'), -19);
    assert.equal(np.kobj.dir!.entries.has('x'), false);
    assert.deepEqual(actions, ['ADD_PROPERTY:x', 'UPDATE_PROPERTY:name', 'REMOVE_PROPERTY:x']);
  });
});

describe('FDT codec', () => {
  it('round-trips a tree', () => {
    const t = tree();
    const back = fdtDecode(fdtEncode(t), { maxNodes: 100, maxDepth: 8 });
    assert.deepEqual(JSON.stringify(back), JSON.stringify(t));
  });
  it('refuses bad magic, truncation and limits with a reason', () => {
    const blob = fdtEncode(tree());
    const bad = blob.slice();
    bad[0] = 0;
    assert.throws(() => fdtDecode(bad, { maxNodes: 100, maxDepth: 8 }), /bad magic/);
    assert.throws(() => fdtDecode(blob.slice(0, 60), { maxNodes: 100, maxDepth: 8 }), FdtError);
    assert.throws(() => fdtDecode(blob, { maxNodes: 2, maxDepth: 8 }), /more than 2 nodes/);
    assert.throws(
      () => fdtDecode(new Uint8Array(10), { maxNodes: 2, maxDepth: 8 }),
      /shorter than the 40-byte/,
    );
  });
});
