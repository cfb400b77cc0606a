// Overlays applied and removed on every kernel profile (issue 14 point 4): the .dts sources in
// test/fixtures/overlays are compiled with `dtc -@` as a user would, applied to a tree booted from a
// dtc-compiled base (with __symbols__) or to the built-in power9 tree, and what a user would see is
// checked: nodes and their states, references and holders, sysfs, the phandle cache, dmesg, errnos.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KERNEL_NAMES } from '../../src/kernel/profiles.ts';
import { forEachOfAllnodes, ofFindProperty, ofPeekNodeByPath } from '../../src/of/base.ts';
import { CHANGESET_HOLDER } from '../../src/of/changeset.ts';
import { fdtDecode } from '../../src/of/fdt.ts';
import { flagNames, nodeState } from '../../src/of/node.ts';
import { ofOverlayFdtApply, ofOverlayList, ofOverlayRemove } from '../../src/of/overlay.ts';
import { cacheSlots, ofFindNodeByPhandle } from '../../src/of/phandle-cache.ts';
import { cString, readU32 } from '../../src/of/property.ts';
import { ofNodePut } from '../../src/of/refs.ts';
import type { OfState } from '../../src/of/state.ts';
import { bootTree, newLpar } from '../helpers/model.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/overlays/', import.meta.url));
const LIMITS = { maxNodes: 10_000, maxDepth: 64 };
const blobs = new Map<string, Uint8Array>();

function dtb(name: string): Uint8Array {
  let b = blobs.get(name);
  if (!b) {
    b = new Uint8Array(
      execFileSync('dtc', ['-@', '-q', '-I', 'dts', '-O', 'dtb', `${FIXTURES}${name}.dts`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    blobs.set(name, b);
  }
  return b;
}

/** The kernels whose overlay code refills the whole cache (of_populate_phandle_cache in overlay.c). */
const REBUILDING = new Set(['4.18', '5.0', '5.4']);

function boot(kernel: string): OfState {
  return bootTree(kernel, fdtDecode(dtb('base'), LIMITS));
}

function dmesg(of: OfState): string[] {
  return of.k.log.lines.map((l) => l.text);
}

function str(of: OfState, path: string, prop: string): string | undefined {
  const v = ofFindProperty(ofPeekNodeByPath(of, path)!, prop)?.value;
  return v ? cString(v) : undefined;
}

function u32(of: OfState, path: string, prop: string): number | undefined {
  const v = ofFindProperty(ofPeekNodeByPath(of, path)!, prop)?.value;
  return v ? readU32(v) : undefined;
}

function maxPhandle(of: OfState): number {
  return Math.max(...[...forEachOfAllnodes(of)].map((n) => n.phandle));
}

function apply(of: OfState, name: string) {
  return ofOverlayFdtApply(of, dtb(name), LIMITS);
}

for (const kernel of KERNEL_NAMES) {
  describe(`overlays on ${kernel}`, () => {
    it('applies a labelled overlay: new nodes, fixed-up phandles, symbols, sysfs, references', () => {
      const of = boot(kernel);
      const max = maxPhandle(of);
      const intc = ofPeekNodeByPath(of, '/interrupt-controller')!.phandle;
      const r = apply(of, 'add-device');
      assert.ok(r.ok, `apply failed: ${dmesg(of).join('\n')}`);
      assert.equal(r.id, 1);
      const sensor = ofPeekNodeByPath(of, '/bus@1000/sensor@10')!;
      assert.ok(sensor, 'sensor@10 is attached under the bus');
      assert.equal(nodeState(sensor), 'attached');
      assert.deepEqual(flagNames(sensor.flags), ['OF_DYNAMIC', 'OF_OVERLAY']);
      // dtc gave the sensor phandle 1; the resolver moves it past the live tree's largest.
      assert.equal(sensor.phandle, max + 2);
      assert.equal(u32(of, '/bus@1000/sensor@10', 'phandle'), max + 2);
      assert.equal(u32(of, '/bus@1000/sensor@10', 'interrupt-parent'), intc, '__fixups__ wrote intc');
      assert.equal(u32(of, '/bus@1000/sensor@10/channel@0', 'owner'), max + 2, '__local_fixups__ moved it');
      assert.equal(str(of, '/bus@1000/leds', 'status'), 'okay');
      assert.equal(str(of, '/__symbols__', 'sensor'), '/bus@1000/sensor@10');
      assert.ok(sensor.kobj.dir?.entries.has('compatible'), 'its properties are in sysfs');
      assert.equal(sensor.kobj.sysfsName, 'sensor@10');
      // Each entry on the node holds it (attach + its 5 properties: name, compatible, reg,
      // interrupt-parent, phandle), its child's kobject holds it, and sysfs where it takes a reference.
      assert.equal(sensor.holders.get(CHANGESET_HOLDER), 6);
      assert.equal(sensor.holders.get('child:channel@0'), 1);
      assert.equal(sensor.holders.get('sysfs') ?? 0, ['4.16', '4.18'].includes(kernel) ? 0 : 1);
      // 5.0+ drops __of_node_dup's reference; 4.x keeps it for __of_detach_node_sysfs to put.
      assert.equal(
        sensor.holders.get('of_node_init') ?? 0,
        ['4.16', '4.18'].includes(kernel) ? 1 : 0,
        '__of_node_dup reference',
      );
      // A property added to a live node can never be freed: the kernel says so.
      assert.ok(
        dmesg(of).includes(
          'OF: overlay: WARNING: memory leak will occur if overlay removed, property: /bus@1000/leds/status',
        ),
      );
      assert.deepEqual(
        ofOverlayList(of).map((o) => o.id),
        [1],
      );
    });

    it(`${REBUILDING.has(kernel) ? 'rebuilds the whole phandle cache' : 'leaves the phandle cache to detach'} around apply and remove`, () => {
      const of = boot(kernel);
      const events = () => of.k.events.filter((e) => e.type === 'phandle-cache.rebuilt').length;
      const before = events();
      const r = apply(of, 'add-device');
      assert.ok(r.ok);
      const sensor = ofPeekNodeByPath(of, '/bus@1000/sensor@10')!;
      const cached = () => cacheSlots(of.cache).some((s) => s.node === sensor);
      assert.equal(events() - before, REBUILDING.has(kernel) ? 1 : 0);
      // The refill walks the new tree, so the overlay's node is cached at once; otherwise only a lookup stores it.
      assert.equal(cached(), REBUILDING.has(kernel));
      const found = ofFindNodeByPhandle(of, sensor.phandle, 'test');
      assert.equal(found.node, sensor);
      ofNodePut(of, sensor, 'test');
      assert.equal(cached(), kernel !== '4.16');
      assert.equal(sensor.holders.get('phandle_cache') ?? 0, of.cache.model === 'pow2-refs' ? 1 : 0);
      const rm = ofOverlayRemove(of, r.id);
      assert.ok(rm.ok, dmesg(of).join('\n'));
      assert.equal(events() - before, REBUILDING.has(kernel) ? 2 : 0);
      // Either the cache was thrown away and refilled, or __of_detach_node evicted the slot: nothing stale.
      assert.equal(cached(), false);
      assert.deepEqual(
        cacheSlots(of.cache).filter((s) => s.stale),
        [],
      );
      assert.equal(nodeState(sensor), 'freed', 'the last changeset reference freed the node');
      assert.equal(nodeState(ofPeekNodeByPath(of, '/bus@1000')!), 'attached');
    });

    it('removal reverts every entry in reverse', () => {
      const of = boot(kernel);
      const r = apply(of, 'add-device');
      assert.ok(r.ok);
      const channel = ofPeekNodeByPath(of, '/bus@1000/sensor@10/channel@0')!;
      const bus = ofPeekNodeByPath(of, '/bus@1000')!;
      assert.equal(bus.holders.get('overlay_fragment'), 1, 'the fragment holds its target');
      assert.ok(ofOverlayRemove(of, r.id).ok);
      assert.equal(ofPeekNodeByPath(of, '/bus@1000/sensor@10'), null);
      assert.equal(nodeState(channel), 'freed');
      assert.equal(str(of, '/bus@1000/leds', 'status'), 'disabled', 'the old value is back');
      assert.equal(str(of, '/__symbols__', 'sensor'), undefined);
      assert.equal(bus.kobj.dir?.entries.has('sensor@10'), false, 'sysfs directory gone');
      // The bus lost the fragment's target reference and sensor's child reference.
      assert.equal(bus.holders.get('overlay_fragment') ?? 0, 0);
      assert.equal(bus.holders.get('child:sensor@10') ?? 0, 0);
      assert.equal(bus.unbalancedPuts.size, 0);
      assert.deepEqual(ofOverlayList(of), []);
      // The id is free again (idr_alloc gives the lowest).
      const again = apply(of, 'add-device');
      assert.ok(again.ok);
      assert.equal(again.id, 1);
      assert.ok(ofPeekNodeByPath(of, '/bus@1000/sensor@10'));
    });

    it('refuses to remove an overlay another one builds on: not topmost, -EBUSY', () => {
      const of = boot(kernel);
      const first = apply(of, 'add-device');
      const second = apply(of, 'on-top');
      assert.ok(first.ok && second.ok, dmesg(of).join('\n'));
      assert.equal(second.id, 2);
      const before = of.k.log.lines.length;
      assert.deepEqual(ofOverlayRemove(of, first.id), { ok: false, rc: -16 });
      assert.deepEqual(dmesg(of).slice(before), [
        'OF: overlay: node_overlaps_later_cs: #1 overlaps with #2 @/bus@1000/sensor@10',
        'OF: overlay: overlay #1 is not topmost',
      ]);
      assert.ok(ofPeekNodeByPath(of, '/bus@1000/sensor@10'), 'nothing was reverted');
      assert.ok(ofOverlayRemove(of, second.id).ok);
      assert.ok(ofOverlayRemove(of, first.id).ok);
      assert.deepEqual(ofOverlayRemove(of, 1), { ok: false, rc: -19 });
      assert.equal(dmesg(of).at(-1), 'OF: overlay: remove: Could not find overlay #1');
    });

    it('answers a bad target with -EINVAL and the kernel messages, changing nothing', () => {
      const of = boot(kernel);
      const nodes = of.nodes.size;
      const before = of.k.log.lines.length;
      assert.deepEqual(apply(of, 'bad-path'), { ok: false, rc: -22 });
      assert.deepEqual(dmesg(of).slice(before), [
        "OF: overlay: find target, node: /fragment@0, path '/no/such/node' not found",
        'OF: overlay: init_overlay_changeset() failed, ret = -22',
      ]);
      assert.equal(of.nodes.size, nodes);
      assert.deepEqual(ofOverlayList(of), []);
    });

    it('answers a fixup with no symbol with -EINVAL', () => {
      const of = boot(kernel);
      const before = of.k.log.lines.length;
      assert.deepEqual(apply(of, 'no-symbol'), { ok: false, rc: -22 });
      const labelLine = ['4.16', '4.18', '5.0', '5.4'].includes(kernel)
        ? []
        : ["OF: resolver: node label 'missing_label' not found in live devicetree symbols table"];
      assert.deepEqual(dmesg(of).slice(before), [
        ...labelLine,
        'OF: resolver: overlay phandle fixup failed: -22',
      ]);
    });

    it('applies a target-path overlay to the built-in power9 tree, whose missing __symbols__ refuses labels', () => {
      const lpar = newLpar(kernel);
      const of = lpar.of;
      const r = apply(of, 'by-path');
      assert.ok(r.ok, dmesg(of).join('\n'));
      const np = ofPeekNodeByPath(of, '/sim-overlay')!;
      assert.equal(nodeState(np), 'attached');
      assert.equal(of.sysfs.entries.size > 0, true);
      assert.ok(np.kobj.dir?.entries.has('value'));
      const before = of.k.log.lines.length;
      assert.deepEqual(apply(of, 'add-device'), { ok: false, rc: -22 });
      assert.deepEqual(dmesg(of).slice(before), [
        'OF: resolver: no symbols in root of device tree.',
        'OF: resolver: overlay phandle fixup failed: -22',
      ]);
      assert.ok(ofOverlayRemove(of, r.id).ok);
      assert.equal(nodeState(np), 'freed');
    });
  });
}
