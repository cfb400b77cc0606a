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

export class KernelLog {
  readonly lines: LogLine[] = [];
  private readonly clock: SimClock;
  constructor(clock: SimClock) {
    this.clock = clock;
  }

  printk(level: LogLevel, text: string): LogLine {
    this.clock.advance(PRINTK_USEC);
    const line: LogLine = { seq: this.lines.length + 1, usec: this.clock.usec, level, text };
    this.lines.push(line);
    return line;
  }

  since(seq: number): LogLine[] {
    return this.lines.slice(Math.max(0, seq));
  }
}
