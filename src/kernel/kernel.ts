// The simulated kernel runtime of one LPAR: its profile and options, clock, log, tasks, once-flags,
// memory and counters. Model code receives this object and reports everything through it; the LPAR
// layer reads the log, counters and events afterwards. Nothing here does I/O.

import { KernelLog, type LogLevel, SimClock } from './printk.ts';
import type { KernelOptions, KernelProfile } from './profiles.ts';
import { type FreeRecord, SlabAllocator, type SlabObject } from './slab.ts';
import { TaskTable } from './tasks.ts';

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

  readonly profile: KernelProfile;
  readonly options: KernelOptions;
  /** Seeds the `end trace` ids so two LPARs do not print the same ones. */
  private readonly traceSeed: number;

  constructor(profile: KernelProfile, options: KernelOptions, traceSeed: number, logCapacity?: number) {
    this.log = new KernelLog(this.clock, logCapacity);
    this.profile = profile;
    this.options = options;
    this.traceSeed = traceSeed;
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

  /** pr_debug: only with dynamic debug on (K-MOB-8). */
  prDebug(text: string): void {
    if (this.options.dynamicDebug) this.printk('debug', text);
  }

  /**
   * A kernel WARNING block (spec section 2). `site` names the call site for WARN_ONCE; `message` is
   * printed only for WARN with a message.
   */
  warn(file: string, func: string, message?: string): void {
    const { comm, pid } = this.tasks.current;
    this.counters.warnings += 1;
    this.printk('warn', '------------[ cut here ]------------');
    if (message !== undefined) this.printk('warn', message);
    this.printk('warn', `WARNING: CPU: 0 PID: ${pid} at ${file} ${func}`);
    this.printCallTrace('warn');
    this.printk('warn', `---[ end trace ${this.traceId()} ]---`);
    this.emit({ type: 'warning', file, function: func, message: message ?? null, comm });
  }

  /** WARN_ONCE: at most once per call site per LPAR boot. Returns whether it printed. */
  warnOnce(site: string, file: string, func: string, message: string): boolean {
    if (this.onceFlags.has(site)) return false;
    this.onceFlags.add(site);
    this.warn(file, func, message);
    return true;
  }

  /** dump_stack(): what follows `Bad of_node_put()`. */
  dumpStack(level: LogLevel): void {
    const { comm, pid } = this.tasks.current;
    this.printk(level, `CPU: 0 PID: ${pid} Comm: ${comm} Not tainted`);
    this.printCallTrace(level);
  }

  private printCallTrace(level: LogLevel): void {
    this.printk(level, 'Call Trace:');
    for (const frame of this.tasks.callTrace()) this.printk(level, ` ${frame}`);
  }

  private traceId(): string {
    // Deterministic per LPAR and per warning: a 64-bit mix of the seed and the warning number.
    let a = (this.traceSeed ^ 0x9e3779b9) >>> 0;
    let b = (this.counters.warnings * 0x85ebca6b) >>> 0;
    for (let i = 0; i < 4; i++) {
      a = Math.imul(a ^ (b >>> 15), 0x2c1b3c6d) >>> 0;
      b = Math.imul(b ^ (a >>> 13), 0x297a2d39) >>> 0;
    }
    return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
  }

  /** Who frees an object now: the record a later KASAN report prints. */
  freeRecord(): FreeRecord {
    const { comm, pid } = this.tasks.current;
    return { comm, pid, trace: this.tasks.callTrace().join(' <- '), usec: this.clock.usec };
  }

  /**
   * K-UAF-1: an access through a pointer to `obj`. Returns true when the object is freed (the access
   * is a use-after-free, counted and, with kasan on, reported); execution then goes on with the stale
   * contents, as on a KASAN kernel.
   */
  access(obj: SlabObject, func: string, size: number, write = false): boolean {
    const freed = obj.freed;
    if (freed === null) return false;
    this.counters.useAfterFree += 1;
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
