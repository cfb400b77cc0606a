// Issue 10, memory: boot properties live in a shared, immutable boot image (src/of/image.ts) read
// through a copy-on-write PropertyList, and a node's property files are served by its kobject until a
// property changes. None of this may be visible: these tests compare what a user can see.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type KernfsDir, type KernfsFile, kernfsLookup } from '../../src/kernel/kernfs.ts';
import { Registry } from '../../src/lpar/registry.ts';
import { fdtEncode } from '../../src/of/fdt.ts';
import { BootImage } from '../../src/of/image.ts';
import { cString, enc } from '../../src/of/property.ts';
import { ofdtWrite } from '../../src/pseries/reconfig.ts';
import { bootTree, fnode, LIMITS, newLpar, te } from '../helpers/model.ts';

const BASE = ['firmware', 'devicetree', 'base'];

function dir(sysfs: KernfsDir, ...path: string[]): KernfsDir {
  const d = kernfsLookup(sysfs, [...BASE, ...path]);
  assert.ok(d && d.kind === 'dir', `no directory ${path.join('/')}`);
  return d;
}

function read(sysfs: KernfsDir, ...path: string[]): string {
  const f = kernfsLookup(sysfs, [...BASE, ...path]);
  assert.ok(f && f.kind === 'file', `no file ${path.join('/')}`);
  return cString(f.read());
}

const names = (d: KernfsDir) => [...d.keys()];

describe('boot image and virtual property files (issue 10)', () => {
  it('LPARs booted from the same blob share one image; a change in one is not seen by the other', () => {
    const blob = fdtEncode({
      name: '',
      props: [{ name: 'model', value: enc.string('IBM,9009-22A') }],
      children: [
        fnode('vdevice', { compatible: enc.string('IBM,vdevice'), phandle: enc.u32(9) }, [
          fnode('vty@30000000'),
        ]),
      ],
    });
    const registry = new Registry(LIMITS, () => new Date(0));
    const before = registry.memory().usedBytes;
    const a = registry.create({ profile: 'power9', kernel: '5.8', dtb: blob, name: 'a' });
    const afterOne = registry.memory().usedBytes;
    const b = registry.create({ profile: 'power9', kernel: '5.8', dtb: blob, name: 'b' });
    const afterTwo = registry.memory().usedBytes;
    assert.equal(a.bootImage, b.bootImage, 'one image');
    assert.ok(afterTwo - afterOne < afterOne - before, 'the second LPAR is not charged for the image');
    assert.equal(ofdtWrite(a.of, te.encode('update_property 9 compatible 4 xyz\0')).ok, true);
    assert.equal(read(a.of.sysfs, 'vdevice', 'compatible'), 'xyz');
    assert.equal(read(b.of.sysfs, 'vdevice', 'compatible'), 'IBM,vdevice');
    assert.equal(cString(b.of.root!.child!.properties.find('compatible')!.value), 'IBM,vdevice');
    registry.delete(a.config.id);
    registry.delete(b.config.id);
    assert.equal(registry.memory().usedBytes, before);
  });

  it('a property change keeps the directory listing: boot files first in property order, then children, then the new file', () => {
    const of = bootTree(
      '5.8',
      fnode('', {}, [
        fnode('node@1', { phandle: enc.u32(7), a: enc.u32(1), b: enc.string('bee') }, [fnode('kid@0')]),
      ]),
    );
    const d = dir(of.sysfs, 'node@1');
    assert.deepEqual(names(d), ['name', 'phandle', 'a', 'b', 'kid@0']);
    assert.equal(d.hasVirtual, true, 'boot property files are served by the kobject');
    assert.equal(ofdtWrite(of, te.encode('update_property 7 a 4 \0\0\0\x02')).ok, true);
    assert.equal(d.hasVirtual, false, 'a change makes them entries');
    // of_update_property removes the old file and adds the new one at the end (K-SYSFS-3).
    assert.deepEqual(names(d), ['name', 'phandle', 'b', 'kid@0', 'a']);
    assert.equal(ofdtWrite(of, te.encode('add_property 7 c 3 sea')).ok, true);
    assert.deepEqual(names(d), ['name', 'phandle', 'b', 'kid@0', 'a', 'c']);
    assert.equal(read(of.sysfs, 'node@1', 'b'), 'bee');
    assert.deepEqual(
      [...(kernfsLookup(of.sysfs, [...BASE, 'node@1', 'a']) as KernfsFile).read()],
      [0, 0, 0, 2],
    );
  });

  it('a directory grown past the seekable mark keeps its property files changeable (kernfs asks the kobject)', () => {
    const kids = Array.from({ length: 1100 }, (_, i) => fnode(`kid@${i.toString(16)}`));
    const of = bootTree('5.8', fnode('', {}, [fnode('big@1', { phandle: enc.u32(5), a: enc.u32(1) }, kids)]));
    const d = dir(of.sysfs, 'big@1');
    assert.equal(d.hasVirtual, false, 'made entries when it grew past SEEKABLE_ENTRIES');
    assert.deepEqual(names(d).slice(0, 3), ['name', 'phandle', 'a']);
    assert.equal(ofdtWrite(of, te.encode('update_property 5 a 4 \0\0\0\x02')).ok, true);
    // The old file went: one `a`, at the end, and no `a#1`.
    assert.equal(
      names(d)
        .filter((n) => n.startsWith('a'))
        .join(),
      'a',
    );
    assert.equal(names(d).at(-1), 'a');
    assert.equal(ofdtWrite(of, te.encode('remove_property 5 a')).ok, true);
    assert.equal(d.get('a'), undefined);
    assert.equal(d.size, 2 + 1100);
  });

  it('duplicate property names in a blob still get safe_name renames (no virtual files)', () => {
    const of = bootTree(
      '5.8',
      fnode('', {}, [
        {
          name: 'dup@0',
          props: [
            { name: 'name', value: enc.string('dup') },
            { name: 'x', value: enc.string('one') },
            { name: 'x', value: enc.string('two') },
          ],
          children: [],
        },
      ]),
    );
    const d = dir(of.sysfs, 'dup@0');
    assert.equal(d.hasVirtual, false);
    assert.deepEqual(names(d), ['name', 'x', 'x#1']);
    assert.equal(read(of.sysfs, 'dup@0', 'x#1'), 'two');
    assert.ok(of.k.log.lines.some((l) => l.text === 'Duplicate name in dup@0, renamed to "x#1"'));
  });

  it('a removed property leaves the other LPAR and the dead list as they were', () => {
    const a = newLpar('4.18');
    const b = newLpar('4.18');
    const rtas = [...a.of.nodes.values()].find((n) => n.fullName === 'rtas')!;
    const before = rtas.properties.length;
    const gone = rtas.properties.at(-1).name;
    assert.equal(ofdtWrite(a.of, te.encode(`remove_property ${rtas.phandle} ${gone}`)).ok, true);
    assert.equal(rtas.properties.length, before - 1);
    assert.equal(rtas.deadProperties[0]!.name, gone);
    const rtasB = [...b.of.nodes.values()].find((n) => n.fullName === 'rtas')!;
    assert.equal(rtasB.properties.length, before);
    assert.equal(rtasB.deadProperties.length, 0);
    assert.equal(kernfsLookup(a.of.sysfs, [...BASE, 'rtas', gone]), null);
    assert.notEqual(kernfsLookup(b.of.sysfs, [...BASE, 'rtas', gone]), null);
  });

  it('keeps counts, name ids and lengths of 2^16 and more exactly (the image packs most in two bytes)', () => {
    const image = new BootImage();
    const long = new Uint8Array(70_000).fill(7);
    const props = Array.from({ length: 70_000 }, (_, i) => ({
      name: `p${i}`,
      value: i === 5 ? long : new Uint8Array([i & 0xff]),
    }));
    image.add('/wide', props);
    image.add('/next', [{ name: 'p69999', value: long }]);
    image.seal();
    assert.equal(image.count(0), 70_000);
    assert.equal(image.first(1), 70_000);
    assert.equal(image.name(65_535), 'p65535');
    assert.equal(image.name(69_999), 'p69999');
    assert.equal(image.name(70_000), 'p69999');
    assert.equal(image.valueLengthOf(5), 70_000);
    assert.deepEqual(image.value(5), long);
    assert.deepEqual(image.value(65_535), new Uint8Array([65_535 & 0xff]));
    assert.equal(image.value(70_000).length, 70_000);
  });
});
