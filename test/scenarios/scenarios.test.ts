// Every scenario file in scenarios/ is an acceptance test: each runs once per kernel it lists.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { LparsimClient } from '../../src/client/client.ts';
import { loadScenarios } from '../../src/scenario/files.ts';
import { decodeCommand, runScenario } from '../../src/scenario/runner.ts';
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
      const found = scenarios.find((s) => s.scenario.name === d.scenario);
      assert.ok(found?.scenario.kernels.includes(d.kernel), `${d.scenario} [${d.kernel}]`);
      assert.ok(d.failures.length > 0 && d.because.length > 0);
    }
  });

  it('covers every tag the issues name', () => {
    const tags = new Set(scenarios.flatMap((s) => s.scenario.tags ?? []));
    for (const tag of ['lifecycle', 'phandle-cache', 'migration', 'prrn', 'overlay', 'dlpar'])
      assert.ok(tags.has(tag), tag);
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
