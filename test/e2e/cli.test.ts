// The CLI (issue 12, point 6) as a user runs it: the package's `bin` file, executed as a program (its
// shebang finds Node 24 on PATH, as under `npx lparsim`), against a real server. Every subcommand is
// run; the last test takes the command table from `lparsim help --json` and fails if a subcommand (or
// a deprecated alias) was never run successfully here, or if an operation of openapi/openapi.json has
// no subcommand. Human output is checked as aligned tables, --json as JSON; exit codes 0, 1 (the
// request failed, with the problem) and 2 (usage); --url/LPARSIM_URL and --token/LPARSIM_TOKEN; watch's
// live lines; completion scripts run in bash and zsh.

import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, serverProcess, waitReady } from '../helpers/child.ts';
import { overlayBlob } from '../helpers/overlays.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const BIN = join(ROOT, pkg.bin.lparsim!);
/** Node 24 first on PATH, as `npx` puts node_modules/.bin (the `node` devDependency) first. */
const PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
const dir = mkdtempSync(join(tmpdir(), 'lparsim-cli-'));
const children = new Set<ChildProcess>();
const TOKEN = 'cli-test-token-0123456789';
let url = '';
let tokenUrl = '';
/** The commands (first positional argument) that exited 0 at least once. */
const ran = new Set<string>();

interface Run {
  code: number;
  stdout: string;
  /** stdout as bytes (exports, file reads). */
  bytes: Buffer;
  stderr: string;
}
function exec(
  args: readonly string[],
  env: Record<string, string> = {},
  input?: Buffer | string,
): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      BIN,
      args,
      { cwd: dir, env: { PATH, ...env }, encoding: 'buffer', maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        if (code === 0) {
          const command = args.filter(
            (a, i) => !a.startsWith('-') && !['--url', '--token'].includes(args[i - 1]!),
          )[0];
          if (command) ran.add(command);
        }
        resolve({ code, stdout: stdout.toString(), bytes: stdout, stderr: stderr.toString() });
      },
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}
/** lparsim against the test server. */
const cli = (...args: string[]) => exec(['--url', url, ...args]);
async function okRun(...args: string[]): Promise<Run> {
  const r = await cli(...args);
  assert.equal(r.code, 0, `lparsim ${args.join(' ')}: ${r.stderr}`);
  return r;
}
const ok = async (...args: string[]): Promise<string> => (await okRun(...args)).stdout;
const okJson = async (...args: string[]) => JSON.parse(await ok('--json', ...args));
/** A table's rows as cells, split on the two spaces between columns; the header checked. */
function rows(text: string, header: string[]): string[][] {
  const lines = text.trimEnd().split('\n');
  assert.deepEqual(lines[0]!.split(/ {2,}/), header, text);
  // Aligned: every cell of a column starts where its header does.
  const starts = header.map((h) => lines[0]!.indexOf(h));
  for (const l of lines.slice(1))
    if (l !== '(none)')
      for (const s of starts.slice(1)) assert.match(l.slice(s - 2, s), /^ {2}$/, `aligned at ${s}: ${l}`);
  return lines.slice(1).map((l) => l.split(/ {2,}/));
}

function server(env: Record<string, string> = {}): Promise<string> {
  return freePort().then(async (port) => {
    const child = serverProcess(port, env);
    children.add(child);
    const base = `http://127.0.0.1:${port}`;
    await waitReady(base);
    return base;
  });
}

describe('the lparsim CLI', () => {
  before(async () => {
    [url, tokenUrl] = await Promise.all([server(), server({ LPARSIM_TOKEN: TOKEN })]);
  });
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('is the package bin: an executable file with a node shebang, and npx lparsim runs it', async () => {
    assert.ok(statSync(BIN).mode & 0o111, 'executable');
    assert.match(readFileSync(BIN, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    const r = await new Promise<Run>((resolve) =>
      execFile('npx', ['--no-install', 'lparsim', 'help'], { cwd: ROOT }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, stdout, bytes: Buffer.from(stdout), stderr }),
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^usage: lparsim /, 'stdout is the program’s alone: no npm banner');
  });

  it('help lists every command, help <command> one; a usage mistake exits 2', async () => {
    const help = await ok('help');
    const table = (await okJson('help')) as Array<{ name: string }>;
    for (const { name } of table) assert.match(help, new RegExp(`^ {2}${name} +\\S`, 'm'), name);
    const one = await ok('help', 'migrate');
    assert.match(one, /migrate <lpar> \(<system> \| --to A --to B …\)/);
    assert.match(one, /operations: migrateLpar/);
    assert.doesNotMatch(one, /^ {2}create /m);
    assert.match(await ok('migrate', '--help'), /migrate <lpar> \(<system>/);
    assert.match(await ok('help', 'cache'), /phandle-cache <lpar>\n[\s\S]*deprecated name: cache/);
    for (const args of [
      ['nonsense'],
      ['show'],
      ['show', 'a', 'b'],
      ['help', 'nonsense'],
      ['--no-such-flag'],
      ['list', '--to', 'p9-beta'],
      ['delete-all'],
      ['export', 'x', 'iso'],
      ['completion', 'fish'],
      ['dmesg', 'x', '--since', 'soon'],
      ['add-property', 'x', '0x1'],
      ['migrate', 'x'],
    ]) {
      const r = await cli(...args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /\n\(lparsim help for the commands\)\n$/, args.join(' '));
      assert.equal(r.stdout, '');
    }
  });

  it('the service: health, ready, metrics, profiles, systems', async () => {
    assert.equal(await ok('health'), 'ok\n');
    assert.equal(await ok('ready'), 'ready\n');
    assert.equal((await okJson('ready')).status, 'ready');
    assert.match(await ok('metrics'), /^# HELP /m);
    const kernels = rows(await ok('profiles'), ['KERNEL', 'RELEASE', 'PHANDLE-CACHE', 'REFCOUNT']);
    assert.deepEqual(
      kernels.map((r) => r[0]),
      ['4.16', '4.18', '5.0', '5.4', '5.8', '5.10', '5.14', '5.16', '6.1', '6.6', '6.12'],
    );
    assert.ok(Array.isArray((await okJson('profiles')).treeProfiles));
    const systems = rows(await ok('systems'), ['NAME', 'PROCESSOR', 'MACHINE-TYPE', 'SERIAL', 'BUILTIN']);
    assert.deepEqual(systems[0], ['p9-alpha', 'POWER9', '9009-42A', '7843A1B', 'true']);
    assert.equal((await okJson('system', 'p9-beta')).serial, '7843C2D');
    const added = await okJson('add-system', 'p9-cli', '--processor', 'POWER9', '--serial', '7C11000');
    assert.equal(added.name, 'p9-cli');
    assert.equal((await okJson('systems')).at(-1).name, 'p9-cli');
  });

  it('LPARs: create, ensure, list, show, migrate, reports, reboot, journal, import, delete', async () => {
    const created = await okJson('create', '4.18', '--name', 'c1', '--seed', '3', '--phandle-scheme', 'phyp');
    assert.equal(created.name, 'c1');
    assert.equal(created.seed, 3);
    const list = rows(await ok('list'), ['ID', 'NAME', 'KERNEL', 'SYSTEM', 'NODES']);
    assert.deepEqual(list[0]!.slice(0, 4), [created.id, 'c1', '4.18', 'p9-alpha']);
    assert.equal((await okJson('list'))[0].name, 'c1');
    assert.equal((await okJson('show', 'c1')).id, created.id);
    const ensured = await okJson('ensure', 'e1', '5.16');
    assert.equal((await okJson('ensure', 'e1', '5.16')).id, ensured.id, 'the same LPAR again');
    const clash = await cli('ensure', 'e1', '4.18');
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, /^409 /);

    const series = await ok('migrate', 'c1', '--to', 'p9-beta', '--to', 'p9-alpha');
    assert.equal(
      series,
      '[##########----------] 1/2 m1 → p9-beta: completed (warnings 0, renames 0)\n' +
        '[####################] 2/2 m2 → p9-alpha: completed (warnings 4, renames 1)\n',
    );
    assert.equal((await okJson('migrate', 'c1', 'p9-beta')).state, 'completed');
    assert.equal((await okJson('migrate', 'c1', 'p9-alpha', '--dry-run')).dryRun, true);
    const migrations = rows(await ok('migrations', 'c1'), [
      'ID',
      'SOURCE',
      'DESTINATION',
      'STATE',
      'DRY-RUN',
    ]);
    assert.deepEqual(migrations[0], ['m1', 'p9-alpha', 'p9-beta', 'completed', 'false']);
    assert.equal(migrations.length, 4);
    assert.equal((await okJson('migration', 'c1', 'm2')).report.renames.length, 1);
    // 4.18 handles a PRRN: the loop updates /cpus, and prrn_update_node finds it again.
    assert.match(
      await ok('prrn', 'c1', '/cpus'),
      /^p1 \(update\): 1 entries, rc 0\n {2}update 0x[0-9a-f]+ \/cpus: done \(found\)\n$/,
    );
    const prrn = await okJson('prrn', 'e1', '/cpus', '--scope', '2');
    assert.deepEqual(
      [prrn.handling, prrn.handled, prrn.report.dmesg],
      ['ignored', false, ['Platform resource reassignment ignored.']],
    );

    // DLPAR on 6.1, created with a spare core and 1 GiB of spare memory: the core comes in through
    // its connector's RTAS calls; a second add of it is the kernel's EINVAL, exit 1.
    const d1 = await okJson('create', '6.1', '--name', 'd1', '--spare-cores', '1', '--spare-memory', '1');
    assert.deepEqual([d1.options.spareCores, d1.options.spareMemoryGiB], [1, 1]);
    assert.match(
      await ok('dlpar', 'd1', 'cpu', 'add', 'index', '0x10000008'),
      /^rc 24: cpu add index 0x10000008\n {2}get-sensor-state 0x10000008: 0\n/,
    );
    const lmb = await okJson('dlpar', 'd1', 'memory', 'add', 'count', '1');
    assert.deepEqual([lmb.rc, lmb.request.resource, lmb.request.count], [18, 'memory', 1]);
    const twice = await cli('dlpar', 'd1', 'cpu', 'add', 'index', '0x10000008');
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /^422 .*EINVAL/);

    // The l-lan's virtual slot on 6.1: remove_slot unregisters its vio device, add_slot registers it
    // again; a second remove is the kernel's EINVAL, exit 1.
    const lan = await okJson('node', 'd1', '/vdevice/l-lan@30000002');
    const drcName = String(
      (lan.properties as Array<{ name: string; value?: unknown }>).find((p) => p.name === 'ibm,loc-code')
        ?.value,
    );
    assert.match(
      await ok('slot', 'd1', 'remove', drcName),
      /^rc \d+: remove_slot U9009\.42A\.\w+-V\d+-C2\n {2}unregistered vio 30000002 from \/vdevice\/l-lan@30000002 \(attached\)\n {2}dmesg: rpadlpar_io: slot .* removed\n$/,
    );
    const gone = await cli('slot', 'd1', 'remove', drcName);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^422 .*EINVAL/);
    assert.deepEqual(
      (await okJson('slot', 'd1', 'add', drcName)).report.registered.map((d: { device: string }) => d.device),
      ['30000002'],
    );
    assert.equal((await cli('slot', 'd1', 'plug', drcName)).code, 2, 'add or remove only');

    assert.match(await ok('dmesg', 'c1'), /Linux version 4\.18/);
    const log = await okJson('dmesg', 'c1');
    const tail = await okJson('dmesg', 'c1', '--since', String(log.next - 1));
    assert.equal(tail.items.length, 1);

    const leaks = rows(await ok('leaks', 'c1'), [
      'ADDRESS',
      'STATE',
      'REFCOUNT',
      'SURVIVED',
      'PHANDLE',
      'PATH',
      'HOLDERS',
    ]);
    assert.ok(
      leaks.some((r) => r[5] === '/ibm,platform-facilities/ibm,random-v1' && /rng_init\(1\)/.test(r[6]!)),
      'the RNG node, held by rng_init',
    );
    assert.ok((await okJson('leaks', 'c1')).items.length > 0);
    const counts = rows(await ok('refcounts', 'c1', 'attached'), [
      'ADDRESS',
      'STATE',
      'REFCOUNT',
      'PHANDLE',
      'PATH',
      'HOLDERS',
    ]);
    assert.deepEqual([counts[0]![1], counts[0]![3], counts[0]![4]], ['attached', '0xffffffff', '/']);
    assert.match(counts[0]![2]!, /^\d+$/);
    assert.ok((await okJson('refcounts', 'c1')).items.length > counts.length, 'every state');
    const orphans = rows(await ok('nodes', 'c1', 'orphaned'), [
      'ADDRESS',
      'STATE',
      'REFCOUNT',
      'PHANDLE',
      'PATH',
      'HOLDERS',
    ]);
    assert.ok(orphans.length > 0 && orphans.every((r) => r[1] === 'orphaned'));
    assert.equal((await okJson('nodes', 'c1', 'orphaned')).total, orphans.length);

    const cache = await ok('phandle-cache', 'c1');
    assert.match(cache, /^model pow2, size 64, \d+ filled, 4 stale\n/);
    const slots = rows(cache.split('\n').slice(1).join('\n'), ['SLOT', 'PHANDLE', 'STATE', 'STALE', 'PATH']);
    assert.equal(slots.filter((s) => s[3] === 'true').length, 4);
    assert.ok((await okJson('phandle-cache', 'c1')).slots.length > 0);
    const rebuilt = await okJson('rebuild-phandle-cache', 'c1');
    assert.ok(rebuilt, 'the rebuild answers a document');
    assert.doesNotMatch(await ok('phandle-cache', 'c1'), /STALE.*\n.*true/);

    const vio = rows(await ok('vio', 'c1'), ['DEVICE', 'DRIVER', 'STATE', 'REFCOUNT', 'NODE']);
    const rng = vio.find((r) => r[0] === 'ibm,random-v1')!;
    assert.equal(rng[1], 'pseries-rng');
    assert.match(rng[2]!, /^(detached|released)$/, 'the old node, still the device’s after migrations');
    const drivers = rows(await ok('drivers', 'c1'), ['DRIVER', 'COMPATIBLE', 'UPDATES', 'DEVICES']);
    assert.deepEqual(drivers[0], ['pseries-rng', 'ibm,random', '-', 'ibm,random-v1']);
    assert.equal((await okJson('vio', 'c1')).items.length, vio.length);
    assert.equal((await okJson('drivers', 'c1')).items.length, drivers.length);
    const inv = rows(await ok('invariants', 'c1'), ['CHECK', 'OK', 'DETAILS']);
    assert.ok(inv.length > 0 && inv.every((r) => r[1] === 'true'), 'the model is consistent');
    assert.equal((await okJson('invariants', 'c1')).ok, true);

    // An overlay on 4.18 from a file: a pow2 cache, refilled after the apply (its node has no phandle,
    // so nothing of it is cached), listed, shown and removed.
    writeFileSync(join(dir, 'by-path.dtbo'), overlayBlob('by-path'));
    assert.match(
      await ok('overlay-apply', 'c1', 'by-path.dtbo'),
      /^overlay 1: 4 entries, cache pow2 \(rebuild\): 1 rebuilds, 0 of 1 new nodes cached\n {2}c[0-9a-f]{15} \/sim-overlay 0x0 attached\n$/,
    );
    assert.deepEqual(
      rows(await ok('overlays', 'c1'), ['id', 'fragments', 'entries', 'new-nodes', 'targets']),
      [['1', '1', '4', '1', '/']],
    );
    assert.equal((await okJson('overlay', 'c1', '1')).newNodes[0].path, '/sim-overlay');
    assert.match(
      await ok('overlay-remove', 'c1', '1'),
      /^overlay 1 removed: 4 entries reverted, 1 cache rebuilds\n {2}c[0-9a-f]{15} \/sim-overlay freed\n$/,
    );

    const history = await ok('journal', 'c1');
    const file = join(dir, 'c1.jsonl');
    writeFileSync(file, history);
    assert.match(await ok('import', file, '--name', 'c1-copy'), /^imported lpar-\d+ \(c1-copy\)\n$/);
    const piped = await exec(['--url', url, '--json', 'import', '-', '--name', 'c1-piped'], {}, history);
    assert.equal(JSON.parse(piped.stdout).name, 'c1-piped');
    assert.equal((await okJson('reboot', 'c1-copy')).name, 'c1-copy');
    assert.match(await ok('delete', 'c1-copy'), /^deleted c1-copy\n$/);
    assert.deepEqual(await okJson('delete', 'c1-piped'), { deleted: 'c1-piped' });
  });

  it('nodes, edits, references and the emulated files', async () => {
    await okJson('create', '5.8', '--name', 'n1');
    const cpus = await okJson('node', 'n1', '/cpus');
    assert.equal(cpus.path, '/cpus');
    assert.equal((await okJson('node', 'n1', cpus.address)).path, '/cpus', 'by address');
    const found = await okJson('phandles', 'n1', '0xfffffff7');
    assert.equal(found.node.path, '/cpus');
    assert.equal((await okJson('lookup', 'n1', '0xfffffff7')).node.path, '/cpus', 'the deprecated name');
    const lookupAlias = await cli('lookup', 'n1', '0xfffffff7');
    assert.match(lookupAlias.stderr, /lookup is deprecated, say phandles/);
    assert.match(await ok('cache', 'n1'), /^model hash128, /);

    assert.equal((await okJson('ofdt', 'n1', 'add_node /vdevice/cli@1 name 4 cli\\x00')).command, 'add_node');
    const raw = await exec(
      ['--url', url, '--json', 'ofdt', 'n1', '-'],
      {},
      'add_node /vdevice/cli@2 name 4 cli\0',
    );
    assert.equal(JSON.parse(raw.stdout).command, 'add_node', raw.stderr);
    assert.equal(await ok('read', 'n1', '/proc/device-tree/vdevice/cli@1/name'), 'cli\0');
    const added = await okJson(
      'add-node',
      'n1',
      '/vdevice/cli@3',
      '--string',
      'name=cli',
      '--strings',
      'compatible=IBM,a',
      '--strings',
      'compatible=IBM,b',
      '--u32',
      'reg=3,0x10',
      '--hex',
      'blob=00ff',
    );
    assert.equal(added.command, 'add_node');
    const node3 = await okJson('node', 'n1', '/vdevice/cli@3');
    const hexOf = (t: string) => Buffer.from(t).toString('hex');
    assert.deepEqual(
      node3.properties.map((p: { name: string; hex: string }) => `${p.name}=${p.hex}`),
      // add_node's parser prepends each property (reconfig.c): the last given comes first.
      [
        'blob=00ff',
        'reg=0000000300000010',
        `compatible=${hexOf('IBM,a\0IBM,b\0')}`,
        `name=${hexOf('cli\0')}`,
      ],
    );
    const listing = await ok('ls', 'n1', '/sys/firmware/devicetree/base/vdevice/cli@3');
    assert.match(listing, /^0444 {2}file {2}4 +name$/m);
    assert.match(await ok('ls', 'n1', '/proc/device-tree/vdevice/cli@3/reg'), /^0444 {2}file {2}8 {2}reg\n$/);
    assert.equal((await okJson('ls', 'n1', '/sys')).type, 'dir');
    assert.ok((await okJson('ls', 'n1', '/proc/device-tree')).items.length > 0);
    assert.equal((await okJson('remove-node', 'n1', '/vdevice/cli@3')).command, 'remove_node');

    // Properties, on the node phandle 0xfffffff7 finds (/cpus).
    assert.equal(
      (await okJson('add-property', 'n1', '0xfffffff7', '--u32', 'cli-test=1')).command,
      'add_property',
    );
    await okJson('update-property', 'n1', '0xfffffff7', '--string', 'cli-test=two');
    const prop = (await okJson('node', 'n1', '/cpus')).properties.find(
      (p: { name: string }) => p.name === 'cli-test',
    );
    assert.equal(prop.hex, Buffer.from('two\0').toString('hex'));
    await okJson('remove-property', 'n1', '0xfffffff7', 'cli-test');
    assert.ok(
      !(await okJson('node', 'n1', '/cpus')).properties.some((p: { name: string }) => p.name === 'cli-test'),
    );

    // References: taken by a holder, listed, put by id and by holder.
    const ref = await okJson('get-ref', 'n1', '/cpus', 'cli-holder');
    assert.equal(ref.holder, 'cli-holder');
    await okJson('get-ref', 'n1', '0xfffffff7', 'cli-holder');
    const refs = rows(await ok('refs', 'n1'), ['ID', 'HOLDER', 'ADDRESS', 'STATE', 'PATH']);
    assert.deepEqual(
      refs.map((r) => [r[1], r[4]]),
      [
        ['cli-holder', '/cpus'],
        ['cli-holder', '/cpus'],
      ],
    );
    await okJson('put-ref', 'n1', ref.id);
    await okJson('put-ref', 'n1', '/cpus', 'cli-holder');
    assert.equal(await ok('refs', 'n1'), 'ID  HOLDER  ADDRESS  STATE  PATH\n(none)\n');
    assert.deepEqual((await okJson('refs', 'n1')).items, []);
  });

  it('exports, and from-dtb boots the tree exported a line earlier', async () => {
    await okJson('create', '4.18', '--name', 'x1');
    const dtb = join(dir, 'x1.dtb');
    await ok('export', 'x1', 'dtb', '-o', dtb);
    assert.equal(readFileSync(dtb).readUInt32BE(0), 0xd00dfeed, 'FDT magic');
    const stdoutDtb = (await okRun('export', 'x1', 'dtb')).bytes;
    assert.equal(stdoutDtb.compare(readFileSync(dtb)), 0, 'the same bytes on stdout');
    assert.match(await ok('export', 'x1', 'dts'), /^\/dts-v1\/;/);
    const tar = (await okRun('export', 'x1', 'sysfs.tar')).bytes;
    assert.equal(tar.subarray(257, 262).toString(), 'ustar');
    const gz = (await okRun('export', 'x1', 'sysfs.tar.gz')).bytes;
    assert.deepEqual([gz[0], gz[1]], [0x1f, 0x8b]);
    const real = await okJson('from-dtb', '5.8', dtb, '--name', 'real');
    assert.equal(real.name, 'real');
    assert.equal(real.kernel, '5.8');
    assert.equal(real.nodes, (await okJson('show', 'x1')).nodes);
    const piped = await exec(['--url', url, '--json', 'from-dtb', '5.0', '-'], {}, readFileSync(dtb));
    assert.equal(JSON.parse(piped.stdout).kernel, '5.0', piped.stderr);
  });

  it('a failed request exits 1 with the problem on stderr', async () => {
    const r = await cli('show', 'no-such-lpar');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^404 LPAR not found: .*no-such-lpar/);
    assert.equal(r.stdout, '');
    const bad = await cli('ofdt', 'x1', 'remove_node /no/such/node');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^404 ofdt remove_node: .+ \(ENODEV\)\n$/, 'the errno');
    const down = await exec(['--url', 'http://127.0.0.1:1', 'list']);
    assert.equal(down.code, 1);
  });

  it('--url beside LPARSIM_URL, --token beside LPARSIM_TOKEN', async () => {
    const fromEnv = await exec(['--json', 'list'], { LPARSIM_URL: url });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.ok(JSON.parse(fromEnv.stdout).some((l: { name: string }) => l.name === 'x1'));
    const refused = await exec(['--url', tokenUrl, 'list']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^401 /);
    const byFlag = await exec(['--url', tokenUrl, '--token', TOKEN, 'list']);
    assert.equal(byFlag.code, 0, byFlag.stderr);
    const byEnv = await exec(['list'], { LPARSIM_URL: tokenUrl, LPARSIM_TOKEN: TOKEN });
    assert.equal(byEnv.code, 0, byEnv.stderr);
    assert.equal(byEnv.stdout, 'ID  NAME  KERNEL  SYSTEM  NODES\n(none)\n');
    const flagWins = await exec(['--url', tokenUrl, '--token', TOKEN, 'create', '4.18', '--name', 't1'], {
      LPARSIM_URL: url,
      LPARSIM_TOKEN: 'wrong-token-wrong-token',
    });
    assert.equal(flagWins.code, 0, flagWins.stderr);
    const deleted = await exec(['--url', tokenUrl, '--token', TOKEN, 'delete-all', '--confirm']);
    assert.equal(deleted.stdout, 'deleted 1 LPAR\n');
  });

  it('watch prints the events as they happen; events prints those kept', async () => {
    await ok('create', '5.16', '--name', 'w1', '--scheme', 'dtc');
    const child = spawn(BIN, ['--url', url, 'watch', 'w1'], { cwd: dir, env: { PATH } });
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
    const kept = (await ok('events', 'w1')).trimEnd().split('\n');
    assert.match(kept[0]!, /^\d+\tlpar\.booted\t\{"kernel":"5\.16"/);
    assert.ok(kept.some((l) => /\tmigration\.completed\t/.test(l)));
    const since = (await okJson('events', 'w1', '--since', String(kept.length - 1))) as unknown;
    assert.equal(typeof since, 'object', 'one JSON event per line');
    await ok('delete', 'w1'); // the stream ends: watch exits 0
    assert.equal(await exited, 0);
    ran.add('watch');
    const lines = text.trimEnd().split('\n');
    assert.equal(lines[0], kept[0]);
    assert.ok(lines.some((l) => /\tmigration\.completed\t.*"destination":"p9-beta"/.test(l)));
    assert.match(lines.at(-1)!, /\tlpar\.deleted\t/);

    // Every LPAR's events: the backlog, then live ones until stopped.
    assert.match(await ok('events'), /\tlpar\.deleted\t.*\n$/);
    const all = spawn(BIN, ['--url', url, '--json', 'watch'], { cwd: dir, env: { PATH } });
    children.add(all);
    let allText = '';
    all.stdout.on('data', (d: Buffer) => {
      allText += d.toString();
    });
    await ok('create', '5.0', '--name', 'w2');
    for (let i = 0; i < 500 && !/"lpar":"lpar-\d+".*"lpar\.booted"[\s\S]*w2|w2/.test(allText); i++)
      await new Promise((r) => setTimeout(r, 20));
    all.kill('SIGTERM');
    assert.ok(
      allText
        .split('\n')
        .filter(Boolean)
        .every((l) => JSON.parse(l).type),
      'JSON lines',
    );
  });

  it('completion scripts, from the command table, complete in bash and zsh', async () => {
    const table = (await okJson('help')) as Array<{ name: string }>;
    const bash = await ok('completion', 'bash');
    const complete = (words: string[]) =>
      new Promise<string>((resolve, reject) =>
        execFile(
          'bash',
          [
            '-c',
            `source /dev/stdin <<'EOF'\n${bash}\nEOF\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _lparsim; printf '%s\\n' "\${COMPREPLY[@]}"`,
          ],
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        ),
      );
    const all = (await complete(['lparsim', ''])).trim().split('\n');
    for (const { name } of table) assert.ok(all.includes(name), name);
    assert.deepEqual((await complete(['lparsim', '--url', 'x', 'migrat'])).trim().split('\n'), [
      'migrate',
      'migrations',
      'migration',
    ]);
    assert.deepEqual((await complete(['lparsim', 'create', '4.18', '--profile', 'p'])).trim().split('\n'), [
      'power9',
      'power10',
    ]);
    assert.match(await complete(['lparsim', 'migrate', 'x', '--']), /^--to$/m);

    const zsh = await ok('completion', 'zsh');
    assert.match(zsh, /^#compdef lparsim\n/);
    for (const { name } of table) assert.match(zsh, new RegExp(`^ {4}'${name}:`, 'm'), name);
    if (existsSync('/usr/bin/zsh') || existsSync('/bin/zsh')) {
      // Stubs for the completion system's builtins: what the function would offer, printed.
      const run = (words: string[]) =>
        new Promise<string>((resolve, reject) =>
          execFile(
            'zsh',
            [
              '-c',
              `compdef(){ :; }; _describe(){ print -rl -- \${(P)2}; }; compadd(){ shift; print -rl -- "$@"; }; _files(){ :; }
source /dev/stdin <<'EOF'\n${zsh}\nEOF
words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}; _lparsim`,
            ],
            (err, stdout) => (err ? reject(err) : resolve(stdout)),
          ),
        );
      const offered = (await run(['lparsim', ''])).split('\n');
      for (const { name } of table)
        assert.ok(
          offered.some((l) => l.startsWith(`${name}:`)),
          name,
        );
      assert.deepEqual((await run(['lparsim', '--json', 'completion', ''])).trim().split('\n'), [
        'bash',
        'zsh',
        '--json',
      ]);
      assert.deepEqual((await run(['lparsim', 'create', '--phandle-scheme', ''])).trim().split('\n'), [
        'phyp',
        'dtc',
      ]);
    }
  });

  it('every subcommand and deprecated name was run here, and every operation has a subcommand', async () => {
    const table = (await okJson('help')) as Array<{ name: string; operations: string[]; aliases: string[] }>;
    const never = table.flatMap((c) => [c.name, ...c.aliases]).filter((n) => !ran.has(n));
    assert.deepEqual(never, [], 'subcommands this file never ran successfully');
    const doc = JSON.parse(readFileSync(join(ROOT, 'openapi/openapi.json'), 'utf8')) as {
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    const operations = Object.values(doc.paths).flatMap((p) =>
      Object.values(p).flatMap((o) => (o.operationId ? [o.operationId] : [])),
    );
    const covered = new Set(table.flatMap((c) => c.operations));
    assert.deepEqual(
      operations.filter((o) => !covered.has(o)),
      [],
      'operations of openapi/openapi.json without a subcommand',
    );
    assert.deepEqual(
      [...covered].filter((o) => !operations.includes(o)),
      [],
      'subcommands naming operations the document does not have',
    );
  });
});
