// The I/O connectors of a partition as firmware knows them: each virtual adapter under /vdevice and
// each top-level I/O node (a PHB, `pci@…`) the partition booted with, found by its
// `ibm,my-drc-index`. What an ibm,configure-connector for one of them hands back is the node as the
// boot tree had it, children included, same name, properties and phandle: firmware describes the
// adapter it assigned, and an adapter given back and re-added is the same adapter
// (docs/kernel-notes.md, I/O DLPAR note).

import type { FdtNode } from '../of/fdt.ts';
import { readU32 } from '../of/property.ts';

function copy(n: FdtNode): FdtNode {
  // Copies: the boot tree's values may be views of the uploaded blob, which this must not keep alive.
  return {
    name: n.name,
    props: n.props.map((p) => ({ name: p.name, value: p.value.slice() })),
    children: n.children.map(copy),
  };
}

function drcOf(n: FdtNode): number | null {
  const p = n.props.find((x) => x.name === 'ibm,my-drc-index');
  return p && p.value.length >= 4 ? (readU32(p.value) ?? null) : null;
}

function typeOf(n: FdtNode): string {
  const p = n.props.find((x) => x.name === 'device_type');
  return p ? new TextDecoder().decode(p.value).replace(/\0.*$/s, '') : '';
}

/** Connector to boot content; the first node recorded for an index wins (a tree may repeat one). */
export class IoConnectors {
  private readonly nodes = new Map<number, FdtNode>();

  add(drc: number, node: FdtNode): void {
    if (!this.nodes.has(drc)) this.nodes.set(drc, copy(node));
  }

  drcs(): IterableIterator<number> {
    return this.nodes.keys();
  }

  get size(): number {
    return this.nodes.size;
  }

  /** A fresh copy of the subtree behind `drc`, or null. */
  nodeForDrc(drc: number): FdtNode | null {
    const n = this.nodes.get(drc);
    return n ? copy(n) : null;
  }
}

/**
 * Records the I/O connectors of a boot tree: children of /vdevice and of the root with an
 * `ibm,my-drc-index`, leaving out memory nodes (LMB connectors) and the platform facilities, whose
 * connector the migration plan re-adds from the destination's values (firmware.ts).
 */
export function recordIoConnectors(boot: FdtNode): IoConnectors {
  const io = new IoConnectors();
  const consider = (n: FdtNode) => {
    if (n.name === 'ibm,platform-facilities' || typeOf(n) === 'memory' || typeOf(n) === 'cpu') return;
    const drc = drcOf(n);
    if (drc !== null) io.add(drc, n);
  };
  const vdevice = boot.children.find((c) => c.name === 'vdevice');
  for (const c of vdevice?.children ?? []) consider(c);
  for (const c of boot.children) if (c !== vdevice) consider(c);
  return io;
}
