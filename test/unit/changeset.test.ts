// of_changeset on its own: entries applied in order through the ordinary primitives, reverted in
// reverse, notifications after all entries, and an error that undoes what went before it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KERNEL_NAMES } from '../../src/kernel/profiles.ts';
import { ofFindProperty, ofPeekNodeByPath } from '../../src/of/base.ts';
import {
  CHANGESET_HOLDER,
  ofChangesetAction,
  ofChangesetApply,
  ofChangesetDestroy,
  ofChangesetInit,
  ofChangesetRevert,
} from '../../src/of/changeset.ts';
import { propertyInArena } from '../../src/of/dynamic.ts';
import { cString, enc } from '../../src/of/property.ts';
import { ofReconfigNotifierRegister } from '../../src/of/state.ts';
import { bootTree, fnode } from '../helpers/model.ts';

function tree(kernel: string) {
  return bootTree(
    kernel,
    fnode('', {}, [fnode('dev@0', { status: enc.string('disabled'), old: enc.u32(1) })]),
  );
}

for (const kernel of KERNEL_NAMES) {
  describe(`of_changeset on ${kernel}`, () => {
    it('applies in order, notifies afterwards, reverts in reverse', () => {
      const of = tree(kernel);
      const dev = ofPeekNodeByPath(of, '/dev@0')!;
      const seen: string[] = [];
      ofReconfigNotifierRegister(of, {
        name: 'test',
        notify: (action, rd) =>
          seen.push(`${action} ${rd.prop?.name} ${cString(ofFindProperty(dev, 'status')!.value)}`),
      });
      const cs = ofChangesetInit();
      ofChangesetAction(of, cs, 'UPDATE_PROPERTY', dev, propertyInArena(of, 'status', enc.string('okay')));
      ofChangesetAction(of, cs, 'ADD_PROPERTY', dev, propertyInArena(of, 'new', enc.u32(7)));
      ofChangesetAction(of, cs, 'REMOVE_PROPERTY', dev, ofFindProperty(dev, 'old')!);
      assert.equal(dev.holders.get(CHANGESET_HOLDER), 3, 'one reference per entry');
      assert.equal(ofChangesetApply(of, cs), 0);
      // The listener sees the whole changeset applied already, at each notification.
      assert.deepEqual(seen, [
        'UPDATE_PROPERTY status okay',
        'ADD_PROPERTY new okay',
        'REMOVE_PROPERTY old okay',
      ]);
      assert.deepEqual([...dev.kobj.dir!.entries.keys()].sort(), ['name', 'new', 'status']);
      seen.length = 0;
      assert.equal(ofChangesetRevert(of, cs), 0);
      assert.deepEqual(seen, [
        'ADD_PROPERTY old disabled',
        'REMOVE_PROPERTY new disabled',
        'UPDATE_PROPERTY status disabled',
      ]);
      assert.deepEqual(dev.properties.map((p) => p.name).sort(), ['name', 'old', 'status']);
      assert.deepEqual([...dev.kobj.dir!.entries.keys()].sort(), ['name', 'old', 'status']);
      ofChangesetDestroy(of, cs, () => false);
      assert.equal(dev.holders.get(CHANGESET_HOLDER) ?? 0, 0);
    });

    it('an entry that fails undoes the ones before it and answers its errno', () => {
      const of = tree(kernel);
      const dev = ofPeekNodeByPath(of, '/dev@0')!;
      const cs = ofChangesetInit();
      ofChangesetAction(of, cs, 'ADD_PROPERTY', dev, propertyInArena(of, 'new', enc.u32(7)));
      ofChangesetAction(of, cs, 'ADD_PROPERTY', dev, propertyInArena(of, 'status', enc.string('x')));
      assert.equal(ofChangesetApply(of, cs), -17);
      const text = of.k.log.lines.map((l) => l.text).slice(-2);
      const failed = ['6.6', '6.12'].includes(kernel)
        ? 'OF: changeset: apply failed: ADD_PROPERTY    /dev@0:status'
        : 'OF: changeset: add_property failed @/dev@0/status';
      assert.deepEqual(text, [failed, 'OF: Error applying changeset (-17)']);
      assert.equal(ofFindProperty(dev, 'new'), undefined, 'the first entry was reverted');
      assert.equal(cString(ofFindProperty(dev, 'status')!.value), 'disabled');
    });
  });
}
