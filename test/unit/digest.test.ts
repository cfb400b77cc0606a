// lparDigest (issue 9): the same model gives the same digest, looking at it leaves the digest alone,
// and each single kind of state change moves it, in the part of the model it belongs to.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type KernfsDir, kernfsMkdirP, kernfsRemove } from '../../src/kernel/kernfs.ts';
import { changedParts, lparDigest, lparDigestParts } from '../../src/lpar/digest.ts';
import {
  dmesgDocument,
  driversDocument,
  leaks,
  lparDocument,
  nodeDocument,
  phandleCacheDocument,
  refcounts,
  vioDocument,
} from '../../src/lpar/documents.ts';
import { checkInvariants } from '../../src/lpar/invariants.ts';
import type { Lpar } from '../../src/lpar/lpar.ts';
import { sysfsTar } from '../../src/lpar/sysfs-tar.ts';
import { listDirectory } from '../../src/lpar/views.ts';
import { ofPeekNodeByPath } from '../../src/of/base.ts';
import { HolderTable } from '../../src/of/holders.ts';
import { NodeProperty, OF_DETACHED } from '../../src/of/node.ts';
import { ofNodeGet, ofNodePut } from '../../src/of/refs.ts';
import { BUILTIN_SYSTEMS } from '../../src/pseries/systems.ts';
import { newLpar, te } from '../helpers/model.ts';

const KERNEL = '4.18';
const RNG = '/ibm,platform-facilities/ibm,random-v1';

function node(lpar: Lpar, path: string) {
  const np = ofPeekNodeByPath(lpar.of, path);
  assert.ok(np, path);
  return np;
}

/** Every inspection the lpar layer offers, run once over everything it can look at. */
function lookAtEverything(lpar: Lpar): void {
  for (const np of lpar.of.nodes.values()) nodeDocument(lpar, np);
  refcounts(lpar);
  refcounts(lpar, 'detached');
  leaks(lpar);
  phandleCacheDocument(lpar);
  lparDocument(lpar);
  dmesgDocument(lpar, 0);
  dmesgDocument(lpar, 3, 'err');
  vioDocument(lpar);
  driversDocument(lpar);
  checkInvariants(lpar);
  const walk = (dir: KernfsDir) => {
    listDirectory(lpar, dir);
    for (const e of dir.entries.values()) if (e.kind === 'dir') walk(e);
  };
  walk(lpar.of.sysfs);
  sysfsTar(lpar).destroy(); // the snapshot is taken synchronously
}

describe('lparDigest', () => {
  it('is the same for two LPARs with the same history, and a hex SHA-256', () => {
    const a = newLpar(KERNEL);
    const b = newLpar(KERNEL);
    assert.match(lparDigest(a), /^[0-9a-f]{64}$/);
    assert.equal(lparDigest(a), lparDigest(b));
    assert.notEqual(lparDigest(a), lparDigest(newLpar('5.8')));
  });

  it('does not move when the model is only looked at', () => {
    const lpar = newLpar(KERNEL);
    lpar.migrationCount += 0;
    const before = lparDigestParts(lpar);
    lookAtEverything(lpar);
    lparDigest(lpar);
    assert.deepEqual(changedParts(before, lparDigestParts(lpar)), []);
  });

  // Each change alone, on a fresh LPAR, with the part of the model where it must show.
  const changes: ReadonlyArray<readonly [string, string, (lpar: Lpar) => unknown]> = [
    ['a get', 'of.nodes', (l) => ofNodeGet(l.of, node(l, RNG), 'test')],
    ['a put', 'of.nodes', (l) => ofNodePut(l.of, node(l, RNG), 'of_node_init')],
    ['a get and its put', 'of.nodes', (l) => ofNodePut(l.of, ofNodeGet(l.of, node(l, RNG), 't'), 't')],
    ['a printk', 'k.log', (l) => l.k.printk('info', 'hello')],
    ['a phandle lookup (cache counters)', 'of.cache', (l) => l.lookupPhandle(node(l, RNG).phandle)],
    [
      'a property update',
      'of.nodes',
      (l) => l.ofdt(te.encode(`update_property 0x${node(l, RNG).phandle.toString(16)} status 4 fail`)),
    ],
    ['a pid allocated', 'k.tasks', (l) => l.k.tasks.task('cat')],
    ['a once-flag', 'k.onceFlags', (l) => l.k['onceFlags'].add('site')],
    ['simulated time', 'k.clock', (l) => l.k.clock.advance(1)],
    ['a slab allocation', 'k.slab', (l) => l.k.slab.allocAddress()],
    ['a kernel counter', 'k.counters', (l) => l.k.counters.useAfterFree++],
    ['an undrained event', 'k.events', (l) => l.k.emit({ type: 'x' })],
    ['an event appended', 'events', (l) => l.events.append([{ type: 'x' }], 0)],
    ['an explicit reference', 'refs', (l) => l.get({ address: node(l, RNG).address }, 'drv')],
    ['the migration count', 'migrationCount', (l) => l.migrationCount++],
    [
      'the managed system',
      'system',
      (l) => Object.assign(l, { system: BUILTIN_SYSTEMS.find((s) => s !== l.system) }),
    ],
    ['a sysfs directory', 'of.sysfs', (l) => kernfsMkdirP(l.of.sysfs, 'kernel/debug')],
    [
      'a property file unlinked',
      'of.sysfs',
      (l) => {
        const dir = node(l, RNG).kobj.dir!;
        node(l, RNG).properties.objects(); // the files become entries
        kernfsRemove(dir.get(node(l, RNG).properties.at(0).name)!);
      },
    ],
    ['a vio driver datum', 'vio', (l) => [...l.vio.devices.values()][0]!.data.set('x', 1)],
    [
      'a cache slot',
      'of.cache',
      (l) => l.of.cache.slots.splice(l.of.cache.slots.findIndex(Boolean), 1, null),
    ],
    ['a cache fill collision count', 'of.cache', (l) => l.of.cache.fillCollisions++],
    ['a flag', 'of.nodes', (l) => Object.assign(node(l, RNG), { flags: node(l, RNG).flags | OF_DETACHED })],
    ['a holder', 'of.nodes', (l) => node(l, RNG).holders.set('x', 1)],
    [
      'an unbalanced put record',
      'of.nodes',
      (l) => Object.assign(node(l, RNG), { unbalancedPuts: new HolderTable().set('x', 1) }),
    ],
    ['a ledger operation', 'of.nodes', (l) => node(l, RNG).refLedger.push(1)],
    ['a saturated count', 'of.nodes', (l) => Object.assign(node(l, RNG).kobj.ref, { saturated: true })],
    ['a sysfs name', 'of.nodes', (l) => Object.assign(node(l, RNG).kobj, { sysfsName: 'x' })],
    ['a freed record', 'of.nodes', (l) => Object.assign(node(l, RNG), { freed: l.k.freeRecord() })],
    ['a migration survived', 'of.nodes', (l) => node(l, RNG).migrationsSurvived++],
    [
      'a property value',
      'of.nodes',
      (l) => node(l, RNG).properties.replaceAt(0, new NodeProperty('name', new Uint8Array([1]))),
    ],
    [
      'a dead property',
      'of.nodes',
      (l) => {
        node(l, RNG).deadProperties = [new NodeProperty('x', new Uint8Array())];
      },
    ],
    ['a sibling pointer', 'of.nodes', (l) => Object.assign(node(l, RNG), { sibling: null })],
    ['the unattached set', 'of.unattached', (l) => l.of.unattached.add(node(l, RNG))],
  ];

  for (const [what, where, change] of changes) {
    it(`moves with ${what} (${where})`, () => {
      const lpar = newLpar(KERNEL);
      const before = lparDigestParts(lpar);
      change(lpar);
      const changed = changedParts(before, lparDigestParts(lpar));
      assert.ok(changed.includes(where), `${what} changed ${JSON.stringify(changed)}, not ${where}`);
      assert.notEqual(lparDigest(lpar), lparDigest(newLpar(KERNEL)));
    });
  }

  it('digests state added later by field, with nodes, sysfs entries and drivers by name', () => {
    const lpar = newLpar(KERNEL);
    const rng = node(lpar, RNG);
    const holder = { node: rng, dir: rng.kobj.dir, driver: [...lpar.vio.devices.values()][0]!.driver, n: 1 };
    Object.assign(lpar, { holder });
    const before = lparDigestParts(lpar);
    holder.node = node(lpar, '/vdevice');
    assert.deepEqual(changedParts(before, lparDigestParts(lpar)), ['holder']);
  });

  it('refuses model state it does not know how to digest, naming it', () => {
    const lpar = newLpar(KERNEL);
    Object.assign(lpar.k, { hook: () => {} });
    assert.throws(() => lparDigest(lpar), /hook is a function/);
  });
});
