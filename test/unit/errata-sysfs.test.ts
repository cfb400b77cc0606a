// Errata E1, E3, E4 and E11 (/work/shared/spec/errata.md): what ofdt removal, sysfs directories and
// release do to reference counts, as the kernels of each profile do it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type KernfsLink, kernfsLookup, resolveLink } from '../../src/kernel/kernfs.ts';
import { ofPeekNodeByPath } from '../../src/of/base.ts';
import { ofAttachNode, ofNodeAlloc } from '../../src/of/dynamic.ts';
import { type DeviceNode, nodeState, OF_DYNAMIC } from '../../src/of/node.ts';
import { enc } from '../../src/of/property.ts';
import { ofNodePut } from '../../src/of/refs.ts';
import { ofdtWrite } from '../../src/pseries/reconfig.ts';
import { dmesgText, newLpar, te } from '../helpers/model.ts';

type TestLpar = ReturnType<typeof newLpar>;

const w = (lpar: TestLpar, s: string) => ofdtWrite(lpar.of, te.encode(s));
const node = (lpar: TestLpar, path: string) => ofPeekNodeByPath(lpar.of, path)!;
const holders = (np: DeviceNode) => Object.fromEntries(np.holders);
const sysfs = (lpar: TestLpar, path: string) => kernfsLookup(lpar.of.sysfs, path.split('/').filter(Boolean));
const FRAME = /^\[[0-9a-f]{16}\] \[[0-9a-f]{16}\] [A-Za-z_0-9]+\+0x[0-9a-f]+\/0x[0-9a-f]+( \(unreliable\))?$/;

function putToZero(lpar: ReturnType<typeof newLpar>, np: DeviceNode): void {
  for (let n = np.kobj.ref.count; n > 0; n--) ofNodePut(lpar.of, np, 'buggy');
}

/** Where, in the events of a put to 0 on `np`, its sysfs removal, the parent's put and the release message fall. */
function releaseOrder(lpar: ReturnType<typeof newLpar>, np: DeviceNode, parent: DeviceNode, path: string) {
  lpar.k.events = [];
  putToZero(lpar, np);
  const events = lpar.k.events;
  const holder = `child:${np.kobj.sysfsName}`;
  return {
    events,
    removed: events.findIndex((e) => e.type === 'sysfs.removed' && e.address === np.address),
    parentPut: events.findIndex(
      (e) => e.type === 'ref.put' && e.address === parent.address && e.holder === holder,
    ),
    bad: events.findIndex((e) => e.type === 'dmesg' && e.text === `OF: ERROR: Bad of_node_put() on ${path}`),
  };
}

describe('E1: remove_node has no extra put', () => {
  it('4.16 and 4.18: the sysfs detach and the lookup put free the node cleanly — no use-after-free, even under the KASAN what-if', () => {
    for (const kernel of ['4.16', '4.18']) {
      const lpar = newLpar(kernel, { options: { kasan: true } });
      const before = lpar.events.lastId;
      assert.equal(w(lpar, 'add_node /vdevice/t@1 name 2 t\0').ok, true);
      const np = node(lpar, '/vdevice/t@1');
      assert.equal(w(lpar, 'remove_node /vdevice/t@1').ok, true);
      assert.equal(nodeState(np), 'freed', kernel);
      assert.equal(lpar.k.counters.useAfterFree, 0, kernel);
      assert.equal(lpar.k.counters.warnings, 0, kernel);
      assert.deepEqual(
        dmesgText(lpar).filter((l) => /KASAN|Bad of_node_put|refcount_t/.test(l)),
        [],
        kernel,
      );
      // Nobody named pSeries_reconfig_remove_node ever held or put a reference.
      const holdersSeen = lpar.k.events
        .concat(lpar.events.since(before).map((e) => e.data))
        .map((e) => e.holder);
      assert.equal(holdersSeen.includes('pSeries_reconfig_remove_node'), false, kernel);
    }
  });

  it('5.0 and later: every node removed through ofdt leaks — detached, count 1, held by of_node_init', () => {
    for (const kernel of ['5.0', '5.8', '5.16']) {
      const lpar = newLpar(kernel);
      w(lpar, 'add_node /vdevice/t@1 name 2 t\0');
      const np = node(lpar, '/vdevice/t@1');
      assert.deepEqual(holders(np), { of_node_init: 1, sysfs: 1 }, kernel);
      assert.equal(w(lpar, 'remove_node /vdevice/t@1').ok, true);
      assert.equal(nodeState(np), 'detached', kernel);
      assert.equal(np.kobj.ref.count, 1, kernel);
      assert.deepEqual(holders(np), { of_node_init: 1 }, kernel);
      assert.equal(lpar.k.counters.useAfterFree, 0, kernel);
    }
  });

  it('-EBUSY puts the child and the parent it got: no count changes', () => {
    for (const kernel of ['4.18', '5.8']) {
      const lpar = newLpar(kernel);
      const vdevice = node(lpar, '/vdevice');
      const root = node(lpar, '/');
      const child = vdevice.child!;
      const counts = () => [root, vdevice, child].map((n) => n.kobj.ref.count);
      const before = counts();
      assert.equal((w(lpar, 'remove_node /vdevice') as { errno?: string }).errno, 'EBUSY');
      assert.deepEqual(counts(), before, kernel);
    }
  });
});

describe("E3: a child's kobject holds a reference on its parent", () => {
  it('4.18 power9 at boot: root 12 (1 + 11 children), /vdevice 4, /ibm,platform-facilities 4', () => {
    const lpar = newLpar('4.18');
    const root = node(lpar, '/');
    assert.equal(root.kobj.ref.count, 12);
    assert.equal(node(lpar, '/vdevice').kobj.ref.count, 4);
    assert.equal(node(lpar, '/ibm,platform-facilities').kobj.ref.count, 4);
    // One `child:<sysfs name>` per child; `base` itself hangs off the kset and holds nothing.
    const children: string[] = [];
    for (let c = root.child; c; c = c.sibling) children.push(`child:${c.kobj.sysfsName}`);
    assert.equal(children.length, 11);
    assert.deepEqual(Object.keys(holders(root)).sort(), ['of_node_init', ...children].sort());
    assert.deepEqual(holders(node(lpar, '/vdevice')), {
      of_node_init: 1,
      'child:vty@30000000': 1,
      'child:l-lan@30000002': 1,
      'child:v-scsi@30000003': 1,
    });
  });

  it('with sysfsHoldsRef (5.x, or a 4.18 with the switch) each node has one more: 13, 5, 5', () => {
    for (const lpar of [
      newLpar('5.8'),
      newLpar('5.16'),
      newLpar('4.18', { switches: { sysfsHoldsRef: true } }),
    ]) {
      const label = `${lpar.k.profile.name}${lpar.k.profile.overrides ? ' (custom)' : ''}`;
      assert.equal(node(lpar, '/').kobj.ref.count, 13, label);
      assert.equal(node(lpar, '/vdevice').kobj.ref.count, 5, label);
      assert.equal(node(lpar, '/ibm,platform-facilities').kobj.ref.count, 5, label);
      assert.equal(node(lpar, '/vdevice').holders.get('sysfs'), 1, label);
    }
    // 5.0's phandle cache holds its own reference besides (K-CACHE); without it, the same 13, 5, 5.
    const v50 = newLpar('5.0');
    for (const [path, want] of [
      ['/', 13],
      ['/vdevice', 5],
      ['/ibm,platform-facilities', 5],
    ] as const) {
      const np = node(v50, path);
      assert.equal(np.kobj.ref.count - (np.holders.get('phandle_cache') ?? 0), want, path);
    }
  });

  it('adding a directory takes child:<its sysfs name> on the parent (a renamed one too); removing it drops it', () => {
    for (const kernel of ['4.18', '5.8']) {
      const lpar = newLpar(kernel);
      const vdevice = node(lpar, '/vdevice');
      const before = vdevice.kobj.ref.count;
      w(lpar, 'add_node /vdevice/t@1 name 2 t\0');
      assert.equal(vdevice.holders.get('child:t@1'), 1, kernel);
      assert.equal(vdevice.kobj.ref.count, before + 1, kernel);
      // "name" clashes with /vdevice's own `name` file: the directory is name#1, and so is the holder.
      w(lpar, 'add_node /vdevice/name name 5 name\0');
      assert.equal(vdevice.holders.get('child:name#1'), 1, kernel);
      assert.equal(vdevice.holders.has('child:name'), false, kernel);
      w(lpar, 'remove_node /vdevice/t@1');
      w(lpar, 'remove_node /vdevice/name');
      assert.equal(vdevice.holders.has('child:t@1'), false, kernel);
      assert.equal(vdevice.holders.has('child:name#1'), false, kernel);
      assert.equal(vdevice.kobj.ref.count, before, kernel);
    }
  });
});

describe('E4: release removes a node that is still in sysfs', () => {
  /** Puts every reference the node has, as an unbalanced holder would. */
  it('4.18: the directory, its files and the parent reference go before `OF: ERROR: Bad of_node_put()`; the vio of_node link breaks', () => {
    const lpar = newLpar('4.18');
    const vty = node(lpar, '/vdevice/vty@30000000');
    const vdevice = vty.parent!;
    const dir = '/firmware/devicetree/base/vdevice/vty@30000000';
    assert.ok(sysfs(lpar, dir));
    assert.ok(sysfs(lpar, `${dir}/name`));
    const dev = [...lpar.vio.devices.values()].find((d) => d.node === vty)!;
    const link = dev.dir.entries.get('of_node') as KernfsLink;
    assert.ok(resolveLink(lpar.of.sysfs, link), 'the link resolves while the node is in sysfs');
    const parentCount = vdevice.kobj.ref.count;
    const { removed, parentPut, bad } = releaseOrder(lpar, vty, vdevice, '/vdevice/vty@30000000');
    assert.ok(removed >= 0 && parentPut > removed && bad > parentPut, `${removed} < ${parentPut} < ${bad}`);
    assert.equal(sysfs(lpar, dir), null);
    assert.equal(sysfs(lpar, `${dir}/name`), null);
    assert.equal(resolveLink(lpar.of.sysfs, link), null, 'the vio of_node link is broken');
    assert.equal(vdevice.kobj.ref.count, parentCount - 1);
    assert.equal(vdevice.holders.has('child:vty@30000000'), false);
    // K-REF-2: the release complains and frees nothing.
    assert.equal(nodeState(vty), 'attached');
    assert.equal(vty.freed, null);
  });

  it('5.8 drops the parent reference inside kobject_del, before the release; 5.16 only after it', () => {
    for (const [kernel, parentFirst] of [
      ['5.8', true],
      ['5.16', false],
    ] as const) {
      const lpar = newLpar(kernel);
      const vty = node(lpar, '/vdevice/vty@30000000');
      const vdevice = vty.parent!;
      const count = vdevice.kobj.ref.count;
      const { events, removed, parentPut, bad } = releaseOrder(lpar, vty, vdevice, '/vdevice/vty@30000000');
      assert.ok(removed >= 0 && parentPut >= 0 && bad >= 0, kernel);
      assert.ok(removed < bad, `${kernel}: sysfs removal before the release`);
      assert.equal(parentPut < bad, parentFirst, kernel);
      // What the release's %pOF walk sees on the parent: one less on 5.8, still the child's on 5.16.
      const walkGet = events.find(
        (e) => e.type === 'ref.get' && e.address === vdevice.address && e.holder === '%pOF',
      )!;
      assert.equal(walkGet.refcount, parentFirst ? count : count + 1, kernel);
      assert.equal(vdevice.kobj.ref.count, count - 1, `${kernel}: dropped either way in the end`);
      assert.equal(vdevice.holders.has('child:vty@30000000'), false, kernel);
    }
  });
});

describe('E11: the seventeenth duplicate name fails loudly', () => {
  /** Seventeen nodes all named `name` under /vdevice: the first is name#1 (the `name` file is taken). */
  function seventeen(kernel: string) {
    const lpar = newLpar(kernel);
    const parent = node(lpar, '/vdevice');
    const nodes: DeviceNode[] = [];
    let mark = 0;
    for (let i = 0; i < 17; i++) {
      if (i === 16) mark = lpar.k.log.last;
      const np = ofNodeAlloc(lpar.of, 'name', [{ name: 'name', value: enc.string('name') }], OF_DYNAMIC);
      np.parent = parent;
      lpar.k.tasks.runAs('drmgr', () => ofAttachNode(lpar.of, np));
      nodes.push(np);
    }
    return { lpar, parent, nodes, log: lpar.k.log.since(mark).map((l) => l.text) };
  }

  it('sysfs names the full path, dumps the stack, then kobject_add_internal complains of -EEXIST', () => {
    for (const kernel of ['4.18', '5.0', '5.8', '5.16']) {
      const { lpar, nodes, log } = seventeen(kernel);
      assert.deepEqual(
        nodes.slice(0, 2).map((n) => n.kobj.sysfsName),
        ['name#1', 'name#2'],
      );
      assert.equal(nodes[15]!.kobj.sysfsName, 'name#16');
      const pid = lpar.k.tasks.task('drmgr').pid;
      assert.equal(log[0], 'Duplicate name in vdevice, renamed to "name#16"', kernel);
      assert.equal(
        log[1],
        "sysfs: cannot create duplicate filename '/firmware/devicetree/base/vdevice/name#16'",
      );
      // dump_stack: the CPU line and the trace, no cut-here line and no end marker.
      assert.equal(log[2], `CPU: 0 PID: ${pid} Comm: drmgr Not tainted ${lpar.k.profile.release} #1`, kernel);
      assert.equal(log[3], 'Call Trace:');
      const frames = log.slice(4, -1);
      assert.ok(frames.length >= 2 && frames.every((f) => FRAME.test(f)), kernel);
      assert.match(frames[0]!, /\] sysfs_warn_dup\+0x[0-9a-f]+\/0x[0-9a-f]+ \(unreliable\)$/);
      assert.ok(frames.some((f) => / kobject_add_internal\+/.test(f)));
      assert.equal(
        log.at(-1),
        "kobject_add_internal failed for name#16 with -EEXIST, don't try to register things with the same name in the same directory.",
      );
      assert.equal(
        log.some((l) => l.includes('cut here') || l.includes('end trace')),
        false,
        kernel,
      );
      assert.equal(lpar.k.counters.warnings, 0, `${kernel}: a stack dump is not a WARNING`);
    }
  });

  it('the failed node is attached but not in sysfs, and holds nothing on its parent (E3)', () => {
    const { parent, nodes } = seventeen('5.8');
    const failed = nodes[16]!;
    assert.equal(nodeState(failed), 'attached');
    assert.equal(failed.kobj.inSysfs, false);
    assert.equal(parent.holders.get('child:name#16'), 1, 'only the sixteenth holds child:name#16');
    assert.equal([...parent.holders.keys()].filter((h) => h.startsWith('child:name#')).length, 16);
  });

  it('5.0 takes the sysfs reference before kobject_add and keeps it on failure; 5.8 and later only on success', () => {
    // 4.18 has no sysfs reference at all (K-SYSFS-5).
    for (const [kernel, kept] of [
      ['4.18', false],
      ['5.0', true],
      ['5.8', false],
      ['5.16', false],
    ] as const) {
      const failed = seventeen(kernel).nodes[16]!;
      assert.deepEqual(holders(failed), kept ? { of_node_init: 1, sysfs: 1 } : { of_node_init: 1 }, kernel);
      assert.equal(failed.kobj.ref.count, kept ? 2 : 1, kernel);
    }
  });

  it('a child of a node that is not in sysfs: kobject_add_internal failed … (error: -2 parent: …)', () => {
    const { lpar, nodes } = seventeen('5.8');
    const mark = lpar.k.log.last;
    const kid = ofNodeAlloc(lpar.of, 'kid', [{ name: 'name', value: enc.string('kid') }], OF_DYNAMIC);
    kid.parent = nodes[16]!;
    ofAttachNode(lpar.of, kid);
    const log = lpar.k.log.since(mark).map((l) => l.text);
    assert.equal(
      log.filter((l) => /^kobject_add_internal failed for kid \(error: -2 parent: .+\)$/.test(l)).length,
      1,
    );
    assert.equal(kid.kobj.inSysfs, false);
    assert.deepEqual(holders(kid), { of_node_init: 1 }, '5.8 takes the sysfs reference only on success');
  });

  it('the -ENOENT message names the parent kobject, which kept the name its failed add gave it', () => {
    const { lpar, nodes } = seventeen('5.8');
    const mark = lpar.k.log.last;
    const kid = ofNodeAlloc(lpar.of, 'kid', [{ name: 'name', value: enc.string('kid') }], OF_DYNAMIC);
    kid.parent = nodes[16]!;
    ofAttachNode(lpar.of, kid);
    assert.ok(
      lpar.k.log
        .since(mark)
        .map((l) => l.text)
        .includes('kobject_add_internal failed for kid (error: -2 parent: name#16)'),
    );
  });
});
