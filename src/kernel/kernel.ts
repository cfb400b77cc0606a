// The simulated kernel runtime of one LPAR: its profile and options, clock, log, tasks, once-flags,
// memory and counters. Model code receives this object and reports everything through it; the LPAR
// layer reads the log, counters and events afterwards. Nothing here does I/O.

import { KernelLog, type LogLevel, SimClock } from './printk.ts';
import {
  ANY_RELEASE_WARN_LINES,
  type FaultMessages,
  type KernelOptions,
  type KernelProfile,
} from './profiles.ts';
import { type FreeRecord, SlabAllocator, type SlabObject, slabIndexOf } from './slab.ts';
import { SLUB_FACTS, SlubDebugState, type SlubKernel, slubAllocCheck, slubLayout } from './slub-debug.ts';
import { stackFrameAddress, symbolAddress, symbolName } from './symbols.ts';
import { TaskTable } from './tasks.ts';

const CUT_HERE = '------------[ cut here ]------------';

/** W after a WARNING, D after an oops, B after a SLUB report (K-UAF-3). */
export type Taint = 'W' | 'D' | 'B';

/**
 * print_tainted: `Not tainted`, or `Tainted: ` and one column per taint flag in the kernel's order
 * (P/G F S R M B U D A W C I O E L K X T N), a space where a flag is not set. No modules are proprietary,
 * so the first column is `G`.
 */
export function printTainted(taints: ReadonlySet<Taint>, flags = 18): string {
  if (taints.size === 0) return 'Not tainted';
  const columns = 'GFSRMBUDAWCIOELKXTN'.slice(0, flags).split('');
  const shown = columns.map((c, i) => (i === 0 || taints.has(c as Taint) ? c : ' '));
  return `Tainted: ${shown.join('')}`;
}

/** init_oops_id: a random 64-bit id per boot; here drawn from the LPAR's seed so replays agree. */
function randomOopsId(seed: number): bigint {
  let a = (seed ^ 0x9e3779b9) >>> 0;
  let b = Math.imul(seed, 0x85ebca6b) >>> 0 || 0x2545f491;
  for (let i = 0; i < 4; i++) {
    a = Math.imul(a ^ (b >>> 15), 0x2c1b3c6d) >>> 0;
    b = Math.imul(b ^ (a >>> 13), 0x297a2d39) >>> 0;
  }
  return (BigInt(a) << 32n) | BigInt(b);
}

/** bad_page_fault's first line for a data access (arch/powerpc/mm/fault.c of that release). */
function faultLine(style: FaultMessages, address: bigint, addr: string, access: 'read' | 'write'): string {
  if (style === 'paging-request') return `Unable to handle kernel paging request for data at address ${addr}`;
  // dar < PAGE_SIZE (64 KiB) reads as a NULL pointer.
  const what = address < 0x10000n ? 'Kernel NULL pointer dereference' : 'Unable to handle kernel data access';
  return style === 'bug' ? `BUG: ${what} at ${addr}` : `BUG: ${what} on ${access} at ${addr}`;
}

/** Thrown by an oops: the task that faulted is killed and its system call never returns (E7). */
export class TaskKilled extends Error {
  readonly comm: string;
  readonly signal: 'SIGSEGV';
  readonly function: string;
  readonly panicked: boolean;
  constructor(comm: string, signal: 'SIGSEGV', func: string, panicked: boolean) {
    super(`${comm} was killed by ${signal} after an oops in ${func}`);
    this.comm = comm;
    this.signal = signal;
    this.function = func;
    this.panicked = panicked;
  }
}

export interface KernelEvent {
  readonly type: string;
  readonly [key: string]: unknown;
}

export interface KernelCounters {
  warnings: number;
  useAfterFree: number;
  sysfsRenames: number;
  unbalancedPuts: number;
}

export class Kernel {
  readonly clock = new SimClock();
  readonly log: KernelLog;
  readonly tasks = new TaskTable();
  readonly slab = new SlabAllocator();
  readonly counters: KernelCounters = { warnings: 0, useAfterFree: 0, sysfsRenames: 0, unbalancedPuts: 0 };
  /** Events since the LPAR layer last drained them. */
  events: KernelEvent[] = [];
  private readonly onceFlags = new Set<string>();
  /** E12: taint letters set so far (`W` after a WARNING, `D` after an oops). */
  readonly taints = new Set<Taint>();
  /** Oopses so far (the `[#n]` of the Oops line). */
  oopses = 0;
  /** E7: an oops with panicOnOops: the partition is dead until rebooted or deleted. */
  panicked = false;
  /** The end-trace id: random once per boot (from the LPAR's seed), plus one per trace. */
  private oopsId: bigint;
  /** K-UAF-3: SLUB's debug state of the node cache, with the slubDebug option only. */
  readonly slub: SlubDebugState | null;

  readonly profile: KernelProfile;
  readonly options: KernelOptions;

  constructor(profile: KernelProfile, options: KernelOptions, traceSeed: number, logCapacity?: number) {
    this.log = new KernelLog(this.clock, logCapacity);
    this.profile = profile;
    this.options = options;
    this.oopsId = randomOopsId(traceSeed);
    this.slub = null;
    if (options.slubDebug) {
      const facts = SLUB_FACTS[profile.name];
      this.slub = new SlubDebugState(slubLayout(profile.kobjOffset, facts), facts, traceSeed);
      this.slab.setDebugHooks({
        slubAllocating: () => this.slubAllocating(),
        slubAllocated: (address) => this.slubAllocated(address),
      });
    }
  }

  /** Run a modelled kernel function: its name is on the call chain while `body` runs. */
  fn<T>(name: string, body: () => T): T {
    const frames = this.tasks.frames;
    frames.push(name);
    try {
      return body();
    } finally {
      frames.pop();
    }
  }

  emit(event: KernelEvent): void {
    this.events.push(event);
  }

  printk(level: LogLevel, text: string): void {
    const line = this.log.printk(level, text);
    this.emit({ type: 'dmesg', seq: line.seq, level, text });
  }

  /**
   * pr_debug: only with dynamic debug on (K-MOB-8). The text is a thunk because a disabled pr_debug
   * never evaluates its arguments: a `%pOF` in it takes no references then (E5).
   */
  prDebug(text: () => string): void {
    if (this.options.dynamicDebug) this.printk('debug', text());
  }

  /**
   * A kernel WARNING block as powerpc prints it (E12): the cut-here line (always from 5.8; before, only
   * for a WARN with a message, which goes through __warn_printk), the message, the `WARNING: … at
   * file:line func+off/size` line with the real line of that release, `Modules linked in:`, the
   * CPU/Comm/taint line, the call trace and the end marker. `site` picks the WARN inside `func` when a
   * function has more than one (`__of_detach_node!parent`). Taints the kernel `W` afterwards, as __warn
   * does once the block is printed.
   */
  warn(func: string, message?: string, site: string = func): void {
    const { comm, pid } = this.tasks.current;
    this.counters.warnings += 1;
    if (this.profile.cutHereAlways || message !== undefined) this.printk('warn', CUT_HERE);
    if (message !== undefined) this.printk('warn', message);
    const lines = this.profile.warnLines;
    const where =
      lines[site] ??
      lines[func] ??
      ANY_RELEASE_WARN_LINES[site] ??
      ANY_RELEASE_WARN_LINES[func] ??
      'kernel/panic.c:0';
    this.printk(
      'warn',
      `WARNING: CPU: 0 PID: ${pid} at ${where} ${symbolName(this.profile.release, this.symbol(func))}`,
    );
    this.printk('warn', 'Modules linked in:');
    this.printk('warn', this.cpuLine());
    this.printCallTrace('warn');
    this.printOopsEndMarker();
    this.taints.add('W');
    this.emit({ type: 'warning', function: func, site: where, message: message ?? null, comm });
  }

  /** WARN_ONCE: at most once per call site per LPAR boot. Returns whether it printed. */
  warnOnce(onceKey: string, func: string, message: string): boolean {
    if (this.onceFlags.has(onceKey)) return false;
    this.onceFlags.add(onceKey);
    this.warn(func, message, onceKey);
    return true;
  }

  /** dump_stack(): the CPU/Comm/taint line and the call trace (no end marker). */
  dumpStack(level: LogLevel): void {
    this.printk(level, this.cpuLine());
    this.printCallTrace(level);
  }

  /** dump_stack_print_info: `CPU: 0 PID: <pid> Comm: <task> Not tainted <release> #1` (6.12: `UID: 0` too). */
  private cpuLine(): string {
    const { comm, pid } = this.tasks.current;
    const uid = this.profile.cpuLineUid ? 'UID: 0 ' : '';
    return `CPU: 0 ${uid}PID: ${pid} Comm: ${comm} ${printTainted(this.taints, this.profile.taintFlags)} ${this.profile.release} #1`;
  }

  /** A function as this release names it (5.0's `*_checked` refcount functions). */
  symbol(func: string): string {
    return this.profile.functionNames[func] ?? func;
  }

  /** powerpc show_stack: one frame a line, innermost first; the first is marked unreliable. */
  private printCallTrace(level: LogLevel): void {
    const { pid } = this.tasks.current;
    this.printk(level, 'Call Trace:');
    const release = this.profile.release;
    const trace = this.tasks.callTrace();
    trace.forEach((fn, depth) => {
      const frame = this.symbol(fn);
      const unreliable = depth === 0 ? ' (unreliable)' : '';
      const sp = stackFrameAddress(pid, trace.length - 1 - depth);
      this.printk(
        level,
        `[${sp}] [${symbolAddress(release, frame)}] ${symbolName(release, frame)}${unreliable}`,
      );
    });
  }

  /**
   * print_oops_end_marker: the id is random once per boot and grows by one with every trace (E12); from
   * 6.1 the release prints 0 every time (`traceIdZero`).
   */
  private printOopsEndMarker(): void {
    this.oopsId = (this.oopsId + 1n) & 0xffff_ffff_ffff_ffffn;
    const id = this.profile.traceIdZero ? 0n : this.oopsId;
    this.printk('warn', `---[ end trace ${id.toString(16).padStart(16, '0')} ]---`);
  }

  /**
   * add_taint(): set the flag; a taint that makes lockdep unreliable (LOCKDEP_NOW_UNRELIABLE: an oops's
   * D, SLUB's B) turns lock debugging off the first time, which `__debug_locks_off` reports once
   * (kernel/panic.c). No other taint this model sets does so, hence the test on those two letters.
   */
  addTaint(flag: Taint, lockdepUnreliable: boolean): void {
    const debugLocks = !this.taints.has('D') && !this.taints.has('B');
    if (lockdepUnreliable && debugLocks) this.printk('warn', 'Disabling lock debugging due to kernel taint');
    this.taints.add(flag);
  }

  /**
   * An oops (E7): the data-access fault of that release at `address`, die()'s `Oops:` block, taint `D`,
   * then either panic (panicOnOops) or kill the current task, which unwinds the modelled call chain:
   * the caller catches `TaskKilled` where the system call returns.
   */
  oops(address: bigint, access: 'read' | 'write'): never {
    const { comm } = this.tasks.current;
    const addr = `0x${address.toString(16).padStart(8, '0')}`;
    const nip = this.tasks.frames.at(-1) ?? 'unknown';
    this.printk('alert', faultLine(this.profile.faultMessages, address, addr, access));
    this.printk('alert', `Faulting instruction address: 0x${symbolAddress(this.profile.release, nip)}`);
    this.oopses += 1;
    this.printk('emerg', `Oops: Kernel access of bad area, sig: 11 [#${this.oopses}]`);
    // __die's platform line: PAGE_SIZE and MMU appear from the releases with the `on read` wording.
    const platform = this.profile.dieBannerPageSize ? 'LE PAGE_SIZE=64K MMU=Hash SMP' : 'LE SMP';
    this.printk('emerg', `${platform} NR_CPUS=2048 NUMA pSeries`);
    this.printk('warn', 'Modules linked in:');
    this.printk('warn', this.cpuLine());
    this.printCallTrace('warn');
    // oops_end: add_taint(TAINT_DIE, LOCKDEP_NOW_UNRELIABLE) before oops_exit's end marker (note 50).
    this.addTaint('D', true);
    this.printOopsEndMarker();
    this.emit({ type: 'oops', address: addr, function: nip, comm });
    if (this.options.panicOnOops) {
      this.printk('emerg', 'Kernel panic - not syncing: Fatal exception');
      const close = this.profile.panicEndClosed ? ' ]---' : ''; // 4.16's lacks its `]---`
      this.printk('emerg', `---[ end Kernel panic - not syncing: Fatal exception${close}`);
      this.panicked = true;
      this.emit({ type: 'panic', reason: 'Fatal exception' });
    }
    throw new TaskKilled(comm, 'SIGSEGV', nip, this.panicked);
  }

  /**
   * Who frees an object now: the record a later KASAN or SLUB report prints. With slubDebug the kfree
   * also puts `obj` on its slab's freelist, poisoned (K-UAF-3).
   */
  freeRecord(obj?: SlabObject): FreeRecord {
    const { comm, pid } = this.tasks.current;
    const record = { comm, pid, trace: this.tasks.callTrace().join(' <- '), usec: this.clock.usec };
    if (this.slub && obj) this.slub.freed(obj.address, slabIndexOf(obj.address), record);
    return record;
  }

  /** K-UAF-3: an allocation from the node cache checks the freelist heads it reaches first. */
  private slubAllocating(): void {
    const slub = this.slub!;
    if (slub.partial.length === 0) return; // no free object to check: a new slab
    const printer: SlubKernel = {
      profile: this.profile,
      taints: this.taints as Set<string>,
      clock: this.clock,
      printk: (level, text) => this.printk(level, text),
      dumpStack: (level) => this.dumpStack(level),
      fn: (name, body) => this.fn(name, body),
      printTaintedNow: () => printTainted(this.taints, this.profile.taintFlags),
      addTaint: (flag, lockdepUnreliable) => this.addTaint(flag, lockdepUnreliable),
      symbolName: (func) => symbolName(this.profile.release, this.symbol(func)),
    };
    slubAllocCheck(printer, slub, slabIndexOf);
  }

  /** set_track(TRACK_ALLOC) for the object just handed out. */
  private slubAllocated(address: string): void {
    const { comm, pid } = this.tasks.current;
    this.slub!.allocTracks.set(address, {
      comm,
      pid,
      trace: this.tasks.callTrace().join(' <- '),
      usec: this.clock.usec,
    });
  }

  /**
   * K-UAF-3: `obj` is freed memory full of poison (slubDebug, and SLUB has not handed it out again):
   * its kref is poison too, so a get or put changes the poison silently (0x6b6b6b6b is neither 0 nor
   * saturated) and never releases; the refcount rules do not apply to the node's last count.
   */
  slubPoisoned(obj: SlabObject): boolean {
    return obj.freed !== null && (this.slub?.poisoned(obj.address) ?? false);
  }

  /**
   * K-UAF-3: a u32 field of `obj` as a read sees it. With slubDebug a freed object SLUB has not handed
   * out again holds poison (and whatever was written into it since); otherwise the stale contents `stale`.
   */
  freedU32(obj: SlabObject, field: 'phandle' | 'kref', stale: number): number {
    const slub = this.slub;
    if (!slub || !this.slubPoisoned(obj)) return stale;
    const offset = field === 'phandle' ? slub.facts.phandleOffset : slub.layout.krefOffset;
    return slub.u32At(obj.address, offset);
  }

  /**
   * K-UAF-3: what a write through a stale pointer stores into a free object's poison: the kref's
   * increment or decrement (0x6b6b6b6b ± 1, little-endian), the parent's `child` pointer. Property
   * changes store nothing: on poisoned memory the list walk that precedes their store would fault.
   */
  private slubStore(obj: SlabObject, func: string, value: string | undefined): void {
    const slub = this.slub;
    if (!slub || !this.slubPoisoned(obj)) return;
    const { krefOffset, childOffset } = slub.layout;
    const delta = func === 'of_node_get' ? 1 : func === 'of_node_put' ? -1 : 0;
    if (delta !== 0) {
      const v = (slub.u32At(obj.address, krefOffset) + delta) >>> 0;
      slub.store(obj.address, krefOffset, [v, v >>> 8, v >>> 16, v >>> 24]);
    } else if (func === '__of_attach_node' && value !== undefined) {
      let v = BigInt(`0x${value}`);
      const bytes: number[] = [];
      for (let i = 0; i < 8; i++, v >>= 8n) bytes.push(Number(v & 0xffn));
      slub.store(obj.address, childOffset, bytes);
    }
  }

  /**
   * K-UAF-1: an access through a pointer to `obj`. Returns true when the object is freed (the access
   * is a use-after-free, counted and, with kasan on, reported); execution then goes on with the stale
   * contents, as on a KASAN kernel.
   */
  access(obj: SlabObject, func: string, size: number, write = false, value?: string): boolean {
    const freed = obj.freed;
    if (freed === null) return false;
    this.counters.useAfterFree += 1;
    if (write) this.slubStore(obj, func, value);
    const { comm, pid } = this.tasks.current;
    this.emit({ type: 'use-after-free', address: obj.address, function: func, comm });
    this.kasanReport('use-after-free', func, [
      `${write ? 'Write' : 'Read'} of size ${size} at addr ${obj.address} by task ${comm}/${pid}`,
      `Freed by task ${freed.comm}/${freed.pid}: ${freed.trace}`,
      `The buggy address belongs to the object at ${obj.address}`,
    ]);
    return true;
  }

  /** A KASAN report block (K-UAF-1), printed only with the `kasan` option on. */
  kasanReport(bug: 'use-after-free' | 'slab-out-of-bounds', func: string, details: readonly string[]): void {
    if (!this.options.kasan) return;
    const bar = '==================================================================';
    this.printk('err', bar);
    this.printk('err', `BUG: KASAN: ${bug} in ${func}`);
    for (const line of details) this.printk('err', line);
    this.printk('err', bar);
  }
}
