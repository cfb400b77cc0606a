// The scenario language's schema: it accepts every shipped scenario, it is committed as
// scenarios/schema.json without drift, and every mistake a scenario can make is refused with a message
// naming the file, the step (number and `do`) and the key.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kind } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance } from 'fastify';
import type { LparsimClient } from '../../src/client/client.ts';
import { KERNEL_NAMES } from '../../src/kernel/profiles.ts';
import { loadScenarios } from '../../src/scenario/files.ts';
import { runScenario } from '../../src/scenario/runner.ts';
import { ScenarioSchema } from '../../src/scenario/schema.ts';
import { SCHEMA_FILE, schemaJson } from '../../src/scenario/schema-file.ts';
import { parseScenario, ScenarioError, scenarioProblems } from '../../src/scenario/validate.ts';
import { testApp } from '../helpers/app.ts';

const DIR = new URL('../../scenarios/', import.meta.url);
const FILE = 'scenarios/x.json';
const shipped = readdirSync(DIR).filter((f) => f.endsWith('.json') && f !== 'schema.json');

// biome-ignore lint/suspicious/noExplicitAny: test fixtures are edited freely, then validated
type Json = any;
const real = (name: string): Json => JSON.parse(readFileSync(new URL(name, DIR), 'utf8'));
const minimal = (): Json => ({
  name: 'x',
  kernels: ['4.18'],
  lpar: {},
  steps: [{ do: 'expect', invariants: true }],
});

describe('the scenario schema', () => {
  it('accepts every shipped scenario', () => {
    assert.ok(shipped.length >= 6);
    for (const f of shipped) {
      assert.deepEqual(scenarioProblems(real(f), `scenarios/${f}`), [], f);
      assert.ok(Value.Check(ScenarioSchema, real(f)), f);
    }
  });

  it('is committed as scenarios/schema.json (npm run scenario-schema)', () => {
    assert.equal(
      readFileSync(SCHEMA_FILE, 'utf8'),
      schemaJson(),
      'scenarios/schema.json is stale: run npm run scenario-schema',
    );
  });

  it('is a closed JSON Schema: every object refuses unknown keys', () => {
    const open: string[] = [];
    const walk = (s: Json, at: string) => {
      if (typeof s !== 'object' || s === null) return;
      if (s.type === 'object' && s.properties && s.additionalProperties !== false) open.push(at);
      for (const [k, v] of Object.entries(s)) walk(v, `${at}/${k}`);
    };
    walk(JSON.parse(schemaJson()), '#');
    assert.deepEqual(open, []);
  });

  it('is checkable by TypeBox Value throughout (no Unsafe kinds, e.g. a route StringEnum, slipped in)', () => {
    const unsafe: string[] = [];
    const walk = (s: Json, at: string) => {
      if (typeof s !== 'object' || s === null) return;
      if (
        s[Kind] !== undefined &&
        ![
          'Object',
          'Array',
          'Union',
          'Literal',
          'String',
          'Integer',
          'Number',
          'Boolean',
          'Null',
          'Record',
        ].includes(s[Kind])
      )
        unsafe.push(`${at}: ${s[Kind]}`);
      for (const [k, v] of Object.entries(s)) walk(v, `${at}/${k}`);
    };
    walk(ScenarioSchema, '#');
    assert.deepEqual(unsafe, []);
  });

  it('names every kernel profile, so a new one is accepted without editing the schema', () => {
    for (const k of KERNEL_NAMES)
      assert.deepEqual(scenarioProblems({ ...minimal(), kernels: [k] }, FILE), [], k);
  });
});

/** [what, how to break a minimal scenario, the message expected (exactly)] */
const MISTAKES: Array<[string, (s: Json) => void, string]> = [
  // unknown keys, at every level
  [
    'an unknown top-level key',
    (s) => {
      s.kernel = '4.18';
    },
    `${FILE}: unknown key "kernel" (did you mean "kernels"?)`,
  ],
  [
    'an unknown lpar key',
    (s) => {
      s.lpar.profil = 'power9';
    },
    `${FILE}: lpar: unknown key "profil" (did you mean "profile"?)`,
  ],
  [
    'an unknown LPAR option',
    (s) => {
      s.lpar.options = { kasn: true };
    },
    `${FILE}: lpar.options: unknown key "kasn" (did you mean "kasan"?)`,
  ],
  [
    'an unknown kernel switch',
    (s) => {
      s.lpar.switches = { phandleCach: 'none' };
    },
    `${FILE}: lpar.switches: unknown key "phandleCach" (did you mean "phandleCache"?)`,
  ],
  [
    'an unknown expect key',
    (s) => {
      s.steps[0] = { do: 'expect', dmseg: { contains: ['x'] } };
    },
    `${FILE}: step 1 (expect): unknown key "dmseg" (did you mean "dmesg"?)`,
  ],
  [
    'an unknown dmesg key',
    (s) => s.steps.push({ do: 'expect', dmesg: { containz: ['x'] } }),
    `${FILE}: step 2 (expect): dmesg: unknown key "containz" (did you mean "contains"?)`,
  ],
  [
    'an unknown nodes key',
    (s) => s.steps.push({ do: 'expect', nodes: [{ node: { path: '/' }, refcnt: 1 }] }),
    `${FILE}: step 2 (expect): nodes[0]: unknown key "refcnt" (did you mean "refcount"?)`,
  ],
  [
    'an unknown counts key',
    (s) => s.steps.push({ do: 'expect', counts: { warning: 0 } }),
    `${FILE}: step 2 (expect): counts: unknown key "warning" (did you mean "warnings"?)`,
  ],
  [
    'an unknown step key',
    (s) => s.steps.push({ do: 'migrate', to: ['p9-beta'], dryRun: true }),
    `${FILE}: step 2 (migrate): unknown key "dryRun" (known keys: do, kernel, to)`,
  ],
  // steps
  [
    'an unknown step kind',
    (s) => s.steps.push({ do: 'expct' }),
    `${FILE}: step 2 (expct): unknown step kind "expct" (known: label, migrate, ofdt, get, put, lookup, read, rebuildCache, prrn, overlay, overlay-remove, dlpar, slot, expect)`,
  ],
  ['a step without do', (s) => s.steps.push({ to: ['p9-beta'] }), `${FILE}: step 2: missing key "do"`],
  [
    'a step that is not an object',
    (s) => s.steps.push('migrate'),
    `${FILE}: step 2: expected an object (a step), saw "migrate"`,
  ],
  ['a missing key', (s) => s.steps.push({ do: 'read' }), `${FILE}: step 2 (read): missing key "path"`],
  [
    'a put with neither form',
    (s) => s.steps.push({ do: 'put', ref: 'r', holder: 'h' }),
    `${FILE}: step 2 (put): expected a put step: {"ref": …} or {"node": …, "holder": …}, saw {"do":"put","ref":"r","holder":"h"}`,
  ],
  // kernels
  [
    'an unknown kernel in kernels',
    (s) => s.kernels.push('4.19'),
    `${FILE}: kernels[1]: unknown kernel "4.19" (known: ${KERNEL_NAMES.join(', ')})`,
  ],
  [
    'an unknown kernel in a step',
    (s) => s.steps.push({ do: 'rebuildCache', kernel: '4.19' }),
    `${FILE}: step 2 (rebuildCache): kernel: unknown kernel "4.19" (known: ${KERNEL_NAMES.join(', ')})`,
  ],
  [
    'an unknown kernel in an expect',
    (s) => {
      s.steps[0].kernel = ['4.18', '7.0'];
    },
    `${FILE}: step 1 (expect): kernel[1]: unknown kernel "7.0" (known: ${KERNEL_NAMES.join(', ')})`,
  ],
  [
    'a step kernel the scenario never runs',
    (s) => s.steps.push({ do: 'rebuildCache', kernel: '5.8' }),
    `${FILE}: step 2 (rebuildCache): kernel: "5.8" is not one of this scenario's kernels (4.18), so the step never runs for it`,
  ],
  [
    'no kernels',
    (s) => {
      s.kernels = [];
    },
    `${FILE}: kernels: an empty kernels list runs nothing; name at least one kernel profile`,
  ],
  // bad types
  [
    'a string where a list goes',
    (s) => s.steps.push({ do: 'migrate', to: 'p9-beta' }),
    `${FILE}: step 2 (migrate): to: expected a list, each a managed system name, saw "p9-beta"`,
  ],
  [
    'a refcount below zero',
    (s) => s.steps.push({ do: 'expect', nodes: [{ node: { path: '/' }, refcount: -1 }] }),
    `${FILE}: step 2 (expect): nodes[0].refcount: expected an integer ≥ 0, saw -1`,
  ],
  [
    'an unknown state',
    (s) => s.steps.push({ do: 'expect', nodes: [{ node: { path: '/' }, state: 'gone' }] }),
    `${FILE}: step 2 (expect): nodes[0].state: expected one of "attached", "detached", "released", "freed", "orphaned", saw "gone"`,
  ],
  [
    'a bad switch value',
    (s) => {
      s.lpar.switches = { phandleCache: 'pow3' };
    },
    `${FILE}: lpar.switches.phandleCache: expected one of "none", "pow2", "pow2-refs", "hash128", saw "pow3"`,
  ],
  [
    'a node reference with a wrong key',
    (s) => s.steps.push({ do: 'label', node: { pth: '/' }, as: 'r' }),
    `${FILE}: step 2 (label): node: expected a node reference: exactly one of {"path": …}, {"phandle": …}, {"label": …}, saw {"pth":"/"}`,
  ],
  [
    'a node reference with two keys',
    (s) => s.steps.push({ do: 'label', node: { path: '/', label: 'r' }, as: 'r' }),
    `${FILE}: step 2 (label): node: expected a node reference: exactly one of {"path": …}, {"phandle": …}, {"label": …}, saw {"path":"/","label":"r"}`,
  ],
  [
    'a path of the wrong type',
    (s) => s.steps.push({ do: 'label', node: { path: 3 }, as: 'r' }),
    `${FILE}: step 2 (label): node.path: expected an absolute device-tree path, saw 3`,
  ],
  [
    'a view path outside /sys and /proc',
    (s) => s.steps.push({ do: 'read', path: '/etc/passwd' }),
    `${FILE}: step 2 (read): path: expected an absolute path under /sys or /proc/device-tree, saw "/etc/passwd"`,
  ],
  [
    'a bad phandle',
    (s) => s.steps.push({ do: 'lookup', phandle: '0xzz' }),
    `${FILE}: step 2 (lookup): phandle: expected a phandle (a u32 as a number, a decimal or a 0x-hex string), saw "0xzz"`,
  ],
  [
    'a regex that does not compile',
    (s) => s.steps.push({ do: 'expect', dmesg: { absent: ['('] } }),
    `${FILE}: step 2 (expect): dmesg.absent[0]: not a valid regular expression: Invalid regular expression: /(/: Unterminated group`,
  ],
  // expectations that check nothing
  [
    'an expect with no checks',
    (s) => s.steps.push({ do: 'expect', kernel: '4.18' }),
    `${FILE}: step 2 (expect): checks nothing: give at least one of dmesg, sysfs, nodes, counts, lookup, read, invariants`,
  ],
  [
    'a nodes entry with only node',
    (s) => s.steps.push({ do: 'expect', nodes: [{ node: { path: '/' } }] }),
    `${FILE}: step 2 (expect): nodes[0]: checks nothing about the node; give state, refcount, holders or flags`,
  ],
  [
    'an empty nodes list',
    (s) => s.steps.push({ do: 'expect', nodes: [] }),
    `${FILE}: step 2 (expect): nodes: an empty list checks nothing; give at least one node or leave the key out`,
  ],
  [
    'an empty dmesg',
    (s) => s.steps.push({ do: 'expect', dmesg: {} }),
    `${FILE}: step 2 (expect): dmesg: checks nothing: give at least one of contains, matches, count, absent`,
  ],
  [
    'a dmesg with only since',
    (s) => s.steps.push({ do: 'expect', dmesg: { since: 'last' } }),
    `${FILE}: step 2 (expect): dmesg: checks nothing: give at least one of contains, matches, count, absent`,
  ],
  [
    'an empty dmesg list',
    (s) => s.steps.push({ do: 'expect', dmesg: { contains: [] } }),
    `${FILE}: step 2 (expect): dmesg.contains: an empty list checks nothing; give at least one exact line or leave the key out`,
  ],
  [
    'an empty dmesg count',
    (s) => s.steps.push({ do: 'expect', dmesg: { count: {} } }),
    `${FILE}: step 2 (expect): dmesg.count: an empty count checks nothing; give {"<regex>": n} or leave the key out`,
  ],
  [
    'an empty sysfs',
    (s) => s.steps.push({ do: 'expect', sysfs: {} }),
    `${FILE}: step 2 (expect): sysfs: an empty sysfs checks nothing; give exists, absent or children`,
  ],
  [
    'an empty sysfs list',
    (s) => s.steps.push({ do: 'expect', sysfs: { exists: [] } }),
    `${FILE}: step 2 (expect): sysfs.exists: an empty list checks nothing; give at least one path or leave the key out`,
  ],
  [
    'an empty counts',
    (s) => s.steps.push({ do: 'expect', counts: {} }),
    `${FILE}: step 2 (expect): counts: an empty counts checks nothing; give at least one of nodes, attached, detached, released, freed, orphaned, staleCacheEntries, useAfterFree, sysfsRenames, warnings, unbalancedPuts`,
  ],
  [
    'a lookup with only a phandle',
    (s) => s.steps.push({ do: 'expect', lookup: { phandle: '0x1' } }),
    `${FILE}: step 2 (expect): lookup: checks nothing about the lookup; give finds or how`,
  ],
  [
    'invariants: false',
    (s) => s.steps.push({ do: 'expect', invariants: false }),
    `${FILE}: step 2 (expect): invariants: expected true (false checks nothing; leave the key out), saw false`,
  ],
  [
    'an empty migrate',
    (s) => s.steps.push({ do: 'migrate', to: [] }),
    `${FILE}: step 2 (migrate): to: an empty list checks nothing; give at least one managed system or leave the key out`,
  ],
  [
    'no steps',
    (s) => {
      s.steps = [];
    },
    `${FILE}: steps: a scenario without steps checks nothing`,
  ],
  [
    'a kernel whose run checks nothing',
    (s) => {
      s.kernels = ['4.18', '5.8'];
      s.steps[0].kernel = '4.18';
    },
    `${FILE}: kernels: no expect step (and no ofdt expectError) runs for kernel "5.8": its run would pass without checking anything`,
  ],
  // names used before they are made
  [
    'a label nothing recorded',
    (s) => s.steps.push({ do: 'expect', nodes: [{ node: { label: 'gone' }, state: 'freed' }] }),
    `${FILE}: step 2 (expect): nodes[0].node: no earlier step labels a node "gone"`,
  ],
  [
    'a label recorded only for another kernel',
    (s) => {
      s.kernels = ['4.18', '5.8'];
      s.steps.unshift({ do: 'label', kernel: '5.8', node: { path: '/' }, as: 'root' });
      s.steps.push({ do: 'expect', nodes: [{ node: { label: 'root' }, state: 'attached' }] });
    },
    `${FILE}: step 3 (expect): nodes[0].node: no earlier step labels a node "root" (running 4.18)`,
  ],
  [
    'a put of a reference never got',
    (s) => s.steps.push({ do: 'put', ref: 'r1' }),
    `${FILE}: step 2 (put): ref: no earlier get step holds a reference named "r1"`,
  ],
  [
    'a reference put twice',
    (s) =>
      s.steps.push(
        { do: 'get', node: { path: '/' }, holder: 'me', as: 'r1' },
        { do: 'put', ref: 'r1' },
        { do: 'put', ref: 'r1' },
      ),
    `${FILE}: step 4 (put): ref: no earlier get step holds a reference named "r1"`,
  ],
  [
    'an overlay removed that no step applied',
    (s) => s.steps.push({ do: 'overlay-remove', overlay: 'dev' }),
    `${FILE}: step 2 (overlay-remove): overlay: no earlier overlay step is named "dev"`,
  ],
  [
    'an overlay step with both a file and a blob',
    (s) => s.steps.push({ do: 'overlay', file: 'x.dts', base64: 'AAAA' }),
    `${FILE}: step 2 (overlay): expected an overlay step: {"file": "x.dts"} or {"base64": …}, with optional "as" and "expectError", saw {"do":"overlay","file":"x.dts","base64":"AAAA"}`,
  ],
];

describe('scenario mistakes are refused, naming file, step and key', () => {
  it('the minimal scenario the table breaks is itself valid', () => {
    assert.deepEqual(scenarioProblems(minimal(), FILE), []);
  });
  for (const [what, breakIt, message] of MISTAKES) {
    it(what, () => {
      const s = minimal();
      breakIt(s);
      assert.deepEqual(scenarioProblems(s, FILE), [message]);
    });
  }

  it('reports every problem of a file, not only the first', () => {
    const s = minimal();
    s.lpar.seeed = 1;
    s.steps.push({ do: 'expect', dmseg: {} }, { do: 'migrat' });
    assert.deepEqual(scenarioProblems(s, FILE), [
      `${FILE}: lpar: unknown key "seeed" (did you mean "seed"?)`,
      `${FILE}: step 2 (expect): unknown key "dmseg" (did you mean "dmesg"?)`,
      `${FILE}: step 3 (migrat): unknown step kind "migrat" (known: label, migrate, ofdt, get, put, lookup, read, rebuildCache, prrn, overlay, overlay-remove, dlpar, slot, expect)`,
    ]);
  });

  it('refuses a file that is not JSON or not an object', () => {
    assert.throws(
      () => parseScenario('{"name": ', FILE),
      /^ScenarioError: scenarios\/x\.json: not valid JSON: /,
    );
    assert.deepEqual(scenarioProblems([], FILE), [`${FILE}: expected a JSON object (a scenario), saw []`]);
  });
});

describe('a misspelt key in a copy of a real scenario', () => {
  const FILE_NAME = 'pfo-readd-4.18.json';
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lparsim-scenarios-'));
  });

  it('fails to load, naming the file, the step and the key', async () => {
    const s = real(FILE_NAME);
    // step 4 checks sysfs children; step 6 dmesg. Misspell one key in each.
    s.steps[3].sysfs.childern = s.steps[3].sysfs.children;
    delete s.steps[3].sysfs.children;
    s.steps[5].dmseg = s.steps[5].dmesg;
    delete s.steps[5].dmesg;
    const file = join(dir, FILE_NAME);
    writeFileSync(file, JSON.stringify(s, null, 2));
    await assert.rejects(loadScenarios(dir), (e: unknown) => {
      assert.ok(e instanceof ScenarioError);
      assert.deepEqual(e.problems, [
        `${file}: step 4 (expect): sysfs: unknown key "childern" (did you mean "children"?)`,
        `${file}: step 6 (expect): unknown key "dmseg" (did you mean "dmesg"?)`,
      ]);
      return true;
    });
  });

  it('the unchanged copy loads', async () => {
    writeFileSync(join(dir, FILE_NAME), readFileSync(new URL(FILE_NAME, DIR)));
    const [loaded] = await loadScenarios(dir);
    assert.equal(loaded?.scenario.name, 'pfo-readd-4.18');
  });
});

describe('the runner refuses a scenario built in code that the schema refuses', () => {
  let app: FastifyInstance;
  let client: LparsimClient;
  before(async () => {
    ({ app, client } = await testApp());
  });
  after(() => app.close());

  it('before it creates any LPAR', async () => {
    const s = minimal();
    s.steps = [{ do: 'expect', nodes: [{ node: { path: '/' }, refcont: 3 }] }];
    await assert.rejects(
      runScenario(client, s, '4.18'),
      /step 1 \(expect\): nodes\[0\]: unknown key "refcont"/,
    );
    assert.deepEqual((await client.listLpars()).items, []);
  });
});
