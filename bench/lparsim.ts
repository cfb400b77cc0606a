// The model API as the bench children use it: a Registry with bench limits, creation that waits for a
// boot that may become asynchronous (chunked creation), and a migration to "the other" system. Only
// child processes import this file (it loads src/ of the snapshot being measured).

import type { Lpar } from '../src/lpar/lpar.ts';
import { migrate } from '../src/lpar/migrations.ts';
import { type CreateLparInput, Registry } from '../src/lpar/registry.ts';
import { sleep } from './lib.ts';

export type { Lpar };

export function benchRegistry(over: { maxLpars?: number; maxNodesPerLpar?: number } = {}): Registry {
  // A cast, so that limits src/ adds later (a memory budget, say) do not stop the bench from compiling.
  return new Registry({
    maxLpars: over.maxLpars ?? 100,
    maxNodesPerLpar: over.maxNodesPerLpar ?? 400_000,
    maxEventsPerLpar: 1000,
    maxTreeDepth: 64,
  } as ConstructorParameters<typeof Registry>[0]);
}

/** Creates an LPAR and waits until it has booted, whether create is synchronous or not. */
export async function createLpar(registry: Registry, input: CreateLparInput): Promise<Lpar> {
  const lpar = (await registry.create(input)) as Lpar & { state?: unknown; ready?: unknown };
  if (lpar.ready && typeof (lpar.ready as Promise<unknown>).then === 'function') await lpar.ready;
  for (let waited = 0; lpar.state === 'booting' && waited < 600_000; waited += 10) await sleep(10);
  return lpar;
}

/** The first built-in managed system of the LPAR's processor that it is not on. */
export function otherSystem(registry: Registry, lpar: Lpar) {
  for (const s of registry.systems.values())
    if (s.processor === lpar.system.processor && s.name !== lpar.system.name) return s;
  throw new Error(`no other ${lpar.system.processor} system for ${lpar.config.id}`);
}

/** One real migration to the other system: its wall time in ms and the migration's final state. */
export async function migrateOnce(registry: Registry, lpar: Lpar): Promise<{ ms: number; state: string }> {
  const destination = otherSystem(registry, lpar);
  const t0 = performance.now();
  const m = await migrate(
    lpar,
    { destination, dryRun: false, faults: [] },
    () => new Date(),
    () => performance.now(),
  );
  return { ms: performance.now() - t0, state: m.state };
}
