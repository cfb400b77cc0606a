// The scenario CLI (npm run scenarios), spawned as users run it: exit codes, refusals before any
// network use, and JUnit output.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KERNEL_NAMES } from '../../src/kernel/profiles.ts';
import { junitReport, xmlEscape } from '../../src/scenario/junit.ts';
import { findAll, parseXml } from './xml.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** A port nothing listens on: any attempt to reach the service fails at once. */
const NOWHERE = 'http://127.0.0.1:9';

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/scenario/cli.ts', ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lparsim-cli-'));
});

describe('scenario CLI: refusals before anything runs (exit 2)', () => {
  it('--kernel that no loaded scenario names', async () => {
    const r = await cli(['scenarios/pfo-readd-4.18.json', '--kernel', '5.0', '--url', NOWHERE]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'scenarios: no scenario in scenarios/pfo-readd-4.18.json names kernel 5.0\n');
    assert.equal(r.stdout, '');
  });

  it('--kernel that is no kernel profile', async () => {
    const r = await cli(['scenarios', '--kernel', '4.19', '--url', NOWHERE]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `scenarios: unknown kernel "4.19" (known: ${KERNEL_NAMES.join(', ')})\n`);
  });

  it('a bad scenario file: every problem, naming file, step and key', async () => {
    const sub = mkdtempSync(join(dir, 'bad-'));
    const good = JSON.parse(readFileSync(join(ROOT, 'scenarios/bad-put.json'), 'utf8'));
    writeFileSync(join(sub, 'good.json'), JSON.stringify(good));
    const file = join(sub, 'typo.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'typo',
        kernels: ['4.18'],
        lpar: {},
        steps: [
          { do: 'expect', dmseg: { contains: ['x'] } },
          { do: 'expect', kernel: '4.18' },
        ],
      }),
    );
    const r = await cli([sub, '--url', NOWHERE]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      [
        `scenarios: ${file}: step 1 (expect): unknown key "dmseg" (did you mean "dmesg"?)`,
        `scenarios: ${file}: step 2 (expect): checks nothing: give at least one of dmesg, sysfs, nodes, counts, lookup, read, invariants`,
        '',
      ].join('\n'),
    );
    assert.equal(r.stdout, '');
  });

  it('a file that is not there, an unknown flag, an unknown reporter', async () => {
    const missing = await cli([join(dir, 'nope.json'), '--url', NOWHERE]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.json: no such file or directory/);
    const flag = await cli(['scenarios', '--kernal', '4.18']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /Unknown option '--kernal'[\s\S]*usage: npm run scenarios/);
    const reporter = await cli(['scenarios', '--reporter', 'xml']);
    assert.equal(reporter.code, 2);
    assert.match(reporter.stderr, /unknown reporter "xml" \(text or junit\)/);
  });

  it('a tag no scenario has', async () => {
    const r = await cli(['scenarios', '--tag', 'no-such-tag', '--url', NOWHERE]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'scenarios: no scenario in scenarios has tag no-such-tag\n');
  });

  it('a service that cannot be reached', async () => {
    const r = await cli(['scenarios/bad-put.json', '--url', NOWHERE]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^scenarios: /);
  });
});

describe('scenario CLI: JUnit', () => {
  const NAME = 'needs <escaping> & "quotes"';
  let target: string;
  before(() => {
    target = mkdtempSync(join(dir, 'junit-'));
    writeFileSync(
      join(target, 'a-passes.json'),
      JSON.stringify({
        name: 'passes',
        kernels: ['4.18'],
        lpar: {},
        steps: [{ do: 'expect', sysfs: { exists: ['/sys/firmware/devicetree/base/vdevice'] } }],
      }),
    );
    writeFileSync(
      join(target, 'b-fails.json'),
      JSON.stringify({
        name: NAME,
        kernels: ['4.18', '5.8'],
        lpar: {},
        steps: [{ do: 'expect', dmesg: { contains: ["<no such line> & ']]>"] }, counts: { warnings: 99 } }],
      }),
    );
  });

  const check = (xml: string) => {
    const root = parseXml(xml);
    assert.equal(root.name, 'testsuites');
    assert.equal(root.attrs.tests, '3');
    assert.equal(root.attrs.failures, '2');
    const suites = findAll(root, 'testsuite');
    assert.deepEqual(
      suites.map((s) => [s.attrs.name, s.attrs.tests, s.attrs.failures]),
      [
        ['passes', '1', '0'],
        [NAME, '2', '2'],
      ],
    );
    const cases = findAll(root, 'testcase');
    assert.deepEqual(
      cases.map((c) => c.attrs.name),
      ['passes [4.18]', `${NAME} [4.18]`, `${NAME} [5.8]`],
    );
    const failures = findAll(root, 'failure');
    assert.equal(failures.length, 2);
    assert.equal(findAll(cases[0]!, 'failure').length, 0);
    for (const f of failures) {
      assert.match(
        f.attrs.message!,
        /^step 1 \(expect\): dmesg: expected the line "<no such line> & '\]\]>"/,
      );
      assert.match(f.attrs.message!, /\(and 1 more\)$/);
      assert.match(f.text, /counts\.warnings: expected 99, saw \d+/);
      assert.equal(f.text.split('\n').length, 2);
    }
  };

  it('--output: the XML in the file, the PASS/FAIL lines on stdout, exit 1', async () => {
    const out = join(dir, 'report.xml');
    const r = await cli([target, '--reporter', 'junit', '--output', out]);
    assert.equal(r.code, 1, r.stderr);
    check(readFileSync(out, 'utf8'));
    assert.match(r.stdout, /^PASS passes \[4\.18\]$/m);
    assert.match(r.stdout, /^scenarios: 1 passed, 2 failed$/m);
  });

  it('on stdout: nothing else there, the PASS/FAIL lines on stderr', async () => {
    const r = await cli([target, '--reporter', 'junit']);
    assert.equal(r.code, 1, r.stderr);
    check(r.stdout);
    assert.match(r.stderr, /^FAIL needs <escaping> & "quotes" \[5\.8\]$/m);
  });

  it('--kernel keeps only that kernel’s runs', async () => {
    const r = await cli([target, '--reporter', 'junit', '--kernel', '5.8']);
    assert.equal(r.code, 1, r.stderr);
    const root = parseXml(r.stdout);
    assert.equal(root.attrs.tests, '1');
    assert.deepEqual(
      findAll(root, 'testcase').map((c) => c.attrs.name),
      [`${NAME} [5.8]`],
    );
  });
});

describe('JUnit escaping', () => {
  it('keeps any failure text well-formed, markup and characters XML cannot carry included', () => {
    const nasty = 'a\u0000b\u001b[31m <tag attr="x"> & \'q\' ]]> \ud800 lone, \ud83d\ude00 pair\ttab\nline';
    const xml = junitReport([
      {
        name: `s${nasty}`,
        file: 'f.json',
        results: [
          {
            scenario: 's',
            kernel: '4.18',
            ok: false,
            failures: [nasty, 'second'],
            steps: 1,
            durationMs: 12.5,
          },
        ],
      },
    ]);
    const root = parseXml(xml);
    const [failure] = findAll(root, 'failure');
    assert.ok(failure);
    assert.equal(
      failure.text,
      'a\\u{0}b\\u{1b}[31m <tag attr="x"> & \'q\' ]]> \\u{d800} lone, \ud83d\ude00 pair\ttab\nline\nsecond',
    );
    // Attributes keep their tabs and newlines as character references.
    assert.match(failure.attrs.message!, /pair\ttab\nline \(and 1 more\)$/);
    assert.equal(findAll(root, 'testcase')[0]!.attrs.time, '0.013');
  });

  it('escapes the five markup characters', () => {
    assert.equal(xmlEscape(`<a href="x">&'`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  });
});
