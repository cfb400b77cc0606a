// Uploaded DTBs (issue 9): /memreserve/ entries and boot_cpuid_phys survive a round trip, unflattening
// makes missing `name` properties (E13), and a tree that gives firmware no phandle for a node it must
// name cannot migrate.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type FdtBootParams, type FdtNode, fdtDecodeBlob, fdtEncode } from '../../src/of/fdt.ts';
import { enc, type Property } from '../../src/of/property.ts';
import { fingerprint, problemOf, testApp } from '../helpers/app.ts';

let app: FastifyInstance;
before(async () => {
  ({ app } = await testApp());
});
after(() => app.close());

const LIMITS = { maxNodes: 1000, maxDepth: 16 };

const upload = (blob: Uint8Array, query = 'kernel=5.8') =>
  app.inject({
    method: 'POST',
    url: `/v1/lpars/from-dtb?${query}`,
    headers: { 'content-type': 'application/octet-stream' },
    payload: Buffer.from(blob),
  });

async function boot(blob: Uint8Array): Promise<string> {
  const res = await upload(blob);
  assert.equal(res.statusCode, 201, res.body);
  return res.json().id;
}

const node = (name: string, props: Record<string, Uint8Array>, children: FdtNode[] = []): FdtNode => ({
  name,
  props: Object.entries(props).map(([n, value]): Property => ({ name: n, value })),
  children,
});

/**
 * A small partition tree in dtc's style (no `name` properties). `ph` gives each node's phandle by path;
 * a path left out has none.
 */
function partition(ph: Record<string, number>): FdtNode {
  const h = (path: string): Record<string, Uint8Array> =>
    ph[path] !== undefined ? { 'ibm,phandle': enc.u32(ph[path]!) } : {};
  const pfo = (leaf: string, compatible: string) =>
    node(leaf, { compatible: enc.string(compatible), ...h(`/ibm,platform-facilities/${leaf}`) });
  return node('', { '#address-cells': enc.u32(2), 'system-id': enc.string('IBM,0278AAAAA'), ...h('/') }, [
    node('cpus', { '#address-cells': enc.u32(1), '#size-cells': enc.u32(0), ...h('/cpus') }, [
      node('PowerPC,POWER9@8', { device_type: enc.string('cpu'), reg: enc.u32(8), ...h('/cpus/cpu') }),
    ]),
    node(
      'ibm,platform-facilities',
      { device_type: enc.string('ibm,platform-facilities'), ...h('/ibm,platform-facilities') },
      [
        pfo('ibm,random-v1', 'ibm,random'),
        pfo('ibm,compression-v1', 'ibm,compression'),
        pfo('ibm,sym-encryption-v1', 'ibm,sym-encryption'),
      ],
    ),
    node('ibm,dynamic-reconfiguration-memory', {
      'ibm,dynamic-memory': enc.u32(0),
      ...h('/ibm,dynamic-reconfiguration-memory'),
    }),
  ]);
}

const ALL_PHANDLES: Record<string, number> = {
  '/': 0xffffffff,
  '/cpus': 0x10000001,
  '/cpus/cpu': 0x10000002,
  '/ibm,platform-facilities': 0x10000003,
  '/ibm,platform-facilities/ibm,random-v1': 0xfffffff5,
  '/ibm,platform-facilities/ibm,compression-v1': 0xfffffff6,
  '/ibm,platform-facilities/ibm,sym-encryption-v1': 0xfffffff7,
  '/ibm,dynamic-reconfiguration-memory': 0x10000004,
};

const BOOT: FdtBootParams = {
  reservations: [
    { address: 0x3ff_0000n, size: 0x1_0000n },
    { address: 0x7fff_fff0_0000_0000n, size: 0x10_0000n },
  ],
  bootCpuidPhys: 8,
};

describe('DTB /memreserve/ and boot_cpuid_phys (issue 9)', () => {
  it('an LPAR booted from a blob keeps them: tree.dtb writes them back, tree.dts prints them as dtc', async () => {
    const id = await boot(fdtEncode(partition(ALL_PHANDLES), BOOT));
    const back = fdtDecodeBlob((await app.inject({ url: `/v1/lpars/${id}/tree.dtb` })).rawPayload, LIMITS);
    assert.deepEqual(back.reservations, BOOT.reservations);
    assert.equal(back.bootCpuidPhys, 8);
    // A migration changes the tree, not the blob's header or reservations.
    assert.equal(
      (
        await app.inject({
          method: 'POST',
          url: `/v1/lpars/${id}/migrations`,
          payload: { destination: 'p9-beta' },
        })
      ).statusCode,
      201,
    );
    const again = fdtDecodeBlob((await app.inject({ url: `/v1/lpars/${id}/tree.dtb` })).rawPayload, LIMITS);
    assert.deepEqual(again.reservations, BOOT.reservations);
    const dts = (await app.inject({ url: `/v1/lpars/${id}/tree.dts` })).body;
    assert.ok(
      dts.startsWith(
        '/dts-v1/;\n\n' +
          '/memreserve/\t0x0000000003ff0000 0x0000000000010000;\n' +
          '/memreserve/\t0x7ffffff000000000 0x0000000000100000;\n' +
          '/ {\n',
      ),
      dts.slice(0, 200),
    );
  });

  it('the JSON create route keeps them too', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/lpars',
      payload: {
        kernel: '4.18',
        dtb: Buffer.from(fdtEncode(partition(ALL_PHANDLES), BOOT)).toString('base64'),
      },
    });
    assert.equal(res.statusCode, 201);
    const back = fdtDecodeBlob(
      (await app.inject({ url: `/v1/lpars/${res.json().id}/tree.dtb` })).rawPayload,
      LIMITS,
    );
    assert.deepEqual([back.reservations, back.bootCpuidPhys], [BOOT.reservations, 8]);
  });

  it('a built-in tree exports no reservations and boot CPU 0, as before', async () => {
    const id = (await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '5.8' } })).json().id;
    const back = fdtDecodeBlob((await app.inject({ url: `/v1/lpars/${id}/tree.dtb` })).rawPayload, {
      maxNodes: 10_000,
      maxDepth: 16,
    });
    assert.deepEqual([back.reservations, back.bootCpuidPhys], [[], 0]);
    const dts = (await app.inject({ url: `/v1/lpars/${id}/tree.dts` })).body;
    assert.ok(dts.startsWith('/dts-v1/;\n\n/ {\n'));
    assert.doesNotMatch(dts, /memreserve/);
  });

  it('a malformed reservation block is a 422 problem naming what is wrong, and boots nothing', async () => {
    const good = fdtEncode(partition(ALL_PHANDLES), BOOT);
    const before = (await app.inject({ url: '/v1/lpars' })).json().items.length;
    const noTerminator = good.slice();
    new DataView(noTerminator.buffer).setBigUint64(72, 1n); // the 0,0 entry at 40 + 2 * 16
    new DataView(noTerminator.buffer).setBigUint64(80, 1n);
    const misaligned = good.slice();
    new DataView(misaligned.buffer).setUint32(16, 44);
    for (const [blob, reason] of [
      [noTerminator, /memory reservation block at offset 40 has no 0,0 terminator before the struct block/],
      [misaligned, /memory reservation block at offset 44 is not 8-byte aligned/],
    ] as const) {
      const res = await upload(blob);
      assert.equal(res.statusCode, 422);
      const problem = problemOf(res);
      assert.equal(problem.title, 'Unreadable device tree blob');
      assert.match(problem.detail, reason);
    }
    assert.equal((await app.inject({ url: '/v1/lpars' })).json().items.length, before);
  });

  it('dtc agrees: a dtc-compiled blob with /memreserve/ and -b 0x8 comes back with both', async (t) => {
    if (!haveDtc(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'lparsim-memreserve-'));
    try {
      writeFileSync(
        join(dir, 'in.dts'),
        [
          '/dts-v1/;',
          '/memreserve/ 0x3ff0000 0x10000;',
          '/memreserve/ 0x7ffffff000000000 0x100000;',
          '/ {',
          '\t#address-cells = <2>;',
          '\t#size-cells = <2>;',
          '\tcpus {',
          '\t\t#address-cells = <1>;',
          '\t\t#size-cells = <0>;',
          '\t\tcpu@8 { device_type = "cpu"; reg = <8>; };',
          '\t};',
          '};',
          '',
        ].join('\n'),
      );
      execFileSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-b', '0x8', '-o', 'in.dtb', 'in.dts'], {
        cwd: dir,
      });
      const id = await boot(readFileSync(join(dir, 'in.dtb')));
      writeFileSync(join(dir, 'out.dtb'), (await app.inject({ url: `/v1/lpars/${id}/tree.dtb` })).rawPayload);
      const dts = (file: string) => dtcOut(dir, 'dts', file);
      const memreserve = (file: string) =>
        dts(file)
          .split('\n')
          .filter((l) => l.startsWith('/memreserve/'));
      assert.deepEqual(memreserve('in.dtb'), [
        '/memreserve/\t0x0000000003ff0000 0x0000000000010000;',
        '/memreserve/\t0x7ffffff000000000 0x0000000000100000;',
      ]);
      assert.deepEqual(memreserve('out.dtb'), memreserve('in.dtb'));
      // dts output has no boot CPU; dtc's assembler output spells out the header.
      const bootCpu = (file: string) => {
        const lines = dtcOut(dir, 'asm', file).split('\n');
        return lines[lines.findIndex((l) => l.includes('/* boot_cpuid_phys */')) + 1];
      };
      assert.equal(bootCpu('in.dtb'), '\t.byte 0x00; .byte 0x00; .byte 0x00; .byte 0x08');
      assert.equal(bootCpu('out.dtb'), bootCpu('in.dtb'));
      // And our own DTS prints the lines exactly as dtc does.
      const ours = (await app.inject({ url: `/v1/lpars/${id}/tree.dts` })).body;
      assert.deepEqual(
        ours.split('\n').filter((l) => l.startsWith('/memreserve/')),
        memreserve('in.dtb'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('unflattening makes missing name properties (E13)', () => {
  it('a dtc-style tree boots with `name` last on each node, and /proc/device-tree shows it', async () => {
    const id = await boot(fdtEncode(partition(ALL_PHANDLES)));
    const cpus = (await app.inject({ url: `/v1/lpars/${id}/nodes?path=/cpus` })).json();
    assert.deepEqual(
      cpus.properties.map((p: { name: string }) => p.name),
      ['#address-cells', '#size-cells', 'ibm,phandle', 'name'],
    );
    assert.deepEqual(cpus.properties.at(-1).value, 'cpus');
    const read = async (path: string) =>
      await app.inject({ url: `/v1/lpars/${id}/proc/device-tree/${path}` });
    const cpusName = await read('cpus/name');
    assert.equal(cpusName.headers['content-type'], 'application/octet-stream');
    assert.deepEqual(cpusName.rawPayload, Buffer.from('cpus\0'));
    assert.deepEqual((await read('cpus/PowerPC,POWER9@8/name')).rawPayload, Buffer.from('PowerPC,POWER9\0'));
    assert.deepEqual((await read('name')).rawPayload, Buffer.from('\0'), "the root's unit name is empty");
    assert.equal((await app.inject({ url: `/v1/lpars/${id}/nodes?path=/cpus` })).json().name, 'cpus');
  });

  it('a built-in tree keeps its one `name`, first', async () => {
    const id = (await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '5.8' } })).json().id;
    const names = (await app.inject({ url: `/v1/lpars/${id}/nodes?path=/cpus` }))
      .json()
      .properties.map((p: { name: string }) => p.name);
    assert.equal(names[0], 'name');
    assert.equal(names.filter((n: string) => n === 'name').length, 1);
  });
});

describe('a tree without the phandles firmware needs cannot migrate', () => {
  const migrate = (id: string, payload: object) =>
    app.inject({ method: 'POST', url: `/v1/lpars/${id}/migrations`, payload });
  const views = async (id: string) =>
    Promise.all(
      ['refcounts', 'dmesg', 'migrations'].map(
        async (v) => (await app.inject({ url: `/v1/lpars/${id}/${v}` })).body,
      ),
    );

  it('refuses with a 422 naming each node and why, before anything changes; a dry run too', async () => {
    const { '/': _root, '/ibm,dynamic-reconfiguration-memory': _dr, ...rest } = ALL_PHANDLES;
    const missing = Object.fromEntries(Object.entries(rest).filter(([p]) => !p.startsWith('/ibm,platform')));
    const id = await boot(fdtEncode(partition(missing)));
    const before = [await fingerprint(app, id), ...(await views(id))];
    for (const dryRun of [false, true]) {
      const res = await migrate(id, { destination: 'p9-beta', dryRun });
      assert.equal(res.statusCode, 422, res.body);
      const problem = problemOf(res) as ReturnType<typeof problemOf> & {
        nodes: Array<{ path: string; uses: string[] }>;
      };
      assert.equal(problem.title, 'Nodes without a phandle');
      assert.deepEqual(problem.nodes, [
        { path: '/ibm,platform-facilities/ibm,random-v1', uses: ['deleted'] },
        { path: '/ibm,platform-facilities/ibm,compression-v1', uses: ['deleted'] },
        { path: '/ibm,platform-facilities/ibm,sym-encryption-v1', uses: ['deleted'] },
        { path: '/ibm,platform-facilities', uses: ['deleted'] },
        { path: '/', uses: ['updated (system-id)', 'parent of the re-added /ibm,platform-facilities'] },
        {
          path: '/ibm,dynamic-reconfiguration-memory',
          uses: ['updated (ibm,dynamic-memory, ibm,associativity-lookup-arrays)'],
        },
      ]);
      for (const path of problem.nodes.map((n) => n.path))
        assert.ok(problem.detail.includes(`${path} (`), path);
      assert.match(problem.detail, /no ibm,phandle, phandle or linux,phandle/);
      assert.deepEqual([await fingerprint(app, id), ...(await views(id))], before);
    }
  });

  it('names only the nodes that lack one; the same tree with every phandle migrates', async () => {
    const { '/ibm,platform-facilities/ibm,compression-v1': _c, ...rest } = ALL_PHANDLES;
    const one = await boot(fdtEncode(partition(rest)));
    const res = await migrate(one, { destination: 'p9-beta' });
    assert.equal(res.statusCode, 422);
    assert.deepEqual(
      (problemOf(res) as unknown as { nodes: Array<{ path: string }> }).nodes.map((n) => n.path),
      ['/ibm,platform-facilities/ibm,compression-v1'],
    );
    assert.equal((await app.inject({ url: `/v1/lpars/${one}/migrations` })).json().items.length, 0);
    const all = await boot(fdtEncode(partition(ALL_PHANDLES)));
    const ok = await migrate(all, { destination: 'p9-beta' });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.json().state, 'completed');
  });

  it('an explicit work list is the client’s own and is sent as given', async () => {
    const id = await boot(fdtEncode(partition({})));
    const res = await migrate(id, {
      destination: 'p9-beta',
      dryRun: true,
      updates: [{ action: 'delete', phandle: '0x0' }],
    });
    assert.equal(res.statusCode, 201, res.body);
  });
});

function haveDtc(t: TestContext): boolean {
  try {
    execFileSync('dtc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI) throw new Error('dtc is missing in CI: .ci/run installs device-tree-compiler');
    t.skip('dtc is not installed (apt-get install device-tree-compiler)');
    return false;
  }
}

function dtcOut(dir: string, format: 'dts' | 'asm', file: string): string {
  return execFileSync('dtc', ['-q', '-I', 'dtb', '-O', format, file], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}
