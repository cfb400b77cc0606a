// The child index answers a path component exactly as the kernel's walk of the child list does
// (__of_find_node_by_path: the first child whose full name matches the component exactly),
// through any sequence of attaches and detaches.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ofPeekNodeByPath } from '../../src/of/base.ts';
import { ofAttachNode, ofDetachNode, ofNodeAlloc } from '../../src/of/dynamic.ts';
import { type DeviceNode, OF_DYNAMIC } from '../../src/of/node.ts';
import { enc } from '../../src/of/property.ts';
import { bootTree, fnode } from '../helpers/model.ts';

const RUNS = Number(process.env.LPARSIM_FUZZ_RUNS ?? 40);

/** The kernel's rule, walked: the first child whose full name equals the component. */
function walkChild(parent: DeviceNode, component: string): DeviceNode | null {
  for (let c = parent.child; c; c = c.sibling) if (c.fullName === component) return c;
  return null;
}

const NAMES = ['cpu', 'cpu@0', 'cpu@8', 'l2-cache@2000', 'l2-cache', 'x', 'x@1'];

describe('child index (simulator) = child-list walk (kernel)', () => {
  it('finds the same child for every component after any attaches and detaches', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 60, max: 140 }),
        fc.array(fc.tuple(fc.boolean(), fc.constantFrom(...NAMES), fc.nat()), { maxLength: 60 }),
        (initial, ops) => {
          const kids = Array.from({ length: initial }, (_, i) => fnode(`${NAMES[i % NAMES.length]}`));
          const of = bootTree('5.8', fnode('', {}, [fnode('cpus', {}, kids)]));
          const cpus = ofPeekNodeByPath(of, '/cpus')!;
          for (const [attach, name, pick] of ops) {
            if (attach) {
              const np = ofNodeAlloc(
                of,
                name,
                [{ name: 'name', value: enc.string(name.split('@')[0]!) }],
                OF_DYNAMIC,
              );
              np.parent = cpus;
              ofAttachNode(of, np);
            } else {
              const list: DeviceNode[] = [];
              for (let c = cpus.child; c; c = c.sibling) list.push(c);
              if (list.length) ofDetachNode(of, list[pick % list.length]!);
            }
            for (const component of NAMES)
              assert.equal(
                ofPeekNodeByPath(of, `/cpus/${component}`)?.address ?? null,
                walkChild(cpus, component)?.address ?? null,
                component,
              );
          }
        },
      ),
      {
        numRuns: RUNS,
        seed: process.env.LPARSIM_FUZZ_SEED ? Number(process.env.LPARSIM_FUZZ_SEED) : undefined,
      },
    );
  });
});
