// Errata E6, E10 (at boot) and E14 (/work/shared/spec/errata.md): what the nx-842 driver reads and
// logs, the cpu and cache nodes cacheinfo and the cpu devices hold, and the references rng_init and
// nx842_pseries_init never put.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type KernfsLink, kernfsLookup, resolveLink } from '../../src/kernel/kernfs.ts';
import { childrenOf, ofFindProperty, ofPeekNodeByPath } from '../../src/of/base.ts';
import type { DeviceNode } from '../../src/of/node.ts';
import { cString, enc, readU32 } from '../../src/of/property.ts';
import { ofdtWrite } from '../../src/pseries/reconfig.ts';
import { vioBusInit } from '../../src/pseries/vio.ts';
import { bootTree, dmesgText, fnode, newLpar, ph, te } from '../helpers/model.ts';

const PREFIX = 'nx_compress_pseries ibm,compression-v1:';
const holders = (np: DeviceNode) => Object.fromEntries(np.holders);

/** A tree with one ibm,compression-v1 node of the given properties, booted with the vio bus. */
function nx842Boot(kernel: string, props: { sgLen: Uint8Array; syncCop: Uint8Array; status?: string }) {
  const of = bootTree(
    kernel,
    fnode('', ph(1), [
      // vio_register_device_node knows a platform-facilities child by its parent's device_type.
      fnode('ibm,platform-facilities', { ...ph(2), device_type: enc.string('ibm,platform-facilities') }, [
        fnode('ibm,compression-v1', {
          ...ph(3),
          compatible: enc.string('ibm,compression'),
          status: enc.string(props.status ?? 'okay'),
          'ibm,max-sg-len': props.sgLen,
          'ibm,max-sync-cop': props.syncCop,
        }),
      ]),
    ]),
  );
  const bus = vioBusInit(of, false);
  return { of, bus, dev: bus.devices.get('ibm,compression-v1')!, log: of.k.log.lines.map((l) => l.text) };
}

/** ibm,max-sync-cop: comp elements, comp data limit, comp sg limit, decomp elements, data, sg. */
const syncCop = (compData: number, compSg: number, decompData: number, decompSg: number) =>
  enc.u32(1, compData, compSg, 1, decompData, decompSg);

describe('E6: nx-842 reads its limits at probe and ignores every update', () => {
  it('probe of the power9 tree logs new:4096 / 510 / 4080 against old:0', () => {
    for (const kernel of ['4.18', '5.8']) {
      const lines = dmesgText(newLpar(kernel)).filter((l) => l.startsWith(PREFIX));
      assert.deepEqual(
        lines,
        [
          `${PREFIX} nx842_OF_upd: max_sync_size new:4096 old:0`,
          `${PREFIX} nx842_OF_upd: max_sync_sg new:510 old:0`,
          `${PREFIX} nx842_OF_upd: max_sg_len new:4080 old:0`,
        ],
        kernel,
      );
    }
  });

  it('max_sg_len = min(value, 4096); max_sync_size the smaller data limit, capped at 65536; max_sync_sg the smaller sg limit', () => {
    const { dev, log } = nx842Boot('4.18', {
      sgLen: enc.u32(8192),
      syncCop: syncCop(0x20000, 0x1fe, 0x30000, 0x100),
    });
    assert.deepEqual(
      log.filter((l) => l.startsWith(PREFIX)),
      [
        `${PREFIX} nx842_OF_upd: max_sync_size new:65536 old:0`,
        `${PREFIX} nx842_OF_upd: max_sync_sg new:256 old:0`,
        `${PREFIX} nx842_OF_upd: max_sg_len new:4096 old:0`,
      ],
    );
    assert.deepEqual(Object.fromEntries(dev.data), {
      max_sync_size: 65536,
      max_sync_sg: 256,
      max_sg_len: 4096,
    });
    // No rounding to the page: a 0x1800 limit stays 6144, a 0xff8 sg length stays 4088.
    const odd = nx842Boot('5.8', { sgLen: enc.u32(0xff8), syncCop: syncCop(0x1800, 3, 0x2000, 5) });
    assert.deepEqual(Object.fromEntries(odd.dev.data), {
      max_sync_size: 0x1800,
      max_sync_sg: 3,
      max_sg_len: 0xff8,
    });
  });

  it('a property of the wrong length: `unexpected format for … property`, then `device disabled`', () => {
    const sg = nx842Boot('4.18', { sgLen: enc.u32(1, 2), syncCop: syncCop(0x1000, 0x1fe, 0x1000, 0x1fe) });
    assert.deepEqual(
      sg.log.filter((l) => l.startsWith(PREFIX)),
      [
        `${PREFIX} nx842_OF_upd_maxsglen: unexpected format for ibm,max-sg-len property`,
        `${PREFIX} nx842_OF_upd: device disabled`,
      ],
    );
    const cop = nx842Boot('5.8', { sgLen: enc.u32(4080), syncCop: enc.u32(1, 0x1000, 0x1fe) });
    assert.deepEqual(
      cop.log.filter((l) => l.startsWith(PREFIX)),
      [
        `${PREFIX} nx842_OF_upd_maxsyncop: unexpected format for ibm,max-sync-cop property`,
        `${PREFIX} nx842_OF_upd: device disabled`,
      ],
    );
    assert.deepEqual(Object.fromEntries(cop.dev.data), { max_sync_size: 0, max_sync_sg: 0, max_sg_len: 0 });
  });

  it('a data limit under 4096: `hardware max data size (…) is less than the driver minimum`, then `device disabled`', () => {
    const { dev, log } = nx842Boot('4.18', {
      sgLen: enc.u32(4080),
      syncCop: syncCop(0x800, 0x1fe, 0x30000, 0x100),
    });
    assert.deepEqual(
      log.filter((l) => l.startsWith(PREFIX)),
      [
        `${PREFIX} nx842_OF_upd_maxsyncop: hardware max data size (2048) is less than the driver minimum, unable to use the hardware device`,
        `${PREFIX} nx842_OF_upd: device disabled`,
      ],
    );
    assert.equal(dev.data.get('max_sync_size'), 0);
  });

  it('an update on the node logs the three lines with new equal to old and applies nothing; `device disabled` never comes of it', () => {
    for (const kernel of ['4.18', '5.8']) {
      const lpar = newLpar(kernel);
      const dev = lpar.vio.devices.get('ibm,compression-v1')!;
      const before = Object.fromEntries(dev.data);
      const h = dev.node.phandle >>> 0;
      for (const cmd of [
        `update_property ${h} ibm,max-sg-len 4 \0\0\x02\0`,
        `update_property ${h} ibm,max-sync-cop 24 ${'\0\0\0\x01\0\0\x08\0\0\0\0\x01'.repeat(2)}`,
        `update_property ${h} status 9 disabled\0`,
      ]) {
        const mark = lpar.k.log.last;
        assert.equal(ofdtWrite(lpar.of, te.encode(cmd)).ok, true, cmd);
        assert.deepEqual(
          lpar.k.log.since(mark).map((l) => l.text),
          [
            `${PREFIX} nx842_OF_upd: max_sync_size new:4096 old:4096`,
            `${PREFIX} nx842_OF_upd: max_sync_sg new:510 old:510`,
            `${PREFIX} nx842_OF_upd: max_sg_len new:4080 old:4080`,
          ],
          `${kernel}: ${cmd}`,
        );
        assert.deepEqual(Object.fromEntries(dev.data), before, `${kernel}: nothing applied`);
      }
      // The tree did change: only the driver looked away.
      assert.equal(cString(ofFindProperty(dev.node, 'status')!.value), 'disabled');
      assert.equal(readU32(ofFindProperty(dev.node, 'ibm,max-sg-len')!.value), 0x200);
      assert.equal(
        dmesgText(lpar).some((l) => l.endsWith('device disabled')),
        false,
        kernel,
      );
    }
  });
});

describe('E14: rng_init and nx842_pseries_init leak their lookup references', () => {
  it('rng_init holds the ibm,random node on 4.16-5.8, not on 5.16; it registers the hook everywhere', () => {
    for (const kernel of ['4.16', '4.18', '5.0', '5.8', '5.16']) {
      const lpar = newLpar(kernel);
      const random = ofPeekNodeByPath(lpar.of, '/ibm,platform-facilities/ibm,random-v1')!;
      assert.equal(random.holders.get('rng_init') ?? 0, kernel === '5.16' ? 0 : 1, kernel);
      assert.ok(dmesgText(lpar).includes('pseries-rng: Registering arch random hook.'), kernel);
    }
    // The switch, not the version: a 4.18 with rngInitPut does not leak.
    const fixed = newLpar('4.18', { switches: { rngInitPut: true } });
    assert.equal(
      ofPeekNodeByPath(fixed.of, '/ibm,platform-facilities/ibm,random-v1')!.holders.has('rng_init'),
      false,
    );
  });

  it('nx842_pseries_init holds the ibm,compression node on every profile', () => {
    for (const kernel of ['4.16', '4.18', '5.0', '5.8', '5.16']) {
      const compression = ofPeekNodeByPath(
        newLpar(kernel).of,
        '/ibm,platform-facilities/ibm,compression-v1',
      )!;
      assert.equal(compression.holders.get('nx842_pseries_init'), 1, kernel);
      assert.equal(compression.holders.get('vio:ibm,compression-v1'), 1, kernel);
    }
  });

  it('no ibm,random node: no hook, no message, nothing held', () => {
    const of = bootTree('4.18', fnode('', ph(1), [fnode('vdevice', ph(2))]));
    vioBusInit(of, false);
    assert.equal(
      of.k.log.lines.some((l) => l.text.startsWith('pseries-rng')),
      false,
    );
  });
});

describe('E10: cacheinfo and the cpu devices hold cpu and cache nodes (at boot)', () => {
  function cpuNodes(lpar: ReturnType<typeof newLpar>): DeviceNode[] {
    return childrenOf(ofPeekNodeByPath(lpar.of, '/cpus')!).filter(
      (n) => cString(ofFindProperty(n, 'device_type')?.value ?? new Uint8Array()) === 'cpu',
    );
  }

  it("4.18: a core's cpu node shows 1 + 8 cpu:<n> + 2 cacheinfo = 11; its l2 and l3 nodes 2", () => {
    const lpar = newLpar('4.18');
    const cpus = cpuNodes(lpar);
    assert.equal(cpus.length, 8);
    cpus.forEach((cpu, core) => {
      const want: Record<string, number> = { of_node_init: 1, cacheinfo: 2 };
      for (let t = 0; t < 8; t++) want[`cpu:${core * 8 + t}`] = 1;
      assert.deepEqual(holders(cpu), want, cpu.fullName);
      assert.equal(cpu.kobj.ref.count, 11, cpu.fullName);
    });
    const l2 = ofPeekNodeByPath(lpar.of, '/cpus/l2-cache@2000')!;
    const l3 = ofPeekNodeByPath(lpar.of, '/cpus/l3-cache@3000')!;
    assert.deepEqual(holders(l2), { of_node_init: 1, cacheinfo: 1 });
    assert.equal(l2.kobj.ref.count, 2);
    assert.deepEqual(holders(l3), { of_node_init: 1, cacheinfo: 1 });
    // 5.8: the same plus the sysfs reference.
    const v58 = newLpar('5.8');
    assert.equal(cpuNodes(v58)[0]!.kobj.ref.count, 12);
    assert.equal(ofPeekNodeByPath(v58.of, '/cpus/l2-cache@2000')!.kobj.ref.count, 3);
  });

  it("each logical CPU's device links of_node to its core's directory", () => {
    const lpar = newLpar('4.18');
    for (const [cpu, core] of [
      [0, 'PowerPC,POWER9@0'],
      [7, 'PowerPC,POWER9@0'],
      [8, 'PowerPC,POWER9@8'],
      [63, 'PowerPC,POWER9@38'],
    ] as const) {
      const link = kernfsLookup(lpar.of.sysfs, [
        'devices',
        'system',
        'cpu',
        `cpu${cpu}`,
        'of_node',
      ]) as KernfsLink;
      assert.equal(link?.kind, 'link', `cpu${cpu}`);
      const target = resolveLink(lpar.of.sysfs, link);
      const coreDir = kernfsLookup(lpar.of.sysfs, ['firmware', 'devicetree', 'base', 'cpus', core]);
      assert.ok(target && target === coreDir, `cpu${cpu} -> ${core}`);
    }
    assert.equal(kernfsLookup(lpar.of.sysfs, ['devices', 'system', 'cpu', 'cpu64']), null);
  });

  it('the tree links cpu -> l2 -> l3 by `l2-cache` phandles in both phandle schemes; l2 and l3 are cache-unified', () => {
    for (const phandleScheme of ['phyp', 'dtc'] as const) {
      const lpar = newLpar('4.18', { phandleScheme });
      const cpus = cpuNodes(lpar);
      cpus.forEach((cpu, core) => {
        const l2 = ofPeekNodeByPath(lpar.of, `/cpus/l2-cache@${(0x2000 + core).toString(16)}`)!;
        const l3 = ofPeekNodeByPath(lpar.of, `/cpus/l3-cache@${(0x3000 + core).toString(16)}`)!;
        const link = (np: DeviceNode) => readU32(ofFindProperty(np, 'l2-cache')!.value);
        assert.ok(l2.phandle !== 0 && l3.phandle !== 0, phandleScheme);
        assert.equal(link(cpu), l2.phandle, `${phandleScheme} ${cpu.fullName}`);
        assert.equal(link(l2), l3.phandle, `${phandleScheme} ${l2.fullName}`);
        assert.equal(ofFindProperty(l3, 'l2-cache'), undefined);
        assert.ok(ofFindProperty(l2, 'cache-unified') && ofFindProperty(l3, 'cache-unified'));
        assert.equal(ofFindProperty(cpu, 'cache-unified'), undefined, 'a split L1');
        assert.ok(ofFindProperty(cpu, 'd-cache-size') && ofFindProperty(cpu, 'i-cache-size'));
      });
      // dtc numbers 1..n in pre-order: the links were renumbered with the nodes.
      if (phandleScheme === 'dtc') assert.ok(cpus.every((c) => c.phandle < 1000));
    }
  });
});
