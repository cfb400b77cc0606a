// Every scenario file in scenarios/ is an acceptance test: each runs once per kernel it lists, and
// once per new kernel profile its kernel extension (scenarios-extra/kernels/) runs it on.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { LparsimClient } from '../../src/client/client.ts';
import type { KernelName } from '../../src/kernel/profiles.ts';
import { loadScenarios, scenarioForKernel } from '../../src/scenario/files.ts';
import { decodeCommand, runScenario } from '../../src/scenario/runner.ts';
import type { KernelExtension } from '../../src/scenario/schema.ts';
import { ScenarioError } from '../../src/scenario/validate.ts';
import { testApp } from '../helpers/app.ts';
import { divergenceFor, KNOWN_DIVERGENCES, maskAddresses } from './divergences.ts';

const DIR = new URL('../../scenarios/', import.meta.url);
const SHARED = new URL('../../../shared/scenarios/', import.meta.url);
// The project's own scenarios (scenarios/ holds only the shared copies): run the same way.
const EXTRA = new URL('../../scenarios-extra/', import.meta.url);

let app: FastifyInstance;
let client: LparsimClient;
before(async () => {
  ({ app, client } = await testApp());
});
after(() => app.close());

const scenarios = [...(await loadScenarios(DIR.pathname)), ...(await loadScenarios(EXTRA.pathname))];

describe('scenario files', () => {
  for (const { file, scenario } of scenarios) {
    for (const kernel of scenario.kernels) {
      it(`${scenario.name} [${kernel}] (${scenario.tags?.join(', ')})`, async () => {
        const result = await runScenario(client, scenario, kernel);
        // Where a shared expectation contradicts the kernel sources, exactly those failures are expected.
        const expected = divergenceFor(scenario.name, kernel)?.failures ?? [];
        assert.deepEqual(
          result.failures.map(maskAddresses),
          expected,
          `${file}\n${result.failures.join('\n')}`,
        );
        assert.ok(result.steps > 0);
      });
    }
  }

  it('lists only divergences of scenarios and kernels that exist', () => {
    for (const d of KNOWN_DIVERGENCES) {
      const found = scenarios.some(
        (s) => s.scenario.name === d.scenario && s.scenario.kernels.includes(d.kernel),
      );
      assert.ok(found, `${d.scenario} [${d.kernel}]`);
      assert.ok(d.failures.length > 0 && d.because.length > 0);
    }
  });

  it('covers every tag the issues name', () => {
    const tags = new Set(scenarios.flatMap((s) => s.scenario.tags ?? []));
    for (const tag of ['lifecycle', 'phandle-cache', 'migration', 'prrn', 'overlay', 'dlpar'])
      assert.ok(tags.has(tag), tag);
  });
});

/** The profiles issue 14 added: the shared scenarios do not list them. */
const NEW_KERNELS: readonly KernelName[] = ['5.4', '5.10', '5.14', '6.1', '6.6', '6.12'];
const KERNELS_DIR = new URL('kernels/', EXTRA);

describe('kernel extensions of the shared scenarios (issue 14 point 1)', () => {
  const shared = readdirSync(DIR).filter((f) => f.endsWith('.json') && f !== 'schema.json');

  it('give every shared scenario a run, or the reason there is none, on every new profile', () => {
    assert.deepEqual(
      readdirSync(KERNELS_DIR)
        .filter((f) => f.endsWith('.json'))
        .sort(),
      shared.sort(),
    );
    for (const f of shared) {
      const ext = JSON.parse(readFileSync(new URL(f, KERNELS_DIR), 'utf8')) as KernelExtension;
      assert.equal(ext.extends, `../../scenarios/${f}`);
      assert.deepEqual(Object.keys(ext.kernels).sort(), [...NEW_KERNELS].sort(), f);
      const name = JSON.parse(readFileSync(new URL(f, DIR), 'utf8')).name as string;
      for (const [kernel, entry] of Object.entries(ext.kernels)) {
        const runs = scenarios.some(
          (s) => s.scenario.name === name && s.scenario.kernels.includes(kernel as KernelName),
        );
        assert.equal(runs, !('skip' in entry!), `${f} [${kernel}]`);
      }
    }
  });

  it('keep the shared step numbers: steps for other kernels become invariants checks', () => {
    const derived = scenarioForKernel(
      {
        name: 'n',
        kernels: ['4.18', '5.8'],
        lpar: {},
        steps: [
          { do: 'rebuildCache', kernel: '4.18' },
          { do: 'rebuildCache', kernel: ['4.18', '5.8'] },
          { do: 'expect', counts: { warnings: 0 } },
        ],
      },
      '6.6',
      {
        as: '5.8',
        replace: { '3': { do: 'expect', counts: { warnings: 1 } } },
        append: [{ do: 'expect', invariants: true }],
      },
    );
    assert.deepEqual(derived.kernels, ['6.6']);
    assert.deepEqual(derived.steps, [
      { do: 'expect', invariants: true },
      { do: 'rebuildCache' },
      { do: 'expect', counts: { warnings: 1 } },
      { do: 'expect', invariants: true },
    ]);
  });

  it('refuse an entry the extended scenario cannot run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lparsim-kernels-'));
    writeFileSync(
      join(dir, 'base.json'),
      JSON.stringify({
        name: 'base',
        kernels: ['5.8'],
        lpar: {},
        steps: [{ do: 'rebuildCache' }, { do: 'expect', invariants: true }],
      }),
    );
    const kernels = join(dir, 'kernels');
    mkdirSync(kernels);
    writeFileSync(
      join(kernels, 'base.json'),
      JSON.stringify({
        extends: '../base.json',
        kernels: {
          '5.8': { as: '5.8' },
          '6.1': { as: '4.18' },
          '6.6': {
            as: '5.8',
            replace: { '1': { do: 'expect', invariants: true }, '9': { do: 'expect', invariants: true } },
          },
          '6.12': { as: '5.8', append: [{ do: 'expect', kernel: '6.12', invariants: true }] },
        },
      }),
    );
    const problems = await loadScenarios(dir).then(
      () => [],
      (e) => (e instanceof ScenarioError ? e.problems : Promise.reject(e)),
    );
    const at = (k: string) => `${join(kernels, 'base.json')}: kernels.${k}`;
    assert.deepEqual(problems, [
      `${at('5.8')}: ../base.json already runs on 5.8`,
      `${at('6.1')}: as: "4.18" is not one of the scenario's kernels (5.8)`,
      `${at('6.6')}: replace: step 1 is a rebuildCache step; only expectations are replaced`,
      `${at('6.6')}: replace: the scenario has no step 9 (it has 2)`,
      `${at('6.12')}: a replaced or appended step is this kernel's own; it takes no kernel filter`,
    ]);
  });
});

describe('the scenario runner itself', () => {
  it('fails a scenario whose expectation is wrong, showing expected and seen', async () => {
    const result = await runScenario(
      client,
      {
        name: 'wrong-on-purpose',
        kernels: ['5.8'],
        lpar: {},
        steps: [
          {
            do: 'expect',
            nodes: [{ node: { path: '/vdevice/vty@30000000' }, refcount: 99, state: 'freed' }],
            counts: { warnings: 3 },
            dmesg: { contains: ['no such line'] },
          },
          { do: 'ofdt', command: 'remove_node /vdevice', expectError: 'ENODEV' },
        ],
      },
      '5.8',
    );
    assert.equal(result.ok, false);
    const text = result.failures.join('\n');
    assert.match(text, /expected refcount 99, saw 3/);
    assert.match(text, /expected state "freed", saw "attached"/);
    assert.match(text, /counts\.warnings: expected 3, saw 0/);
    assert.match(text, /expected the line "no such line"/);
    assert.match(text, /expected ENODEV, saw EBUSY/);
  });

  it('decodes \\xNN escapes of ofdt commands into bytes', () => {
    assert.deepEqual([...decodeCommand('a\\x00\\xffb')], [0x61, 0, 0xff, 0x62]);
  });
});

describe('scenarios/ is a copy of ../shared/scenarios/', () => {
  // Only the scenario files are copies. scenarios/schema.json is generated from src/scenario/schema.ts
  // and scenarios/README.md is the project's own description of the language: both are ours, not
  // copies, so they are left out of the comparison.
  const OWN = new Set(['schema.json', 'README.md']);
  const scenarioFiles = (dir: URL) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.json') && !OWN.has(f))
      .sort();

  it('holds the same scenario files with the same bytes', (t) => {
    if (!existsSync(SHARED)) {
      t.skip('../shared/scenarios is absent (a user clone): nothing to compare with');
      return;
    }
    const shared = scenarioFiles(SHARED);
    assert.deepEqual(scenarioFiles(DIR), shared);
    for (const f of shared)
      assert.equal(readFileSync(new URL(f, DIR), 'utf8'), readFileSync(new URL(f, SHARED), 'utf8'), f);
  });
});
