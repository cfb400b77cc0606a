// The events of the SSE streams (issue 12, point 2): one closed schema per type, each with a `$id`
// (a named component of the OpenAPI document) and a union of them all discriminated by `type`. An
// event on the wire is an envelope, {id, lpar, usec, type, data}, whose `data` is what the model
// emitted (KernelEvent), with the same `type`. docs/events.md describes every type, and
// test/api/events-schema.test.ts checks that every event the model emits, the docs and this list
// agree.

import { type Static, type TLiteral, type TObject, type TProperties, Type } from '@sinclair/typebox';
import { PhandleHex } from './common.ts';

const Address = Type.String({
  pattern: '^c[0-9a-f]{15}$',
  description: 'the node (simulated kernel address)',
});
const Text = Type.String();
const Int = Type.Integer();
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

/** Each event type: what its data carries besides `type`, and what it means. */
export const EVENT_TYPES = {
  'lpar.booted': {
    description: 'The partition booted (one event for the whole boot, not one per node)',
    fields: { kernel: Text, system: Text, nodes: Int, vioDevices: Int, dmesgLines: Int },
  },
  'lpar.rebooted': {
    description: 'The LPAR was rebooted: this stream ends, the new boot starts another',
    fields: { lpar: Text },
  },
  'lpar.deleted': { description: 'The LPAR was deleted: its stream ends', fields: { lpar: Text } },
  'migration.completed': {
    description: 'A migration (or a dry run) finished: its report is at …/migrations/{migration}',
    fields: { migration: Text, source: Text, destination: Text, dryRun: Type.Boolean() },
  },
  'migration.failed': {
    description: 'A migration failed (the resume returned an error): its report says where',
    fields: { migration: Text, source: Text, destination: Text, dryRun: Type.Boolean() },
  },
  dmesg: {
    description: 'A kernel log line (printk)',
    fields: { seq: Int, level: Text, text: Text },
  },
  warning: {
    description: 'A WARNING block (WARN_ON, refcount_t saturation, Bad of_node_put)',
    fields: { function: Text, site: Text, message: Nullable(Text), comm: Text },
  },
  oops: {
    description: 'A kernel oops: the task is killed (or the partition panics)',
    fields: { address: Text, function: Text, comm: Text },
  },
  panic: { description: 'The partition panicked (panicOnOops)', fields: { reason: Text } },
  'use-after-free': {
    description: 'Kernel code touched a freed node (a KASAN report when kasan is on)',
    fields: { address: Address, function: Text, comm: Text },
  },
  'out-of-bounds': {
    description: "A firmware work area's data ran past its end (pseries_devicetree_update)",
    fields: { function: Text, size: Int },
  },
  'node.allocated': {
    description: 'A device_node was allocated',
    fields: { address: Address, fullName: Text },
  },
  'node.attached': {
    description: 'of_attach_node: the node joined the live tree',
    fields: { address: Address, fullName: Text, phandle: PhandleHex },
  },
  'node.detached': {
    description: 'of_detach_node: OF_DETACHED is set',
    fields: { address: Address, fullName: Text },
  },
  'node.released': {
    description: 'The last reference went: of_node_release ran',
    fields: { address: Address },
  },
  'node.freed': { description: "The node's memory was freed", fields: { address: Address, state: Text } },
  'property.added': {
    description: 'A property was added',
    fields: { address: Address, name: Text, length: Int },
  },
  'property.removed': {
    description: 'A property was removed (kept on the deadprops list)',
    fields: { address: Address, name: Text },
  },
  'property.updated': {
    description: 'A property was updated',
    fields: { address: Address, name: Text, length: Int },
  },
  'ref.get': {
    description: 'of_node_get by a holder',
    fields: { address: Address, holder: Text, refcount: Int },
  },
  'ref.put': {
    description: 'of_node_put by a holder',
    fields: { address: Address, holder: Text, refcount: Int },
  },
  'ref.unbalanced-put': {
    description: 'A put by a holder with nothing outstanding on the node (K-REF-1)',
    fields: { address: Address, holder: Text },
  },
  'sysfs.added': {
    description: "The node's directory was added to sysfs",
    fields: { address: Address, name: Text },
  },
  'sysfs.removed': {
    description: "The node's directory was removed from sysfs",
    fields: { address: Address, name: Text },
  },
  'sysfs.renamed': {
    description: 'safe_name found the name taken and chose another (K-SYSFS-3)',
    fields: { directory: Text, from: Text, to: Text },
  },
  'phandle-cache.rebuilt': {
    description: 'The phandle cache was thrown away and refilled',
    fields: { size: Int },
  },
  reconfig: {
    description: 'An OF reconfig notifier call (attach, detach, property changes)',
    fields: { action: Text, address: Address, property: Nullable(Text) },
  },
  'vio.registered': {
    description: 'A vio device was registered on a node',
    fields: { device: Text, address: Address },
  },
  'vio.unregistered': {
    description: 'A vio device was unregistered',
    fields: { device: Text, address: Address },
  },
  'overlay.applied': {
    description: 'of_overlay_fdt_apply applied an overlay: its id and how many changeset entries it has',
    fields: { id: Int, entries: Int },
  },
  'dlpar.written': {
    description:
      "drmgr's write(2) to /sys/kernel/dlpar returned: the command as written, and the bytes written or a negative errno",
    fields: { command: Text, rc: Int },
  },
  'slot.written': {
    description:
      "drmgr's write(2) to /sys/bus/pci/slots/control/add_slot or remove_slot returned: the file, the drc name the store read (null for a write too long to take), and the bytes written or a negative errno",
    fields: { file: Text, drcName: Nullable(Text), rc: Int },
  },
  'overlay.removed': {
    description: 'of_overlay_remove reverted and freed an overlay',
    fields: { id: Int },
  },
} as const satisfies Record<string, { description: string; fields: TProperties }>;

export type EventType = keyof typeof EVENT_TYPES;
export const EVENT_TYPE_NAMES = Object.keys(EVENT_TYPES) as EventType[];

/** The component name of one event type's schema: `Event.node.attached` → `EventNodeAttached`. */
export function eventSchemaId(type: string): string {
  return `Event${type
    .split(/[.-]/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('')}`;
}

type Envelope<T extends string, F extends TProperties> = TObject<{
  id: ReturnType<typeof Type.Integer>;
  lpar: ReturnType<typeof Type.String>;
  usec: ReturnType<typeof Type.Integer>;
  type: TLiteral<T>;
  data: TObject<F & { type: TLiteral<T> }>;
}>;

function envelope<T extends string, F extends TProperties>(
  type: T,
  description: string,
  fields: F,
): Envelope<T, F> {
  return Type.Object(
    {
      id: Type.Integer({ description: 'per LPAR (Last-Event-ID resumes from it); global on /v1/events' }),
      lpar: Type.String(),
      usec: Type.Integer({ description: 'simulated kernel time, microseconds since boot' }),
      type: Type.Literal(type),
      data: Type.Object({ type: Type.Literal(type), ...fields } as F & { type: TLiteral<T> }, {
        additionalProperties: false,
      }),
    },
    { $id: eventSchemaId(type), description, additionalProperties: false },
  ) as Envelope<T, F>;
}

export const EVENT_SCHEMAS = EVENT_TYPE_NAMES.map((t) =>
  envelope(t, EVENT_TYPES[t].description, EVENT_TYPES[t].fields as TProperties),
);

/** Any event of the streams, by `type`. */
export const LparEventSchema = Type.Union(
  EVENT_SCHEMAS.map((s) => Type.Ref(s.$id!)),
  {
    $id: 'Event',
    description: 'An event of the SSE streams: the `event:` line is its type, the `data:` line this JSON',
    discriminator: { propertyName: 'type' },
  },
);

type FieldsOf<T extends EventType> = (typeof EVENT_TYPES)[T]['fields'];

/** An event as the client's iterator gives it. */
export type LparEventDoc = {
  [T in EventType]: {
    id: number;
    lpar: string;
    usec: number;
    type: T;
    data: { type: T } & Static<TObject<FieldsOf<T>>>;
  };
}[EventType];
