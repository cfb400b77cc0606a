// The page's picture of one LPAR, built from the API's documents and kept current by its events. No
// kernel logic here: every state, count and name comes from the service.

import { all, api } from './api.js';
import { enc } from './lib.js';

const dirname = (path) => (path === '/' ? null : path.slice(0, path.lastIndexOf('/')) || '/');

/** The nodes whose Node document the tree needs (parent, sysfs name): those off the tree and added ones. */
const needsDocument = (n) => n.state !== 'attached' || n.flags.includes('OF_DYNAMIC');
const MAX_DOCUMENTS = 400;

/** Runs `fn` on each item, `width` at a time. */
async function pool(items, width, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** Everything the LPAR view shows, fetched afresh. */
export async function loadLpar(id) {
  const base = `/v1/lpars/${enc(id)}`;
  const [lpar, nodes, cache, vio, dmesg, migrations] = await Promise.all([
    api(base),
    all(`${base}/nodes`),
    api(`${base}/phandle-cache`),
    api(`${base}/vio`),
    api(`${base}/dmesg`),
    api(`${base}/migrations`),
  ]);
  const byAddress = new Map(nodes.map((n) => [n.address, { ...n }]));
  await fillDocuments(base, byAddress);
  return { lpar, nodes: byAddress, cache, vio: vio.items, dmesg: dmesg.items, migrations: migrations.items };
}

/** Parent and sysfs name of the nodes that need them (needsDocument), from their Node documents. */
export async function fillDocuments(base, byAddress) {
  const wanted = [...byAddress.values()].filter((n) => needsDocument(n) && n.parent === undefined);
  await pool(wanted.slice(0, MAX_DOCUMENTS), 6, async (n) => {
    const doc = await api(`${base}/nodes/${n.address}`).catch(() => null);
    if (!doc) return;
    n.parent = doc.parent;
    n.sysfs = doc.sysfs;
  });
}

/**
 * The tree: each node's children, sorted by name then address, so a node left detached sits beside the
 * node that took its place. A node's parent is its document's when known; an attached node's is the
 * attached node at its path's parent; another's, the node at its last known parent path allocated
 * closest before it (its parent is allocated first), else the attached one there.
 */
export function buildTree(byAddress) {
  const atPath = new Map();
  for (const n of byAddress.values()) {
    const key = n.path ?? n.lastKnownPath;
    if (!atPath.has(key)) atPath.set(key, []);
    atPath.get(key).push(n);
  }
  const parentOf = (n) => {
    if (n.parent !== undefined && n.parent !== null && byAddress.has(n.parent)) return n.parent;
    const up = dirname(n.path ?? n.lastKnownPath);
    if (up === null) return null;
    const there = atPath.get(up) ?? [];
    if (n.state === 'attached') return there.find((p) => p.state === 'attached')?.address ?? null;
    const before = there
      .filter((p) => p.address < n.address)
      .sort((a, b) => (a.address < b.address ? 1 : -1));
    return (before[0] ?? there.find((p) => p.state === 'attached') ?? there[0])?.address ?? null;
  };
  const children = new Map();
  const parents = new Map();
  const roots = [];
  for (const n of byAddress.values()) {
    const p = parentOf(n);
    parents.set(n.address, p);
    if (p === null) roots.push(n.address);
    else {
      if (!children.has(p)) children.set(p, []);
      children.get(p).push(n.address);
    }
  }
  const order = (a, b) => {
    const x = byAddress.get(a);
    const y = byAddress.get(b);
    return x.fullName < y.fullName ? -1 : x.fullName > y.fullName ? 1 : a < b ? -1 : 1;
  };
  for (const list of children.values()) list.sort(order);
  // The live root first; a root that is not attached is a node whose old place is gone.
  roots.sort((a, b) =>
    byAddress.get(a).path === '/' ? -1 : byAddress.get(b).path === '/' ? 1 : order(a, b),
  );
  return { roots, children, parents };
}

/** The name sysfs shows for a node: its directory's (renamed `#N` by safe_name), else its name. */
export const sysfsName = (n) => n.sysfs?.name ?? n.fullName;

/** /sys/firmware/devicetree/base/… of a node, through its parents' sysfs names. */
export function sysfsPath(byAddress, parents, address) {
  const parts = [];
  for (let a = address; a !== null && a !== undefined; a = parents.get(a)) {
    const n = byAddress.get(a);
    if (!n || n.path === '/' || n.lastKnownPath === '/') break;
    parts.unshift(sysfsName(n));
  }
  return `/sys/firmware/devicetree/base${parts.length ? `/${parts.join('/')}` : ''}`;
}

/**
 * Applies one event to the picture (absolute values only: a state, a refcount, a name), and says what
 * else must be fetched: 'nodes' (a node the picture lacks), 'views' (cache, vio, migrations).
 */
export function applyEvent(pic, e) {
  const d = e.data;
  const n = d.address ? pic.nodes.get(d.address) : undefined;
  const needs = new Set();
  switch (e.type) {
    case 'node.allocated':
      if (!n) needs.add('nodes');
      break;
    case 'node.attached':
      if (n) Object.assign(n, { state: 'attached', phandle: d.phandle ?? n.phandle });
      else needs.add('nodes');
      break;
    case 'node.detached':
      if (n)
        Object.assign(n, { state: 'detached', path: null, flags: [...new Set([...n.flags, 'OF_DETACHED'])] });
      break;
    case 'node.released':
      if (n) n.state = 'released';
      break;
    case 'node.freed':
      if (n) n.state = 'freed';
      break;
    case 'ref.get':
    case 'ref.put':
      if (n) Object.assign(n, { refcount: d.refcount, stale: true });
      break;
    case 'ref.unbalanced-put':
      if (n) n.stale = true;
      break;
    case 'sysfs.added':
      if (n) n.sysfs = { inSysfs: true, name: d.name };
      break;
    case 'sysfs.removed':
      if (n) n.sysfs = { inSysfs: false, name: d.name };
      break;
    case 'dmesg':
      pic.dmesg = [...pic.dmesg, { seq: d.seq, usec: e.usec, level: d.level, text: d.text }];
      break;
    case 'phandle-cache.rebuilt':
    case 'vio.registered':
    case 'vio.unregistered':
    case 'migration.completed':
    case 'migration.failed':
    case 'property.added':
    case 'property.removed':
    case 'property.updated':
      needs.add('views');
      break;
  }
  if (n && e.type.startsWith('node.')) n.changedAt = performance.now();
  return needs;
}

/**
 * Two LPARs' nodes lined up for the compare view: a node is matched by its last known path and its
 * place among the nodes that had that path (by address, the order they were allocated in).
 */
export function compareRows(a, b, { refcounts = true } = {}) {
  const keyed = (nodes) => {
    const seen = new Map();
    const out = new Map();
    for (const n of [...nodes.values()].sort((x, y) => (x.address < y.address ? -1 : 1))) {
      const i = seen.get(n.lastKnownPath) ?? 0;
      seen.set(n.lastKnownPath, i + 1);
      out.set(`${n.lastKnownPath}\u0000${i}`, n);
    }
    return out;
  };
  const ka = keyed(a);
  const kb = keyed(b);
  const keys = [...new Set([...ka.keys(), ...kb.keys()])].sort();
  // Refcounts may be left out: a later kernel's extra sysfs or %pOF reference moves every node's count
  // by one and would hide the differences in state, sysfs name and flags that the comparison is for.
  const sig = (n) =>
    n ? `${n.state}|${refcounts ? n.refcount : ''}|${sysfsName(n)}|${n.flags.join(',')}` : 'absent';
  return keys.map((key) => {
    const [path, i] = key.split('\u0000');
    const x = ka.get(key) ?? null;
    const y = kb.get(key) ?? null;
    return { key, path, index: Number(i), a: x, b: y, differs: sig(x) !== sig(y) };
  });
}
