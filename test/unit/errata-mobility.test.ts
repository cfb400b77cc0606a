// Errata E8, E9, E10 (across a migration) and E14 (after one) (/work/shared/spec/errata.md): 5.16's
// in-kernel suspend and message texts, cacheinfo's teardown and rebuild, and the boot references on
// the platform-facilities nodes that a migration detaches.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type MigrationRequest, migrate } from '../../src/lpar/migrations.ts';
import { ofPeekNodeByPath } from '../../src/of/base.ts';
import { type DeviceNode, nodeState } from '../../src/of/node.ts';
import type { FirmwareFault } from '../../src/pseries/firmware.ts';
import { BUILTIN_SYSTEMS, type ManagedSystem } from '../../src/pseries/systems.ts';
import { newLpar } from '../helpers/model.ts';

type TestLpar = ReturnType<typeof newLpar>;

const beta = BUILTIN_SYSTEMS.find((s) => s.name === 'p9-beta')!;
/** A destination whose firmware deletes and re-adds the l2/l3 cache nodes. */
const readd: ManagedSystem = { ...beta, name: 'p9-readd', readdCacheNodes: true, builtin: false };
const KERNELS = ['4.16', '4.18', '5.0', '5.8', '5.16'];

function move(lpar: TestLpar, destination = beta, faults: FirmwareFault[] = []) {
  const req: MigrationRequest = { destination, dryRun: false, faults };
  const m = migrate(
    lpar,
    req,
    () => new Date(0),
    () => 0,
  );
  return { migration: m, dmesg: (m.report as { dmesg: string[] }).dmesg };
}

const holders = (np: DeviceNode) => Object.fromEntries(np.holders);
const node = (lpar: TestLpar, path: string) => ofPeekNodeByPath(lpar.of, path)!;

describe('E8: 5.16 prints the in-kernel suspend', () => {
  it('5.16: `calling ibm,suspend-me on CPU <n>` and `CPU <n> waking all threads` come first, before the update', () => {
    const lpar = newLpar('5.16', { options: { dynamicDebug: true } });
    const before = lpar.events.lastId;
    const { dmesg } = move(lpar);
    assert.deepEqual(dmesg.slice(0, 2), [
      'mobility: calling ibm,suspend-me on CPU 0',
      'mobility: CPU 0 waking all threads',
    ]);
    assert.ok(dmesg.length > 2, 'the update follows');
    // In the event stream too: both lines before the first device-tree change.
    const events = lpar.events.since(before);
    const waking = events.findIndex(
      (e) => e.type === 'dmesg' && e.data.text === 'mobility: CPU 0 waking all threads',
    );
    const firstChange = events.findIndex((e) => e.type === 'reconfig');
    assert.ok(waking >= 0 && firstChange > waking, `${waking} < ${firstChange}`);
  });

  it('4.16 to 5.8: user space drove the suspend; no mobility: suspend lines', () => {
    for (const kernel of KERNELS.slice(0, 4)) {
      const { dmesg } = move(newLpar(kernel));
      assert.equal(
        dmesg.some((l) => l.startsWith('mobility: calling') || l.includes('waking all threads')),
        false,
        kernel,
      );
    }
  });
});

describe("E9: the update failure text is the release's own", () => {
  it('an injected ibm,update-nodes failure: `Post-mobility device tree update failed` until 5.8, `mobility: device tree update failed` on 5.16', () => {
    for (const kernel of KERNELS) {
      const { migration, dmesg } = move(newLpar(kernel), beta, [
        { call: 'ibm,update-nodes', onCall: 1, status: -1 },
      ]);
      assert.equal(migration.state, 'failed', kernel);
      const want =
        kernel === '5.16'
          ? 'mobility: device tree update failed: -1'
          : 'Post-mobility device tree update failed: -1';
      assert.ok(dmesg.includes(want), `${kernel}: ${dmesg.join(' | ')}`);
      assert.equal(
        dmesg.some((l) => l.includes('device tree update failed') && l !== want),
        false,
        kernel,
      );
    }
  });

  it('an injected ibm,activate-firmware failure: 5.16 words it as rtas_activate_firmware does', () => {
    for (const [kernel, want] of [
      ['4.18', 'Post-mobility activate-fw failed: -1'],
      ['5.8', 'Post-mobility activate-fw failed: -1'],
      ['5.16', 'ibm,activate-firmware failed (-1)'],
    ] as const) {
      const { dmesg } = move(newLpar(kernel), beta, [
        { call: 'ibm,activate-firmware', onCall: 1, status: -1 },
      ]);
      assert.ok(dmesg.includes(want), `${kernel}: ${dmesg.join(' | ')}`);
    }
  });

  it('with dynamicDebug 5.16 logs `mobility: updating node %pOF property %s` (the root prints as ""); 5.8 does not', () => {
    const v516 = move(newLpar('5.16', { options: { dynamicDebug: true } })).dmesg;
    assert.ok(
      v516.includes(
        'mobility: updating node /ibm,dynamic-reconfiguration-memory property ibm,dynamic-memory',
      ),
    );
    assert.ok(v516.includes('mobility: updating node  property system-id'));
    const v58 = move(newLpar('5.8', { options: { dynamicDebug: true } })).dmesg;
    assert.equal(
      v58.some((l) => l.includes('updating node')),
      false,
    );
    const quiet = move(newLpar('5.16')).dmesg;
    assert.equal(
      quiet.some((l) => l.includes('updating node')),
      false,
      'pr_debug needs dynamic debug',
    );
  });
});

describe('E10: cacheinfo across a migration', () => {
  it('5.8 and 5.16 drop every cacheinfo reference before the device-tree update and take them again after it; 4.x and 5.0 never', () => {
    for (const kernel of KERNELS) {
      const lpar = newLpar(kernel);
      const cpu0 = node(lpar, '/cpus/PowerPC,POWER9@0');
      const before = lpar.events.lastId;
      move(lpar);
      const events = lpar.events.since(before);
      const cacheinfo = (type: string) =>
        events.flatMap((e, i) => (e.type === type && e.data.holder === 'cacheinfo' ? [i] : []));
      const puts = cacheinfo('ref.put');
      const gets = cacheinfo('ref.get');
      const changes = events.flatMap((e, i) => (e.type === 'reconfig' ? [i] : []));
      assert.ok(changes.length > 0, kernel);
      if (kernel === '5.8' || kernel === '5.16') {
        // 8 cores: each cpu node's two L1 objects, its l2 and its l3.
        assert.equal(puts.length, 32, kernel);
        assert.equal(gets.length, 32, kernel);
        assert.ok(Math.max(...puts) < Math.min(...changes), `${kernel}: teardown before the update`);
        assert.ok(Math.min(...gets) > Math.max(...changes), `${kernel}: rebuild after it`);
      } else {
        assert.deepEqual([puts.length, gets.length], [0, 0], kernel);
      }
      assert.equal(cpu0.holders.get('cacheinfo'), 2, kernel);
    }
  });

  it('re-added cache nodes: 4.x and 5.0 leave the old ones detached and held by cacheinfo; 5.8 and 5.16 move the references to the new ones', () => {
    for (const kernel of KERNELS) {
      const lpar = newLpar(kernel);
      const oldL2 = node(lpar, '/cpus/l2-cache@2000');
      const oldL3 = node(lpar, '/cpus/l3-cache@3000');
      move(lpar, readd);
      const newL2 = node(lpar, '/cpus/l2-cache@2000');
      const newL3 = node(lpar, '/cpus/l3-cache@3000');
      assert.notEqual(newL2, oldL2, `${kernel}: re-added`);
      assert.equal(newL2.phandle, oldL2.phandle, 'same phandle');
      if (kernel === '5.8' || kernel === '5.16') {
        for (const old of [oldL2, oldL3]) {
          assert.equal(old.holders.has('cacheinfo'), false, kernel);
          assert.equal(nodeState(old), 'released', kernel);
        }
        for (const fresh of [newL2, newL3]) assert.equal(fresh.holders.get('cacheinfo'), 1, kernel);
      } else {
        for (const old of [oldL2, oldL3]) {
          assert.equal(nodeState(old), 'detached', kernel);
          assert.deepEqual(holders(old), { cacheinfo: 1 }, kernel);
        }
        for (const fresh of [newL2, newL3]) assert.equal(fresh.holders.has('cacheinfo'), false, kernel);
      }
      // The cpu nodes stay; their devices keep their references either way.
      assert.equal(node(lpar, '/cpus/PowerPC,POWER9@0').holders.get('cpu:0'), 1, kernel);
    }
  });
});

describe('E14: the boot platform-facilities nodes stay held after a migration detaches them', () => {
  it('4.18: the old random node is detached and held by vio and rng_init; the old compression node by vio and nx842_pseries_init', () => {
    const lpar = newLpar('4.18');
    const random = node(lpar, '/ibm,platform-facilities/ibm,random-v1');
    const compression = node(lpar, '/ibm,platform-facilities/ibm,compression-v1');
    move(lpar);
    assert.notEqual(node(lpar, '/ibm,platform-facilities/ibm,random-v1'), random, 're-added');
    assert.equal(nodeState(random), 'detached');
    assert.deepEqual(holders(random), { 'vio:ibm,random-v1': 1, rng_init: 1 });
    assert.equal(nodeState(compression), 'detached');
    assert.deepEqual(holders(compression), { 'vio:ibm,compression-v1': 1, nx842_pseries_init: 1 });
  });

  it('with pfoDevices "fixed" the vio references go, the init functions\' stay', () => {
    for (const kernel of ['4.18', '5.8']) {
      const lpar = newLpar(kernel, { options: { pfoDevices: 'fixed' } });
      const random = node(lpar, '/ibm,platform-facilities/ibm,random-v1');
      const compression = node(lpar, '/ibm,platform-facilities/ibm,compression-v1');
      const crypto = node(lpar, '/ibm,platform-facilities/ibm,sym-encryption-v1');
      move(lpar);
      assert.equal(nodeState(random), 'detached', kernel);
      assert.deepEqual(holders(random), { rng_init: 1 }, kernel);
      assert.deepEqual(holders(compression), { nx842_pseries_init: 1 }, kernel);
      assert.equal(nodeState(crypto), 'released', `${kernel}: nothing else held it`);
    }
  });

  it('5.16 ignores the platform-facilities updates, so nothing is detached', () => {
    const lpar = newLpar('5.16');
    const random = node(lpar, '/ibm,platform-facilities/ibm,random-v1');
    move(lpar);
    assert.equal(node(lpar, '/ibm,platform-facilities/ibm,random-v1'), random);
    assert.equal(nodeState(random), 'attached');
    assert.equal(random.holders.has('rng_init'), false);
  });
});
