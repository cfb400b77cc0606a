// Errata E2, E5, E7 and E12 (/work/shared/spec/errata.md): what dmesg shows — no KASAN on these
// kernels, %pOF's references from 5.5, the add_node oops, and the WARNING block as powerpc prints it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskKilled } from '../../src/kernel/kernel.ts';
import { type KernfsFile, kernfsLookup } from '../../src/kernel/kernfs.ts';
import { LparError } from '../../src/lpar/errors.ts';
import { migrate } from '../../src/lpar/migrations.ts';
import { ofPeekNodeByPath } from '../../src/of/base.ts';
import { ofDetachNode } from '../../src/of/dynamic.ts';
import { nodeState } from '../../src/of/node.ts';
import { ofNodeGet, ofNodePut } from '../../src/of/refs.ts';
import { ofdtWrite } from '../../src/pseries/reconfig.ts';
import { BUILTIN_SYSTEMS } from '../../src/pseries/systems.ts';
import { dmesgText, newLpar, te } from '../helpers/model.ts';

type TestLpar = ReturnType<typeof newLpar>;

const CUT_HERE = '------------[ cut here ]------------';
const FRAME = (fn: string, unreliable = false) =>
  new RegExp(
    `^\\[[0-9a-f]{16}\\] \\[[0-9a-f]{16}\\] ${fn}\\+0x[0-9a-f]+/0x[0-9a-f]+${unreliable ? ' \\(unreliable\\)' : ''}$`,
  );
const beta = BUILTIN_SYSTEMS.find((s) => s.name === 'p9-beta')!;

const node = (lpar: TestLpar, path: string) => ofPeekNodeByPath(lpar.of, path)!;
const since = (lpar: TestLpar, mark: number) => lpar.k.log.since(mark).map((l) => l.text);
const toBeta = (lpar: TestLpar) =>
  migrate(
    lpar,
    { destination: beta, dryRun: false, faults: [] },
    () => new Date(0),
    () => 0,
  );

/** `cat /sys/devices/vio/<dev>/devspec` */
function devspec(lpar: TestLpar, dev: string): string {
  const f = kernfsLookup(lpar.of.sysfs, ['devices', 'vio', dev, 'devspec']) as KernfsFile;
  return new TextDecoder().decode(f.read!());
}

describe('E2: no KASAN on these kernels', () => {
  it('a use-after-free (4.18: the stale phandle cache after a removal) is counted and reported by the API, silent in dmesg', () => {
    for (const kasan of [false, true]) {
      const lpar = newLpar('4.18', kasan ? { options: { kasan } } : {});
      assert.equal(lpar.k.options.kasan, kasan);
      lpar.ofdt(te.encode('add_node /vdevice/t@30000011 name 2 t\0 ibm,phandle 4 \0\0\x43\x21'));
      const np = node(lpar, '/vdevice/t@30000011');
      assert.equal(lpar.lookupPhandle(0x4321).node, np);
      lpar.ofdt(te.encode('remove_node /vdevice/t@30000011'));
      assert.equal(nodeState(np), 'freed');
      const before = lpar.events.lastId;
      const r = lpar.lookupPhandle(0x4321);
      assert.equal(r.useAfterFree, true, 'the lookup says so');
      assert.ok(lpar.k.counters.useAfterFree >= 1, 'the counter says so');
      assert.ok(
        lpar.events.since(before).some((e) => e.type === 'use-after-free'),
        'an event says so',
      );
      const kasanLines = dmesgText(lpar).filter((l) => l.includes('KASAN'));
      if (kasan) assert.ok(kasanLines.includes('BUG: KASAN: use-after-free in of_find_node_by_phandle'));
      else assert.deepEqual(kasanLines, [], 'kasan off (the default): nothing in dmesg');
    }
  });
});

describe('E5: %pOF takes references only from 5.5', () => {
  it('4.16, 4.18 and 5.0: reading devspec never warns, not even of a node whose parent is released', () => {
    for (const kernel of ['4.16', '4.18', '5.0']) {
      const lpar = newLpar(kernel);
      lpar.k.events = [];
      assert.equal(devspec(lpar, 'ibm,compression-v1'), '/ibm,platform-facilities/ibm,compression-v1\n');
      assert.equal(
        lpar.k.events.some((e) => e.holder === '%pOF'),
        false,
        `${kernel}: the walk takes no references`,
      );
      toBeta(lpar);
      const pf = lpar.vio.devices.get('ibm,compression-v1')!.node.parent!;
      assert.equal(nodeState(pf), 'released', `${kernel}: the old /ibm,platform-facilities is at 0`);
      const mark = lpar.k.log.last;
      const warnings = lpar.k.counters.warnings;
      assert.equal(devspec(lpar, 'ibm,compression-v1'), '/ibm,platform-facilities/ibm,compression-v1\n');
      assert.deepEqual(since(lpar, mark), [], kernel);
      assert.equal(lpar.k.counters.warnings, warnings, kernel);
    }
  });

  it('5.8: devspec after a migration gets the released parent: `refcount_t: addition on 0; use-after-free.` with the fwnode chain', () => {
    const lpar = newLpar('5.8');
    toBeta(lpar);
    const mark = lpar.k.log.last;
    assert.equal(devspec(lpar, 'ibm,compression-v1'), '/ibm,platform-facilities/ibm,compression-v1\n');
    const log = since(lpar, mark);
    const pid = lpar.k.tasks.task('cat').pid;
    assert.deepEqual(log.slice(0, 5), [
      CUT_HERE,
      'refcount_t: addition on 0; use-after-free.',
      log[2],
      'Modules linked in:',
      `CPU: 0 PID: ${pid} Comm: cat Not tainted 5.8.0-lparsim #1`,
    ]);
    assert.match(
      log[2]!,
      new RegExp(`^WARNING: CPU: 0 PID: ${pid} at lib/refcount\\.c:25 refcount_warn_saturate\\+0x`),
    );
    const trace = log.slice(
      log.indexOf('Call Trace:') + 1,
      log.findIndex((l) => l.startsWith('---[ end trace')),
    );
    for (const fn of [
      'of_get_parent',
      'fwnode_count_parents',
      'fwnode_full_name_string',
      'device_node_string',
      'devspec_show',
    ])
      assert.ok(
        trace.some((l) => FRAME(fn).test(l)),
        fn,
      );
    assert.match(trace[0]!, FRAME('refcount_warn_saturate', true));
  });

  it('5.8: the walk is balanced on live nodes — each ancestor got and put as fwnode_full_name_string does, counts unchanged', () => {
    const lpar = newLpar('5.8');
    const vty = node(lpar, '/vdevice/vty@30000000');
    const path = [vty, vty.parent!, vty.parent!.parent!];
    const counts = path.map((n) => n.kobj.ref.count);
    lpar.k.events = [];
    assert.equal(devspec(lpar, '30000000'), '/vdevice/vty@30000000\n');
    const tally = (np: (typeof path)[number], type: string) =>
      lpar.k.events.filter((e) => e.holder === '%pOF' && e.address === np.address && e.type === type).length;
    // count_parents gets /vdevice and / once; nth_parent(2) gets vty, /vdevice, /; nth_parent(1) vty,
    // /vdevice; nth_parent(0) vty: 3, 3, 2 gets, each matched by a put.
    assert.deepEqual(
      path.map((n) => tally(n, 'ref.get')),
      [3, 3, 2],
    );
    assert.deepEqual(
      path.map((n) => tally(n, 'ref.put')),
      [3, 3, 2],
    );
    assert.deepEqual(
      path.map((n) => n.kobj.ref.count),
      counts,
    );
    assert.equal(lpar.k.counters.warnings, 0);
    assert.equal(
      path.some((n) => n.holders.has('%pOF')),
      false,
    );
  });

  it('the switch, not the version: a 4.18 with pofTakesRefs walks with references, a 5.8 without it does not', () => {
    for (const [kernel, switches, walks, warns] of [
      // 4.18's plain refcount takes a get on 0 silently; with the checked one as well it warns as 5.8 does.
      ['4.18', { pofTakesRefs: true }, true, false],
      ['4.18', { pofTakesRefs: true, refcount: 'checked' }, true, true],
      ['5.8', { pofTakesRefs: false }, false, false],
    ] as const) {
      const lpar = newLpar(kernel, { switches });
      assert.equal(lpar.k.profile.pofTakesRefs, switches.pofTakesRefs);
      toBeta(lpar);
      const mark = lpar.k.log.last;
      lpar.k.events = [];
      assert.equal(devspec(lpar, 'ibm,compression-v1'), '/ibm,platform-facilities/ibm,compression-v1\n');
      const label = `${kernel} ${JSON.stringify(switches)}`;
      assert.equal(
        lpar.k.events.some((e) => e.holder === '%pOF'),
        walks,
        label,
      );
      assert.equal(since(lpar, mark).includes('refcount_t: addition on 0; use-after-free.'), warns, label);
    }
  });
});

describe('E7: add_node under a missing parent oopses the kernel', () => {
  const FAULT: Record<string, string> = {
    '4.16': 'Unable to handle kernel paging request for data at address 0x0000007e',
    '4.18': 'Unable to handle kernel paging request for data at address 0x0000007e',
    '5.0': 'BUG: Kernel NULL pointer dereference at 0x00000076',
    '5.8': 'BUG: Kernel NULL pointer dereference on read at 0x0000007e',
    '5.16': 'BUG: Kernel NULL pointer dereference on read at 0x000000a6',
  };

  it("dmesg: the release's fault line, the Oops line, the CPU line and kobject_put … ofdt_write", () => {
    for (const [kernel, fault] of Object.entries(FAULT)) {
      const lpar = newLpar(kernel);
      const mark = lpar.k.log.last;
      assert.throws(() => ofdtWrite(lpar.of, te.encode('add_node /nope/x name 2 x\0')), TaskKilled, kernel);
      const log = since(lpar, mark);
      const pid = lpar.k.tasks.task('drmgr').pid;
      assert.equal(log[0], fault, kernel);
      assert.match(log[1]!, /^Faulting instruction address: 0x[0-9a-f]{16}$/);
      assert.equal(log[2], 'Oops: Kernel access of bad area, sig: 11 [#1]', kernel);
      assert.match(log[3]!, / NUMA pSeries$/);
      assert.equal(log[4], 'Modules linked in:');
      // TAINT_DIE is added after the dump: the oops's own CPU line is untainted.
      assert.equal(log[5], `CPU: 0 PID: ${pid} Comm: drmgr Not tainted ${kernel}.0-lparsim #1`, kernel);
      assert.equal(log[6], 'Call Trace:');
      const frames = ['kobject_put', 'of_node_put', 'pSeries_reconfig_add_node', 'do_add_node', 'ofdt_write'];
      frames.forEach((fn, i) => {
        assert.match(log[7 + i]!, FRAME(fn, i === 0), `${kernel} frame ${i}`);
      });
      // oops_end: add_taint(TAINT_DIE, LOCKDEP_NOW_UNRELIABLE) turns lock debugging off, then the marker.
      assert.equal(log[12], 'Disabling lock debugging due to kernel taint', kernel);
      assert.match(log[13]!, /^---\[ end trace [0-9a-f]{16} \]---$/);
      assert.equal(log.length, 14, `${kernel}: no panic without panicOnOops`);
      assert.deepEqual([...lpar.k.taints], ['D']);
      assert.equal(lpar.k.panicked, false);
    }
  });

  it('taint D shows in a later CPU line; the allocated node is orphaned; the LPAR goes on', () => {
    const lpar = newLpar('4.18');
    assert.throws(() => ofdtWrite(lpar.of, te.encode('add_node /nope/x name 2 x\0')), TaskKilled);
    const orphans = [...lpar.of.unattached].filter((n) => n.fullName === 'x');
    assert.equal(orphans.length, 1);
    assert.equal(nodeState(orphans[0]!), 'orphaned');
    assert.deepEqual([...orphans[0]!.holders], [['of_node_init', 1]], 'allocated, never freed');
    // A later dump (a bad put on the vty node) shows D in its CPU line.
    const vty = node(lpar, '/vdevice/vty@30000000');
    const mark = lpar.k.log.last;
    for (let n = vty.kobj.ref.count; n > 0; n--) ofNodePut(lpar.of, vty, 'buggy');
    const log = since(lpar, mark);
    assert.ok(log.includes('OF: ERROR: Bad of_node_put() on /vdevice/vty@30000000'));
    assert.ok(
      log.some((l) => / Tainted: G {6}D {10} 4\.18\.0-lparsim #1$/.test(l)),
      log.join('\n'),
    );
    assert.equal(ofdtWrite(lpar.of, te.encode('add_node /vdevice/t@1 name 2 t\0')).ok, true);
  });

  it('the API answers task-killed (SIGSEGV) and what the kernel did stays done', () => {
    const lpar = newLpar('5.8');
    const err = (() => {
      try {
        lpar.ofdt(te.encode('add_node /nope/x name 2 x\0'));
      } catch (e) {
        return e;
      }
      return null;
    })();
    assert.ok(err instanceof LparError);
    assert.equal(err.kind, 'task-killed');
    assert.equal(err.extra.signal, 'SIGSEGV');
    assert.equal(err.extra.panicked, false);
    assert.deepEqual(err.extra.taint, ['D']);
    assert.equal(
      lpar.lookupPhandle(node(lpar, '/vdevice').phandle).node,
      node(lpar, '/vdevice'),
      'still runs',
    );
  });

  it('with panicOnOops: `Kernel panic - not syncing: Fatal exception`, panicked, and kernel operations refused', () => {
    for (const kernel of ['4.16', '4.18', '5.8']) {
      const lpar = newLpar(kernel, { options: { panicOnOops: true } });
      const mark = lpar.k.log.last;
      assert.throws(
        () => lpar.ofdt(te.encode('add_node /nope/x name 2 x\0')),
        (e: unknown) => e instanceof LparError && e.kind === 'task-killed' && e.extra.panicked === true,
      );
      const log = since(lpar, mark);
      const end = log.findIndex((l) => l.startsWith('---[ end trace'));
      assert.equal(log[end + 1], 'Kernel panic - not syncing: Fatal exception', kernel);
      // 4.16's closing line lacks its `]---`.
      assert.equal(
        log[end + 2],
        kernel === '4.16'
          ? '---[ end Kernel panic - not syncing: Fatal exception'
          : '---[ end Kernel panic - not syncing: Fatal exception ]---',
        kernel,
      );
      assert.equal(lpar.k.panicked, true);
      assert.throws(
        () => lpar.ofdt(te.encode('remove_node /vdevice/vty@30000000')),
        (e: unknown) => e instanceof LparError && e.kind === 'panicked',
      );
      assert.throws(
        () => toBeta(lpar),
        (e: unknown) => e instanceof LparError && e.kind === 'panicked',
      );
      assert.throws(
        () => lpar.lookupPhandle(1),
        (e: unknown) => e instanceof LparError && e.kind === 'panicked',
      );
    }
  });
});

describe('E12: the WARNING block as powerpc prints it', () => {
  /** A node detached twice: __of_detach_node's bare WARN_ON(OF_DETACHED). */
  function detachTwice(kernel: string) {
    const lpar = newLpar(kernel);
    const vty = node(lpar, '/vdevice/vty@30000000');
    ofNodeGet(lpar.of, vty, 'keep');
    lpar.k.tasks.runAs('drmgr', () => ofDetachNode(lpar.of, vty));
    const mark = lpar.k.log.last;
    lpar.k.tasks.runAs('drmgr', () => ofDetachNode(lpar.of, vty));
    return { lpar, log: since(lpar, mark), pid: lpar.k.tasks.task('drmgr').pid };
  }

  const LINE: Record<string, number> = { '4.16': 252, '4.18': 252, '5.0': 258, '5.8': 258, '5.16': 260 };

  it("a bare WARN_ON: no cut-here line on 4.16, 4.18 and 5.0, one from 5.8; the release's own line number", () => {
    for (const [kernel, line] of Object.entries(LINE)) {
      const { lpar, log, pid } = detachTwice(kernel);
      const cut = kernel === '5.8' || kernel === '5.16';
      assert.equal(log[0] === CUT_HERE, cut, kernel);
      const rest = cut ? log.slice(1) : log;
      assert.match(
        rest[0]!,
        new RegExp(
          `^WARNING: CPU: 0 PID: ${pid} at drivers/of/dynamic\\.c:${line} __of_detach_node\\+0x[0-9a-f]+/0x[0-9a-f]+$`,
        ),
        kernel,
      );
      assert.equal(rest[1], 'Modules linked in:', kernel);
      assert.equal(
        rest[2],
        `CPU: 0 PID: ${pid} Comm: drmgr Not tainted ${lpar.k.profile.release} #1`,
        kernel,
      );
      assert.equal(rest[3], 'Call Trace:');
      assert.match(rest[4]!, FRAME('__of_detach_node', true), kernel);
      assert.match(rest[5]!, FRAME('of_detach_node'), kernel);
      assert.match(rest.at(-1)!, /^---\[ end trace [0-9a-f]{16} \]---$/);
      assert.equal(log.filter((l) => l === CUT_HERE).length, cut ? 1 : 0, kernel);
    }
  });

  it('a WARN_ONCE with a message has the cut-here line everywhere, the message before the WARNING line', () => {
    for (const kernel of ['4.16', '4.18', '5.0', '5.8', '5.16']) {
      const lpar = newLpar(kernel, { options: { refcountFull: true } });
      const vty = node(lpar, '/vdevice/vty@30000000');
      lpar.k.events = [];
      for (let n = vty.kobj.ref.count; n >= 0; n--) ofNodePut(lpar.of, vty, 'buggy');
      const log = dmesgText(lpar);
      const at = log.indexOf(CUT_HERE);
      assert.ok(at >= 0, kernel);
      assert.match(log[at + 1]!, /^refcount_t: /, kernel);
      assert.match(log[at + 2]!, /^WARNING: CPU: 0 PID: \d+ at lib\/refcount\.c:\d+ /, kernel);
    }
  });

  it('`Not tainted` until a WARNING has been printed, then `Tainted: G        W`; end-trace ids grow by one', () => {
    for (const kernel of ['4.16', '4.18', '5.16']) {
      const lpar = newLpar(kernel);
      const vty = node(lpar, '/vdevice/vty@30000000');
      ofNodeGet(lpar.of, vty, 'keep');
      const mark = lpar.k.log.last;
      for (let i = 0; i < 3; i++) lpar.k.tasks.runAs('drmgr', () => ofDetachNode(lpar.of, vty));
      const log = since(lpar, mark);
      const cpuLines = log.filter((l) => l.startsWith('CPU: '));
      assert.equal(cpuLines.length, 2, kernel);
      const release = lpar.k.profile.release;
      assert.match(cpuLines[0]!, new RegExp(`Comm: drmgr Not tainted ${release.replace(/\./g, '\\.')} #1$`));
      // 18 flags (T = RANDSTRUCT) from 4.18, 17 on 4.16: the trailing blanks differ by one.
      const blanks = kernel === '4.16' ? 7 : 8;
      assert.ok(
        cpuLines[1]!.endsWith(`Comm: drmgr Tainted: G        W${' '.repeat(blanks)} ${release} #1`),
        JSON.stringify(cpuLines[1]),
      );
      const ids = log
        .filter((l) => l.startsWith('---[ end trace '))
        .map((l) => BigInt(`0x${/end trace ([0-9a-f]{16})/.exec(l)![1]}`));
      assert.equal(ids.length, 2);
      assert.equal(ids[1]! - ids[0]!, 1n, kernel);
    }
  });

  it("offsets and sizes are a build's fixed values; the end-trace id is drawn once per boot", () => {
    const a = detachTwice('5.8');
    const b = detachTwice('5.8');
    const warningLine = (log: string[]) => log.find((l) => l.startsWith('WARNING:'))!;
    assert.equal(warningLine(a.log), warningLine(b.log), 'same release, same function: same +off/size');
    const endId = (lpar: TestLpar) => dmesgText(lpar).find((l) => l.startsWith('---[ end trace'));
    assert.equal(endId(a.lpar), endId(b.lpar), 'same seed, same boot: same id');
    const other = newLpar('5.8', { seed: 2 });
    const vty = node(other, '/vdevice/vty@30000000');
    ofNodeGet(other.of, vty, 'keep');
    ofDetachNode(other.of, vty);
    ofDetachNode(other.of, vty);
    assert.notEqual(endId(other), endId(a.lpar), 'another boot draws another id');
  });

  it('the boot banner is `Using pSeries machine description`, with no system name', () => {
    for (const kernel of ['4.18', '5.16']) {
      const log = dmesgText(newLpar(kernel));
      assert.ok(log.includes('Using pSeries machine description'));
      assert.equal(log.filter((l) => l.startsWith('Using pSeries machine description')).length, 1);
      assert.equal(log[0], `Linux version ${kernel}.0-lparsim (lparsim@localhost) #1 SMP`);
    }
  });
});
