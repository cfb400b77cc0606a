// /sys/kernel/dlpar on every profile (K-DLPAR-4): cpu and memory add/remove through the firmware's
// connectors, refusals with the kernel's messages, and an add after a migration.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KERNEL_NAMES } from '../../src/kernel/profiles.ts';
import { bootLpar, type Lpar } from '../../src/lpar/lpar.ts';
import { migrate } from '../../src/lpar/migrations.ts';
import { ofPeekNodeByPath } from '../../src/of/base.ts';
import { nodeState } from '../../src/of/node.ts';
import { BUILTIN_SYSTEMS } from '../../src/pseries/systems.ts';
import { DEFAULT_TREE_OPTIONS, generateTree, TREE_PROFILES } from '../../src/pseries/tree.ts';
import { newLpar } from '../helpers/model.ts';

/** A small power9 LPAR whose firmware offers 2 more cores and 1 GiB more memory. */
function spareLpar(kernel: string): Lpar {
  const base = newLpar(kernel, { options: undefined } as never);
  const o = {
    ...DEFAULT_TREE_OPTIONS,
    cores: 2,
    threadsPerCore: 2 as const,
    memoryGiB: 4,
    spareCores: 2,
    spareMemoryGiB: 1,
  };
  const system = base.system;
  return bootLpar({ ...base.config, treeOptions: o }, system, generateTree(TREE_PROFILES[0]!, system, o));
}

function flagsOf(lpar: Lpar): number[] {
  const v = ofPeekNodeByPath(lpar.of, '/ibm,dynamic-reconfiguration-memory')!
    .properties.objects()
    .find((p) => p.name === 'ibm,dynamic-memory')!.value;
  const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const out: number[] = [];
  for (let i = 0; i < view.getUint32(0); i++) out.push(view.getUint32(4 + i * 24 + 20));
  return out;
}

describe('/sys/kernel/dlpar', () => {
  for (const kernel of KERNEL_NAMES) {
    it(`${kernel}: cpu add by index attaches the core, remove detaches it`, () => {
      const lpar = spareLpar(kernel);
      const add = lpar.dlpar('cpu add index 0x10000002');
      // 4.16 to 5.0 read the count cell of ibm,drc-indexes as a connector, which still finds this one.
      assert.equal(add.rc, 'cpu add index 0x10000002'.length, add.report.dmesg.join('\n'));
      const cpu = ofPeekNodeByPath(lpar.of, '/cpus/PowerPC,POWER9@4');
      assert.ok(cpu, 'the new core is attached');
      const l2 = ofPeekNodeByPath(lpar.of, '/cpus/l2-cache@2002');
      assert.equal(Boolean(l2), lpar.k.profile.dlpar.cpuCacheNodes, 'cache siblings attached from 6.1 only');
      assert.deepEqual(add.report.dmesg, []);
      const again = lpar.dlpar('cpu add index 0x10000002');
      assert.equal(again.rc, -22);
      assert.deepEqual(again.report.dmesg, [
        'pseries-hotplug-cpu: CPU with drc index 10000002 already exists',
        'dlpar: Could not handle DLPAR request "cpu add index 0x10000002"',
      ]);
      const rm = lpar.dlpar('cpu remove index 0x10000002');
      assert.ok(rm.rc > 0, rm.report.dmesg.join('\n'));
      // dlpar_detach_node's put frees the node (4.16/4.18: of_detach_node's own put does); 6.1+'s
      // changeset detach leaves the initial reference, so the node stays detached.
      assert.equal(nodeState(cpu), lpar.k.profile.dlpar.cpuCacheNodes ? 'detached' : 'freed');
      assert.equal(ofPeekNodeByPath(lpar.of, '/cpus/PowerPC,POWER9@4'), null);
    });

    it(`${kernel}: bad strings answer -EINVAL with dlpar.c's messages`, () => {
      const lpar = spareLpar(kernel);
      const r = lpar.dlpar('pci add index 1');
      assert.equal(r.rc, -22);
      assert.deepEqual(r.report.dmesg, [
        'dlpar: Invalid resource specified.',
        'dlpar: Could not handle DLPAR request "pci add index 1"',
      ]);
      assert.equal(
        lpar.dlpar('cpu add drc_index 0x10000002').report.dmesg[0],
        'dlpar: Invalid id_type specified.',
      );
      assert.equal(lpar.dlpar('cpu add count').report.dmesg[0], 'dlpar: No DRC count specified.');
      assert.equal(lpar.dlpar('cpu add count x').report.dmesg[0], 'dlpar: Invalid DRC count specified.');
    });

    it(`${kernel}: memory add and remove update the LMB flags; an add works after a migration`, () => {
      const lpar = spareLpar(kernel);
      assert.deepEqual(flagsOf(lpar).slice(-5), [8, 0, 0, 0, 0]);
      const add = lpar.dlpar('memory add count 2');
      assert.ok(add.rc > 0, add.report.dmesg.join('\n'));
      assert.deepEqual(flagsOf(lpar).slice(-5), [8, 8, 8, 0, 0]);
      const rm = lpar.dlpar('memory remove index 0x80000010');
      assert.ok(rm.rc > 0, rm.report.dmesg.join('\n'));
      assert.deepEqual(flagsOf(lpar).slice(-5), [8, 0, 8, 0, 0]);
      const rma = lpar.dlpar('memory remove index 0x80000000');
      // lmb_is_removable refuses it up to 5.4 (-EINVAL); later device_offline does (-EBUSY).
      assert.equal(
        rma.rc,
        lpar.k.profile.dlpar.lmbRemovable === 'sections' ? -22 : -16,
        'the RMA does not go offline',
      );
      migrate(
        lpar,
        {
          destination: BUILTIN_SYSTEMS.find((s) => s.processor === 'POWER9' && s !== lpar.system)!,
          dryRun: false,
          faults: [],
        },
        () => new Date(0),
        () => 0,
      );
      assert.deepEqual(
        flagsOf(lpar).slice(-5),
        [8, 0, 8, 0, 0],
        'the destination hands back what the partition owns',
      );
      const after = lpar.dlpar('memory add index 0x80000013');
      assert.ok(after.rc > 0, after.report.dmesg.join('\n'));
    });
  }
});
