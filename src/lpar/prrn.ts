// PRRN on one LPAR (K-PRRN): firmware names some nodes whose resources moved, and the kernel handles
// the RTAS event as its profile says (pseries/prrn.ts). No migration: the LPAR stays on its system.
// The report has the migration report's shape where the two share a meaning.

import { ofPeekNodeByPath } from '../of/base.ts';
import { nodeState } from '../of/node.ts';
import { type FirmwareFault, type FirmwareUpdate, MigrationFirmware } from '../pseries/firmware.ts';
import type { MobilityOperation } from '../pseries/mobility.ts';
import { handleRtasEvent, PRRN_EVENT_SCOPE } from '../pseries/prrn.ts';
import { leaks, lparCounts, phandleHex, staleCacheSlots } from './documents.ts';
import { LparError } from './errors.ts';
import type { Lpar } from './lpar.ts';
import { difference, firmwareCall } from './migrations.ts';
import { checkOfPath } from './views.ts';

/** One node firmware names: by path (firmware gives its phandle) or by the phandle itself. */
export type PrrnNode = (
  | { readonly path: string; readonly phandle?: undefined }
  | { readonly phandle: number; readonly path?: undefined }
) & {
  /** The values update-properties hands back for it (null removes); none: the node is named only. */
  readonly properties?: ReadonlyArray<{ readonly name: string; readonly value: Uint8Array | null }>;
};

export interface PrrnRequest {
  readonly nodes: readonly PrrnNode[];
  /** The scope in the RTAS event (the kernel passes its negation to ibm,update-nodes). */
  readonly scope?: number;
  readonly faults?: readonly FirmwareFault[];
}

/** The service's record of one PRRN event (POST …/prrn answers it). */
export interface PrrnEvent {
  readonly id: string;
  readonly lpar: string;
  readonly system: string;
  readonly scope: number;
  readonly requestedAt: string;
  /** The profile's prrnEvents: what rtasd did with the event. */
  readonly handling: string;
  readonly handled: boolean;
  readonly workList: ReadonlyArray<{ action: string; phandle: string; properties?: string[] }>;
  readonly report: Record<string, unknown>;
}

function unnamed(lpar: Lpar, path: string, why: string): LparError {
  return new LparError(
    'unprocessable',
    'Node firmware cannot name',
    `a PRRN names each node by phandle, and in LPAR ${lpar.config.id} ${path} ${why}`,
  );
}

/** Firmware's work list: one update entry per named node, in the order given. */
function workList(lpar: Lpar, nodes: readonly PrrnNode[]): FirmwareUpdate[] {
  return nodes.map((n) => {
    let phandle: number;
    if (n.path !== undefined) {
      checkOfPath(n.path, lpar.config.pathLimits);
      // Firmware knows the partition's nodes; reading the tree stands for that and touches nothing.
      const np = ofPeekNodeByPath(lpar.of, n.path);
      if (!np) throw unnamed(lpar, n.path, 'is no attached node');
      if (np.phandle === 0) throw unnamed(lpar, n.path, 'has no phandle');
      phandle = np.phandle >>> 0;
    } else phandle = n.phandle >>> 0;
    return { action: 'update', phandle, properties: n.properties ?? [] };
  });
}

function operationDoc(lpar: Lpar, op: MobilityOperation) {
  return {
    ...op,
    phandle: phandleHex(op.phandle),
    node: op.node ? { ...op.node, state: nodeState(lpar.nodeByAddress(op.node.address)) } : null,
  };
}

/**
 * Delivers one PRRN event to the LPAR's kernel as task rtasd and reports what it did. Nodes are
 * resolved before anything runs, so a request naming a node firmware cannot name changes nothing.
 */
export function prrn(lpar: Lpar, req: PrrnRequest, now: () => Date, clockMs: () => number): PrrnEvent {
  lpar.assertAlive();
  const updates = workList(lpar, req.nodes);
  const scope = req.scope ?? PRRN_EVENT_SCOPE;
  const { k, of } = lpar;
  const before = {
    dmesg: k.log.last,
    counts: lparCounts(lpar),
    usec: k.clock.usec,
    events: lpar.events.lastId,
  };
  const started = clockMs();
  lpar.prrnCount += 1;
  const id = `p${lpar.prrnCount}`;
  const requestedAt = now().toISOString();
  const firmware = new MigrationFirmware(lpar.system, lpar.firmwareRecord, updates, req.faults ?? []);
  const result = lpar.run('rtasd', () => handleRtasEvent(of, firmware, scope));
  const renames = lpar.events
    .since(before.events)
    .filter((e) => e.type === 'sysfs.renamed')
    .map((e) => ({ directory: e.data.directory, from: e.data.from, to: e.data.to }));
  const leakedNodes = leaks(lpar).sort((a, b) =>
    a.address < b.address ? -1 : a.address > b.address ? 1 : 0,
  );
  const counts = lparCounts(lpar);
  return {
    id,
    lpar: lpar.config.id,
    system: lpar.system.name,
    scope,
    requestedAt,
    handling: k.profile.prrnEvents,
    handled: result.handled,
    workList: updates.map((u) => ({
      action: u.action,
      phandle: phandleHex(u.phandle),
      properties: (u.properties ?? []).map((p) => p.name),
    })),
    report: {
      rc: result.rc,
      operations: result.operations.map((op) => operationDoc(lpar, op)),
      firmwareCalls: firmware.log.map(firmwareCall),
      dmesg: k.log.since(before.dmesg).map((l) => l.text),
      renames,
      leakedNodes,
      staleCacheSlots: staleCacheSlots(lpar),
      counts,
      countsDelta: difference(counts, before.counts),
      simulatedUsec: k.clock.usec - before.usec,
      durationMs: clockMs() - started,
    },
  };
}
