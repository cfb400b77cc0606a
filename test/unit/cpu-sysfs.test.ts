// /sys/devices/system/cpu served by the CPU topology (virtual entries, issue 10 point 1) lists, pages,
// resolves and changes exactly as the directory of an entry object per CPU did.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type KernfsDir,
  kernfsAdd,
  kernfsLookup,
  kernfsMkdirP,
  kernfsNewDir,
  kernfsRemove,
} from '../../src/kernel/kernfs.ts';
import type { Lpar } from '../../src/lpar/lpar.ts';
import { entryDocument, listDirectoryPage, lookupView } from '../../src/lpar/views.ts';
import { ofNodePathPeek } from '../../src/of/printk-of.ts';
import { logicalCpus, NR_CPUS } from '../../src/pseries/topology.ts';
import { newLpar } from '../helpers/model.ts';

/** The directory as register_cpu used to build it: a real directory and link per CPU. */
function realCpuDir(lpar: Lpar): KernfsDir {
  const base = kernfsMkdirP(kernfsNewDir(''), 'devices/system/cpu');
  for (const { cpu, node } of logicalCpus(lpar.of)) {
    const dir = kernfsNewDir(`cpu${cpu}`);
    kernfsAdd(dir, {
      kind: 'link',
      name: 'of_node',
      parent: null,
      mode: 0o777,
      target: `../../../../firmware/devicetree/base${ofNodePathPeek(node)}`,
    });
    kernfsAdd(base, dir);
  }
  return base;
}

function allPages(lpar: Lpar, dir: KernfsDir, limit: number): unknown[] {
  const pages: unknown[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = listDirectoryPage(lpar, dir, cursor === undefined ? { limit } : { cursor, limit });
    pages.push(page);
    if (!page.next) return pages;
    cursor = page.next;
  }
}

function cpuDir(lpar: Lpar): KernfsDir {
  const dir = lookupView(lpar, 'sys', ['devices', 'system', 'cpu']);
  assert.equal(dir.kind, 'dir');
  return dir as KernfsDir;
}

describe('/sys/devices/system/cpu', () => {
  for (const cores of [3, 300]) {
    it(`lists and pages as a directory of entries does (${cores} cores)`, () => {
      const lpar = newLpar('5.8', { options: { cores } });
      const virtual = cpuDir(lpar);
      const real = realCpuDir(lpar);
      assert.equal(virtual.size, Math.min(cores * 8, NR_CPUS));
      assert.equal(virtual.order !== undefined, real.order !== undefined);
      for (const limit of [7, 1000])
        assert.deepEqual(allPages(lpar, virtual, limit), allPages(lpar, real, limit));
      for (const name of ['cpu0', 'cpu9', `cpu${virtual.size - 1}`]) {
        const v = virtual.entries.get(name);
        const r = real.entries.get(name);
        assert.ok(v?.kind === 'dir' && r?.kind === 'dir', name);
        assert.equal(v.parent, virtual);
        assert.deepEqual(allPages(lpar, v, 10), allPages(lpar, r, 10));
        assert.deepEqual(
          entryDocument(lpar, v.entries.get('of_node')!),
          entryDocument(lpar, r.entries.get('of_node')!),
        );
      }
      for (const name of ['cpu', 'cpu01', `cpu${virtual.size}`, 'cpu-1', 'of_node'])
        assert.equal(virtual.entries.get(name), undefined);
      // The link resolves into the device tree, to the core's cpu node.
      const target = kernfsLookup(lpar.of.sysfs, ['devices', 'system', 'cpu', 'cpu9', 'of_node'], true);
      assert.equal(target?.kind, 'dir');
      assert.equal(target, logicalCpus(lpar.of)[9]!.node.kobj.dir);
    });
  }

  it('changes only through the directory: a cpu<n> directory handed out is read-only', () => {
    const lpar = newLpar('5.8', { options: { cores: 3 } });
    const cpu0 = cpuDir(lpar).entries.get('cpu0') as KernfsDir;
    assert.throws(() => kernfsAdd(cpu0, kernfsNewDir('topology')), TypeError);
    assert.throws(() => kernfsRemove(cpu0), TypeError);
    assert.equal(cpuDir(lpar).entries.get('cpu0')?.kind, 'dir');
  });

  it('an entry added to the directory makes the CPUs entries first, in their order and sequence', () => {
    const lpar = newLpar('5.8', { options: { cores: 300 } });
    const virtual = cpuDir(lpar);
    const real = realCpuDir(lpar);
    for (const dir of [virtual, real]) assert.ok(kernfsAdd(dir, kernfsNewDir('online')));
    assert.deepEqual(allPages(lpar, virtual, 1000), allPages(lpar, real, 1000));
    assert.deepEqual(virtual.order!.seqs, real.order!.seqs);
    assert.equal(virtual.entries.get('cpu5'), virtual.entries.get('cpu5'), 'entry objects now');
    assert.equal((virtual.entries.get('cpu5') as KernfsDir).entries.get('of_node')?.kind, 'link');
  });
});
