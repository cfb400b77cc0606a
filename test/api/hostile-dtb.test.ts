// Hostile input (issue 11, point 5). An uploaded DTB whose names no path component may hold (with `/`,
// NUL or a newline; empty except the root's; over 255 bytes; `.` or `..`), or whose header's blocks
// overlap, leave totalsize or contradict its version or sizes, is refused with a 422 problem naming the
// offset, and changes nothing: no LPAR, no id taken. And sysfs.tar never holds an entry name with a
// `..`, `.` or empty component, or an absolute one, whatever an ofdt write put in the model.

import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { extract } from 'tar-stream';
import { isTarComponent } from '../../src/lpar/sysfs-tar.ts';
import { type FdtNode, fdtEncode } from '../../src/of/fdt.ts';
import { enc, type Property } from '../../src/of/property.ts';
import { ofdtWrite, problemOf, testApp } from '../helpers/app.ts';

let app: FastifyInstance;
before(async () => {
  ({ app } = await testApp());
});
after(() => app.close());

const node = (name: string, props: Record<string, Uint8Array> = {}, children: FdtNode[] = []): FdtNode => ({
  name,
  props: Object.entries(props).map(([n, value]): Property => ({ name: n, value })),
  children,
});

/**
 * A small tree whose root has no properties, so that the first child's name starts at offset 68: the
 * 40-byte header, the empty reservation block (16), the root's FDT_BEGIN_NODE and empty name (8), the
 * child's FDT_BEGIN_NODE (4).
 */
const FIRST_CHILD_NAME = 68;
const withChild = (name: string) =>
  fdtEncode(node('', {}, [node(name, { compatible: enc.string('x') }), node('cpus', { reg: enc.u32(0) })]));

/** A tree whose first property name (the root's, string offset 0) starts the strings block. */
const withProperty = (name: string) =>
  fdtEncode(node('', { [name]: enc.u32(1), model: enc.string('m') }, [node('cpus')]));

const view = (blob: Uint8Array) => new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
const word = (blob: Uint8Array, at: number) => view(blob).getUint32(at);
/** A copy of `blob` with the header word at `at` set to `value`. */
const setWord = (blob: Uint8Array, at: number, value: number) => {
  const copy = blob.slice();
  view(copy).setUint32(at, value);
  return copy;
};
/** Header words (struct fdt_header). */
const TOTALSIZE = 4;
const OFF_STRUCT = 8;
const OFF_STRINGS = 12;
const OFF_RSVMAP = 16;
const VERSION = 20;
const LAST_COMP = 24;
const SIZE_STRINGS = 32;
const SIZE_STRUCT = 36;

const listing = async () => (await app.inject({ url: '/v1/lpars' })).body;

const uploads = {
  'POST /v1/lpars with a dtb body': (blob: Uint8Array) =>
    app.inject({
      method: 'POST',
      url: '/v1/lpars',
      payload: { kernel: '5.8', dtb: Buffer.from(blob).toString('base64') },
    }),
  'POST /v1/lpars/from-dtb': (blob: Uint8Array) =>
    app.inject({
      method: 'POST',
      url: '/v1/lpars/from-dtb?kernel=5.8',
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.from(blob),
    }),
};

/**
 * Both upload routes answer 422 problem+json whose detail matches `reason` and names `offset` (also the
 * problem's `offset` member), and GET /v1/lpars is the same before and after.
 */
async function refused(blob: Uint8Array, offset: number, reason: RegExp, title: string): Promise<void> {
  const before = await listing();
  for (const [route, upload] of Object.entries(uploads)) {
    const res = await upload(blob);
    assert.equal(res.statusCode, 422, `${route}: ${res.body}`);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/, route);
    const problem = problemOf(res) as ReturnType<typeof problemOf> & { offset?: number };
    assert.equal(problem.status, 422, route);
    assert.equal(problem.title, title, route);
    assert.match(problem.detail, reason, route);
    assert.match(problem.detail, new RegExp(`\\boffset ${offset}\\b`), `${route}: names offset ${offset}`);
    assert.equal(problem.offset, offset, route);
  }
  assert.equal(await listing(), before, 'GET /v1/lpars is unchanged');
}

const UNSAFE = 'Unsafe name in device tree blob';
const UNREADABLE = 'Unreadable device tree blob';

describe('uploaded DTBs: names no path component may hold are refused, naming the offset', () => {
  let firstId: string;

  it('the same trees with safe names boot (255 bytes is the longest name; the root’s name is empty)', async () => {
    for (const blob of [withChild('a'.repeat(255)), withProperty('b'.repeat(255)), withChild('x@1')]) {
      const res = await uploads['POST /v1/lpars/from-dtb'](blob);
      assert.equal(res.statusCode, 201, res.body);
      firstId ??= res.json().id;
    }
  });

  it('a node name with "/"', async () => {
    const blob = withChild('a/b');
    await refused(blob, FIRST_CHILD_NAME, /^node name at offset 68 contains "\/" \(at offset 69\)$/, UNSAFE);
  });

  it('a property name with "/" (the `../../x` of the issue)', async () => {
    const blob = withProperty('../../x');
    const at = word(blob, OFF_STRINGS);
    await refused(
      blob,
      at,
      new RegExp(
        `^property name at offset ${at} \\(string offset 0, named by the property at offset 64\\) contains "/" \\(at offset ${at + 2}\\)$`,
      ),
      UNSAFE,
    );
  });

  it('a node name with a NUL inside it (bytes after the NUL, in what must be zero padding)', async () => {
    // 'ab\0cd' is written as a b NUL c d NUL NUL NUL: the kernel reads `ab`, the padding hides `cd`.
    const blob = withChild('ab\0cd');
    await refused(
      blob,
      FIRST_CHILD_NAME,
      /^node name at offset 68 contains a NUL \(at offset 70\) followed by byte 0x63 at offset 71$/,
      UNSAFE,
    );
  });

  it('a property name offset that points at a NUL (a property name ends at its first NUL: it is empty)', async () => {
    // The strings block holds `ab\0`; the property names string offset 2, the NUL.
    const good = withProperty('ab');
    const blob = good.slice();
    view(blob).setUint32(64 + 8, 2); // the root's first FDT_PROP (at 64): len at +4, nameoff at +8
    const at = word(blob, OFF_STRINGS) + 2;
    await refused(blob, at, new RegExp(`^property name at offset ${at} .* is empty$`), UNSAFE);
  });

  it('a node name with a newline', async () => {
    await refused(
      withChild('a\nb'),
      FIRST_CHILD_NAME,
      /^node name at offset 68 contains a newline \(at offset 69\)$/,
      UNSAFE,
    );
  });

  it('a property name with a newline', async () => {
    const blob = withProperty('a\nb');
    const at = word(blob, OFF_STRINGS);
    await refused(blob, at, new RegExp(`^property name at offset ${at} .* contains a newline`), UNSAFE);
  });

  it('an empty node name that is not the root’s', async () => {
    await refused(withChild(''), FIRST_CHILD_NAME, /^node name at offset 68 is empty$/, UNSAFE);
  });

  it('an empty property name', async () => {
    const blob = withProperty('');
    const at = word(blob, OFF_STRINGS);
    await refused(blob, at, new RegExp(`^property name at offset ${at} .* is empty$`), UNSAFE);
  });

  it('a 256-byte node name', async () => {
    await refused(
      withChild('n'.repeat(256)),
      FIRST_CHILD_NAME,
      /^node name at offset 68 is longer than 255 bytes$/,
      UNSAFE,
    );
  });

  it('a 256-byte property name (UTF-8 bytes, not characters)', async () => {
    const blob = withProperty('é'.repeat(128)); // 128 characters, 256 bytes
    const at = word(blob, OFF_STRINGS);
    await refused(
      blob,
      at,
      new RegExp(`^property name at offset ${at} .* is longer than 255 bytes$`),
      UNSAFE,
    );
  });

  it('a node named "."', async () => {
    await refused(withChild('.'), FIRST_CHILD_NAME, /^node name at offset 68 is "\."$/, UNSAFE);
  });

  it('a node named ".."', async () => {
    await refused(withChild('..'), FIRST_CHILD_NAME, /^node name at offset 68 is "\.\."$/, UNSAFE);
  });

  it('properties named "." and ".."', async () => {
    for (const name of ['.', '..']) {
      const blob = withProperty(name);
      const at = word(blob, OFF_STRINGS);
      await refused(
        blob,
        at,
        new RegExp(`^property name at offset ${at} .* is "${name.replaceAll('.', '\\.')}"$`),
        UNSAFE,
      );
    }
  });

  it('a root named ".." is refused too (the root alone may be empty)', async () => {
    const blob = fdtEncode(node('..', {}, [node('cpus')]));
    await refused(blob, 60, /^node name at offset 60 is "\.\."$/, UNSAFE);
  });

  it('refused uploads took no id: the next create is the next number', async () => {
    const res = await uploads['POST /v1/lpars/from-dtb'](withChild('after'));
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().id, `lpar-${Number(firstId.slice('lpar-'.length)) + 3}`);
  });
});

describe('uploaded DTBs: inconsistent headers are refused, naming the offset', () => {
  const good = withChild('ok');
  const offStruct = word(good, OFF_STRUCT);
  const offStrings = word(good, OFF_STRINGS);
  const sizeStruct = word(good, SIZE_STRUCT);
  const sizeStrings = word(good, SIZE_STRINGS);
  const total = word(good, TOTALSIZE);

  it('the blob the cases start from is laid out as dtc lays it out', () => {
    assert.equal(word(good, OFF_RSVMAP), 40);
    assert.equal(offStruct, 56);
    assert.equal(offStrings, offStruct + sizeStruct);
    assert.equal(total, offStrings + sizeStrings);
    assert.equal(total, good.length);
  });

  it('overlapping blocks: the strings block inside the struct block', async () => {
    await refused(
      setWord(good, OFF_STRINGS, offStruct + 8),
      offStruct + 8,
      new RegExp(
        `^the struct block \\(offsets ${offStruct} to ${offStruct + sizeStruct}\\) and the strings block \\(offsets ${offStruct + 8} to ${offStruct + 8 + sizeStrings}\\) overlap at offset ${offStruct + 8}$`,
      ),
      UNREADABLE,
    );
  });

  it('overlapping blocks: a struct block whose size runs into the strings block', async () => {
    await refused(
      setWord(good, SIZE_STRUCT, sizeStruct + 4),
      offStrings,
      new RegExp(`and the strings block \\(offsets ${offStrings} to .*\\) overlap at offset ${offStrings}$`),
      UNREADABLE,
    );
  });

  it('overlapping blocks: the reservation block inside the struct block, and the struct block over the header', async () => {
    await refused(
      setWord(good, OFF_RSVMAP, offStruct + 8),
      offStruct + 8,
      new RegExp(`^memory reservation block at offset ${offStruct + 8} lies inside the struct block`),
      UNREADABLE,
    );
    await refused(
      setWord(good, OFF_STRUCT, 36),
      36,
      /^struct block at offset 36 \(header offset 8\) overlaps the 40-byte header$/,
      UNREADABLE,
    );
  });

  it('a block past totalsize: the struct block’s size, the strings block’s size, a start', async () => {
    await refused(
      setWord(good, SIZE_STRUCT, total),
      offStruct,
      new RegExp(
        `^struct block at offset ${offStruct}, ${total} bytes \\(header offsets 8 and 36\\), ends at offset ${offStruct + total}, past totalsize ${total}$`,
      ),
      UNREADABLE,
    );
    await refused(
      setWord(good, SIZE_STRINGS, sizeStrings + 1),
      offStrings,
      new RegExp(`^strings block at offset ${offStrings}, .* past totalsize ${total}$`),
      UNREADABLE,
    );
    await refused(
      setWord(good, OFF_STRINGS, total + 4),
      total + 4,
      new RegExp(
        `^strings block at offset ${total + 4} \\(header offset 12\\) starts past totalsize ${total}$`,
      ),
      UNREADABLE,
    );
  });

  it('an inconsistent version: last_comp_version newer than version', async () => {
    // Version 16 claiming compatibility back to 17 only: libfdt's FDT_ERR_BADVERSION.
    await refused(
      setWord(setWord(good, VERSION, 16), LAST_COMP, 17),
      LAST_COMP,
      /^last_comp_version 17 \(header offset 24\) is newer than the blob's version 16 \(header offset 20\)$/,
      UNREADABLE,
    );
  });

  it('versions out of range: older than 16, last compatible newer than 17', async () => {
    await refused(
      setWord(good, VERSION, 15),
      VERSION,
      /^FDT version 15 \(header offset 20\) is older than 16/,
      UNREADABLE,
    );
    await refused(
      setWord(setWord(good, VERSION, 18), LAST_COMP, 18),
      LAST_COMP,
      /^last_comp_version 18 \(header offset 24\) is newer than 17/,
      UNREADABLE,
    );
  });

  it('inconsistent sizes: totalsize past the blob, totalsize inside the header, a misaligned struct block', async () => {
    await refused(
      setWord(good, TOTALSIZE, total + 1),
      TOTALSIZE,
      new RegExp(`^totalsize ${total + 1} \\(header offset 4\\) is past the end of the ${total}-byte blob$`),
      UNREADABLE,
    );
    await refused(
      setWord(good, TOTALSIZE, 39),
      TOTALSIZE,
      /^totalsize 39 \(header offset 4\) is smaller than the 40-byte header$/,
      UNREADABLE,
    );
    await refused(
      setWord(good, OFF_STRUCT, offStruct + 2),
      offStruct + 2,
      new RegExp(`^struct block at offset ${offStruct + 2} \\(header offset 8\\) is not 4-byte aligned$`),
      UNREADABLE,
    );
  });
});

/** Every entry name of a tar archive (pax paths resolved), in order. */
async function tarNames(tar: Buffer): Promise<string[]> {
  const names: string[] = [];
  const ex = extract();
  ex.on('entry', (header, stream, next) => {
    names.push(header.name);
    stream.on('end', next);
    stream.resume();
  });
  await new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
    Readable.from([tar]).pipe(ex);
  });
  return names;
}

/** The components of an entry name (a directory's trailing `/` is not an empty component). */
const components = (name: string) => (name.endsWith('/') ? name.slice(0, -1) : name).split('/');

describe('sysfs.tar never holds an unsafe entry name', () => {
  it('a component is safe unless it is empty, `.` or `..`, or holds `/` or NUL', () => {
    for (const name of ['', '.', '..', 'a/b', '../x', '/', 'a\0b'])
      assert.equal(isTarComponent(name), false, name);
    for (const name of ['...', '.x', 'a..b', 'ibm,platform-facilities#1', 'a\nb', 'é'.repeat(200)])
      assert.equal(isTarComponent(name), true, name);
  });

  it('names an ofdt write put in the model (`..`, `.`, empty, with `/`) are left out, with what is under them', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '5.8' } });
    assert.equal(res.statusCode, 201, res.body);
    const id = res.json().id;
    const clean = await tarNames((await app.inject({ url: `/v1/lpars/${id}/sysfs.tar` })).rawPayload);
    // The kernel's ofdt parser takes these names as they come (docs/kernel-notes.md, note 33).
    for (const command of [
      'add_node /vdevice/.. name 2 ab',
      'add_node /vdevice/../child name 5 child',
      'add_node /cpus/. ',
      'add_property 0xffffffff .. 1 a',
      'add_property 0xffffffff ../../../../x 1 a',
      'add_property 0xffffffff  1 a',
    ]) {
      const w = await ofdtWrite(app, id, command);
      assert.equal(w.statusCode, 200, `${command}: ${w.body}`);
    }
    // The model holds them: the emulated /sys lists them.
    const base = (await app.inject({ url: `/v1/lpars/${id}/sys/firmware/devicetree/base` })).json();
    const listed = base.items.map((e: { name: string }) => e.name);
    for (const name of ['..', '../../../../x', ''])
      assert.ok(listed.includes(name), `base lists ${JSON.stringify(name)}`);
    const vdevice = (
      await app.inject({ url: `/v1/lpars/${id}/sys/firmware/devicetree/base/vdevice` })
    ).json();
    assert.ok(vdevice.items.some((e: { name: string }) => e.name === '..'));

    for (const url of [`/v1/lpars/${id}/sysfs.tar`, `/v1/lpars/${id}/sysfs.tar.gz`]) {
      const r = await app.inject({ url });
      assert.equal(r.statusCode, 200, url);
      const tar = url.endsWith('.gz') ? (await import('node:zlib')).gunzipSync(r.rawPayload) : r.rawPayload;
      const names = await tarNames(tar);
      for (const name of names) {
        assert.ok(!name.startsWith('/'), `${url}: absolute entry ${JSON.stringify(name)}`);
        for (const c of components(name))
          assert.ok(c !== '..' && c !== '.' && c !== '', `${url}: entry ${JSON.stringify(name)}`);
        assert.ok(name === 'base/' || name.startsWith('base/'), name);
      }
      // Everything else is still there, unchanged: the archive is the clean one.
      assert.deepEqual(names, clean, url);
    }
  });
});
