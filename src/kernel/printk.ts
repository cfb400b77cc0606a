// The kernel log (dmesg) of one LPAR: levels, monotonic timestamps, exact texts (spec section 2).
// Time is simulated so that the same operations always give the same log.

export type LogLevel = 'emerg' | 'alert' | 'crit' | 'err' | 'warn' | 'notice' | 'info' | 'debug';
export const LOG_LEVELS: readonly LogLevel[] = [
  'emerg',
  'alert',
  'crit',
  'err',
  'warn',
  'notice',
  'info',
  'debug',
];

export interface LogLine {
  /** Position in the log, from 1; `?since=` takes this. */
  readonly seq: number;
  /** Microseconds since the LPAR booted. */
  readonly usec: number;
  readonly level: LogLevel;
  readonly text: string;
}

/** `[   12.345678] text`, as dmesg prints it. */
export function formatLogLine(line: LogLine): string {
  const secs = Math.floor(line.usec / 1_000_000);
  const frac = String(line.usec % 1_000_000).padStart(6, '0');
  return `[${String(secs).padStart(5, ' ')}.${frac}] ${line.text}`;
}

export class SimClock {
  usec = 0;
  advance(usec: number): void {
    this.usec += Math.max(0, Math.floor(usec));
  }
}

/** Each printk costs a little simulated time, so consecutive lines have increasing timestamps. */
const PRINTK_USEC = 13;

/**
 * A ring buffer like the kernel's log_buf: the oldest lines go once more than `capacity` are kept.
 * Line numbers (`seq`) keep counting, so `since` answers the same lines whatever was dropped before.
 */
export class KernelLog {
  private buffer: LogLine[] = [];
  private lastSeq = 0;
  private readonly clock: SimClock;
  private readonly capacity: number;
  constructor(clock: SimClock, capacity = 1_000_000) {
    this.clock = clock;
    this.capacity = capacity;
  }

  printk(level: LogLevel, text: string): LogLine {
    this.clock.advance(PRINTK_USEC);
    this.lastSeq += 1;
    const line: LogLine = { seq: this.lastSeq, usec: this.clock.usec, level, text };
    this.buffer.push(line);
    // Dropped in batches so that printk stays O(1) amortised.
    if (this.buffer.length >= this.capacity * 2) this.buffer = this.buffer.slice(-this.capacity);
    return line;
  }

  /** The lines kept, oldest first (at most `capacity` of them, after a trim). */
  get lines(): readonly LogLine[] {
    return this.buffer.length > this.capacity ? this.buffer.slice(-this.capacity) : this.buffer;
  }

  /** The number of the last line printed (0 before the first). */
  get last(): number {
    return this.lastSeq;
  }

  /** Lines after line number `seq` that are still kept. */
  since(seq: number): LogLine[] {
    const kept = this.lines;
    const first = kept.length ? kept[0]!.seq : this.lastSeq + 1;
    return kept.slice(Math.max(0, seq + 1 - first));
  }
}
