// The FDT codec's memory reservation block and boot_cpuid_phys (issue 9), the `name` properties
// unflattening makes (E13), and what an upload refuses (issue 11): names no path component may hold,
// inconsistent headers, both with the offset; and the scan's bounded steps.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ofPeekNodeByPath } from '../../src/of/base.ts';
import {
  FDT_MAX_NAME_BYTES,
  FDT_TOKENS_PER_STEP,
  type FdtBootParams,
  FdtError,
  FdtNameError,
  type FdtNode,
  fdtDecode,
  fdtDecodeBlob,
  fdtEncode,
  fdtScan,
  fdtScanSteps,
} from '../../src/of/fdt.ts';
import { cString, enc } from '../../src/of/property.ts';
import { bootTree } from '../helpers/model.ts';

const LIMITS = { maxNodes: 100, maxDepth: 8 };

/** A dtc-style tree: no `name` properties anywhere. */
function bare(): FdtNode {
  return {
    name: '',
    props: [{ name: '#address-cells', value: enc.u32(2) }],
    children: [
      {
        name: 'cpus',
        props: [{ name: '#size-cells', value: enc.u32(0) }],
        children: [{ name: 'cpu@8', props: [{ name: 'reg', value: enc.u32(8) }], children: [] }],
      },
      { name: 'memory@0', props: [{ name: 'device_type', value: enc.string('memory') }], children: [] },
    ],
  };
}

const BOOT: FdtBootParams = {
  reservations: [
    { address: 0x1000_0000n, size: 0x4000n },
    { address: 0xffff_ffff_0000_0000n, size: 0x1_0000_0000n }, // ends exactly at 2^64
  ],
  bootCpuidPhys: 8,
};

const view = (blob: Uint8Array) => new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
/** Header words: off_dt_struct 8, off_dt_strings 12, off_mem_rsvmap 16, boot_cpuid_phys 28. */
const setHeader = (blob: Uint8Array, offset: number, value: number) => {
  const copy = blob.slice();
  view(copy).setUint32(offset, value);
  return copy;
};

describe('FDT memory reservation block and boot_cpuid_phys', () => {
  it('round-trips reservations in order and the boot CPU', () => {
    const blob = fdtEncode(bare(), BOOT);
    const back = fdtDecodeBlob(blob, LIMITS);
    assert.deepEqual(back.reservations, BOOT.reservations);
    assert.equal(back.bootCpuidPhys, 8);
    assert.equal(JSON.stringify(back.root), JSON.stringify(bare()));
    assert.equal(JSON.stringify(fdtDecode(blob, LIMITS)), JSON.stringify(bare()));
  });

  it('lays the block out as the format says: 8-aligned after the header, 0,0-terminated', () => {
    const blob = fdtEncode(bare(), BOOT);
    const v = view(blob);
    assert.equal(v.getUint32(16), 40, 'off_mem_rsvmap');
    assert.equal(v.getUint32(28), 8, 'boot_cpuid_phys');
    assert.equal(v.getBigUint64(40), 0x1000_0000n);
    assert.equal(v.getBigUint64(48), 0x4000n);
    assert.equal(v.getBigUint64(72), 0n);
    assert.equal(v.getBigUint64(80), 0n);
    assert.equal(v.getUint32(8), 88, 'the struct block follows the terminator');
  });

  it('a built-in-style encode has an empty block and boot CPU 0', () => {
    const back = fdtDecodeBlob(fdtEncode(bare()), LIMITS);
    assert.deepEqual(back.reservations, []);
    assert.equal(back.bootCpuidPhys, 0);
  });

  it('refuses a block misplaced against the header offsets, with the offsets in the reason', () => {
    const blob = fdtEncode(bare(), BOOT);
    const offStruct = view(blob).getUint32(8);
    const total = view(blob).getUint32(4);
    const cases: Array<[Uint8Array, RegExp]> = [
      [setHeader(blob, 16, 44), /at offset 44 is not 8-byte aligned/],
      [setHeader(blob, 16, 32), /at offset 32 overlaps the 40-byte header/],
      [setHeader(blob, 16, offStruct), new RegExp(`at offset ${offStruct} lies inside the struct block`)],
      [setHeader(blob, 16, total + 8), /is outside the blob \(totalsize/],
    ];
    for (const [bad, reason] of cases) assert.throws(() => fdtDecodeBlob(bad, LIMITS), reason);
  });

  it('refuses a block without its terminator, a size-0 entry with an address, and a wrap past 2^64', () => {
    const blob = fdtEncode(bare(), BOOT);
    const noEnd = blob.slice();
    view(noEnd).setBigUint64(72, 0x2000n); // the terminator becomes an entry: the struct block follows
    view(noEnd).setBigUint64(80, 0x1000n);
    assert.throws(
      () => fdtDecodeBlob(noEnd, LIMITS),
      /block at offset 40 has no 0,0 terminator before the struct block at offset 88/,
    );
    const sizeZero = blob.slice();
    view(sizeZero).setBigUint64(48, 0n);
    assert.throws(
      () => fdtDecodeBlob(sizeZero, LIMITS),
      /entry 0 \(offset 40\) has address 0x10000000 and size 0; only the 0,0 terminator may have size 0/,
    );
    const wraps = blob.slice();
    view(wraps).setBigUint64(64, 0x1_0000_0001n);
    assert.throws(() => fdtDecodeBlob(wraps, LIMITS), /entry 1 \(offset 56\) .* wraps past 2\^64/);
    assert.throws(() => fdtDecodeBlob(wraps, LIMITS), FdtError);
  });

  it('refuses a block that runs to the end of a blob whose struct and strings come first', () => {
    // Blocks may come in any order: with the reservations last, the blob's end is their limit.
    const blob = fdtEncode(bare());
    const at = (blob.length + 7) & ~7;
    const grown = new Uint8Array(at + 16);
    grown.set(blob);
    view(grown).setUint32(4, grown.length);
    view(grown).setUint32(16, at);
    view(grown).setBigUint64(at, 0x1000n);
    view(grown).setBigUint64(at + 8, 0x1000n);
    assert.throws(
      () => fdtDecodeBlob(grown, LIMITS),
      new RegExp(`no 0,0 terminator before the end of the blob \\(totalsize ${grown.length}\\)`),
    );
  });
});

describe('unflatten makes missing name properties (E13)', () => {
  it('appends `name` from the unit name, after the node’s own properties; the root’s is empty', () => {
    const of = bootTree('5.8', bare());
    const props = (path: string) => ofPeekNodeByPath(of, path)!.properties.map((p) => p.name);
    const name = (path: string) => ofPeekNodeByPath(of, path)!.properties.at(-1)!.value;
    assert.deepEqual(props('/'), ['#address-cells', 'name']);
    assert.deepEqual(props('/cpus/cpu@8'), ['reg', 'name']);
    assert.deepEqual(name('/'), enc.string(''));
    assert.deepEqual(name('/cpus'), enc.string('cpus'));
    assert.deepEqual(name('/cpus/cpu@8'), enc.string('cpu'));
    assert.deepEqual(name('/memory@0'), enc.string('memory'));
    // np->name follows from the property, as populate_node reads it.
    assert.equal(ofPeekNodeByPath(of, '/cpus/cpu@8')!.name, 'cpu');
  });

  it('cuts at the last @, as populate_properties does, and leaves a node that has a name alone', () => {
    const tree = bare();
    tree.children.push(
      { name: 'odd@1@2', props: [], children: [] },
      {
        name: 'named@3',
        props: [
          { name: 'reg', value: enc.u32(3) },
          { name: 'name', value: enc.string('x') },
        ],
        children: [],
      },
    );
    const of = bootTree('4.18', tree);
    assert.equal(cString(ofPeekNodeByPath(of, '/odd@1@2')!.properties.at(-1)!.value), 'odd@1');
    const named = ofPeekNodeByPath(of, '/named@3')!;
    assert.deepEqual(
      named.properties.map((p) => p.name),
      ['reg', 'name'],
    );
    assert.equal(cString(named.properties.at(1).value), 'x');
  });
});

/** The error a scan of `blob` throws (it must throw). */
function scanError(blob: Uint8Array): FdtError {
  try {
    fdtScan(blob, LIMITS);
  } catch (e) {
    assert.ok(e instanceof FdtError, String(e));
    return e;
  }
  assert.fail('the scan accepted the blob');
}

/** `blob` with `bytes` inserted into its struct block at `at` (sizes and later offsets moved). */
function insertIntoStruct(blob: Uint8Array, at: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(blob.length + bytes.length);
  out.set(blob.subarray(0, at));
  out.set(bytes, at);
  out.set(blob.subarray(at), at + bytes.length);
  const v = view(out);
  v.setUint32(4, v.getUint32(4) + bytes.length);
  v.setUint32(12, v.getUint32(12) + bytes.length);
  v.setUint32(36, v.getUint32(36) + bytes.length);
  return out;
}

describe('names an upload refuses (issue 11): FdtNameError with the offset of the name', () => {
  const child = (name: string) =>
    fdtEncode({ name: '', props: [], children: [{ name, props: [], children: [] }] });
  const prop = (name: string) => fdtEncode({ name: '', props: [{ name, value: enc.u32(1) }], children: [] });

  it('node names: "/", newline, empty, ".", "..", over 255 bytes, bytes after a NUL; the offset is the name’s', () => {
    const cases: Array<[string, RegExp]> = [
      ['a/b', /contains "\/" \(at offset 69\)/],
      ['ab\n', /contains a newline \(at offset 70\)/],
      ['', /is empty/],
      ['.', /is "\."/],
      ['..', /is "\.\."/],
      ['x'.repeat(FDT_MAX_NAME_BYTES + 1), /is longer than 255 bytes/],
      ['ab\0cd', /contains a NUL \(at offset 70\) followed by byte 0x63 at offset 71/],
    ];
    for (const [name, reason] of cases) {
      const e = scanError(child(name));
      assert.ok(e instanceof FdtNameError, `${JSON.stringify(name)}: ${e.message}`);
      assert.equal(e.offset, 68, JSON.stringify(name));
      assert.match(e.message, /^node name at offset 68 /);
      assert.match(e.message, reason);
      assert.throws(() => fdtDecodeBlob(child(name), LIMITS), FdtNameError, 'the decode refuses it too');
    }
  });

  it('property names: the same rules, at the name’s offset in the strings block', () => {
    for (const name of ['a/b', 'a\nb', '', '.', '..', 'y'.repeat(256)]) {
      const blob = prop(name);
      const at = view(blob).getUint32(12);
      const e = scanError(blob);
      assert.ok(e instanceof FdtNameError, `${JSON.stringify(name)}: ${e.message}`);
      assert.equal(e.offset, at, JSON.stringify(name));
      assert.match(
        e.message,
        new RegExp(
          `^property name at offset ${at} \\(string offset 0, named by the property at offset 64\\)`,
        ),
      );
    }
  });

  it('accepts what is safe: the root’s empty name, 255 bytes, dots inside a name, `#`, `@`, `,`', () => {
    const safe = fdtEncode({
      name: '',
      props: [{ name: 'p'.repeat(255), value: enc.u32(1) }],
      children: [
        { name: 'n'.repeat(255), props: [{ name: '...', value: enc.u32(2) }], children: [] },
        { name: 'PowerPC,POWER9@8', props: [{ name: '.hidden', value: enc.u32(3) }], children: [] },
        { name: 'a..b#1', props: [], children: [] },
      ],
    });
    assert.equal(fdtScan(safe, LIMITS).nodes, 4);
  });

  it('a name costs at most 256 bytes to check: a name offset into a long run without NUL stops there', () => {
    const blob = prop('z'.repeat(100_000));
    assert.match(scanError(blob).message, /is longer than 255 bytes$/);
  });
});

describe('headers an upload refuses (issue 11), and version 16', () => {
  const blob = fdtEncode(bare(), BOOT);
  const v = view(blob);
  const offStruct = v.getUint32(8);
  const offStrings = v.getUint32(12);
  const total = v.getUint32(4);

  it('every refusal names an offset, and FdtError carries it', () => {
    const cases: Array<[Uint8Array, number, RegExp]> = [
      [
        setHeader(setHeader(blob, 20, 16), 24, 17),
        24,
        /last_comp_version 17 .* newer than the blob's version 16/,
      ],
      [setHeader(blob, 4, 20), 4, /totalsize 20 \(header offset 4\) is smaller than the 40-byte header/],
      [setHeader(blob, 12, offStruct + 4), offStruct + 4, /overlap at offset/],
      [setHeader(blob, 8, offStruct + 1), offStruct + 1, /not 4-byte aligned/],
      [setHeader(blob, 8, total + 4), total + 4, /starts past totalsize/],
      [setHeader(blob, 32, total), offStrings, /past totalsize/],
    ];
    for (const [bad, offset, reason] of cases) {
      const e = scanError(bad);
      assert.match(e.message, reason);
      assert.equal(e.offset, offset, e.message);
      assert.match(e.message, new RegExp(`offset ${offset}\\b`));
      assert.ok(!(e instanceof FdtNameError));
    }
  });

  it('the reservation block’s refusals carry their offset too', () => {
    assert.equal(scanError(setHeader(blob, 16, 44)).offset, 44);
    const sizeZero = blob.slice();
    view(sizeZero).setBigUint64(64, 0n);
    assert.equal(scanError(sizeZero).offset, 56);
  });

  it('a version-16 blob (no size_dt_struct) reads its struct block up to the next block', () => {
    const v16 = setHeader(blob, 20, 16);
    const back = fdtDecodeBlob(v16, LIMITS);
    assert.equal(JSON.stringify(back.root), JSON.stringify(bare()));
    assert.deepEqual(back.reservations, BOOT.reservations);
  });
});

describe('the scan runs in bounded steps (issue 11)', () => {
  it('yields every FDT_TOKENS_PER_STEP tokens, even in one node: 100k FDT_NOPs are many steps', () => {
    const base = fdtEncode({ name: '', props: [], children: [] });
    const at = view(base).getUint32(8) + 8; // after the root's FDT_BEGIN_NODE and empty name
    const nops = new Uint8Array(4 * 100_000);
    for (let i = 0; i < 100_000; i++) view(nops).setUint32(4 * i, 4);
    const blob = insertIntoStruct(base, at, nops);
    const steps = fdtScanSteps(blob, LIMITS);
    let yields = 0;
    for (let r = steps.next(); !r.done; r = steps.next()) yields += 1;
    assert.ok(yields >= Math.floor(100_000 / FDT_TOKENS_PER_STEP), `${yields} steps`);
    assert.equal(fdtScan(blob, LIMITS).nodes, 1);
  });
});
