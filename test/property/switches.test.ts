// Issue 9 item 4: profile switches are independent. Every combination of the boolean switches, with
// each phandle-cache model, boots, takes a DLPAR core and LMB (issue 14), survives a migration pair
// and gives the core back, with the invariants intact. The
// enum switches other than the cache alternate with the combination's parity so both values of each
// are covered too. Model level (no HTTP) so that 8192 kernels fit in seconds.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BOOLEAN_SWITCHES,
  type KernelSwitches,
  kernelProfile,
  type PhandleCacheModel,
  SWITCH_VALUES,
} from '../../src/kernel/profiles.ts';
import { checkInvariants } from '../../src/lpar/invariants.ts';
import { migrate } from '../../src/lpar/migrations.ts';
import { ofPeekNodeByPath } from '../../src/of/base.ts';
import { nodeState } from '../../src/of/node.ts';
import { BUILTIN_SYSTEMS } from '../../src/pseries/systems.ts';
import { newLpar } from '../helpers/model.ts';

const system = (name: string) => BUILTIN_SYSTEMS.find((s) => s.name === name)!;

const MODELS = SWITCH_VALUES.phandleCache as readonly PhandleCacheModel[];

// The first twelve boolean switches run every combination; each later one (the 6.x switches) takes
// the parity of two of those bits, so both of its values meet both values of every other switch
// without multiplying the run time.
const FULL = BOOLEAN_SWITCHES.slice(0, 12);
const PAIRED = BOOLEAN_SWITCHES.slice(12);

function* combinations(): Generator<Partial<KernelSwitches> & { index: number }> {
  const n = FULL.length;
  for (const phandleCache of MODELS) {
    for (let bits = 0; bits < 1 << n; bits++) {
      const switches: Record<string, unknown> = { phandleCache, index: bits };
      FULL.forEach((name, i) => {
        switches[name] = (bits & (1 << i)) !== 0;
      });
      PAIRED.forEach((name, j) => {
        switches[name] = (((bits >> (j + 2)) ^ (bits >> (j + 7))) & 1) !== 0;
      });
      const parity = bits & 1;
      switches.refcount = parity ? 'checked' : 'plain';
      switches.mobilityLookup = (bits >> 1) & 1 ? 'central' : 'per-op';
      yield switches as Partial<KernelSwitches> & { index: number };
    }
  }
}

describe('kernel switches are independent (issue 9 item 4)', () => {
  it(`all 2^${FULL.length} combinations of the first boolean switches (${PAIRED.length} more paired) x ${MODELS.length} cache models survive DLPAR and two migrations with invariants intact`, () => {
    const base = kernelProfile('4.18')!;
    let kernels = 0;
    const seenBehaviour = new Set<string>();
    for (const { index, ...switches } of combinations()) {
      const lpar = newLpar('4.18', {
        switches,
        options: { cores: 1, threadsPerCore: 2, memoryGiB: 1, spareCores: 1, spareMemoryGiB: 1 },
      });
      const dlpar = (command: string) => {
        const r = lpar.dlpar(command);
        assert.ok(r.rc > 0, `${command} in combination ${index}: ${r.errno} ${r.report.dmesg.join(' | ')}`);
      };
      // The overrides took: the running kernel has exactly these switches.
      for (const [name, value] of Object.entries(switches))
        assert.equal(lpar.k.profile[name as keyof KernelSwitches], value, `${name} in combination ${index}`);
      assert.equal(lpar.k.profile.name, base.name);
      const bootPf = ['', '/ibm,random-v1', '/ibm,compression-v1', '/ibm,sym-encryption-v1'].map(
        (p) => ofPeekNodeByPath(lpar.of, `/ibm,platform-facilities${p}`)!,
      );
      dlpar('cpu add index 0x10000001');
      dlpar('memory add count 1');
      for (const destination of ['p9-beta', 'p9-alpha']) {
        const m = migrate(
          lpar,
          { destination: system(destination), dryRun: false, faults: [] },
          () => new Date(0),
          () => 0,
        );
        assert.ok(m.report, `combination ${index}: a report`);
      }
      // The connectors outlive the migrations: the core added before them is removed after.
      dlpar('cpu remove index 0x10000001');
      const inv = checkInvariants(lpar);
      assert.ok(inv.ok, `${JSON.stringify(switches)}: ${JSON.stringify(inv.items.filter((i) => !i.ok))}`);
      // Different switches give different kernels: record what the migration pair left.
      const pf = [...lpar.of.nodes.values()].filter((np) =>
        np.fullName.startsWith('ibm,platform-facilities'),
      );
      // K-MOB-7 holds on both lookup paths: with the skip, the boot subtree stays attached.
      if (switches.skipPlatformFacilities)
        assert.deepEqual(
          bootPf.map((np) => nodeState(np)),
          ['attached', 'attached', 'attached', 'attached'],
          `${JSON.stringify(switches)}: platform facilities untouched`,
        );
      seenBehaviour.add(pf.map((np) => nodeState(np)).join(','));
      kernels += 1;
    }
    assert.equal(kernels, MODELS.length * 2 ** FULL.length);
    assert.ok(
      seenBehaviour.size > 3,
      `the switches change what migrations do (${seenBehaviour.size} outcomes)`,
    );
  });
});
