// Migrations of one LPAR: run post_mobility_fixup against a destination's firmware and report what the
// kernel made of it. The report costs the work done and the leaks, never the size of the tree.

import { nodeState } from '../of/node.ts';
import {
  encodeUpdateNodes,
  type FirmwareFault,
  type FirmwareUpdate,
  MigrationFirmware,
  planDestinationUpdates,
  type UnnamedNode,
  unnamedNodes,
} from '../pseries/firmware.ts';
import { type MobilityOperation, pseriesMigratePartition } from '../pseries/mobility.ts';
import type { ManagedSystem } from '../pseries/systems.ts';
import { partitionDrcsIfUsed } from './dlpar.ts';
import { type Counts, leaks, lparCounts, phandleHex, staleCacheSlots } from './documents.ts';
import { conflict, LparError } from './errors.ts';
import type { Lpar } from './lpar.ts';
import { MEMORY_COSTS } from './registry.ts';

export type MigrationState = 'running' | 'completed' | 'failed';

export interface MigrationRequest {
  readonly destination: ManagedSystem;
  readonly dryRun: boolean;
  readonly updates?: readonly FirmwareUpdate[];
  readonly faults: readonly FirmwareFault[];
  /**
   * Asked before a real migration changes anything, with the bytes its work list may add (re-added
   * nodes, new values, the report): the memory budget refuses there (Registry.assertMemoryFor).
   */
  readonly reserve?: (bytes: number, what: string) => void;
}

/** Nodes an `add` entry may bring (configure-connector returns a subtree: a facility node and its children). */
const NODES_PER_ADD = 8;

/** The most a work list can add to the LPAR's memory, as the budget charges it. */
export function migrationGrowthBytes(updates: readonly FirmwareUpdate[]): number {
  let bytes = MEMORY_COSTS.migration;
  for (const u of updates) {
    if (u.action === 'add') bytes += NODES_PER_ADD * MEMORY_COSTS.addedNode;
    for (const p of u.properties ?? []) bytes += (p.value?.length ?? 0) + MEMORY_COSTS.property;
  }
  return bytes;
}

export interface Migration {
  readonly id: string;
  readonly lpar: string;
  readonly source: string;
  readonly destination: string;
  readonly dryRun: boolean;
  state: MigrationState;
  readonly requestedAt: string;
  /** What firmware sends: the decoded work list, and the work areas it fills. */
  readonly workList: ReadonlyArray<{ action: string; phandle: string; drc?: number; properties?: string[] }>;
  readonly workAreas: number;
  report: Record<string, unknown> | null;
}

function keep(lpar: Lpar, migration: Migration): void {
  lpar.events.append(
    [
      {
        type: `migration.${migration.state}`,
        migration: migration.id,
        source: migration.source,
        destination: migration.destination,
        dryRun: migration.dryRun,
      },
    ],
    lpar.k.clock.usec,
  );
  lpar.migrations.push(migration);
  if (lpar.migrations.length > lpar.config.maxMigrationsKept) lpar.migrations.shift();
}

/**
 * An RTAS call as the report shows it: the model's one argument named for what it is (a phandle for
 * ibm,update-properties, a connector for ibm,configure-connector), and as `arg`, its deprecated alias.
 */
export function firmwareCall(c: { call: string; status: number; arg?: number }) {
  if (c.arg === undefined) return { call: c.call, status: c.status };
  const named = c.call === 'ibm,update-properties' ? { phandle: phandleHex(c.arg) } : { drc: c.arg };
  return { call: c.call, status: c.status, ...named, arg: c.arg };
}

/** `after` less `before`, member by member: what a migration changed. */
export function difference(after: Counts, before: Counts): Counts {
  const out = { ...after };
  for (const k of Object.keys(out) as Array<keyof Counts>) out[k] -= before[k];
  return out;
}

/** How long the partition is suspended during the move (simulated time between the two halves). */
const SUSPEND_USEC = 1_800_000;

function describe(u: FirmwareUpdate) {
  return {
    action: u.action,
    phandle: phandleHex(u.phandle),
    ...(u.drc !== undefined ? { drc: u.drc >>> 0 } : {}),
    ...(u.properties ? { properties: u.properties.map((p) => p.name) } : {}),
  };
}

/**
 * A tree that names no phandle for a node firmware must delete, update or add under cannot migrate:
 * the work list would carry phandle 0, which names nothing. Refused before anything changes (no
 * migration record, no dmesg, no state change), so a dry run answers the same.
 */
function unnameable(nodes: readonly UnnamedNode[], lpar: Lpar, destination: ManagedSystem): LparError {
  const list = nodes.map((n) => `${n.path} (${n.uses.join('; ')})`).join(', ');
  return new LparError(
    'unprocessable',
    'Nodes without a phandle',
    `the ibm,update-nodes list ${destination.name} sends names each node by phandle, and LPAR ${lpar.config.id} booted a tree that gives none (no ibm,phandle, phandle or linux,phandle) to: ${list}`,
    { nodes: nodes.map((n) => ({ path: n.path, uses: [...n.uses] })) },
  );
}

/** The destination firmware's work list for this LPAR; refused when a node it names has no phandle. */
function firmwareUpdates(lpar: Lpar, destination: ManagedSystem): FirmwareUpdate[] {
  // The LMBs the partition owns now, where DLPAR changed them (dlpar.ts).
  const plan = planDestinationUpdates(lpar.firmwareRecord, destination, partitionDrcsIfUsed(lpar));
  const unnamed = unnamedNodes(plan);
  if (unnamed.length > 0) throw unnameable(unnamed, lpar, destination);
  return plan.map((p) => p.update);
}

export function migrate(
  lpar: Lpar,
  req: MigrationRequest,
  now: () => Date,
  clockMs: () => number,
): Migration {
  lpar.assertAlive();
  const source = lpar.system;
  if (req.destination.name === source.name)
    throw conflict(
      'Already on that system',
      `LPAR ${lpar.config.id} runs on ${source.name}; migrate it to another managed system`,
    );
  // An explicit list is the client's own: sent as given, phandle 0 and all.
  const updates = req.updates ?? firmwareUpdates(lpar, req.destination);
  if (!req.dryRun)
    req.reserve?.(
      migrationGrowthBytes(updates),
      `a migration of ${lpar.config.id} to ${req.destination.name} (${updates.length} work-list entries)`,
    );
  lpar.migrationCount += 1;
  const id = `m${lpar.migrationCount}`;
  const migration: Migration = {
    id,
    lpar: lpar.config.id,
    source: source.name,
    destination: req.destination.name,
    dryRun: req.dryRun,
    state: 'running',
    requestedAt: now().toISOString(),
    workList: updates.map(describe),
    workAreas: encodeUpdateNodes(updates).length,
    report: null,
  };
  if (req.dryRun) {
    migration.state = 'completed';
    keep(lpar, migration);
    return migration;
  }
  const { k, of } = lpar;
  const before = {
    dmesg: k.log.last,
    counts: lparCounts(lpar),
    usec: k.clock.usec,
    leaked: new Set([...of.unattached].filter((np) => nodeState(np) !== 'freed')),
    events: lpar.events.lastId,
  };
  const started = clockMs();
  const firmware = new MigrationFirmware(req.destination, lpar.firmwareRecord, updates, req.faults);
  const { rc, operations } = lpar.run('drmgr', () =>
    pseriesMigratePartition(of, firmware, lpar.cacheinfo, () => k.clock.advance(SUSPEND_USEC)),
  );
  lpar.system = req.destination;
  // Nodes leaked before this migration and still leaked after it have survived one more.
  for (const np of before.leaked)
    if (nodeState(np) !== 'freed' && nodeState(np) !== 'attached') np.migrationsSurvived += 1;
  migration.state = rc === 0 ? 'completed' : 'failed';
  const renames = lpar.events
    .since(before.events)
    .filter((e) => e.type === 'sysfs.renamed')
    .map((e) => ({ directory: e.data.directory, from: e.data.from, to: e.data.to }));
  // Address order, as GET …/leaks lists them (addresses are fixed-width hex).
  const leakedNodes = leaks(lpar).sort((a, b) =>
    a.address < b.address ? -1 : a.address > b.address ? 1 : 0,
  );
  const staleSlots = staleCacheSlots(lpar);
  const counts = lparCounts(lpar);
  const countsDelta = difference(counts, before.counts);
  migration.report = {
    rc,
    operations: operations.map((op: MobilityOperation) => ({
      ...op,
      phandle: phandleHex(op.phandle),
      node: op.node ? { ...op.node, state: nodeState(lpar.nodeByAddress(op.node.address)) } : null,
    })),
    firmwareCalls: firmware.log.map(firmwareCall),
    dmesg: k.log.since(before.dmesg).map((l) => l.text),
    renames,
    leakedNodes,
    staleCacheSlots: staleSlots,
    counts,
    countsDelta,
    simulatedUsec: k.clock.usec - before.usec,
    durationMs: clockMs() - started,
    // Deprecated aliases, one release (docs/api.md); the same objects, so they cost no copies.
    leftDetached: leakedNodes.filter((n) => n.state !== 'orphaned'),
    orphaned: leakedNodes.filter((n) => n.state === 'orphaned'),
    staleCacheEntries: staleSlots,
    useAfterFree: countsDelta.useAfterFree,
    warnings: countsDelta.warnings,
    sysfsRenames: countsDelta.sysfsRenames,
  };
  keep(lpar, migration);
  return migration;
}
