// The scenario language as a TypeBox schema (scenarios/README.md). The runner's types are derived from
// it, scenarios/schema.json is generated from it (npm run scenario-schema), and validate.ts turns
// TypeBox's errors into messages naming the file, the step and the key. Every object is closed, and
// every expectation must check something: a scenario must not pass because a key was misspelt.

import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Holder, OfPath, Phandle } from '../http/schemas/common.ts';
import { Counts, LparOptions } from '../http/schemas/lpars.ts';
import { KERNEL_NAMES, SWITCH_NAMES, SWITCH_VALUES, type SwitchName } from '../kernel/profiles.ts';
import { FLAG_NAMES, NODE_STATES } from '../of/node.ts';
import { PLATFORM_FACILITIES } from '../pseries/tree.ts';

/**
 * What validate.ts says about a schema, beyond what it can derive from the schema itself. A symbol, so
 * it survives TypeBox's copies (Type.Optional spreads the schema) and stays out of the JSON file.
 */
export const HINT = Symbol('scenario.hint');
export interface Hint {
  /** What a value must be, for "expected …, saw …". */
  readonly what?: string;
  /** Why an empty object or list is refused (it checks nothing). */
  readonly empty?: string;
  /** Replaces the whole message for a wrong value (e.g. an unknown kernel). */
  readonly wrong?: (value: unknown) => string;
}

/** A copy of `schema` carrying a hint; shared schemas from src/http are never modified. */
function hinted<T extends TSchema>(schema: T, hint: Hint): T {
  return { ...schema, [HINT]: hint };
}

const closed = { additionalProperties: false } as const;
const show = (v: unknown) => JSON.stringify(v);

/** Object.keys with the keys' type: sound for the plain, closed objects of this file. */
function keysOf<T extends object>(o: T): Array<keyof T & string> {
  return Object.keys(o) as Array<keyof T & string>;
}

const oneOfLiterals = <T extends string>(values: readonly T[], options: { description?: string } = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );

// ---- names shared by several keys ----

export const KernelName = hinted(oneOfLiterals(KERNEL_NAMES, { description: 'a kernel profile' }), {
  wrong: (v) => `unknown kernel ${show(v)} (known: ${KERNEL_NAMES.join(', ')})`,
});
export type KernelName = Static<typeof KernelName>;

export const KernelFilter = hinted(
  Type.Union([KernelName, Type.Array(KernelName, { minItems: 1, uniqueItems: true })], {
    description: 'run only for this kernel profile or these profiles',
  }),
  { what: 'a kernel profile or a non-empty list of them' },
);
export type KernelFilter = Static<typeof KernelFilter>;

/** A name the scenario gives (a label, a reference, kept content). */
const Name = hinted(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._-]+$' }), {
  what: 'a name of letters, digits, ".", "_" and "-"',
});
const TreePath = hinted(OfPath, { what: 'an absolute device-tree path' });
const PhandleValue = hinted(Phandle, { what: 'a phandle (a u32 as a number, a decimal or a 0x-hex string)' });
const HolderName = hinted(Holder, { what: 'a holder name (printable, no spaces)' });
export const VIEW_PATH_PATTERN = '^/(sys|proc/device-tree)(/.*)?$';
const ViewPath = hinted(Type.String({ pattern: VIEW_PATH_PATTERN }), {
  what: 'an absolute path under /sys or /proc/device-tree',
});
const Regex = hinted(Type.String({ minLength: 1 }), { what: 'a regular expression' });
const SystemName = hinted(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }), {
  what: 'a managed system name',
});
const Count = Type.Integer({ minimum: 0 });

// ---- node references ----

export const NodeRef = hinted(
  Type.Union(
    [
      Type.Object({ path: TreePath }, { ...closed, description: 'the attached node at this path now' }),
      Type.Object(
        { phandle: PhandleValue },
        { ...closed, description: 'what of_find_node_by_phandle returns now (kernel side effects)' },
      ),
      Type.Object({ label: Name }, { ...closed, description: 'a node recorded earlier by a label step' }),
    ],
    { description: 'exactly one of path, phandle, label' },
  ),
  { what: 'a node reference: exactly one of {"path": …}, {"phandle": …}, {"label": …}' },
);
export type NodeRef = Static<typeof NodeRef>;

// ---- the LPAR ----

/** A kernel switch takes the values the kernel model defines for it (src/kernel/profiles.ts). */
const switchSchema = (name: SwitchName): TSchema => {
  const values = SWITCH_VALUES[name];
  const strings = values.filter((v) => typeof v === 'string');
  return strings.length === values.length ? oneOfLiterals(strings) : Type.Boolean();
};
export const Switches = hinted(
  Type.Object(Object.fromEntries(SWITCH_NAMES.map((n) => [n, Type.Optional(switchSchema(n))])), {
    ...closed,
    minProperties: 1,
    description: 'kernel switches overriding the profile: a what-if kernel',
  }),
  { empty: 'overrides no switch; leave it out' },
);

export const Options = Type.Object(
  {
    ...LparOptions.properties,
    // The route schema's string enum is not checkable by TypeBox's Value; the same values as literals.
    platformFacilities: Type.Optional(
      Type.Array(oneOfLiterals(PLATFORM_FACILITIES), { uniqueItems: true, maxItems: 3 }),
    ),
  },
  { ...closed, description: 'LPAR creation options (POST /v1/lpars)' },
);

export const Lpar = Type.Object(
  {
    profile: Type.Optional(
      oneOfLiterals(['power9', 'power10'], { description: 'tree profile (default power9)' }),
    ),
    phandleScheme: Type.Optional(oneOfLiterals(['phyp', 'dtc'])),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff })),
    options: Type.Optional(Options),
    switches: Type.Optional(Switches),
  },
  { ...closed, description: 'how each run creates its LPAR' },
);

// ---- expectations ----

const nonEmpty = <T extends TSchema>(items: T, what: string, unique = false) =>
  hinted(Type.Array(items, { minItems: 1, ...(unique ? { uniqueItems: true } : {}) }), {
    empty: `an empty list checks nothing; give at least one ${what} or leave the key out`,
  });

export const DMESG_CHECKS = ['contains', 'matches', 'count', 'absent'] as const;
export const DmesgCheck = Type.Object(
  {
    contains: Type.Optional(nonEmpty(Type.String(), 'exact line')),
    matches: Type.Optional(nonEmpty(Regex, 'regular expression')),
    count: Type.Optional(
      hinted(Type.Record(Type.String(), Count, { minProperties: 1 }), {
        empty: 'an empty count checks nothing; give {"<regex>": n} or leave the key out',
      }),
    ),
    absent: Type.Optional(nonEmpty(Regex, 'regular expression')),
    since: Type.Optional(
      hinted(Type.Literal('last', { description: 'only lines added since the previous dmesg check' }), {
        what: '"last"',
      }),
    ),
  },
  { ...closed, description: 'over the log so far, lines without the timestamp prefix' },
);

export const SysfsCheck = hinted(
  Type.Object(
    {
      exists: Type.Optional(nonEmpty(ViewPath, 'path')),
      absent: Type.Optional(nonEmpty(ViewPath, 'path')),
      children: Type.Optional(
        hinted(
          Type.Record(Type.String(), Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true }), {
            minProperties: 1,
            description: 'directory → its subdirectory names (compared sorted; [] means none)',
          }),
          { empty: 'an empty children object checks nothing; give {"<dir>": [names]} or leave it out' },
        ),
      ),
    },
    { ...closed, minProperties: 1, description: 'the emulated /sys and /proc/device-tree' },
  ),
  { empty: 'an empty sysfs checks nothing; give exists, absent or children' },
);

export const NodeCheck = hinted(
  Type.Object(
    {
      node: NodeRef,
      state: Type.Optional(oneOfLiterals(NODE_STATES)),
      refcount: Type.Optional(Type.Union([Count, Type.Literal('saturated')])),
      holders: Type.Optional(
        Type.Array(HolderName, {
          uniqueItems: true,
          description: 'holders of references still held, compared as a set ([] means none)',
        }),
      ),
      flags: Type.Optional(
        Type.Array(oneOfLiterals(FLAG_NAMES.map(([, name]) => name)), {
          uniqueItems: true,
          description: 'compared as a set ([] means none)',
        }),
      ),
    },
    {
      ...closed,
      minProperties: 2,
      description: 'a node and at least one of state, refcount, holders, flags',
    },
  ),
  { empty: 'checks nothing about the node; give state, refcount, holders or flags' },
);

export const COUNT_NAMES = keysOf(Counts.properties);
export const CountsCheck = hinted(
  Type.Partial(Type.Object(Counts.properties), {
    ...closed,
    minProperties: 1,
    description: 'counts for the whole LPAR (GET /v1/lpars/{id})',
  }),
  { empty: `an empty counts checks nothing; give at least one of ${COUNT_NAMES.join(', ')}` },
);

export const LookupCheck = hinted(
  Type.Object(
    {
      phandle: PhandleValue,
      finds: Type.Optional(
        Type.Union([NodeRef, Type.Null()], { description: 'the node it must return, or null for none' }),
      ),
      how: Type.Optional(oneOfLiterals(['hit', 'miss', 'stale-hit'])),
    },
    { ...closed, minProperties: 2, description: 'of_find_node_by_phandle as a kernel caller' },
  ),
  { empty: 'checks nothing about the lookup; give finds or how' },
);

export const ReadCheck = Type.Object(
  { path: ViewPath, equals: Type.String() },
  { ...closed, description: 'the content of a file, read as task cat' },
);

// ---- steps ----

const step = <K extends string, P extends Record<string, TSchema>>(kind: K, props: P, description: string) =>
  Type.Object(
    { do: Type.Literal(kind), kernel: Type.Optional(KernelFilter), ...props },
    { ...closed, description },
  );

export const LabelStep = step('label', { node: NodeRef, as: Name }, "remember the node's address");
export const MigrateStep = step(
  'migrate',
  { to: nonEmpty(SystemName, 'managed system') },
  'one migration per entry, in order',
);
export const OfdtStep = step(
  'ofdt',
  {
    command: Type.String({ minLength: 1, description: 'K-OFDT text; \\xNN escapes become bytes' }),
    expectError: Type.Optional(hinted(Type.String({ pattern: '^E[A-Z0-9]+$' }), { what: 'an errno name' })),
  },
  'one write to /proc/ppc64/ofdt',
);
export const GetStep = step(
  'get',
  { node: NodeRef, holder: HolderName, as: Type.Optional(Name) },
  'of_node_get by a named holder',
);
export const PutStep = hinted(
  Type.Union([
    step('put', { ref: Name }, 'of_node_put of a reference an earlier get step named'),
    step('put', { node: NodeRef, holder: HolderName }, 'of_node_put by a named holder'),
  ]),
  { what: 'a put step: {"ref": …} or {"node": …, "holder": …}' },
);
export const LookupStep = step(
  'lookup',
  { phandle: PhandleValue, as: Type.Optional(Name) },
  'of_find_node_by_phandle as a kernel caller (get, then put)',
);
export const ReadStep = step(
  'read',
  { path: ViewPath, as: Type.Optional(Name) },
  'read a file of the emulated /sys or /proc/device-tree as task cat',
);
export const RebuildCacheStep = step('rebuildCache', {}, 'full phandle-cache invalidation and rescan');
export const PrrnStep = step(
  'prrn',
  {
    nodes: nonEmpty(NodeRef, 'node'),
    scope: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 0x7fffffff, description: "the event's scope (default 2)" }),
    ),
    handled: Type.Optional(
      Type.Boolean({
        description: 'whether the kernel ran the update loop for it (K-PRRN); fails otherwise',
      }),
    ),
  },
  'a PRRN event naming these nodes (each by its phandle; a label or path names the node now there)',
);

const ErrnoName = hinted(
  Type.String({ pattern: '^E[A-Z0-9]+$', description: 'the errno the kernel must refuse it with' }),
  { what: 'an errno name' },
);
const overlayProps = {
  as: Type.Optional(hinted(Name, { what: 'a name for the overlay, for overlay-remove' })),
  expectError: Type.Optional(ErrnoName),
};
export const OverlayStep = hinted(
  Type.Union([
    step(
      'overlay',
      {
        file: Type.String({
          minLength: 1,
          pattern: '\\.(dts|dtbo|dtb)$',
          description:
            'the overlay, relative to the scenario file: a .dts source (/dts-v1/; /plugin/;) compiled with dtc -@ when the scenario is loaded (dtc must be on PATH), or a .dtbo/.dtb blob',
        }),
        ...overlayProps,
      },
      'of_overlay_fdt_apply of an overlay file (POST …/overlays)',
    ),
    step(
      'overlay',
      {
        base64: Type.String({
          minLength: 1,
          pattern: '^[A-Za-z0-9+/=\\s]+$',
          description: 'the blob itself, base64',
        }),
        ...overlayProps,
      },
      'of_overlay_fdt_apply of an inline overlay blob (POST …/overlays)',
    ),
  ]),
  { what: 'an overlay step: {"file": "x.dts"} or {"base64": …}, with optional "as" and "expectError"' },
);
export const OverlayRemoveStep = step(
  'overlay-remove',
  {
    overlay: hinted(Name, { what: 'the name an earlier overlay step gave with "as"' }),
    expectError: Type.Optional(ErrnoName),
  },
  'of_overlay_remove of a named overlay (DELETE …/overlays/{id}); EBUSY unless it is the topmost',
);

/** What a write(2) step may require of the answer: a given rc, or the errno (success otherwise). */
const writeAnswer = {
  rc: Type.Optional(
    Type.Integer({
      minimum: -4095,
      maximum: 4096,
      description: 'what write(2) must answer: the bytes written, or the negative errno; fails otherwise',
    }),
  ),
  expectError: Type.Optional(ErrnoName),
};

export const DlparStep = step(
  'dlpar',
  {
    command: Type.String({
      minLength: 1,
      maxLength: 4096,
      description: 'the exact command drmgr writes, e.g. "cpu add index 0x10000008", "memory remove count 1"',
    }),
    ...writeAnswer,
  },
  'one write to /sys/kernel/dlpar as drmgr (POST …/sys/kernel/dlpar, K-DLPAR-4); a refusal fails the step unless expectError or a negative rc names it',
);

export const SlotStep = step(
  'slot',
  {
    action: oneOfLiterals(['add', 'remove'] as const, {
      description:
        'add writes add_slot (the vio device registered), remove writes remove_slot (unregistered)',
    }),
    drcName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description: 'the drc name drmgr writes, as the tree lists it',
      }),
    ),
    of: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description:
          "instead of drcName: the path of a node whose connector to name; the name is the one its parent's ibm,drc-names lists for its ibm,my-drc-index",
      }),
    ),
    ...writeAnswer,
  },
  "one write of a virtual I/O slot's drc name to /sys/bus/pci/slots/control/add_slot or remove_slot as drmgr (K-SLOT); give drcName or of; a refusal fails the step unless expectError or a negative rc names it",
);

export const EXPECT_CHECKS = ['dmesg', 'sysfs', 'nodes', 'counts', 'lookup', 'read', 'invariants'] as const;
export const ExpectStep = step(
  'expect',
  {
    dmesg: Type.Optional(DmesgCheck),
    sysfs: Type.Optional(SysfsCheck),
    nodes: Type.Optional(nonEmpty(NodeCheck, 'node')),
    counts: Type.Optional(CountsCheck),
    lookup: Type.Optional(LookupCheck),
    read: Type.Optional(ReadCheck),
    invariants: Type.Optional(
      hinted(Type.Literal(true, { description: "the LPAR's invariant check passes" }), {
        what: 'true (false checks nothing; leave the key out)',
      }),
    ),
  },
  'checks; at least one',
);

/** Each step kind's schema, by its `do`. */
export const STEPS = {
  label: LabelStep,
  migrate: MigrateStep,
  ofdt: OfdtStep,
  get: GetStep,
  put: PutStep,
  lookup: LookupStep,
  read: ReadStep,
  rebuildCache: RebuildCacheStep,
  prrn: PrrnStep,
  overlay: OverlayStep,
  'overlay-remove': OverlayRemoveStep,
  dlpar: DlparStep,
  slot: SlotStep,
  expect: ExpectStep,
} as const;
export type StepKind = keyof typeof STEPS;
export const STEP_KINDS = keysOf(STEPS);

export const Step = Type.Union([
  LabelStep,
  MigrateStep,
  OfdtStep,
  GetStep,
  PutStep,
  LookupStep,
  ReadStep,
  RebuildCacheStep,
  PrrnStep,
  OverlayStep,
  OverlayRemoveStep,
  DlparStep,
  SlotStep,
  ExpectStep,
]);
export type Step = Static<typeof Step>;
export type ExpectStep = Static<typeof ExpectStep>;

// ---- the file ----

export const ScenarioSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'for editors: the path of this schema' })),
    name: Type.String({ minLength: 1 }),
    description: Type.Optional(Type.String()),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true })),
    kernels: hinted(Type.Array(KernelName, { minItems: 1, uniqueItems: true }), {
      empty: 'an empty kernels list runs nothing; name at least one kernel profile',
    }),
    lpar: Lpar,
    steps: hinted(Type.Array(Step, { minItems: 1 }), { empty: 'a scenario without steps checks nothing' }),
  },
  {
    ...closed,
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'lparsim scenario',
    description: 'A scenario file (scenarios/README.md). Generated by npm run scenario-schema; do not edit.',
  },
);
export type Scenario = Static<typeof ScenarioSchema>;

// ---- kernel extensions (scenarios-extra/README.md) ----

/** A shared expect step number, 1-based as the runner prints it. */
const StepNumber = '^[1-9][0-9]*$';

export const KernelRun = Type.Object(
  {
    as: hinted(KernelName, {
      what: 'a kernel the extended scenario lists',
      wrong: (v) => `unknown kernel ${show(v)} (known: ${KERNEL_NAMES.join(', ')})`,
    }),
    replace: Type.Optional(
      hinted(
        Type.Record(Type.String({ pattern: StepNumber }), ExpectStep, {
          minProperties: 1,
          description:
            "expect steps of the scenario (by number) this kernel checks differently: this kernel's expectation",
        }),
        { empty: 'an empty replace changes nothing; leave it out' },
      ),
    ),
    append: Type.Optional(nonEmpty(ExpectStep, 'expect step')),
    because: Type.Optional(
      Type.String({ minLength: 1, description: 'why, from docs/kernel-model.md rules' }),
    ),
  },
  {
    ...closed,
    description:
      "run the scenario on this kernel, its steps' kernel filters read as for `as`, with these expectations replaced or added",
  },
);
export type KernelRun = Static<typeof KernelRun>;

export const KernelSkip = Type.Object(
  {
    skip: Type.String({
      minLength: 1,
      description: "why the scenario's behaviour does not apply to this kernel",
    }),
  },
  { ...closed, description: 'the scenario does not run on this kernel' },
);

export const KernelExtensionSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    extends: Type.String({
      minLength: 1,
      pattern: '\\.json$',
      description: 'the scenario file extended, relative to this file',
    }),
    description: Type.Optional(Type.String()),
    kernels: Type.Object(
      Object.fromEntries(KERNEL_NAMES.map((k) => [k, Type.Optional(Type.Union([KernelRun, KernelSkip]))])),
      {
        ...closed,
        minProperties: 1,
        description: 'kernels the scenario does not list: how each runs it, or why not',
      },
    ),
  },
  { ...closed, title: 'lparsim scenario kernel extension' },
);
export type KernelExtension = Static<typeof KernelExtensionSchema>;
