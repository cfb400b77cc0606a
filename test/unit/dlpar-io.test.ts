// I/O DLPAR through /sys/kernel/dlpar (K-DLPAR-4): no release before 6.12 takes an I/O resource, and
// each refuses drmgr's words as an unknown resource; 6.12's `dt` builds a connector's nodes from
// configure-connector under the node whose ibm,drc-info lists it and prunes them by ibm,my-drc-index.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KERNEL_NAMES } from '../../src/kernel/profiles.ts';
import { dlparShow } from '../../src/lpar/dlpar.ts';
import { bootLpar, type Lpar } from '../../src/lpar/lpar.ts';
import { ofPeekNodeByPath } from '../../src/of/base.ts';
import { nodeState } from '../../src/of/node.ts';
import { enc } from '../../src/of/property.ts';
import { drcInfoCells } from '../../src/pseries/drc-info.ts';
import { DEFAULT_TREE_OPTIONS, generateTree, TREE_PROFILES } from '../../src/pseries/tree.ts';
import { newLpar } from '../helpers/model.ts';

/** An ibm,drc-info of one entry: `n` connectors from `start`, one apart. */
function drcInfo(type: string, prefix: string, start: number, n: number): Uint8Array {
  return enc.concat(enc.u32(1), enc.strings([type, prefix]), enc.u32(start, 0, n, 1, 0xffffffff));
}

/** A small power9 LPAR; with `info`, /vdevice lists its virtual slots in ibm,drc-info. */
function ioLpar(kernel: string, info: boolean): Lpar {
  const base = newLpar(kernel);
  const o = { ...DEFAULT_TREE_OPTIONS, cores: 1, threadsPerCore: 2 as const, memoryGiB: 2 };
  const fdt = generateTree(TREE_PROFILES[0]!, base.system, o);
  if (info)
    fdt.children
      .find((c) => c.name === 'vdevice')!
      .props.push({ name: 'ibm,drc-info', value: drcInfo('SLOT', 'U-V1-C', 0x30000000, 16) });
  return bootLpar({ ...base.config, treeOptions: o }, base.system, fdt);
}

const LAN = '/vdevice/l-lan@30000002';

describe('I/O DLPAR through /sys/kernel/dlpar', () => {
  for (const kernel of KERNEL_NAMES.filter((k) => k !== '6.12')) {
    it(`${kernel}: dt, pci, phb, slot and pmem are not resources of dlpar_store`, () => {
      const lpar = ioLpar(kernel, true);
      for (const command of [
        'dt remove index 0x30000002',
        'pci remove index 0x30000002',
        'phb add index 0x20000000',
        'slot add index 0x30000002',
        'pmem add index 0x1',
      ]) {
        const r = lpar.dlpar(command);
        assert.equal(r.errno, 'EINVAL', command);
        assert.equal(r.request, null);
        assert.deepEqual(r.report.dmesg, [
          'dlpar: Invalid resource specified.',
          `dlpar: Could not handle DLPAR request "${command}"`,
        ]);
        assert.deepEqual(r.report.firmwareCalls, []);
      }
      assert.equal(nodeState(ofPeekNodeByPath(lpar.of, LAN)!), 'attached');
      assert.equal(dlparShow(lpar), 'memory,cpu\n');
    });
  }

  it('6.12: dt remove prunes the adapter node; the vio device keeps it; dt add builds it again', () => {
    const lpar = ioLpar('6.12', true);
    const old = ofPeekNodeByPath(lpar.of, LAN)!;
    const dev = lpar.vio.devices.get('30000002')!;
    assert.equal(dev.node, old);
    const rm = lpar.dlpar('dt remove index 0x30000002');
    assert.equal(rm.rc, 'dt remove index 0x30000002'.length, rm.report.dmesg.join('\n'));
    assert.equal(ofPeekNodeByPath(lpar.of, LAN), null);
    // Detached: the changeset detach drops no initial reference (dlpar_detach_node's put is not
    // on this path), and vio:30000002 still holds it.
    assert.equal(nodeState(old), 'detached');
    assert.ok(lpar.vio.devices.has('30000002'));
    assert.deepEqual(rm.report.firmwareCalls, []);

    const add = lpar.dlpar('dt add index 0x30000002');
    assert.equal(add.rc, 'dt add index 0x30000002'.length, add.report.dmesg.join('\n'));
    const fresh = ofPeekNodeByPath(lpar.of, LAN)!;
    assert.notEqual(fresh, old);
    assert.equal(nodeState(fresh), 'attached');
    assert.equal(fresh.phandle, old.phandle, 'firmware hands back the adapter it assigned, phandle and all');
    assert.ok(add.report.firmwareCalls.every((c) => c.call === 'ibm,configure-connector'));
    assert.equal(add.report.firmwareCalls.at(-1)!.status, 0);
    // No bus registers the new node: the device still points at the old one.
    assert.equal(lpar.vio.devices.get('30000002')!.node, old);

    const again = lpar.dlpar('dt add index 0x30000002');
    assert.equal(again.errno, 'EINVAL');
    assert.deepEqual(again.report.dmesg, [
      'dlpar: dlpar_hp_dt_add: Adding device node for index (805306370), but already exists in the device tree',
      'dlpar: Could not handle DLPAR request "dt add index 0x30000002"',
    ]);
  });

  it('6.12: dt add without an ibm,drc-info for the index is -EIO; dt by count is -EINVAL, silently', () => {
    const lpar = ioLpar('6.12', false);
    assert.equal(lpar.dlpar('dt remove index 0x30000002').rc > 0, true);
    const add = lpar.dlpar('dt add index 0x30000002');
    assert.equal(add.errno, 'EIO');
    assert.deepEqual(add.report.dmesg, ['dlpar: Could not handle DLPAR request "dt add index 0x30000002"']);
    assert.deepEqual(add.report.firmwareCalls, []);
    const count = lpar.dlpar('dt add count 1');
    assert.equal(count.errno, 'EINVAL');
    assert.deepEqual(count.report.dmesg, ['dlpar: Could not handle DLPAR request "dt add count 1"']);
    // A remove of an index no node has applies an empty changeset: success.
    assert.ok(lpar.dlpar('dt remove index 0x3000000f').rc > 0);
  });

  it('6.12: an index ibm,drc-info lists but firmware never assigned fails configure-connector', () => {
    const lpar = ioLpar('6.12', true);
    const add = lpar.dlpar('dt add index 0x3000000a');
    assert.equal(add.errno, 'EIO');
    assert.deepEqual(add.report.dmesg, [
      'Unexpected Error (-9003) returned from configure-connector',
      'dlpar: Could not handle DLPAR request "dt add index 0x3000000a"',
    ]);
  });

  it('drcInfoCells reads entries as of_read_drc_info_cell, stopping at a short one', () => {
    const v = drcInfo('SLOT', 'U-V1-C', 0x30000000, 16);
    assert.deepEqual(drcInfoCells(v), [
      {
        type: 'SLOT',
        prefix: 'U-V1-C',
        indexStart: 0x30000000,
        suffixStart: 0,
        count: 16,
        increment: 1,
        powerDomain: 0xffffffff,
        last: 0x3000000f,
      },
    ]);
    assert.deepEqual(drcInfoCells(v.subarray(0, v.length - 4)), []);
  });
});
