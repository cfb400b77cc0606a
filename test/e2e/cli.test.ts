// The CLI (issue 12, point 6) as a user runs it: the real program against a real server, every
// subcommand, human output by default and JSON with --json, exit codes 0, 1 (the request failed,
// with the problem) and 2 (usage), help per command, and watch's live lines.

import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, waitReady } from '../helpers/child.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lparsim-cli-'));
const children = new Set<ChildProcess>();
let url = '';

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['src/client/cli.ts', '--url', url, ...args],
      { cwd: ROOT },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
async function ok(...args: string[]): Promise<string> {
  const r = await cli(...args);
  assert.equal(r.code, 0, `lparsim ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('the lparsim CLI', () => {
  before(async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', PORT: String(port), LOG_LEVEL: 'error' },
      stdio: 'ignore',
    });
    children.add(child);
    url = `http://127.0.0.1:${port}`;
    await waitReady(url);
  });
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('help lists every command, help <command> one; a usage mistake exits 2', async () => {
    const help = await ok('help');
    for (const c of [
      'create',
      'list',
      'show',
      'delete',
      'reboot',
      'node',
      'lookup',
      'migrate',
      'dmesg',
      'leaks',
      'refcounts',
      'ls',
      'cache',
      'ofdt',
      'read',
      'watch',
      'journal',
      'import',
    ])
      assert.match(help, new RegExp(`^  ${c} `, 'm'), c);
    const one = await ok('help', 'migrate');
    assert.match(one, /migrate <lpar> \(<system> \| --to A --to B …\)/);
    assert.doesNotMatch(one, /^ {2}create /m);
    for (const args of [['nonsense'], ['show'], ['help', 'nonsense'], ['--no-such-flag']]) {
      const r = await cli(...args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /usage: lparsim|lparsim help/);
    }
  });

  it('every subcommand against a real server, human output and --json', async () => {
    const created = JSON.parse(await ok('create', '4.18', '--name', 'c1', '--seed', '3'));
    assert.equal(created.name, 'c1');
    const list = await ok('list');
    assert.match(list, /^ID\s+NAME\s+KERNEL\s+SYSTEM\s+NODES$/m);
    assert.match(list, new RegExp(`^${created.id}\\s+c1\\s+4\\.18\\s+p9-alpha\\s+\\d+$`, 'm'));
    assert.equal(JSON.parse(await ok('--json', 'list'))[0].name, 'c1');
    assert.equal(JSON.parse(await ok('show', 'c1')).id, created.id);
    assert.equal(JSON.parse(await ok('node', 'c1', '/cpus')).path, '/cpus');
    assert.equal(JSON.parse(await ok('lookup', 'c1', '0xfffffff7')).node.path, '/cpus');
    const series = await ok('migrate', 'c1', '--to', 'p9-beta', '--to', 'p9-alpha');
    assert.match(series, /^\[1\/2\] m1 → p9-beta: completed\n\[2\/2\] m2 → p9-alpha: completed\n$/);
    assert.equal(JSON.parse(await ok('--json', 'migrate', 'c1', 'p9-beta')).state, 'completed');
    assert.match(await ok('dmesg', 'c1'), /Linux version 4\.18/);
    assert.ok(Array.isArray(JSON.parse(await ok('--json', 'dmesg', 'c1')).items));
    assert.ok(JSON.parse(await ok('leaks', 'c1')).items.length > 0, '4.18 leaks after migrations');
    assert.ok(JSON.parse(await ok('refcounts', 'c1')).items.length > 0);
    assert.match(await ok('ls', 'c1', '/sys/firmware/devicetree/base/cpus'), /^0444 {2}file {2}\d+\s+name$/m);
    assert.ok(JSON.parse(await ok('cache', 'c1')).slots);
    assert.equal(
      JSON.parse(await ok('ofdt', 'c1', 'add_node /vdevice/cli@1 name 4 cli\\x00')).command,
      'add_node',
    );
    assert.equal(await ok('read', 'c1', '/proc/device-tree/vdevice/cli@1/name'), 'cli\0');
    const history = await ok('journal', 'c1');
    const file = join(dir, 'c1.jsonl');
    writeFileSync(file, history);
    assert.match(await ok('import', file, '--name', 'c1-copy'), /^imported lpar-\d+ \(c1-copy\)\n$/);
    assert.equal(JSON.parse(await ok('--json', 'reboot', 'c1-copy')).name, 'c1-copy');
    assert.match(await ok('delete', 'c1-copy'), /^deleted c1-copy\n$/);
  });

  it('a failed request exits 1 with the problem on stderr', async () => {
    const r = await cli('show', 'no-such-lpar');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^404 LPAR not found: no LPAR with id or name "no-such-lpar"\n$/);
    assert.equal(r.stdout, '');
  });

  it('watch prints the events as they happen', async () => {
    await ok('create', '5.16', '--name', 'w1');
    const child = spawn(process.execPath, ['src/client/cli.ts', '--url', url, 'watch', 'w1'], { cwd: ROOT });
    children.add(child);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
    });
    for (let i = 0; i < 500 && !text.includes('lpar.booted'); i++)
      await new Promise((r) => setTimeout(r, 20));
    await ok('migrate', 'w1', 'p9-beta');
    for (let i = 0; i < 500 && !text.includes('migration.completed'); i++)
      await new Promise((r) => setTimeout(r, 20));
    await ok('delete', 'w1'); // the stream ends: watch exits 0
    const code = await exited;
    assert.equal(code, 0);
    const lines = text.trimEnd().split('\n');
    assert.match(lines[0]!, /^\d+\tlpar\.booted\t\{"kernel":"5\.16"/);
    assert.ok(lines.some((l) => /\tmigration\.completed\t.*"destination":"p9-beta"/.test(l)));
    assert.match(lines.at(-1)!, /\tlpar\.deleted\t/);
  });
});
