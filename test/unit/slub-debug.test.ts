// K-UAF-3: slub_debug (option slubDebug). A write through a stale pointer into a freed node changes
// its poison; SLUB reports it when the allocator next hands that object out, in that release's text.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KERNEL_NAMES, kernelProfile } from '../../src/kernel/profiles.ts';
import { SLUB_FACTS, slubLayout } from '../../src/kernel/slub-debug.ts';
import { lparDigest } from '../../src/lpar/digest.ts';
import { checkInvariants } from '../../src/lpar/invariants.ts';
import type { Lpar } from '../../src/lpar/lpar.ts';
import { type DeviceNode, nodeState } from '../../src/of/node.ts';
import { dmesgText, newLpar, te } from '../helpers/model.ts';

const BANNER = /^BUG kmalloc-(192|256) \((Not tainted|Tainted: [^)]*)\): Poison overwritten$/;

/** A dynamic node added with ofdt and freed (remove_node, then the initial reference where 5.0+ keeps it). */
function freedNode(lpar: Lpar, name: string): DeviceNode {
  assert.equal(lpar.ofdt(te.encode(`add_node /vdevice/${name} name 4 uaf\0`)).ok, true);
  const np = lpar.resolve({ path: `/vdevice/${name}` });
  lpar.ofdt(te.encode(`remove_node /vdevice/${name}`));
  if (nodeState(np) !== 'freed') lpar.putByHolder({ address: np.address }, 'of_node_init');
  assert.equal(nodeState(np), 'freed');
  return np;
}

/** A stale driver's unbalanced of_node_put on the freed node: the kref write. */
function stalePut(lpar: Lpar, np: DeviceNode): void {
  lpar.putByHolder({ address: np.address }, 'stale-driver');
}

/** The next kzalloc of a node (an ofdt add_node), returning the dmesg lines it printed. */
function allocate(lpar: Lpar, name: string): string[] {
  const before = lpar.k.log.last;
  assert.equal(lpar.ofdt(te.encode(`add_node /vdevice/${name} name 4 new\0`)).ok, true);
  return lpar.k.log.since(before).map((l) => l.text);
}

function report(kernel: string, options: object = { slubDebug: true }) {
  const lpar = newLpar(kernel, { options });
  const np = freedNode(lpar, 'uaf@1');
  const beforePut = lpar.k.log.last;
  stalePut(lpar, np);
  const atPut = lpar.k.log.since(beforePut).map((l) => l.text);
  const lines = allocate(lpar, 'new@2');
  return { lpar, np, atPut, lines };
}

describe('K-UAF-3: the node cache and its slot on ppc64 (slub_debug=FZPU)', () => {
  it('struct device_node is 160-168 bytes to 5.10 (kmalloc-192), 208 from 5.14 (kmalloc-256)', () => {
    const expect: Record<string, [string, number, number, number]> = {
      // cache, s->size, kref offset, left red zone
      '4.16': ['kmalloc-192', 528, 144, 8],
      '4.18': ['kmalloc-192', 528, 144, 8],
      '5.0': ['kmalloc-192', 528, 136, 8],
      '5.4': ['kmalloc-192', 528, 136, 8],
      '5.8': ['kmalloc-192', 528, 144, 8],
      '5.10': ['kmalloc-192', 528, 144, 8],
      '5.14': ['kmalloc-256', 1024, 184, 256],
      '5.16': ['kmalloc-256', 1024, 184, 256],
      '6.1': ['kmalloc-256', 768, 184, 256],
      '6.6': ['kmalloc-256', 768, 184, 256],
      '6.12': ['kmalloc-256', 768, 184, 256],
    };
    for (const kernel of KERNEL_NAMES) {
      const p = kernelProfile(kernel)!;
      const l = slubLayout(p.kobjOffset, SLUB_FACTS[kernel]);
      assert.deepEqual([l.cache, l.size, l.krefOffset, l.redLeftPad], expect[kernel], kernel);
    }
  });
});

describe('K-UAF-3: the report comes when SLUB checks the object, not before', () => {
  for (const kernel of KERNEL_NAMES) {
    it(`${kernel}: nothing at the stale put; the next allocation reports it once, then the LPAR goes on`, () => {
      const { lpar, atPut, lines } = report(kernel);
      // The count is poison (0x6b6b6b6b): the put decrements it silently, no refcount_t warning.
      assert.deepEqual(atPut, [], atPut.join('\n'));
      const banner = lines.findIndex((l) => BANNER.test(l));
      assert.ok(banner > 0, lines.join('\n'));
      assert.equal(lines[banner - 1], '='.repeat(77));
      assert.equal(lines[banner + 1], '-'.repeat(77));
      assert.equal(lines.filter((l) => BANNER.test(l)).length, 1);
      assert.equal(lines.at(-1)?.endsWith(': Marking all objects used'), true, lines.join('\n'));
      assert.ok(lines.includes('Disabling lock debugging due to kernel taint'));
      assert.ok(lpar.k.taints.has('B'));
      // The allocation still succeeds, and the next one checks nothing corrupted.
      assert.ok(lpar.resolve({ path: '/vdevice/new@2' }));
      assert.equal(allocate(lpar, 'next@3').filter((l) => l.includes('Poison')).length, 0);
      const inv = checkInvariants(lpar);
      assert.ok(inv.ok, JSON.stringify(inv.items.filter((r) => !r.ok)));
      assert.match(lparDigest(lpar), /^[0-9a-f]{64}$/);
    });
  }

  it('without slubDebug the same writes are never reported (and 5.8 warns on the count of 0, as before)', () => {
    for (const kernel of ['4.18', '5.8', '6.12']) {
      const { lpar, atPut, lines } = report(kernel, {});
      assert.ok(!dmesgText(lpar).some((l) => l.includes('Poison overwritten')), kernel);
      assert.deepEqual(
        lines.filter((l) => l.includes('Poison')),
        [],
      );
      if (kernel !== '4.18') assert.ok(atPut.includes('refcount_t: underflow; use-after-free.'), kernel);
      assert.ok(!lpar.k.taints.has('B'));
    }
  });

  it('a get and a put through the stale pointer cancel out in the poison: nothing to report', () => {
    const lpar = newLpar('5.16', { options: { slubDebug: true } });
    const np = freedNode(lpar, 'uaf@1');
    const ref = lpar.get({ address: np.address }, 'stale-driver');
    lpar.putRef(ref.id);
    assert.ok(!allocate(lpar, 'new@2').some((l) => l.includes('Poison')));
  });

  it('kfree pushes the freelist head (LIFO): a clean head is handed out first, the corrupted one on the next allocation', () => {
    const lpar = newLpar('6.1', { options: { slubDebug: true } });
    for (const n of ['a@1', 'b@2'])
      assert.equal(lpar.ofdt(te.encode(`add_node /vdevice/${n} name 1 x\0`)).ok, true);
    const a = lpar.resolve({ path: '/vdevice/a@1' });
    const b = lpar.resolve({ path: '/vdevice/b@2' });
    for (const np of [a, b]) {
      lpar.ofdt(te.encode(`remove_node /vdevice/${np === a ? 'a@1' : 'b@2'}`));
      lpar.putByHolder({ address: np.address }, 'of_node_init');
    }
    stalePut(lpar, a); // a was freed first: b is the head
    assert.ok(!allocate(lpar, 'c@3').some((l) => l.includes('Poison')), 'b is handed out, clean');
    const lines = allocate(lpar, 'd@4');
    assert.ok(lines.some((l) => BANNER.test(l)));
    assert.ok(
      lines.some((l) => l.startsWith(`Object 0x${a.address} @offset=`)),
      lines.join('\n'),
    );
  });

  it('4.18: the phandle cache hit check reads poison, so the stale entry misses (no stale-hit, no get on freed memory)', () => {
    for (const slubDebug of [false, true]) {
      const lpar = newLpar('4.18', { options: { slubDebug } });
      lpar.ofdt(te.encode('add_node /vdevice/uaf@1 name 4 uaf\0 ibm,phandle 4 \x00\x00\x12\x34'));
      assert.equal(lpar.lookupPhandle(0x1234).how, 'miss'); // fills the cache slot
      lpar.ofdt(te.encode('remove_node /vdevice/uaf@1'));
      const again = lpar.lookupPhandle(0x1234);
      assert.equal(again.how, slubDebug ? 'miss' : 'stale-hit');
      assert.ok(!allocate(lpar, 'new@2').some((l) => l.includes('Poison')));
    }
  });
});

describe('K-UAF-3: the report as each release prints it', () => {
  it('4.18: INFO lines, hashed pointers, (null), the taint inside slab_bug, the restore with its empty line', () => {
    const { lines } = report('4.18');
    const at = lines.findIndex((l) => BANNER.test(l));
    assert.equal(lines[at], 'BUG kmalloc-192 (Not tainted): Poison overwritten');
    assert.deepEqual(lines.slice(at + 2, at + 4), ['', 'Disabling lock debugging due to kernel taint']);
    assert.match(
      lines[at + 4]!,
      /^INFO: 0x0{8}[0-9a-f]{8}-0x0{8}[0-9a-f]{8}\. First byte 0x6a instead of 0x6b$/,
    );
    assert.match(
      lines[at + 5]!,
      /^INFO: Allocated in pSeries_reconfig_add_node\+0x[0-9a-f]+\/0x[0-9a-f]+ age=\d+ cpu=0 pid=\d+$/,
    );
    assert.ok(lines.some((l) => /^INFO: Freed in of_node_release\+/.test(l)));
    assert.ok(lines.some((l) => /^\tkfree\+0x[0-9a-f]+\/0x[0-9a-f]+$/.test(l)));
    assert.ok(
      lines.some((l) =>
        /^INFO: Slab 0x0{8}[0-9a-f]{8} objects=124 used=124 fp=0x {10}\(null\) flags=0x0100$/.test(l),
      ),
    );
    assert.ok(lines.some((l) => /^INFO: Object 0x0{8}[0-9a-f]{8} @offset=\d+ fp=0x {10}\(null\)$/.test(l)));
    // The kref at 144 (row 9 of the 192-byte object) reads 6a 6b 6b 6b: 0x6b6b6b6b - 1, little-endian.
    const object = lines.filter((l) => l.startsWith('Object '));
    assert.equal(object.length, 12);
    assert.match(object[9]!, /^Object 0{8}[0-9a-f]{8}: 6a 6b 6b 6b( 6b){12} {2}jk{15}$/);
    assert.match(object[11]!, /: (6b ){15}a5 {2}k{15}\.$/);
    assert.deepEqual(
      lines.filter((l) => /^(Redzone|Padding) /.test(l)).map((l) => l.replace(/ [0-9a-f]{16}:/, ' X:')),
      [
        'Redzone X: bb bb bb bb bb bb bb bb                          ........',
        'Redzone X: bb bb bb bb bb bb bb bb                          ........',
        'Padding X: 5a 5a 5a 5a 5a 5a 5a 5a                          ZZZZZZZZ',
      ],
    );
    assert.ok(
      lines.some((l) => /^CPU: 0 PID: \d+ Comm: drmgr Tainted: G {4}B {13}4\.18\.0-lparsim #1$/.test(l)),
    );
    const fix = lines.findIndex((l) => l.startsWith('FIX kmalloc-192: Restoring 0x'));
    assert.match(lines[fix]!, /^FIX kmalloc-192: Restoring 0x0{8}[0-9a-f]{8}-0x0{8}[0-9a-f]{8}=0x6b$/);
    assert.deepEqual(lines.slice(fix + 1), ['', 'FIX kmalloc-192: Marking all objects used']);
  });

  it('5.8: the first-byte line gains @offset (from the slab page), NULL prints as zeros', () => {
    const { lines } = report('5.8');
    assert.ok(
      lines.some((l) => /^INFO: 0x\w{16}-0x\w{16} @offset=\d+\. First byte 0x6a instead of 0x6b$/.test(l)),
    );
    assert.ok(lines.some((l) => / fp=0x0{16} flags=0x0200$/.test(l)));
  });

  it('5.16 (5.14 rework): no INFO:, raw pointers, taint after the trailer, `Restoring Poison`, padded labels', () => {
    const { np, lines } = report('5.16');
    const at = lines.findIndex((l) => BANNER.test(l));
    const p = BigInt(`0x${np.address}`);
    const kref = (p + 184n).toString(16).padStart(16, '0');
    assert.equal(lines[at + 2], '');
    assert.match(
      lines[at + 3]!,
      new RegExp(`^0x${kref}-0x${kref} @offset=\\d+\\. First byte 0x6a instead of 0x6b$`),
    );
    assert.match(lines[at + 4]!, /^Allocated in pSeries_reconfig_add_node\+/);
    assert.ok(
      lines.some((l) =>
        /^Slab 0xc00c[0-9a-f]{12} objects=64 used=64 fp=0x0{16} flags=0x200\(slab\|node=0\|zone=0\)$/.test(l),
      ),
    );
    assert.ok(
      lines.includes(
        `Object 0x${np.address} @offset=${lines.find((l) => l.startsWith('Object 0x'))!.split('@offset=')[1]}`,
      ),
    );
    assert.equal(lines.filter((l) => l.startsWith('Redzone  ')).length, 17); // 256-byte left red zone, then 8
    assert.equal(lines.filter((l) => l.startsWith('Object   ')).length, 16);
    assert.equal(lines.filter((l) => l.startsWith('Padding  ')).length, 12); // [576, 768)
    const cpu = lines.findIndex((l) => l.startsWith('CPU: 0 PID: '));
    assert.match(lines[cpu]!, / Comm: drmgr Not tainted 5\.16\.0-lparsim #1$/);
    const disabling = lines.indexOf('Disabling lock debugging due to kernel taint');
    assert.ok(disabling > cpu);
    assert.deepEqual(lines.slice(disabling + 1), [
      `FIX kmalloc-256: Restoring Poison 0x${kref}-0x${kref}=0x6b`,
      'FIX kmalloc-256: Marking all objects used',
    ]);
  });

  it('6.1: stack-depot tracks (one space, no tab), the slab inuse count and 172 bytes of padding after orig_size', () => {
    const { lines } = report('6.1');
    const alloc = lines.findIndex((l) => l.startsWith('Allocated in '));
    assert.match(lines[alloc + 1]!, /^ ___slab_alloc\+/);
    assert.ok(!lines.some((l) => l.startsWith('\t')));
    assert.ok(
      lines.some((l) =>
        /^Slab 0x\w{16} objects=85 used=\d+ fp=0x\w{16} flags=0x200\(slab\|node=0\|zone=0\)$/.test(l),
      ),
    );
    const padding = lines.filter((l) => l.startsWith('Padding  '));
    assert.equal(padding.length, 11);
    assert.match(padding.at(-1)!, /: (5a ){11}5a {14}Z{12}$/);
  });

  it('6.12: the FIX line right after the first-byte line, a trailer of restored bytes, UID in the CPU line', () => {
    const { lines } = report('6.12');
    const at = lines.findIndex((l) => BANNER.test(l));
    assert.match(lines[at + 3]!, /@offset=\d+\. First byte 0x6a instead of 0x6b$/);
    assert.match(lines[at + 4]!, /^FIX kmalloc-256: Restoring Poison 0x\w{16}-0x\w{16}=0x6b$/);
    assert.ok(
      !lines.some((l) => l.startsWith('Object   ') && / 6a /.test(l)),
      'the dump shows the poison restored',
    );
    assert.ok(lines.some((l) => /flags=0x0\(node=0\|zone=0\)$/.test(l)));
    assert.ok(
      lines.some((l) => /^CPU: 0 UID: 0 PID: \d+ Comm: drmgr Not tainted 6\.12\.0-lparsim #1$/.test(l)),
    );
    assert.deepEqual(lines.slice(-2), [
      'Disabling lock debugging due to kernel taint',
      'FIX kmalloc-256: Marking all objects used',
    ]);
  });

  it('a second report says Tainted: … B in its banner and prints no second lock-debugging line', () => {
    const lpar = newLpar('4.18', { options: { slubDebug: true } });
    for (const n of [1, 2]) {
      const np = freedNode(lpar, `uaf@${n}`);
      stalePut(lpar, np);
      const lines = allocate(lpar, `new@${n}`);
      const banner = lines.find((l) => BANNER.test(l))!;
      if (n === 1) assert.equal(banner, 'BUG kmalloc-192 (Not tainted): Poison overwritten');
      else {
        assert.equal(banner, `BUG kmalloc-192 (Tainted: G    B${' '.repeat(12)}): Poison overwritten`);
        assert.ok(!lines.includes('Disabling lock debugging due to kernel taint'));
      }
    }
  });
});
