// The memory budget (issue 10, point 2): creates, uploads and ofdt growth are charged before any work
// and refused with 507 problem+json, changing nothing, when they would not fit; /readyz and /metrics
// show the budget and its use; a delete gives the LPAR's share back; concurrent creates reserve their
// share (and their name, and their place under LPARSIM_MAX_LPARS) from the start.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { defaultMemoryBudgetMb } from '../../src/config.ts';
import { lparDigest } from '../../src/lpar/digest.ts';
import { LparError } from '../../src/lpar/errors.ts';
import { migrate } from '../../src/lpar/migrations.ts';
import { builtinTreeBytes, MEMORY_COSTS, Registry } from '../../src/lpar/registry.ts';
import { fdtEncode } from '../../src/of/fdt.ts';
import { DEFAULT_TREE_OPTIONS } from '../../src/pseries/tree.ts';
import { fingerprint, ofdtWrite, problemKind, problemOf, testApp } from '../helpers/app.ts';
import { LIMITS } from '../helpers/model.ts';

const MIB = 1024 * 1024;

interface Readiness {
  lpars: number;
  memory: { budgetBytes: number | null; usedBytes: number; reservedBytes: number; booting: number };
}

const readyz = async (app: FastifyInstance) => (await app.inject({ url: '/readyz' })).json() as Readiness;
const create = (app: FastifyInstance, payload: object) =>
  app.inject({ method: 'POST', url: '/v1/lpars', payload });

describe('the memory budget', () => {
  let app: FastifyInstance;
  before(async () => {
    ({ app } = await testApp({
      LPARSIM_MEMORY_BUDGET_MB: '48',
      LPARSIM_MAX_OFDT_WRITE_BYTES: String(64 * MIB),
    }));
  });
  after(() => app.close());

  it('defaults to 75% of the V8 heap limit, and /readyz and /metrics show it with its use', async () => {
    const { config } = await testApp();
    assert.equal(config.LPARSIM_MEMORY_BUDGET_MB, defaultMemoryBudgetMb());
    const r = await readyz(app);
    assert.equal(r.memory.budgetBytes, 48 * MIB);
    assert.equal(r.memory.usedBytes, 0);
    const id = (await create(app, { kernel: '5.8' })).json().id;
    const after = await readyz(app);
    assert.ok(after.memory.usedBytes >= MEMORY_COSTS.lpar, JSON.stringify(after));
    const metrics = (await app.inject({ url: '/metrics' })).body;
    assert.match(metrics, new RegExp(`^lparsim_memory_budget_bytes ${48 * MIB}$`, 'm'));
    assert.match(metrics, new RegExp(`^lparsim_memory_used_bytes ${after.memory.usedBytes}$`, 'm'));
    assert.match(metrics, new RegExp(`^lparsim_lpar_memory_bytes\\{lpar="${id}",kernel="5.8"\\} \\d+$`, 'm'));
    await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}` });
    assert.equal((await readyz(app)).memory.usedBytes, 0);
  });

  it('a create that would not fit is a 507 problem naming the budget, before any work; nothing changes', async () => {
    const small = (await create(app, { kernel: '5.8', name: 'small' })).json().id;
    const before = await fingerprint(app, small);
    const used = (await readyz(app)).memory.usedBytes;
    const cores = 20_000; // about 60k nodes: far more than 48 MiB
    assert.ok(builtinTreeBytes({ ...DEFAULT_TREE_OPTIONS, cores }) > 48 * MIB);
    const start = performance.now();
    const res = await create(app, { kernel: '5.8', options: { cores } });
    assert.equal(res.statusCode, 507, res.body);
    const p = problemOf(res);
    assert.equal(problemKind(p), 'insufficient-storage');
    assert.equal(p.status, 507);
    assert.match(p.detail, /memory budget is in use \(LPARSIM_MEMORY_BUDGET_MB\)/);
    assert.ok(performance.now() - start < 1000, 'refused from the options, not after generating');
    assert.equal(await fingerprint(app, small), before);
    assert.equal((await readyz(app)).memory.usedBytes, used);
    // The refusal took no id.
    const next = (await create(app, { kernel: '5.8' })).json().id;
    assert.equal(Number(next.slice(5)), Number(small.slice(5)) + 1);
    await app.inject({ method: 'DELETE', url: `/v1/lpars/${next}` });
  });

  it('an upload is charged from its blob before it is decoded: 507, nothing changes', async () => {
    const children = Array.from({ length: 45_000 }, (_, i) => ({
      name: `n@${i.toString(16)}`,
      props: [],
      children: [],
    }));
    const blob = fdtEncode({ name: '', props: [], children });
    const before = (await app.inject({ url: '/v1/lpars' })).body;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/lpars/from-dtb?kernel=4.18',
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.from(blob),
    });
    assert.equal(res.statusCode, 507, res.body);
    assert.match(problemOf(res).detail, /45001-node tree/);
    assert.equal((await app.inject({ url: '/v1/lpars' })).body, before);
  });

  it('an ofdt write that would not fit is a 507 before the kernel sees it; one that fits is charged', async () => {
    const id = (await create(app, { kernel: '5.8', name: 'writer' })).json().id;
    const before = await fingerprint(app, id);
    const value = 'x'.repeat(60 * MIB);
    const res = await ofdtWrite(app, id, `add_node /vdevice/big@1 blob ${value.length} ${value}`);
    assert.equal(res.statusCode, 507, res.body.slice(0, 300));
    assert.equal(problemKind(problemOf(res)), 'insufficient-storage');
    assert.equal(await fingerprint(app, id), before);
    const used = (await readyz(app)).memory.usedBytes;
    const ok = await ofdtWrite(app, id, `add_node /vdevice/small@1 blob ${2 * MIB} ${'y'.repeat(2 * MIB)}`);
    assert.equal(ok.statusCode, 200, ok.body);
    assert.ok((await readyz(app)).memory.usedBytes >= used + 2 * MIB + MEMORY_COSTS.addedNode);
  });
});

describe('concurrent creates reserve at the start', () => {
  it('the budget: of two creates that each fit alone, the second is a 507 while the first boots', async () => {
    const { app } = await testApp({ LPARSIM_MEMORY_BUDGET_MB: '160' });
    const cores = 12_000; // about 36k nodes: about 55 MiB each as charged, 130 MiB while booting
    const [a, b] = await Promise.all([
      create(app, { kernel: '5.8', options: { cores } }),
      create(app, { kernel: '5.8', options: { cores } }),
    ]);
    assert.deepEqual([a.statusCode, b.statusCode].sort(), [201, 507]);
    const r = await readyz(app);
    assert.equal(r.lpars, 1);
    assert.equal(r.memory.booting, 0);
    assert.equal(r.memory.reservedBytes, 0);
    await app.close();
  });

  it('names and LPARSIM_MAX_LPARS: a booting LPAR holds its name and its place, and is not visible', async () => {
    const { app } = await testApp({ LPARSIM_MAX_LPARS: '2' });
    const first = create(app, { kernel: '5.8', name: 'twin', options: { cores: 6_000 } });
    // While `twin` boots: it is not listed, not found, its name is taken, and it counts against the limit.
    let r = await readyz(app);
    for (let i = 0; i < 1000 && r.memory.booting === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      r = await readyz(app);
    }
    assert.equal(r.memory.booting, 1);
    assert.equal(r.lpars, 0);
    assert.deepEqual((await app.inject({ url: '/v1/lpars' })).json().items, []);
    assert.equal((await app.inject({ url: '/v1/lpars/lpar-1' })).statusCode, 404);
    const twin = await create(app, { kernel: '5.8', name: 'twin' });
    assert.equal(twin.statusCode, 409);
    assert.match(problemOf(twin).detail, /is being created \(lpar-1\)/);
    const second = await create(app, { kernel: '5.8' });
    assert.equal(second.statusCode, 201);
    const third = await create(app, { kernel: '5.8' });
    assert.equal(third.statusCode, 413);
    assert.match(problemOf(third).detail, /LPARSIM_MAX_LPARS/);
    const done = await first;
    assert.equal(done.statusCode, 201);
    assert.equal(done.json().id, 'lpar-1');
    assert.equal(second.json().id, 'lpar-2');
    await app.close();
  });
});

describe('the memory budget and migrations (issue 10: checked before any growth)', () => {
  it('a migration whose work list would not fit is a 507 before anything changes; a dry run is not charged', () => {
    // The budget is read at each check: a roomy one for the create, then one with a few KiB to spare,
    // less than a migration re-adds.
    const limits = { ...LIMITS, memoryBudgetBytes: 64 * MIB };
    const registry = new Registry(limits, () => new Date(0));
    const lpar = registry.create({ profile: 'power9', kernel: '4.18' });
    limits.memoryBudgetBytes = registry.memory().usedBytes + 4096;
    const destination = [...registry.systems.values()].find(
      (s) => s.processor === lpar.system.processor && s.name !== lpar.system.name,
    )!;
    const reserve = (bytes: number, what: string) => registry.assertMemoryFor(bytes, what);
    const before = lparDigest(lpar);
    assert.throws(
      () =>
        migrate(
          lpar,
          { destination, dryRun: false, faults: [], reserve },
          () => new Date(0),
          () => 0,
        ),
      (e: unknown) =>
        e instanceof LparError && e.kind === 'insufficient-storage' && /a migration of/.test(e.message),
    );
    assert.equal(lparDigest(lpar), before, 'a refused migration changes nothing');
    assert.equal(lpar.migrations.length, 0);
    const dry = migrate(
      lpar,
      { destination, dryRun: true, faults: [], reserve },
      () => new Date(0),
      () => 0,
    );
    assert.equal(dry.state, 'completed');
  });
});
