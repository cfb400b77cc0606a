// What a write(2) a kernel action models did around it (/sys/kernel/dlpar, rpadlpar's slot files): the
// lines it printed, the leaks after it, the counts' change and the simulated time it took, measured
// from a mark taken before the write.

import { leaks, lparCounts } from './documents.ts';
import type { Lpar } from './lpar.ts';
import { difference } from './migrations.ts';

export interface WriteMark {
  readonly dmesg: number;
  readonly counts: ReturnType<typeof lparCounts>;
  readonly usec: number;
}

export interface WriteReport {
  readonly dmesg: string[];
  readonly leakedNodes: ReturnType<typeof leaks>;
  readonly countsDelta: ReturnType<typeof difference>;
  readonly simulatedUsec: number;
}

export function writeMark(lpar: Lpar): WriteMark {
  return { dmesg: lpar.k.log.last, counts: lparCounts(lpar), usec: lpar.k.clock.usec };
}

export function writeReport(lpar: Lpar, mark: WriteMark): WriteReport {
  const { k } = lpar;
  return {
    dmesg: k.log.since(mark.dmesg).map((l) => l.text),
    leakedNodes: leaks(lpar),
    countsDelta: difference(lparCounts(lpar), mark.counts),
    simulatedUsec: k.clock.usec - mark.usec,
  };
}
