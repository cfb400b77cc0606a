// Tasks and call chains: every operation runs as a named task with a stable pid (spec section 2), and
// every modelled kernel function pushes a frame so that WARNINGs, stack dumps and KASAN reports can
// print the simulated call trace.

const FIRST_PID = 1021;

export interface Task {
  readonly comm: string;
  readonly pid: number;
}

export class TaskTable {
  private readonly pids = new Map<string, number>();
  private next = FIRST_PID;
  current: Task = { comm: 'swapper/0', pid: 0 };
  /** The simulated call chain, outermost first. */
  readonly frames: string[] = [];

  task(comm: string): Task {
    let pid = this.pids.get(comm);
    if (pid === undefined) {
      pid = this.next;
      this.next += 7;
      this.pids.set(comm, pid);
    }
    return { comm, pid };
  }

  /** Run `fn` as task `comm`; the previous task and call chain are restored afterwards. */
  runAs<T>(comm: string, fn: () => T): T {
    const saved = this.current;
    const depth = this.frames.length;
    this.current = comm === 'swapper/0' ? saved : this.task(comm);
    try {
      return fn();
    } finally {
      this.current = saved;
      this.frames.length = depth;
    }
  }

  /** Innermost first, as a Call Trace prints it. */
  callTrace(): string[] {
    return [...this.frames].reverse();
  }
}
