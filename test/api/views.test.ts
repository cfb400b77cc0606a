import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { fingerprint, problemOf, testApp } from '../helpers/app.ts';

let app: FastifyInstance;
let id: string;
before(async () => {
  ({ app } = await testApp());
  id = (
    await app.inject({
      method: 'POST',
      url: '/v1/lpars',
      payload: { kernel: '5.8', options: { pciAdapters: 1 } },
    })
  ).json().id;
});
after(() => app.close());

const get = (url: string) => app.inject({ url: `/v1/lpars/${id}${url}` });

describe('/sys and /proc/device-tree views (K-SYSFS-1, K-DRV-2)', () => {
  it('lists a directory with types, sizes and modes; reads a property file as raw bytes', async () => {
    const dir = (await get('/sys/firmware/devicetree/base/ibm,platform-facilities')).json();
    assert.equal(dir.type, 'dir');
    const names = dir.items.map((i: { name: string }) => i.name);
    assert.ok(names.includes('ibm,random-v1') && names.includes('device_type'));
    const dt = dir.items.find((i: { name: string }) => i.name === 'device_type');
    assert.deepEqual([dt.type, dt.size, dt.mode], ['file', 24, '0444']);
    const file = await get('/proc/device-tree/ibm,platform-facilities/device_type');
    assert.equal(file.headers['content-type'], 'application/octet-stream');
    assert.equal(file.body, 'ibm,platform-facilities\u0000');
    const stat = (
      await get('/sys/firmware/devicetree/base/ibm,platform-facilities/device_type?stat=true')
    ).json();
    assert.deepEqual([stat.type, stat.size], ['file', 24]);
    assert.deepEqual(
      (await get('/sys')).json().items.map((i: { name: string }) => i.name),
      ['devices', 'firmware'],
    );
  });

  it('vio devices show name, devspec and an of_node link that breaks when the directory goes', async () => {
    const dev = (await get('/sys/devices/vio/ibm,random-v1')).json();
    const link = dev.items.find((i: { name: string }) => i.name === 'of_node');
    assert.deepEqual(
      [link.type, link.target, link.broken],
      ['link', '../../../firmware/devicetree/base/ibm,platform-facilities/ibm,random-v1', false],
    );
    assert.equal(
      (await get('/sys/devices/vio/ibm,random-v1/devspec')).body,
      '/ibm,platform-facilities/ibm,random-v1\n',
    );
    assert.equal((await get('/sys/devices/vio/30000000/name')).body, 'vty\n');
    assert.equal(
      (await get('/sys/devices/vio/ibm,random-v1/of_node/status')).body,
      'okay\u0000',
      'a read follows the link',
    );
    await app.inject({
      method: 'POST',
      url: `/v1/lpars/${id}/migrations`,
      payload: { destination: 'p9-beta' },
    });
    const after = (await get('/sys/devices/vio/ibm,random-v1')).json();
    assert.equal(after.items.find((i: { name: string }) => i.name === 'of_node').broken, true);
  });

  it('refuses .., NUL and over-long components with 400, and missing paths with 404, changing nothing', async () => {
    const before = await fingerprint(app, id);
    for (const p of [
      '/sys/firmware%2F..%2Fdevices',
      '/sys/firmware/%00',
      `/sys/${'a'.repeat(300)}`,
      '/sys/%E0%A4%A',
    ]) {
      const res = await get(p);
      assert.equal(res.statusCode, 400, p);
      problemOf(res);
    }
    assert.equal((await get('/sys/firmware/devicetree/base/nope')).statusCode, 404);
    assert.equal((await get('/proc/device-tree/nope')).statusCode, 404);
    assert.equal(await fingerprint(app, id), before);
  });
});

describe('exports', () => {
  it('sysfs.tar is read back by dtc -I fs into the same tree as tree.dtb', async (t) => {
    const dtc = 'dtc';
    try {
      execFileSync(dtc, ['--version']);
    } catch {
      if (process.env.CI) throw new Error('dtc is missing in CI: .ci/run installs device-tree-compiler');
      t.skip('dtc is not installed (apt-get install device-tree-compiler)');
      return;
    }
    const { app: a } = await testApp();
    const lpar = (
      await a.inject({
        method: 'POST',
        url: '/v1/lpars',
        payload: { kernel: '4.18', options: { cores: 4, pciAdapters: 1 } },
      })
    ).json().id;
    const dir = mkdtempSync(join(tmpdir(), 'lparsim-dtc-'));
    try {
      writeFileSync(
        join(dir, 'sysfs.tar'),
        (await a.inject({ url: `/v1/lpars/${lpar}/sysfs.tar` })).rawPayload,
      );
      writeFileSync(
        join(dir, 'tree.dtb'),
        (await a.inject({ url: `/v1/lpars/${lpar}/tree.dtb` })).rawPayload,
      );
      execFileSync('tar', ['-xf', 'sysfs.tar'], { cwd: dir });
      const opts = {
        cwd: dir,
        encoding: 'utf8' as const,
        stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'],
      };
      // -f: dtc calls PowerVM's root phandle 0xffffffff invalid, but it is what PowerVM hands out.
      const fromFs = execFileSync(dtc, ['-q', '-f', '-s', '-I', 'fs', '-O', 'dts', 'base'], opts);
      const fromDtb = execFileSync(dtc, ['-q', '-f', '-s', '-I', 'dtb', '-O', 'dts', 'tree.dtb'], opts);
      assert.ok(fromFs.length > 1000);
      assert.equal(fromFs, fromDtb);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await a.close();
    }
  });

  it('tree.dts is device tree source of the attached tree', async () => {
    const dts = (await get('/tree.dts')).body;
    assert.match(dts, /^\/dts-v1\/;/);
    assert.match(dts, /\tibm,platform-facilities \{/);
    assert.match(dts, /device_type = "ibm,platform-facilities";/);
  });
});
