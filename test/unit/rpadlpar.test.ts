// Virtual I/O slot DLPAR through rpadlpar's /sys/bus/pci/slots/control files (K-SLOT): the drc name
// is matched in /vdevice's connector lists (v1, or ibm,drc-info on 5.8+), and the vio device is
// registered or unregistered by name, in every profile with that release's reference handling.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KERNEL_NAMES, kernelProfile } from '../../src/kernel/profiles.ts';
import { holdersOf } from '../../src/lpar/documents.ts';
import type { Lpar } from '../../src/lpar/lpar.ts';
import { ofFindAllNodesNext, ofFindProperty, ofPeekNodeByPath } from '../../src/of/base.ts';
import { nodeState } from '../../src/of/node.ts';
import { enc } from '../../src/of/property.ts';
import { MAX_DRC_NAME_LEN, slotStoreName } from '../../src/pseries/rpadlpar.ts';
import { newLpar } from '../helpers/model.ts';

const LAN = '/vdevice/l-lan@30000002';
const bytes = (s: string) => new TextEncoder().encode(s);

/** The drc names /vdevice lists, in order. */
function vdeviceDrcNames(lpar: Lpar): string[] {
  const v = ofFindProperty(ofPeekNodeByPath(lpar.of, '/vdevice')!, 'ibm,drc-names')!.value;
  return new TextDecoder().decode(v.subarray(4)).split('\0').slice(0, -1);
}

function lanDrcName(lpar: Lpar): string {
  const name = vdeviceDrcNames(lpar).find((n) => n.endsWith('-C2'));
  assert.ok(name, 'the l-lan slot is listed');
  return name;
}

function* walk(lpar: Lpar) {
  for (let np = ofFindAllNodesNext(lpar.of, null); np; np = ofFindAllNodesNext(lpar.of, np)) yield np;
}

function held(lpar: Lpar, path: string, holder: string): number {
  return holdersOf(ofPeekNodeByPath(lpar.of, path)!).find((h) => h.holder === holder)?.count ?? 0;
}

describe('rpadlpar: /sys/bus/pci/slots/control/add_slot and remove_slot', () => {
  for (const kernel of KERNEL_NAMES) {
    const puts = kernelProfile(kernel)!.slot.putsNodes;
    it(`${kernel}: remove_slot unregisters the l-lan device, add_slot registers it again${puts ? '' : ', leaking two references per write'}`, () => {
      const lpar = newLpar(kernel);
      const name = lanDrcName(lpar);
      const node = ofPeekNodeByPath(lpar.of, LAN)!;
      const refs = node.kobj.ref.count;
      const rm = lpar.slot('remove_slot', bytes(`${name}\n`));
      assert.equal(rm.rc, name.length + 1, rm.report.dmesg.join('\n'));
      assert.equal(rm.drcName, name);
      assert.deepEqual(rm.report.dmesg, [`rpadlpar_io: slot ${name} removed`]);
      assert.deepEqual(rm.report.unregistered, [{ device: '30000002', node: LAN, nodeState: 'attached' }]);
      assert.deepEqual(rm.report.registered, []);
      assert.equal(lpar.vio.devices.has('30000002'), false);
      assert.equal(held(lpar, LAN, 'vio:30000002'), 0);

      const add = lpar.slot('add_slot', bytes(name));
      assert.equal(add.rc, name.length);
      assert.deepEqual(add.report.dmesg, [`rpadlpar_io: slot ${name} added`]);
      assert.deepEqual(add.report.registered, [{ device: '30000002', node: LAN, nodeState: 'attached' }]);
      assert.equal(lpar.vio.devices.get('30000002')!.node, node);
      // fb26228bfc4c (5.4): before it, find_dlpar_node's reference and the /vdevice lookup leak.
      assert.equal(held(lpar, LAN, 'find_dlpar_node'), puts ? 0 : 2);
      assert.equal(held(lpar, '/vdevice', 'find_vio_slot_node'), puts ? 0 : 2);
      assert.equal(node.kobj.ref.count, refs + (puts ? 0 : 2));
    });
  }

  it('answers as the kernel does: ENODEV silently, EINVAL after a line, 0 for a name too long', () => {
    const lpar = newLpar('5.16');
    const name = lanDrcName(lpar);
    const none = lpar.slot('add_slot', bytes('U0000.000.0000000-V1-C99'));
    assert.equal(none.errno, 'ENODEV');
    assert.deepEqual(none.report.dmesg, []);
    // A registered slot: vio_find_node finds its device; the "added" line prints anyway.
    const twice = lpar.slot('add_slot', bytes(name));
    assert.equal(twice.errno, 'EINVAL');
    assert.deepEqual(twice.report.dmesg, [`rpadlpar_io: slot ${name} added`]);
    assert.ok(lpar.slot('remove_slot', bytes(name)).rc > 0);
    const gone = lpar.slot('remove_slot', bytes(name));
    assert.equal(gone.errno, 'EINVAL');
    assert.deepEqual(gone.report.dmesg, [`rpadlpar_io: slot ${name} removed`]);
    const long = lpar.slot('add_slot', bytes('x'.repeat(MAX_DRC_NAME_LEN)));
    assert.equal(long.rc, 0);
    assert.equal(long.drcName, null);
    assert.deepEqual(long.report.dmesg, []);
    assert.equal(lpar.vio.devices.has('30000002'), false);
    assert.equal(slotStoreName(bytes('a\nb')), 'a');
    assert.equal(slotStoreName(bytes('a\0b')), 'a');
  });

  it('6.12: after dt remove and dt add, add_slot finds the old device by name; remove_slot frees the old node', () => {
    const lpar = newLpar('6.12');
    const name = lanDrcName(lpar);
    // Give /vdevice the ibm,drc-info 6.12's dt add needs (the built-in tree lists v1 only).
    const vdevice = ofPeekNodeByPath(lpar.of, '/vdevice')!;
    const prefix = name.slice(0, name.lastIndexOf('C') + 1);
    const info = enc.concat(
      enc.u32(1),
      enc.strings(['SLOT', prefix]),
      enc.u32(0x30000000, 0, 16, 1, 0xffffffff),
    );
    const cmd = enc.concat(
      bytes(`add_property 0x${vdevice.phandle.toString(16)} ibm,drc-info ${info.length} `),
      info,
    );
    assert.ok(lpar.ofdt(cmd).ok);
    const old = ofPeekNodeByPath(lpar.of, LAN)!;
    assert.ok(lpar.dlpar('dt remove index 0x30000002').rc > 0);
    assert.ok(lpar.dlpar('dt add index 0x30000002').rc > 0);
    const fresh = ofPeekNodeByPath(lpar.of, LAN)!;
    assert.notEqual(fresh, old);
    // The name now comes from ibm,drc-info (5.8+ reads it when the parent has one): same name.
    const stale = lpar.slot('add_slot', bytes(name));
    assert.equal(stale.errno, 'EINVAL', 'vio_find_node finds 30000002 by name, holding the old node');
    assert.equal(lpar.vio.devices.get('30000002')!.node, old);
    const rm = lpar.slot('remove_slot', bytes(name));
    assert.ok(rm.rc > 0);
    // The device released was the old node's: detached by the changeset, now held by its creator only.
    assert.deepEqual(rm.report.unregistered, [{ device: '30000002', node: LAN, nodeState: 'detached' }]);
    assert.deepEqual(
      holdersOf(old).map((h) => h.holder),
      ['of_node_init'],
    );
    const add = lpar.slot('add_slot', bytes(name));
    assert.ok(add.rc > 0);
    assert.equal(lpar.vio.devices.get('30000002')!.node, fresh);
  });

  it('5.8+ reads ibm,drc-info when /vdevice has it, earlier releases the v1 lists', () => {
    for (const kernel of ['5.4', '5.8']) {
      const lpar = newLpar(kernel);
      const v1 = lanDrcName(lpar);
      const vdevice = ofPeekNodeByPath(lpar.of, '/vdevice')!;
      const info = enc.concat(
        enc.u32(1),
        enc.strings(['SLOT', 'VSLOT-']),
        enc.u32(0x30000000, 100, 16, 1, 0xffffffff),
      );
      const cmd = enc.concat(
        bytes(`add_property 0x${vdevice.phandle.toString(16)} ibm,drc-info ${info.length} `),
        info,
      );
      assert.ok(lpar.ofdt(cmd).ok);
      const byInfo = lpar.slot('remove_slot', bytes('VSLOT-102'));
      const byV1 = lpar.slot('remove_slot', bytes(v1));
      if (kernel === '5.8') {
        assert.ok(byInfo.rc > 0, 'suffix start 100 + (0x30000002 - 0x30000000)');
        assert.equal(byV1.errno, 'ENODEV');
      } else {
        assert.equal(byInfo.errno, 'ENODEV');
        assert.ok(byV1.rc > 0);
      }
    }
  });

  it('4.18: drmgr with ofdt: remove_slot, remove_node, add_node, add_slot gives the new node a device', () => {
    const lpar = newLpar('4.18');
    const name = lanDrcName(lpar);
    const old = ofPeekNodeByPath(lpar.of, LAN)!;
    assert.ok(lpar.slot('remove_slot', bytes(name)).rc > 0);
    assert.ok(lpar.ofdt(bytes(`remove_node ${LAN}`)).ok);
    // 4.18: no sysfs reference; the unregister and the detach dropped the rest but the rpadlpar leak.
    assert.equal(nodeState(old), 'detached');
    const props = [
      ['device_type', enc.string('network')],
      ['reg', enc.u32(0x30000002)],
      ['ibm,my-drc-index', enc.u32(0x30000002)],
    ] as const;
    let cmd: Uint8Array = bytes(`add_node ${LAN}`);
    for (const [p, v] of props) cmd = enc.concat(cmd, bytes(` ${p} ${v.length} `), v);
    assert.ok(lpar.ofdt(cmd).ok);
    const add = lpar.slot('add_slot', bytes(name));
    assert.ok(add.rc > 0, add.report.dmesg.join('\n'));
    assert.equal(lpar.vio.devices.get('30000002')!.node, ofPeekNodeByPath(lpar.of, LAN));
  });

  it('a node that will not register: vio_register_device_node says why, then -EIO, then the added line', () => {
    for (const kernel of ['4.18', '5.16']) {
      const lpar = newLpar(kernel);
      const name = lanDrcName(lpar);
      const lan = ofPeekNodeByPath(lpar.of, LAN)!;
      assert.ok(lpar.slot('remove_slot', bytes(name)).rc > 0);
      assert.ok(lpar.ofdt(bytes(`remove_property 0x${lan.phandle.toString(16)} reg`)).ok);
      const add = lpar.slot('add_slot', bytes(name));
      assert.equal(add.errno, 'EIO', kernel);
      assert.deepEqual(add.report.dmesg, [
        "vio_register_device_node: node l-lan missing 'reg'",
        `dlpar_add_vio_slot: failed to register vio node ${name}`,
        `rpadlpar_io: slot ${name} added`,
      ]);
      assert.equal(held(lpar, LAN, 'vio:0'), 0, 'no device took a reference');
    }
  });

  it('the store: 63 bytes are a name, 64 are answered 0; the name ends at a newline or a NUL', () => {
    const lpar = newLpar('6.1');
    assert.equal(lpar.slot('add_slot', bytes('x'.repeat(MAX_DRC_NAME_LEN - 1))).errno, 'ENODEV');
    assert.equal(lpar.slot('add_slot', bytes('x'.repeat(MAX_DRC_NAME_LEN))).rc, 0);
    const name = lanDrcName(lpar);
    const r = lpar.slot('remove_slot', enc.concat(bytes(name), Uint8Array.of(0, 0x0a), bytes('junk')));
    assert.deepEqual([r.drcName, r.rc], [name, name.length + 6]);
    // Bytes compare as bytes: 0xfe and 0xff are different names.
    assert.notEqual(slotStoreName(Uint8Array.of(0xfe)), slotStoreName(Uint8Array.of(0xff)));
  });

  it('before 5.4 a write that finds nothing still leaks its /vdevice lookup', () => {
    for (const [kernel, leaked] of [
      ['5.0', 1],
      ['5.4', 0],
    ] as const) {
      const lpar = newLpar(kernel);
      assert.equal(lpar.slot('remove_slot', bytes('nothing')).errno, 'ENODEV');
      assert.equal(held(lpar, '/vdevice', 'find_vio_slot_node'), leaked, kernel);
    }
  });

  it('find_vio_slot_node takes the first node named vdevice in the walk, wherever it is', () => {
    const lpar = newLpar('5.8');
    const name = lanDrcName(lpar);
    // /openprom comes before /vdevice in the all-nodes walk: its vdevice child is found first.
    assert.ok(lpar.ofdt(bytes('add_node /openprom/vdevice device_type 8 vdevice\0')).ok);
    assert.equal(lpar.slot('remove_slot', bytes(name)).errno, 'ENODEV');
    assert.ok(lpar.vio.devices.has('30000002'));
  });

  it('names: 5.0+ prints and matches the full name up to the @, 4.x the name property', () => {
    for (const [kernel, printed] of [
      ['4.18', '<NULL>'],
      ['5.0', 'extra'],
    ] as const) {
      const lpar = newLpar(kernel);
      // An adapter node without name, device_type or reg, under /vdevice, listed as slot C7.
      const vdevice = ofPeekNodeByPath(lpar.of, '/vdevice')!;
      assert.ok(lpar.ofdt(bytes('add_node /vdevice/extra@30000007 ibm,my-drc-index 4 \x30\x00\x00\x07')).ok);
      const lists: Array<[string, Uint8Array]> = [
        ['ibm,drc-indexes', enc.u32(1, 0x30000007)],
        ['ibm,drc-names', enc.concat(enc.u32(1), enc.strings(['C7']))],
        ['ibm,drc-types', enc.concat(enc.u32(1), enc.strings(['SLOT']))],
        ['ibm,drc-power-domains', enc.u32(1, 0xffffffff)],
      ];
      for (const [p, v] of lists)
        assert.ok(
          lpar.ofdt(
            enc.concat(bytes(`update_property 0x${vdevice.phandle.toString(16)} ${p} ${v.length} `), v),
          ).ok,
        );
      const add = lpar.slot('add_slot', bytes('C7'));
      // 4.x never refuses a missing device_type (its cached type is "<NULL>"); 5.0 does.
      assert.deepEqual(
        add.report.dmesg[0],
        kernel === '4.18'
          ? `vio_register_device_node: node ${printed} missing 'reg'`
          : `vio_register_device_node: node ${printed} is missing the 'device_type' property.`,
      );
      assert.equal(add.errno, 'EIO');
    }
  });

  it('refuses a PCI slot or PHB name before the kernel runs', () => {
    const lpar = newLpar('5.16', { options: { pciAdapters: 1 } });
    // Root's lists get the PHB's connector: find_php_slot_pci_node would match it.
    const phb = lpar.of.root!.child && [...walk(lpar)].find((n) => n.name === 'pci');
    assert.ok(phb, 'a pci node');
    const idx = ofFindProperty(phb, 'ibm,my-drc-index')!.value;
    const root = lpar.of.root!;
    const set = (prop: string, v: Uint8Array) => {
      const c = enc.concat(bytes(`update_property 0x${root.phandle.toString(16)} ${prop} ${v.length} `), v);
      assert.ok(lpar.ofdt(c).ok);
    };
    set('ibm,drc-indexes', enc.concat(enc.u32(1), idx));
    set('ibm,drc-names', enc.concat(enc.u32(1), enc.strings(['PHB 1'])));
    set('ibm,drc-types', enc.concat(enc.u32(1), enc.strings(['PHB'])));
    set('ibm,drc-power-domains', enc.u32(1, 0xffffffff));
    const actions = lpar.actions;
    assert.throws(() => lpar.slot('remove_slot', bytes('PHB 1')), /names a PHB .*no bus for/);
    assert.equal(lpar.actions, actions, 'nothing ran');
  });
});
