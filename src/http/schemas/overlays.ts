// /v1/lpars/{lpar}/overlays: device-tree overlays applied through the of_changeset model
// (docs/kernel-notes.md note 41), their documents and what an apply or a removal did.

import { Type } from '@sinclair/typebox';
import { Address, Closed, PhandleHex, Ref, StringEnum } from './common.ts';
import { CacheSlot } from './kernel.ts';
import { Counts } from './lpars.ts';
import { NodeState } from './nodes.ts';

const Action = StringEnum(
  ['ATTACH_NODE', 'DETACH_NODE', 'ADD_PROPERTY', 'REMOVE_PROPERTY', 'UPDATE_PROPERTY'] as const,
  { description: "the changeset entry's action (the kernel's OF_RECONFIG_* name)" },
);

export const OverlayId = Type.Integer({
  minimum: 1,
  maximum: 0x7fffffff,
  description: "the overlay's id, as of_overlay_fdt_apply gives it (idr_alloc: the lowest free from 1)",
});

const OverlayNodeBrief = Closed({
  address: Address,
  fullName: Type.String(),
  path: Type.Union([Type.String(), Type.Null()], { description: 'its path while attached, else null' }),
  lastKnownPath: Type.String(),
  phandle: PhandleHex,
  state: NodeState,
});

const Entry = Closed({
  action: Action,
  node: Closed({ address: Address, path: Type.String({ description: "the node's last known path" }) }),
  property: Type.Union([Type.String(), Type.Null()], {
    description: 'the property a property entry adds, updates or removes; null for a node entry',
  }),
});

const overlayFields = {
  id: OverlayId,
  lpar: Type.String(),
  fragments: Type.Array(
    Closed({
      overlay: Type.String({
        description: "the fragment's __overlay__ node (or the overlay's __symbols__) in the overlay",
      }),
      symbols: Type.Boolean({ description: "the overlay's __symbols__, merged into the live /__symbols__" }),
      target: Closed(
        { address: Address, path: Type.String(), state: NodeState },
        { description: 'the live node it applies to (target phandle or target-path), held by the fragment' },
      ),
    }),
  ),
  entries: Type.Array(Entry, { description: 'the of_changeset entries, in the order they were applied' }),
  newNodes: Type.Array(OverlayNodeBrief, {
    description: 'the nodes the changeset made (OF_DYNAMIC | OF_OVERLAY), in the order it attached them',
  }),
  phandleCache: Closed(
    {
      model: StringEnum(['none', 'pow2', 'pow2-refs', 'hash128'] as const),
      handling: StringEnum(['rebuild', 'detach', 'none'] as const, {
        description:
          'rebuild: the overlay code refills the whole cache after an apply and frees and refills it around a removal (4.17 to 5.4); detach: only __of_detach_node evicts a detached node (5.8 and later); none: no cache',
      }),
    },
    { description: "what this kernel's overlay code does with the phandle cache" },
  ),
};

export const OverlayDoc = Closed(overlayFields, {
  $id: 'OverlayDoc',
  description: 'An applied overlay (struct overlay_changeset)',
});

export const OverlayList = Closed(
  { items: Type.Array(Ref(OverlayDoc), { description: 'oldest first: only the last may be removed' }) },
  { $id: 'OverlayList' },
);

const reportFields = {
  dmesg: Type.Array(Type.String(), { description: 'the kernel lines the operation printed' }),
  cacheRebuilds: Type.Integer({
    description: 'times the overlay code threw the phandle cache away and refilled it',
  }),
  staleCacheSlots: Type.Array(Ref(CacheSlot), { description: 'stale cache slots after it' }),
  countsDelta: Ref(Counts, { description: 'counts after it less counts before it' }),
};

export const OverlayApplied = Closed(
  {
    ...overlayFields,
    report: Closed({
      ...reportFields,
      newNodesCached: Type.Integer({
        description:
          'new nodes in the phandle cache right after the apply (the rebuild kernels cache all of them)',
      }),
    }),
  },
  { $id: 'OverlayApplied', description: 'An overlay just applied, with what the apply did' },
);

export const OverlayRemoved = Closed(
  {
    id: OverlayId,
    lpar: Type.String(),
    reverted: Type.Array(Entry, { description: 'the entries reverted, last applied first' }),
    nodes: Type.Array(OverlayNodeBrief, {
      description: "the overlay's nodes now (freed once the changeset's references went, unless held)",
    }),
    report: Closed(reportFields),
  },
  { $id: 'OverlayRemoved', description: 'What of_overlay_remove reverted' },
);
