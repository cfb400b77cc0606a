// The phandle index answers a cache miss exactly as the kernel's all-nodes walk would (K-NODE-4,
// K-CACHE): for random histories of ofdt writes, lookups and migrations on every profile, the first
// reachable node carrying each phandle is the same by both routes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { KERNEL_NAMES } from '../../src/kernel/profiles.ts';
import { migrate } from '../../src/lpar/migrations.ts';
import { findByWalk, walkFor } from '../../src/of/phandle-cache.ts';
import { BUILTIN_SYSTEMS } from '../../src/pseries/systems.ts';
import { newLpar, te } from '../helpers/model.ts';

const RUNS = Number(process.env.LPARSIM_FUZZ_RUNS ?? 40);
const system = (name: string) => BUILTIN_SYSTEMS.find((s) => s.name === name)!;

type Op =
  | { kind: 'add'; slot: number; phandle: number }
  | { kind: 'remove'; slot: number }
  | { kind: 'lookup'; phandle: number }
  | { kind: 'migrate' };

const PHANDLES = [0x1234, 0x4321, 0xfffffff5, 0xfffffff6, 0xffffffff, 0x77];
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('add' as const),
    slot: fc.integer({ min: 0, max: 3 }),
    phandle: fc.constantFrom(...PHANDLES),
  }),
  fc.record({ kind: fc.constant('remove' as const), slot: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('lookup' as const), phandle: fc.constantFrom(...PHANDLES) }),
  fc.record({ kind: fc.constant('migrate' as const) }),
);

function hex(n: number): string {
  return [24, 16, 8, 0].map((s) => `\\x${((n >>> s) & 0xff).toString(16).padStart(2, '0')}`).join('');
}

function bytes(command: string): Uint8Array {
  // \xNN escapes to bytes, as the scenario files write them.
  const out: number[] = [];
  for (let i = 0; i < command.length; i++) {
    if (command[i] === '\\' && command[i + 1] === 'x') {
      out.push(Number.parseInt(command.slice(i + 2, i + 4), 16));
      i += 3;
    } else out.push(...te.encode(command[i]!));
  }
  return Uint8Array.from(out);
}

describe('phandle index (simulator) = all-nodes walk (kernel)', () => {
  it('answers every phandle as the walk does, after any history', () => {
    fc.assert(
      fc.property(fc.constantFrom(...KERNEL_NAMES), fc.array(op, { maxLength: 25 }), (kernel, ops) => {
        const lpar = newLpar(kernel, { options: { cores: 1, threadsPerCore: 2, memoryGiB: 1 } });
        let destination = 0;
        for (const o of ops) {
          if (o.kind === 'add')
            lpar.ofdt(bytes(`add_node /vdevice/t@${o.slot} name 2 t\\x00 ibm,phandle 4 ${hex(o.phandle)}`));
          else if (o.kind === 'remove') lpar.ofdt(bytes(`remove_node /vdevice/t@${o.slot}`));
          else if (o.kind === 'lookup') lpar.lookupPhandle(o.phandle);
          else
            migrate(
              lpar,
              { destination: system(destination++ % 2 ? 'p9-alpha' : 'p9-beta'), dryRun: false, faults: [] },
              () => new Date(0),
              () => 0,
            );
          for (const h of [...PHANDLES, ...lpar.of.phandleIndex.keys()])
            for (const skip of [false, true])
              assert.equal(
                findByWalk(lpar.of, h)?.address,
                walkFor(lpar.of, h, skip)?.address,
                `0x${h.toString(16)}`,
              );
        }
      }),
      {
        numRuns: RUNS,
        seed: process.env.LPARSIM_FUZZ_SEED ? Number(process.env.LPARSIM_FUZZ_SEED) : undefined,
      },
    );
  });
});
