// struct of_changeset (drivers/of/dynamic.c): a list of tree changes applied in order and reverted in
// reverse, each through the same attach/detach/property primitives as every other tree change
// (dynamic.ts, kobj.ts), so sysfs names, references and the phandle cache come out as the kernel's.
// Notifications are a separate pass after the entries, as in the kernel: a listener sees the tree
// with the whole changeset applied (and, in the pow2 kernels, the cache already rebuilt by overlay.ts).

import { ofAttachNodeCore, ofDetachNodeCore, ofPropertyNotify } from './dynamic.ts';
import {
  ofAddPropertySysfs,
  ofAttachNodeSysfs,
  ofDetachNodeSysfs,
  ofRemovePropertySysfs,
  ofUpdatePropertySysfs,
} from './kobj.ts';
import type { DeviceNode, NodeProperty } from './node.ts';
import { ofNodeFullName } from './printk-of.ts';
import { ofNodeGet, ofNodePut } from './refs.ts';
import { type OfState, ofReconfigNotify, type ReconfigAction } from './state.ts';

/** The holder of the reference each changeset entry keeps on its node (of_changeset_action). */
export const CHANGESET_HOLDER = 'of_changeset';

const EEXIST = 17;
const ENODEV = 19;

export interface ChangesetEntry {
  readonly action: ReconfigAction;
  readonly np: DeviceNode;
  /** The property added, removed or the new value of an update. */
  readonly prop: NodeProperty | null;
  /** For an update: the property the update replaces, as found when the entry was made. */
  readonly oldProp: NodeProperty | null;
}

export interface OfChangeset {
  readonly entries: ChangesetEntry[];
}

export function ofChangesetInit(): OfChangeset {
  return { entries: [] };
}

/** of_changeset_action: appends an entry and takes a reference on its node for the entry. */
export function ofChangesetAction(
  of: OfState,
  cs: OfChangeset,
  action: ReconfigAction,
  np: DeviceNode,
  prop: NodeProperty | null,
): number {
  return of.k.fn('of_changeset_action', () => {
    ofNodeGet(of, np, CHANGESET_HOLDER);
    // The entry keeps a pointer to the property it replaces: the list's own object, not a view of
    // the boot image made for this read (the copy-on-write of PropertyList).
    const oldProp =
      action === 'UPDATE_PROPERTY' && prop
        ? (np.properties.objects().find((p) => p.name === prop.name) ?? null)
        : null;
    cs.entries.push({ action, np, prop, oldProp });
    return 0;
  });
}

/** __of_changeset_entry_invert: what undoes an entry. An update of a missing property reverts by removal. */
function invert(ce: ChangesetEntry): ChangesetEntry {
  switch (ce.action) {
    case 'ATTACH_NODE':
      return { ...ce, action: 'DETACH_NODE' };
    case 'DETACH_NODE':
      return { ...ce, action: 'ATTACH_NODE' };
    case 'ADD_PROPERTY':
      return { ...ce, action: 'REMOVE_PROPERTY' };
    case 'REMOVE_PROPERTY':
      return { ...ce, action: 'ADD_PROPERTY' };
    case 'UPDATE_PROPERTY':
      return ce.oldProp
        ? { action: 'UPDATE_PROPERTY', np: ce.np, prop: ce.oldProp, oldProp: ce.prop }
        : { action: 'REMOVE_PROPERTY', np: ce.np, prop: ce.prop, oldProp: null };
  }
}

/** An add or update takes its property back from the dead list if an earlier revert put it there. */
function reviveDeadProperty(np: DeviceNode, pp: NodeProperty): void {
  if (np.deadProperties.includes(pp)) np.deadProperties = np.deadProperties.filter((d) => d !== pp);
}

/**
 * A property entry that fails. 6.6 reworded it (of_changeset_action_err, action padded to 15); the
 * model ties the wording to `detachSysfsInCore`, the dynamic.c rework first seen in the same tree
 * (docs/kernel-notes.md, note 41).
 */
function propertyFailed(
  of: OfState,
  action: ReconfigAction,
  what: string,
  np: DeviceNode,
  pp: NodeProperty,
): void {
  const path = ofNodeFullName(of, np);
  of.k.printk(
    'err',
    of.k.profile.detachSysfsInCore
      ? `OF: changeset: apply failed: ${action.padEnd(15)} ${path}:${pp.name}`
      : `OF: changeset: ${what} failed @${path}/${pp.name}`,
  );
}

/** The tree part of __of_changeset_entry_apply (under devtree_lock in the kernel). */
function applyToTree(of: OfState, ce: ChangesetEntry): number {
  const { np } = ce;
  const pp = ce.prop!;
  switch (ce.action) {
    case 'ATTACH_NODE':
      ofAttachNodeCore(of, np);
      return 0;
    case 'DETACH_NODE':
      ofDetachNodeCore(of, np);
      return 0;
    case 'ADD_PROPERTY':
      reviveDeadProperty(np, pp);
      return of.k.fn('__of_add_property', () => {
        of.k.access(np, '__of_add_property', 8, true);
        if (np.properties.indexOf(pp.name) >= 0) {
          propertyFailed(of, ce.action, 'add_property', np, pp);
          return -EEXIST;
        }
        np.properties.push(pp);
        of.k.emit({ type: 'property.added', address: np.address, name: pp.name, length: pp.length });
        return 0;
      });
    case 'REMOVE_PROPERTY':
      return of.k.fn('__of_remove_property', () => {
        of.k.access(np, '__of_remove_property', 8, true);
        // The kernel unlinks this very property, not the first of its name.
        const objects = np.properties.objects();
        const index = objects.indexOf(pp);
        if (index < 0) {
          propertyFailed(of, ce.action, 'remove_property', np, pp);
          return -ENODEV;
        }
        np.properties.removeAt(index);
        np.deadProperties = [pp, ...np.deadProperties];
        of.k.emit({ type: 'property.removed', address: np.address, name: pp.name });
        return 0;
      });
    case 'UPDATE_PROPERTY':
      reviveDeadProperty(np, pp);
      return of.k.fn('__of_update_property', () => {
        of.k.access(np, '__of_update_property', 8, true);
        const index = np.properties.indexOf(pp.name);
        if (index >= 0) {
          const old = np.properties.replaceAt(index, pp);
          np.deadProperties = [old, ...np.deadProperties];
        } else np.properties.push(pp);
        of.k.emit({ type: 'property.updated', address: np.address, name: pp.name, length: pp.length });
        return 0;
      });
  }
}

/** The sysfs part, after the lock is dropped. */
function applyToSysfs(of: OfState, ce: ChangesetEntry): void {
  const { np } = ce;
  switch (ce.action) {
    case 'ATTACH_NODE':
      ofAttachNodeSysfs(of, np);
      return;
    case 'DETACH_NODE':
      // From 6.6 __of_detach_node did it already (detachSysfsInCore).
      if (!of.k.profile.detachSysfsInCore) ofDetachNodeSysfs(of, np);
      return;
    case 'ADD_PROPERTY':
      ofAddPropertySysfs(of, np, ce.prop!);
      return;
    case 'REMOVE_PROPERTY':
      ofRemovePropertySysfs(np, ce.prop!);
      return;
    case 'UPDATE_PROPERTY':
      ofUpdatePropertySysfs(of, np, ce.prop!, ce.oldProp ?? undefined);
      return;
  }
}

/** __of_changeset_entry_apply */
function entryApply(of: OfState, ce: ChangesetEntry): number {
  return of.k.fn('__of_changeset_entry_apply', () => {
    const rc = applyToTree(of, ce);
    if (rc) return rc;
    applyToSysfs(of, ce);
    return 0;
  });
}

function entryRevert(of: OfState, ce: ChangesetEntry): number {
  return entryApply(of, invert(ce));
}

export interface ChangesetResult {
  /** 0 or the negative errno of the entry that failed. */
  readonly rc: number;
  /** The last error of undoing the entries before it (0 when the undo went through). */
  readonly undoRc: number;
}

/**
 * __of_changeset_apply_entries: in order; on an error, the entries already applied are reverted in
 * reverse and the error returned.
 */
export function ofChangesetApplyEntries(of: OfState, cs: OfChangeset): ChangesetResult {
  return of.k.fn('__of_changeset_apply_entries', () => {
    for (let i = 0; i < cs.entries.length; i++) {
      const rc = entryApply(of, cs.entries[i]!);
      if (!rc) continue;
      of.k.printk('err', `OF: Error applying changeset (${rc})`);
      let undoRc = 0;
      for (let j = i - 1; j >= 0; j--) {
        const r = entryRevert(of, cs.entries[j]!);
        if (r) undoRc = r;
      }
      return { rc, undoRc };
    }
    return { rc: 0, undoRc: 0 };
  });
}

/**
 * __of_changeset_revert_entries: in reverse; on an error, the entries already reverted are applied
 * again in order.
 */
export function ofChangesetRevertEntries(of: OfState, cs: OfChangeset): ChangesetResult {
  return of.k.fn('__of_changeset_revert_entries', () => {
    for (let i = cs.entries.length - 1; i >= 0; i--) {
      const rc = entryRevert(of, cs.entries[i]!);
      if (!rc) continue;
      of.k.printk('err', `OF: Error reverting changeset (${rc})`);
      let undoRc = 0;
      for (let j = i + 1; j < cs.entries.length; j++) {
        const r = entryApply(of, cs.entries[j]!);
        if (r) undoRc = r;
      }
      return { rc, undoRc };
    }
    return { rc: 0, undoRc: 0 };
  });
}

/** __of_changeset_entry_notify: node entries to the reconfig chain; property ones only for nodes in sysfs. */
function entryNotify(of: OfState, ce: ChangesetEntry): void {
  if (ce.action === 'ATTACH_NODE' || ce.action === 'DETACH_NODE') {
    ofReconfigNotify(of, ce.action, { dn: ce.np });
    return;
  }
  ofPropertyNotify(of, ce.action, ce.np, ce.prop!, ce.oldProp ?? undefined);
}

/** __of_changeset_apply_notify: every entry, in order, once all are applied. */
export function ofChangesetApplyNotify(of: OfState, cs: OfChangeset): number {
  return of.k.fn('__of_changeset_apply_notify', () => {
    for (const ce of cs.entries) entryNotify(of, ce);
    return 0;
  });
}

/** __of_changeset_revert_notify: the inverted entries, in reverse. */
export function ofChangesetRevertNotify(of: OfState, cs: OfChangeset): number {
  return of.k.fn('__of_changeset_revert_notify', () => {
    for (let i = cs.entries.length - 1; i >= 0; i--) entryNotify(of, invert(cs.entries[i]!));
    return 0;
  });
}

/** of_changeset_apply: entries, then (when they all applied) the notifications. */
export function ofChangesetApply(of: OfState, cs: OfChangeset): number {
  return of.k.fn('of_changeset_apply', () => {
    const { rc } = ofChangesetApplyEntries(of, cs);
    return rc || ofChangesetApplyNotify(of, cs);
  });
}

/** of_changeset_revert */
export function ofChangesetRevert(of: OfState, cs: OfChangeset): number {
  return of.k.fn('of_changeset_revert', () => {
    const { rc } = ofChangesetRevertEntries(of, cs);
    return rc || ofChangesetRevertNotify(of, cs);
  });
}

/**
 * of_changeset_destroy: entries in reverse, each dropping its node reference. An overlay's attach
 * entry expects to hold the last reference; one more is a leak the kernel reports (and then it does
 * not mark the node free to release).
 */
export function ofChangesetDestroy(
  of: OfState,
  cs: OfChangeset,
  isOverlayNode: (np: DeviceNode) => boolean,
): void {
  of.k.fn('of_changeset_destroy', () => {
    for (let i = cs.entries.length - 1; i >= 0; i--) {
      const ce = cs.entries[i]!;
      if (ce.action === 'ATTACH_NODE' && isOverlayNode(ce.np)) {
        const count = ce.np.kobj.ref.count;
        if (ce.np.kobj.ref.saturated || count > 1)
          of.k.printk(
            'err',
            `OF: ERROR: memory leak, expected refcount 1 instead of ${count}, of_node_get()/of_node_put() unbalanced - destroy cset entry: attach overlay node ${ofNodeFullName(of, ce.np)}`,
          );
      }
      ofNodePut(of, ce.np, CHANGESET_HOLDER);
    }
    cs.entries.length = 0;
  });
}
