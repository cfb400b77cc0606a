import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { type FdtNode, fdtEncode } from '../../src/of/fdt.ts';
import { cString, readU32, u32Cells } from '../../src/of/property.ts';
import { BUILTIN_SYSTEMS } from '../../src/pseries/systems.ts';
import { DEFAULT_TREE_OPTIONS, generateTree, type TreeOptions, treeProfile } from '../../src/pseries/tree.ts';

const system = (name: string) => BUILTIN_SYSTEMS.find((s) => s.name === name)!;
const gen = (profile = 'power9', o: Partial<TreeOptions> = {}) =>
  generateTree(treeProfile(profile)!, system(profile === 'power9' ? 'p9-alpha' : 'p10-alpha'), {
    ...DEFAULT_TREE_OPTIONS,
    ...o,
  });
const prop = (n: FdtNode, name: string) => n.props.find((p) => p.name === name)?.value;
const child = (n: FdtNode, name: string) => n.children.find((c) => c.name === name)!;

function walk(n: FdtNode, path = ''): Array<{ path: string; node: FdtNode }> {
  const here = { path: path || '/', node: n };
  return [here, ...n.children.flatMap((c) => walk(c, `${path}/${c.name}`))];
}

describe('built-in tree profiles (spec/pseries-tree.md)', () => {
  it('root children come in the documented order, each node with name first', () => {
    const t = gen();
    assert.deepEqual(
      t.children.map((c) => c.name),
      [
        'openprom',
        'options',
        'aliases',
        'chosen',
        'rtas',
        'vdevice',
        'event-sources',
        'cpus',
        'memory@0',
        'ibm,dynamic-reconfiguration-memory',
        'ibm,platform-facilities',
      ],
    );
    for (const { node } of walk(t)) assert.equal(node.props[0]!.name, 'name');
    assert.equal(cString(prop(t, 'compatible')!), 'IBM,9009-42A');
    assert.equal(cString(prop(gen('power10'), 'compatible')!), 'IBM,9080-HEX');
    assert.match(cString(prop(t, 'system-id')!), /^IBM,02[0-9A-F]{7}$/);
  });

  it('PowerVM phandles: the descending run with the fixed platform-facilities values, scattered values elsewhere', () => {
    for (const facilities of [undefined, ['compression'] as const]) {
      const t = gen('power9', facilities ? { platformFacilities: facilities } : {});
      const phandleOf = (path: string) =>
        readU32(prop(walk(t).find((w) => w.path === path)!.node, 'ibm,phandle')!);
      assert.equal(phandleOf('/'), 0xffffffff);
      assert.equal(phandleOf('/openprom'), 0xfffffffe);
      assert.equal(phandleOf('/cpus'), 0xfffffff7);
      assert.equal(phandleOf('/ibm,platform-facilities'), 0xfffffff6);
      assert.equal(phandleOf('/ibm,platform-facilities/ibm,compression-v1'), 0xfffffff4);
      assert.equal(phandleOf('/event-sources/epow-events'), 0xfffffff2);
      if (!facilities) {
        assert.equal(phandleOf('/ibm,platform-facilities/ibm,random-v1'), 0xfffffff5);
        assert.equal(phandleOf('/ibm,platform-facilities/ibm,sym-encryption-v1'), 0xfffffff3);
      }
    }
    const t = gen('power9', { cores: 16 });
    const all = walk(t).map(({ node }) => readU32(prop(node, 'ibm,phandle')!)!);
    assert.equal(new Set(all).size, all.length, 'unique');
    const scattered = walk(child(t, 'cpus'))
      .slice(1)
      .map(({ node }) => readU32(prop(node, 'ibm,phandle')!)!);
    for (const v of scattered) {
      assert.ok(v !== 0 && v !== 0xdeadbeef && v < 0xffffff00, `scattered ${v.toString(16)}`);
    }
    for (const { node } of walk(t)) assert.deepEqual(prop(node, 'phandle'), prop(node, 'ibm,phandle'));
  });

  it('dtc phandles are 1..n in pre-order', () => {
    const all = walk(gen('power9', { phandleScheme: 'dtc' })).map(
      ({ node }) => readU32(prop(node, 'phandle')!)!,
    );
    assert.deepEqual(
      all,
      all.map((_, i) => i + 1),
    );
  });

  it('cpus: SMT8 cores with reg 0, 8, 0x10… and l2/l3 cache siblings; encodings as documented', () => {
    const cpus = child(gen('power9', { cores: 4 }), 'cpus');
    assert.deepEqual(cpus.children.map((c) => c.name).slice(0, 6), [
      'PowerPC,POWER9@0',
      'l2-cache@2000',
      'l3-cache@3000',
      'PowerPC,POWER9@8',
      'l2-cache@2001',
      'l3-cache@3001',
    ]);
    assert.equal(cpus.children.length, 12);
    const core = cpus.children[3]!;
    assert.deepEqual(u32Cells(prop(core, 'ibm,ppc-interrupt-server#s')!), [8, 9, 10, 11, 12, 13, 14, 15]);
    assert.equal(readU32(prop(core, 'ibm,my-drc-index')!), 0x10000001);
    assert.equal(cString(prop(core, 'device_type')!), 'cpu');
    const smt4 = child(gen('power9', { cores: 2, threadsPerCore: 4 }), 'cpus');
    assert.deepEqual(
      smt4.children.map((c) => c.name).filter((n) => n.startsWith('PowerPC')),
      ['PowerPC,POWER9@0', 'PowerPC,POWER9@4'],
    );
    assert.deepEqual(u32Cells(prop(smt4.children[3]!, 'ibm,ppc-interrupt-server#s')!), [4, 5, 6, 7]);
  });

  it('platform facilities and memory: exact property shapes', () => {
    const t = gen('power9', { memoryGiB: 16 });
    const pf = child(t, 'ibm,platform-facilities');
    assert.deepEqual(
      pf.children.map((c) => c.name),
      ['ibm,random-v1', 'ibm,compression-v1', 'ibm,sym-encryption-v1'],
    );
    assert.equal(cString(prop(pf, 'device_type')!), 'ibm,platform-facilities');
    assert.equal(prop(child(pf, 'ibm,compression-v1'), 'ibm,max-sync-cop')!.length, 24);
    const drconf = child(t, 'ibm,dynamic-reconfiguration-memory');
    const dm = prop(drconf, 'ibm,dynamic-memory')!;
    assert.equal(readU32(dm), 64, '16 GiB in 256 MiB LMBs');
    assert.equal(dm.length, 4 + 64 * 24);
    assert.equal(prop(drconf, 'ibm,lmb-size')!.length, 8);
    assert.deepEqual([...prop(child(t, 'vdevice').children[1]!, 'local-mac-address')!].length, 6);
    const drcNames = prop(t, 'ibm,drc-names')!;
    assert.equal(readU32(drcNames), readU32(prop(t, 'ibm,drc-indexes')!));
  });

  it('is deterministic: same options and seed give the same bytes; another seed does not', () => {
    const h = (o: Partial<TreeOptions>) =>
      createHash('sha256')
        .update(fdtEncode(gen('power9', o)))
        .digest('hex');
    assert.equal(h({ seed: 7, cores: 12 }), h({ seed: 7, cores: 12 }));
    assert.notEqual(h({ seed: 7 }), h({ seed: 8 }));
  });
});
