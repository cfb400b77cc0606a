// A digest of everything in the model of one LPAR (issue 9, "inspection never changes the model"): two
// equal digests mean no kernel state moved in between. Every node ever allocated, the emulated sysfs,
// the phandle cache, the vio bus and every other holder of nodes, the kernel runtime (clock, log,
// tasks, once-flags, slab, counters) and the LPAR's own records go in, in a fixed order. SHA-256 is
// pure computation; nothing here calls a model function or a kernfs read() (a read may run kernel
// code, K-DRV-2): it only looks at fields.
//
// State is digested field by field whatever its name, private fields included (a TypeScript `private`
// is a compile-time rule), so state added later is covered without a change here. A device node met
// anywhere but in the node registry is digested as its address, a kernfs entry as its id, a driver as
// its name; a function or a cycle met anywhere else throws, naming the field this file must learn.

import { createHash, type Hash } from 'node:crypto';
import { KernfsDir, type KernfsNode } from '../kernel/kernfs.ts';
import { BootImage } from '../of/image.ts';
import { type DeviceNode, NodeProperty, PropertyList } from '../of/node.ts';
import type { NodeTable } from '../of/node-table.ts';
import { devicetreeCorrupt, ofOverlayList } from '../of/overlay.ts';
import { type OverlayNode, overlayPath } from '../of/overlay-tree.ts';
import type { OfState } from '../of/state.ts';
import { VIO_DRIVERS } from '../pseries/vio-drivers.ts';
import { hotplugState } from './dlpar.ts';
import type { Lpar } from './lpar.ts';

type Scalar = string | number | boolean | bigint | null | undefined;

/**
 * A prefix-free token stream into SHA-256: strings are JSON text, containers say their kind and size
 * and are closed, bytes go in behind their length. Batched so that hashing is one update per 64 KiB.
 */
class Writer {
  private readonly hash: Hash = createHash('sha256');
  private pending = '';

  key(name: string): void {
    this.push(`${JSON.stringify(name)}:`);
  }

  scalar(value: Scalar): void {
    switch (typeof value) {
      case 'number':
      case 'boolean':
        this.push(`${value},`);
        break;
      case 'bigint':
        this.push(`${value}n,`);
        break;
      case 'undefined':
        this.push('undefined,');
        break;
      default:
        this.push(`${JSON.stringify(value)},`);
    }
  }

  open(kind: string, size: number): void {
    this.push(`${kind}${size}(`);
  }

  close(): void {
    this.push(')');
  }

  bytes(value: Uint8Array): void {
    this.pending += `b${value.length}(`;
    this.flush();
    this.hash.update(value);
    this.push(')');
  }

  done(): string {
    this.flush();
    return this.hash.digest('hex');
  }

  private push(text: string): void {
    this.pending += text;
    if (this.pending.length > 1 << 16) this.flush();
  }

  private flush(): void {
    this.hash.update(this.pending);
    this.pending = '';
  }
}

const asRecord = (o: object) => o as Record<string, unknown>;

/** Static tables of functions (drivers): what can change is which of them is named where. */
const STATIC_TABLES: ReadonlyMap<object, string> = new Map(VIO_DRIVERS.map((d) => [d, `driver:${d.name}`]));

function isKernfsNode(v: object): v is KernfsNode {
  const kind = (v as { kind?: unknown }).kind;
  return (kind === 'dir' || kind === 'file' || kind === 'link') && 'parent' in v && 'mode' in v;
}

/** How the graph of one LPAR is named while its parts are digested. */
class Context {
  private readonly nodes: NodeTable;
  private readonly kernfsIds = new Map<KernfsNode, number>();
  private readonly sysfs: Writer;
  /** Where the walk is (field names), for the message when it meets what it cannot digest. */
  private readonly trail: string[] = [];
  /** The containers being digested: meeting one again is a cycle. */
  private readonly open = new Set<object>();

  constructor(of: OfState, sysfs: Writer) {
    this.nodes = of.nodes;
    this.sysfs = sysfs;
  }

  private uncovered(what: string): Error {
    return new Error(
      `lparDigest: ${this.trail.join('.')} is ${what}, which src/lpar/digest.ts does not know how to digest`,
    );
  }

  private isNode(v: object): v is DeviceNode {
    const address = (v as { address?: unknown }).address;
    return typeof address === 'string' && this.nodes.get(address) === v;
  }

  /** A device node, kernfs entry or driver is digested by the name it has in the graph. */
  private name(v: object): string | null {
    if (this.isNode(v)) return `node:${v.address}`;
    if (isKernfsNode(v)) return this.kernfs(v);
    return STATIC_TABLES.get(v) ?? null;
  }

  /** `value` under field `key`: scalars, bytes, arrays, sets, maps (in their order) and objects' own fields. */
  data(w: Writer, key: string, value: unknown): void {
    this.trail.push(key);
    w.key(key);
    if (typeof value === 'function') throw this.uncovered('a function');
    if (value === null || typeof value !== 'object') w.scalar(value as Scalar);
    else {
      const named = this.name(value);
      if (named !== null) w.scalar(named);
      else this.container(w, value);
    }
    this.trail.pop();
  }

  private container(w: Writer, value: object): void {
    if (this.open.has(value)) throw this.uncovered('a cycle');
    if (value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet)
      throw this.uncovered(`a ${value.constructor.name}`);
    this.open.add(value);
    if (Array.isArray(value)) {
      w.open('a', value.length);
      for (let i = 0; i < value.length; i++) this.data(w, String(i), value[i]);
      w.close();
    } else if (value instanceof Set) {
      w.open('s', value.size);
      let i = 0;
      for (const v of value) this.data(w, String(i++), v);
      w.close();
    } else if (value instanceof Map) {
      w.open('m', value.size);
      for (const [k, v] of value) {
        this.data(w, 'key', k);
        this.data(w, 'value', v);
      }
      w.close();
    } else if (value instanceof Uint8Array) w.bytes(value);
    else if (value instanceof NodeProperty) {
      // Its value lives in a shared store: digest the bytes it holds, not where they are.
      w.open('o', 2);
      this.data(w, 'name', value.name);
      this.data(w, 'value', value.value);
      w.close();
    } else if (value instanceof BootImage) {
      // Immutable boot data (firmware's record points into it): what the nodes read from it is digested
      // with their properties.
      w.scalar('boot image');
    } else if (value instanceof PropertyList) {
      // Boot image or copied: the same list either way.
      w.open('a', value.length);
      for (let i = 0; i < value.length; i++) this.data(w, String(i), value.at(i));
      w.close();
    } else if (value instanceof Date) w.scalar(value.toISOString());
    else this.fields(w, value);
    this.open.delete(value);
  }

  /** Every own field of `value`: a node's own fields too, where pointers to other nodes are addresses. */
  fields(w: Writer, value: object): void {
    const record = asRecord(value);
    const keys = Object.keys(record);
    w.open('o', keys.length);
    for (const key of keys) this.data(w, key, record[key]);
    w.close();
  }

  /**
   * The emulated sysfs by identity: every kernfs entry gets an id the first time it is met (the tree
   * under `/sys` first, depth first in directory order), so whoever owns an entry names it by id. An
   * entry no longer linked into the tree is digested where it is first named.
   */
  kernfs(node: KernfsNode): string {
    return `kernfs#${this.kernfsIds.get(node) ?? this.walk(node)}`;
  }

  private walk(node: KernfsNode): number {
    const id = this.kernfsIds.size;
    this.kernfsIds.set(node, id);
    const w = this.sysfs;
    const saved = this.trail.splice(0);
    this.trail.push(`kernfs#${id}`);
    w.key(`kernfs#${id}`);
    const record = asRecord(node);
    // `read` never runs (a read may have side effects); `order` is kernfs's own index of `entries`; a
    // directory is its name, mode, parent and entries (virtual or not: the same listing).
    const keys =
      node instanceof KernfsDir
        ? ['kind', 'name', 'parent', 'mode', 'entries']
        : Object.keys(record).filter((k) => k !== 'read' && k !== 'order');
    w.open('o', keys.length);
    for (const key of keys) {
      if (key === 'parent') {
        w.key(key);
        w.scalar(node.parent ? this.kernfs(node.parent) : null);
      } else if (key === 'size' && node.kind === 'file') {
        w.key(key);
        w.scalar(node.size()); // what stat reports, without running the reader
      } else if (key === 'entries' && node.kind === 'dir') {
        w.key(key);
        w.open('m', node.entries.size);
        for (const [name, entry] of node.entries) {
          w.scalar(name);
          w.scalar(this.kernfs(entry));
        }
        w.close();
      } else this.data(w, key, key === 'kind' ? node.kind : record[key]);
    }
    w.close();
    this.trail.splice(0, this.trail.length, ...saved);
    return id;
  }
}

type Part = (name: string) => Writer;

function digestOf(part: Part, ctx: Context, of: OfState): void {
  const record = asRecord(of);
  for (const key of Object.keys(record)) {
    const w = part(`of.${key}`);
    switch (key) {
      case 'k':
        break; // the LPAR's kernel, digested as `k.*`
      case 'phandleIndex':
      case 'childIndex':
      case 'valueArena':
      case 'names':
        // The simulator's own indexes and value storage, derived from the nodes digested above: a
        // lookup may build an index, which changes nothing a kernel could see.
        break;
      case 'nodes':
        w.open('m', of.nodes.size);
        for (const [address, np] of of.nodes) {
          w.scalar(address);
          ctx.fields(w, np);
        }
        w.close();
        break;
      case 'reconfigChain':
        // Listeners are closures: their names and order are what can change.
        w.open('a', of.reconfigChain.length);
        for (const l of of.reconfigChain) w.scalar(l.name);
        w.close();
        break;
      default:
        ctx.data(w, key, record[key]);
    }
  }
}

/** An overlay's unflattened tree without its parent pointers (they would be a cycle). */
function overlayTree(np: OverlayNode): unknown {
  return {
    fullName: np.fullName,
    phandle: np.phandle,
    props: np.props,
    children: np.children.map(overlayTree),
  };
}

/**
 * The applied overlays (of/overlay.ts keeps them per OfState in a WeakMap, outside the fields walked
 * above): a replay that lost or reordered one differs here even where the tree came out alike.
 */
function digestOverlays(w: Writer, ctx: Context, of: OfState): void {
  ctx.data(w, 'corrupt', devicetreeCorrupt(of));
  ctx.data(
    w,
    'list',
    ofOverlayList(of).map((o) => ({
      id: o.id,
      tree: overlayTree(o.tree),
      fragments: o.fragments.map((f) => ({ overlay: overlayPath(f.overlay), target: f.target })),
      symbolsFragment: o.symbolsFragment,
      entries: o.cset.entries,
      newNodes: o.newNodes,
    })),
  );
}

/** One digest per part of the model (`k.tasks`, `of.nodes`, `events`, …): what a failure message names. */
export function lparDigestParts(lpar: Lpar): Record<string, string> {
  const writers = new Map<string, Writer>();
  const part: Part = (name) => {
    let w = writers.get(name);
    if (!w) {
      w = new Writer();
      writers.set(name, w);
    }
    return w;
  };
  const ctx = new Context(lpar.of, part('of.sysfs'));
  ctx.kernfs(lpar.of.sysfs); // the linked tree first, so its ids do not depend on who names an entry first
  const record = asRecord(lpar);
  for (const key of Object.keys(record)) {
    switch (key) {
      case 'queue':
        break; // the promise chain that serialises requests, not model state
      case 'bootImage':
        break; // immutable boot data: what the nodes read from it is digested with their properties
      case 'documentCache':
        break; // the text of documents already written, emptied by any kernel action (document-cache.ts)
      case 'of':
        digestOf(part, ctx, lpar.of);
        digestOverlays(part('of.overlays'), ctx, lpar.of);
        break;
      case 'k': {
        const k = asRecord(lpar.k);
        for (const field of Object.keys(k)) ctx.data(part(`k.${field}`), field, k[field]);
        break;
      }
      case 'events': {
        // Ids only grow and kept events never change: the last id says whether one was appended.
        const w = part('events');
        w.key('lastId');
        w.scalar(lpar.events.lastId);
        break;
      }
      default:
        ctx.data(part(key), key, record[key]);
    }
  }
  // The DLPAR hotplug state lives beside the LPAR (dlpar.ts keeps it in a WeakMap, outside the fields
  // walked above): a replay that lost a request differs in its connectors, CPU maps or LMB table.
  ctx.data(part('dlpar'), 'dlpar', hotplugState(lpar) ?? null);
  return Object.fromEntries([...writers].map(([name, w]) => [name, w.done()]));
}

/** SHA-256 over the whole model of `lpar`, hex. */
export function lparDigest(lpar: Lpar): string {
  const hash = createHash('sha256');
  for (const [name, digest] of Object.entries(lparDigestParts(lpar))) hash.update(`${name}=${digest}\n`);
  return hash.digest('hex');
}

/** The names of the parts whose digests differ between two `lparDigestParts` results. */
export function changedParts(before: Record<string, string>, after: Record<string, string>): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((n) => before[n] !== after[n]);
}
