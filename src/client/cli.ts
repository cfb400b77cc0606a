#!/usr/bin/env node
// The lparsim command line: the typed client from a shell (`npx lparsim <command>`, the package's `bin`).
// Every command is a row of COMMANDS: its arguments, flags, the API operations it calls, what it does
// and how it runs, so `help`, shell completion, flag checking and dispatch cannot disagree, and a test
// can check that every operation of openapi/openapi.json has a command (`help --json` lists the table).
// Lists print as aligned tables, documents as JSON, and everything as JSON with --json; exit codes are
// 0 (done), 1 (the request failed: the problem's title and detail on stderr) and 2 (usage).
// Listings (leaks, refcounts, nodes, ls) follow the service's pages to the end.

import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeCommand } from '../scenario/runner.ts';
import { ApiError, type ClientNodeRef, LparsimClient, type PropertyEdit } from './client.ts';
import { undiciTransport } from './transport.ts';

/** A mistake in how the command was called: exit code 2, with the usage. */
class UsageError extends Error {}

/** Flags every command takes. */
const GLOBAL_FLAGS = ['url', 'token', 'json', 'help'] as const;
const OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  profile: { type: 'string' },
  name: { type: 'string' },
  seed: { type: 'string' },
  system: { type: 'string' },
  'phandle-scheme': { type: 'string' },
  scheme: { type: 'string' }, // deprecated alias of --phandle-scheme (the API says phandleScheme)
  to: { type: 'string', multiple: true },
  'dry-run': { type: 'boolean' },
  since: { type: 'string' },
  scope: { type: 'string' },
  'spare-cores': { type: 'string' },
  'spare-memory': { type: 'string' },
  output: { type: 'string', short: 'o' },
  confirm: { type: 'boolean' },
  processor: { type: 'string' },
  serial: { type: 'string' },
  'machine-type': { type: 'string' },
  string: { type: 'string', multiple: true },
  strings: { type: 'string', multiple: true },
  u32: { type: 'string', multiple: true },
  hex: { type: 'string', multiple: true },
} as const;
type Flag = keyof typeof OPTIONS;

/** Values a flag takes, for completion. */
const FLAG_VALUES: Partial<Record<Flag, readonly string[]>> = {
  profile: ['power9', 'power10'],
  'phandle-scheme': ['phyp', 'dtc'],
  processor: ['POWER9', 'POWER10'],
};
const KERNELS = ['4.16', '4.18', '5.0', '5.8', '5.16'];
/** Deprecated names, kept for one release: old -> new. */
const COMMAND_ALIASES: Readonly<Record<string, string>> = { cache: 'phandle-cache', lookup: 'phandles' };
const FLAG_ALIASES: Readonly<Partial<Record<Flag, Flag>>> = { scheme: 'phandle-scheme' };

type Values = {
  -readonly [K in Flag]?: (typeof OPTIONS)[K] extends { multiple: true }
    ? string[]
    : (typeof OPTIONS)[K] extends { type: 'boolean' }
      ? boolean
      : string;
};

let values: Values = {};
let client: LparsimClient;
const json = () => values.json === true;
const out = (text: string): void => {
  process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
};
/** JSON with --json or for documents; `human` (a table, lines) otherwise when there is one. */
const print = (v: unknown, human?: () => string): void =>
  out(!json() && human ? human() : JSON.stringify(v, null, 2));

/** Columns padded to their widest cell, as `column -t` would. */
function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '))
    .join('\n');
}
/** A table with a header row; `(none)` under the header when there are no rows. */
const listing = (head: readonly string[], rows: readonly (readonly string[])[]): string =>
  rows.length ? table([head, ...rows]) : `${table([head])}\n(none)`;

/** Phandles as users type them, whether the service answers them as numbers or as `0x…` strings. */
const hex = (p: unknown): string =>
  typeof p === 'number' ? `0x${p.toString(16)}` : p === null || p === undefined ? '-' : String(p);
const holders = (hs: unknown): string =>
  Array.isArray(hs) && hs.length
    ? hs.map((h: { holder: string; count: number }) => `${h.holder}(${h.count})`).join(' ')
    : '-';
const text = (v: unknown): string => (v === null || v === undefined ? '-' : String(v));
type Row = Record<string, unknown>;

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
const readInput = async (file: string): Promise<Uint8Array> =>
  new Uint8Array(file === '-' ? await readStdin() : readFileSync(file));

/** `/path` a path, `0x…` or digits a phandle, anything else a node address. */
function nodeRef(arg: string): ClientNodeRef {
  if (arg.startsWith('/')) return { path: arg };
  if (/^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(arg)) return { phandle: arg };
  return { address: arg };
}

function intFlag(flag: Flag): number | undefined {
  const v = values[flag] as string | undefined;
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${flag} takes a whole number, not ${JSON.stringify(v)}`);
  return Number(v);
}

const PROPERTY_FLAGS = ['string', 'strings', 'u32', 'hex'] as const;
/** `--u32 name=1,0x2` and the like, in the order given (a node's properties are ordered). */
function properties(tokens: readonly { kind: string; name?: string; value?: string }[]) {
  const props: PropertyEdit['property'][] = [];
  for (const t of tokens) {
    const kind = PROPERTY_FLAGS.find((f) => f === t.name);
    if (t.kind !== 'option' || !kind) continue;
    const at = (t.value ?? '').indexOf('=');
    if (at < 1) throw new UsageError(`--${kind} takes NAME=VALUE, not ${JSON.stringify(t.value)}`);
    const name = t.value!.slice(0, at);
    const value = t.value!.slice(at + 1);
    if (kind === 'string') props.push({ name, string: value });
    else if (kind === 'strings') {
      // Once per string: a string list's strings may hold commas (compatible = "IBM,vty").
      const last = props.at(-1);
      if (last && 'strings' in last && last.name === name) last.strings.push(value);
      else props.push({ name, strings: [value] });
    } else if (kind === 'hex') props.push({ name, hex: value });
    else {
      const cells = value.split(',').map(Number);
      if (value === '' || cells.some((c) => !Number.isInteger(c) || c < 0 || c > 0xffffffff))
        throw new UsageError(`--u32 takes NAME=N[,N…] (u32 cells), not ${JSON.stringify(t.value)}`);
      props.push({ name, u32: cells });
    }
  }
  return props;
}
let tokens: readonly { kind: string; name?: string; value?: string }[] = [];

function oneProperty(): PropertyEdit['property'] {
  const props = properties(tokens);
  if (props.length !== 1)
    throw new UsageError('give the property once: --string|--strings|--u32|--hex NAME=VALUE');
  return props[0]!;
}

/** `[####------] 2/5`: how far a series of migrations has come. */
function bar(done: number, total: number, width = 20): string {
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`;
}

const eventLine = (e: { id: number; type: string; data: object }): string =>
  json() ? JSON.stringify(e) : `${e.id}\t${e.type}\t${JSON.stringify({ ...e.data, type: undefined })}`;

interface Command {
  readonly args: string;
  readonly summary: string;
  /** The operationIds of openapi/openapi.json it calls. */
  readonly operations: readonly string[];
  /** Positional arguments it needs, and at most takes (default: as many as it needs). */
  readonly needs: number;
  readonly max?: number;
  /** Flags of its own, besides the global ones. */
  readonly flags?: readonly Flag[];
  /** Words to complete as its first argument. */
  readonly words?: readonly string[];
  readonly run: (args: readonly string[]) => Promise<void>;
}

const LPAR_FLAGS: readonly Flag[] = [
  'profile',
  'seed',
  'phandle-scheme',
  'scheme',
  'system',
  'spare-cores',
  'spare-memory',
];
function createBody(kernel: string) {
  const scheme = values['phandle-scheme'] ?? values.scheme;
  // The connectors DLPAR may fill later (the create options spareCores and spareMemoryGiB).
  const spares = (
    [
      ['spareCores', intFlag('spare-cores')],
      ['spareMemoryGiB', intFlag('spare-memory')],
    ] as const
  ).filter(([, v]) => v !== undefined);
  return {
    kernel: kernel as never,
    ...(values.profile ? { profile: values.profile as 'power9' | 'power10' } : {}),
    ...(intFlag('seed') !== undefined ? { seed: intFlag('seed')! } : {}),
    ...(scheme ? { phandleScheme: scheme as 'phyp' | 'dtc' } : {}),
    ...(values.system ? { system: values.system } : {}),
    ...(spares.length ? { options: Object.fromEntries(spares) } : {}),
  };
}

const nodeRows = (items: readonly Row[], survived = false) =>
  items.map((n) => [
    text(n.address),
    text(n.state),
    text(n.refcount),
    ...(survived ? [text(n.migrationsSurvived)] : []),
    hex(n.phandle),
    text(n.path ?? n.lastKnownPath),
    holders(n.holders),
  ]);
const NODE_HEAD = ['ADDRESS', 'STATE', 'REFCOUNT', 'PHANDLE', 'PATH', 'HOLDERS'];

const COMMANDS: Readonly<Record<string, Command>> = {
  health: {
    args: '',
    summary: 'is the service up',
    operations: ['getHealth'],
    needs: 0,
    run: async () => {
      const h = await client.health();
      print(h, () => h.status);
    },
  },
  ready: {
    args: '',
    summary: 'is it ready, with the memory budget and its use (exit 1 when not)',
    operations: ['getReadiness'],
    needs: 0,
    run: async () => {
      const r = await client.readiness();
      print(r, () => r.status);
    },
  },
  metrics: {
    args: '',
    summary: 'the Prometheus metrics, as text',
    operations: ['getMetrics'],
    needs: 0,
    run: async () => out(await client.metrics()),
  },
  profiles: {
    args: '',
    summary: 'the kernel profiles, as a table',
    operations: ['listProfiles'],
    needs: 0,
    run: async () => {
      const p = await client.profiles();
      print(p, () =>
        listing(
          ['KERNEL', 'RELEASE', 'PHANDLE-CACHE', 'REFCOUNT'],
          p.kernelProfiles.map((k) => [k.name, text(k.release), text(k.phandleCache), text(k.refcount)]),
        ),
      );
    },
  },
  systems: {
    args: '',
    summary: 'the managed systems, as a table',
    operations: ['listSystems'],
    needs: 0,
    run: async () => {
      const { items } = await client.systems();
      print(items, () =>
        listing(
          ['NAME', 'PROCESSOR', 'MACHINE-TYPE', 'SERIAL', 'BUILTIN'],
          items.map((s) => [s.name, s.processor, s.machineType, s.serial, String(s.builtin)]),
        ),
      );
    },
  },
  system: {
    args: '<name>',
    summary: 'one managed system',
    operations: ['getSystem'],
    needs: 1,
    run: async ([name]) => print(await client.getSystem(name!)),
  },
  'add-system': {
    args: '<name> --processor POWER9|POWER10 --serial XXXXXXX [--machine-type TTTT-MMM]',
    summary: 'add a managed system to migrate to',
    operations: ['addSystem'],
    needs: 1,
    flags: ['processor', 'serial', 'machine-type'],
    run: async ([name]) => {
      if (!values.processor || !values.serial)
        throw new UsageError('add-system needs --processor and --serial');
      print(
        await client.addSystem({
          name: name!,
          processor: values.processor as 'POWER9' | 'POWER10',
          serial: values.serial,
          ...(values['machine-type'] ? { machineType: values['machine-type'] } : {}),
        }),
      );
    },
  },
  create: {
    args: '<kernel> [--profile power9|power10] [--name N] [--seed S] [--phandle-scheme phyp|dtc] [--system S] [--spare-cores N] [--spare-memory GiB]',
    summary: 'boot an LPAR',
    operations: ['createLpar'],
    needs: 1,
    flags: [...LPAR_FLAGS, 'name'],
    words: KERNELS,
    run: async ([kernel]) =>
      print(
        await client.createLpar({ ...createBody(kernel!), ...(values.name ? { name: values.name } : {}) }),
      ),
  },
  ensure: {
    args: '<name> <kernel> [--profile …] [--seed S] [--phandle-scheme …] [--system S]',
    summary: 'the LPAR <name>: created, or found created with the same body (PUT; 409 for another)',
    operations: ['putLpar'],
    needs: 2,
    flags: LPAR_FLAGS,
    run: async ([name, kernel]) => print(await client.putLpar(name!, createBody(kernel!))),
  },
  'from-dtb': {
    args: '<kernel> <file.dtb|-> [--name N] [--system S]',
    summary: 'boot an LPAR from a flattened tree (dtc -I fs -O dtb /proc/device-tree)',
    operations: ['createLparFromDtb'],
    needs: 2,
    flags: ['name', 'system'],
    words: KERNELS,
    run: async ([kernel, file]) =>
      print(
        await client.createLparFromDtb(await readInput(file!), {
          kernel: kernel!,
          name: values.name,
          system: values.system,
        }),
      ),
  },
  list: {
    args: '',
    summary: 'the LPARs, as a table',
    operations: ['listLpars'],
    needs: 0,
    run: async () => {
      const { items } = await client.listLpars();
      print(items, () =>
        listing(
          ['ID', 'NAME', 'KERNEL', 'SYSTEM', 'NODES'],
          items.map((l) => [l.id, l.name, l.kernel, l.system, String(l.counts.nodes)]),
        ),
      );
    },
  },
  show: {
    args: '<lpar>',
    summary: 'one LPAR with its counts',
    operations: ['getLpar'],
    needs: 1,
    run: async ([l]) => print(await client.getLpar(l!)),
  },
  delete: {
    args: '<lpar>',
    summary: 'delete an LPAR',
    operations: ['deleteLpar'],
    needs: 1,
    run: async ([l]) => {
      await client.deleteLpar(l!);
      print({ deleted: l }, () => `deleted ${l}`);
    },
  },
  'delete-all': {
    args: '--confirm',
    summary: 'delete every LPAR',
    operations: ['deleteAllLpars'],
    needs: 0,
    flags: ['confirm'],
    run: async () => {
      if (!values.confirm) throw new UsageError('delete-all deletes every LPAR: say --confirm');
      const n = await client.deleteAllLpars();
      print({ deleted: n }, () => `deleted ${n} LPAR${n === 1 ? '' : 's'}`);
    },
  },
  reboot: {
    args: '<lpar>',
    summary: 'boot the same tree again',
    operations: ['rebootLpar'],
    needs: 1,
    run: async ([l]) => print(await client.rebootLpar(l!)),
  },
  node: {
    args: '<lpar> <path|address>',
    summary: 'the attached node at a path, or any node ever allocated by its address',
    operations: ['getNodes', 'getNodeByAddress'],
    needs: 2,
    run: async ([l, p]) =>
      print(await (p!.startsWith('/') ? client.nodeByPath(l!, p!) : client.nodeByAddress(l!, p!))),
  },
  nodes: {
    args: '<lpar> <state>',
    summary: 'every node in a state (attached, detached, released, freed, orphaned), as a table',
    operations: ['getNodes'],
    needs: 2,
    run: async ([l, state]) => {
      const r = await client.nodesByState(l!, state!);
      print(r, () => listing(NODE_HEAD, nodeRows(r.items as Row[])));
    },
  },
  'add-node': {
    args: '<lpar> <path> [--string|--strings|--u32|--hex NAME=VALUE …]',
    summary: 'add_node with properties (--string text, --strings once per string, --u32 1,0x2, --hex 00ff)',
    operations: ['addNode'],
    needs: 2,
    flags: PROPERTY_FLAGS,
    run: async ([l, path]) =>
      print(await client.addNode(l!, { path: path!, properties: properties(tokens) })),
  },
  'remove-node': {
    args: '<lpar> <path>',
    summary: 'remove_node',
    operations: ['removeNode'],
    needs: 2,
    run: async ([l, path]) => print(await client.removeNode(l!, path!)),
  },
  'add-property': {
    args: '<lpar> <phandle> --string|--strings|--u32|--hex NAME=VALUE',
    summary: 'add_property to the node the phandle finds',
    operations: ['addProperty'],
    needs: 2,
    flags: PROPERTY_FLAGS,
    run: async ([l, phandle]) =>
      print(await client.addProperty(l!, { phandle: phandle!, property: oneProperty() })),
  },
  'update-property': {
    args: '<lpar> <phandle> --string|--strings|--u32|--hex NAME=VALUE',
    summary: 'update_property of the node the phandle finds',
    operations: ['updateProperty'],
    needs: 2,
    flags: PROPERTY_FLAGS,
    run: async ([l, phandle]) =>
      print(await client.updateProperty(l!, { phandle: phandle!, property: oneProperty() })),
  },
  'remove-property': {
    args: '<lpar> <phandle> <name>',
    summary: 'remove_property',
    operations: ['removeProperty'],
    needs: 3,
    run: async ([l, phandle, name]) => print(await client.removeProperty(l!, phandle!, name!)),
  },
  phandles: {
    args: '<lpar> <phandle>',
    summary: 'of_find_node_by_phandle now, and how: hit, miss, stale hit (a kernel action)',
    operations: ['findNodeByPhandle'],
    needs: 2,
    run: async ([l, p]) => print(await client.findNodeByPhandle(l!, p!)),
  },
  'get-ref': {
    args: '<lpar> <path|address|phandle> <holder>',
    summary: 'of_node_get by a named holder',
    operations: ['getRef'],
    needs: 3,
    run: async ([l, node, holder]) => print(await client.get(l!, nodeRef(node!), holder!)),
  },
  'put-ref': {
    args: '<lpar> (<ref> | <path|address> <holder>)',
    summary: 'of_node_put of a reference taken with get-ref, or of one a holder has',
    operations: ['putRef', 'putByHolder'],
    needs: 2,
    max: 3,
    run: async ([l, ref, holder]) =>
      print(holder ? await client.putByHolder(l!, nodeRef(ref!), holder) : await client.putRef(l!, ref!)),
  },
  refs: {
    args: '<lpar>',
    summary: 'references taken with get-ref and not yet put, as a table',
    operations: ['listRefs'],
    needs: 1,
    run: async ([l]) => {
      const { items } = await client.listRefs(l!);
      print({ items }, () =>
        listing(
          ['ID', 'HOLDER', 'ADDRESS', 'STATE', 'PATH'],
          items.map((r) => {
            const n = r.node as Row;
            return [r.id, r.holder, text(n.address), text(n.state), text(n.path ?? n.lastKnownPath)];
          }),
        ),
      );
    },
  },
  refcounts: {
    args: '<lpar> [state]',
    summary: 'every node with its count and holders, as a table',
    operations: ['listRefcounts'],
    needs: 1,
    max: 2,
    run: async ([l, state]) => {
      const r = await client.refcounts(l!, state);
      print(r, () => listing(NODE_HEAD, nodeRows(r.items as Row[])));
    },
  },
  leaks: {
    args: '<lpar>',
    summary: 'detached, held and orphaned nodes, as a table',
    operations: ['listLeaks'],
    needs: 1,
    run: async ([l]) => {
      const r = await client.leaks(l!);
      print(r, () =>
        listing(
          ['ADDRESS', 'STATE', 'REFCOUNT', 'SURVIVED', 'PHANDLE', 'PATH', 'HOLDERS'],
          nodeRows(r.items as Row[], true),
        ),
      );
    },
  },
  ofdt: {
    args: '<lpar> <command…|->',
    summary: 'one write to /proc/ppc64/ofdt (\\xNN escapes allowed; - reads the raw bytes from stdin)',
    operations: ['writeOfdt'],
    needs: 2,
    max: Number.POSITIVE_INFINITY,
    run: async ([l, ...cmd]) =>
      print(await client.ofdt(l!, cmd.join(' ') === '-' ? await readStdin() : decodeCommand(cmd.join(' ')))),
  },
  ls: {
    args: '<lpar> <path>',
    summary: 'a /sys or /proc/device-tree directory (every page), or a file’s metadata',
    operations: ['getSys', 'getSysRoot', 'getProcDeviceTree', 'getProcDeviceTreeRoot'],
    needs: 2,
    words: ['/sys/', '/proc/device-tree/'],
    run: async ([l, p]) => {
      const entry = await client.list(l!, p!);
      const items = [...(entry.items ?? [entry])].sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
      );
      print(entry, () =>
        table(
          items.map((e) => [e.mode, e.type, String(e.size), `${e.name}${e.target ? ` -> ${e.target}` : ''}`]),
        ),
      );
    },
  },
  read: {
    args: '<lpar> <path>',
    summary: 'a /sys or /proc/device-tree file, as bytes (as cat: a kernel action)',
    operations: ['getSys', 'getProcDeviceTree'],
    needs: 2,
    words: ['/sys/', '/proc/device-tree/'],
    run: async ([l, p]) => {
      process.stdout.write(await client.read(l!, p!));
    },
  },
  export: {
    args: '<lpar> dtb|dts|sysfs.tar|sysfs.tar.gz [-o FILE]',
    summary: 'the attached tree as a DTB, DTS, or /sys/firmware/devicetree/base tar, to stdout or FILE',
    operations: ['exportTreeDtb', 'exportTreeDts', 'exportSysfsTar', 'exportSysfsTarGz'],
    needs: 2,
    flags: ['output'],
    run: async ([l, format]) => {
      const get = {
        dtb: client.treeDtb,
        dts: client.treeDts,
        'sysfs.tar': client.sysfsTar,
        'sysfs.tar.gz': client.sysfsTarGz,
      }[format!];
      if (!get) throw new UsageError(`export writes dtb, dts, sysfs.tar or sysfs.tar.gz, not ${format}`);
      if (!values.output && format !== 'dts' && process.stdout.isTTY)
        throw new UsageError(`${format} is binary: redirect stdout or give -o FILE`);
      const body = await get(l!);
      if (values.output) writeFileSync(values.output, body);
      else process.stdout.write(body);
    },
  },
  dmesg: {
    args: '<lpar> [--since N]',
    summary: 'the kernel log (after line N)',
    operations: ['getDmesg'],
    needs: 1,
    flags: ['since'],
    run: async ([l]) => {
      const log = await client.dmesg(l!, intFlag('since') ?? 0);
      print(log, () => log.items.map((x) => x.line).join('\n'));
    },
  },
  'phandle-cache': {
    args: '<lpar>',
    summary: 'the phandle cache, slot by slot, as a table',
    operations: ['getPhandleCache'],
    needs: 1,
    run: async ([l]) => {
      const c = await client.phandleCache(l!);
      const slots = (c.slots ?? []) as Row[];
      print(c, () =>
        [
          `model ${text(c.model)}, size ${text(c.size)}, ${slots.length} filled, ${text(c.counts.staleCacheEntries)} stale`,
          listing(
            ['SLOT', 'PHANDLE', 'STATE', 'STALE', 'PATH'],
            slots.map((s) => [
              text(s.slot),
              hex(s.phandle),
              text(s.state),
              text(s.stale),
              text(s.path ?? s.lastKnownPath),
            ]),
          ),
        ].join('\n'),
      );
    },
  },
  'rebuild-phandle-cache': {
    args: '<lpar>',
    summary: 'rebuild the phandle cache (a kernel action)',
    operations: ['rebuildPhandleCache'],
    needs: 1,
    run: async ([l]) => print(await client.rebuildPhandleCache(l!)),
  },
  vio: {
    args: '<lpar>',
    summary: 'the vio devices, their nodes and references, as a table',
    operations: ['listVioDevices'],
    needs: 1,
    run: async ([l]) => {
      const r = await client.vio(l!);
      print(r, () =>
        listing(
          ['DEVICE', 'DRIVER', 'STATE', 'REFCOUNT', 'NODE'],
          r.items.map((d) => {
            const n = (d.node ?? {}) as Row;
            return [
              text(d.name),
              text(d.driver),
              text(n.state),
              text(n.refcount),
              text(n.path ?? n.lastKnownPath),
            ];
          }),
        ),
      );
    },
  },
  drivers: {
    args: '<lpar>',
    summary: 'the vio drivers and what they bound, as a table',
    operations: ['listVioDrivers'],
    needs: 1,
    run: async ([l]) => {
      const r = await client.drivers(l!);
      print(r, () =>
        listing(
          ['DRIVER', 'COMPATIBLE', 'UPDATES', 'DEVICES'],
          r.items.map((d) => [
            text(d.name),
            text(d.compatible),
            d.listensForUpdates ? 'listens' : '-',
            Array.isArray(d.devices) && d.devices.length ? d.devices.join(' ') : '-',
          ]),
        ),
      );
    },
  },
  invariants: {
    args: '<lpar>',
    summary: 'the model’s own consistency checks, as a table',
    operations: ['checkInvariants'],
    needs: 1,
    run: async ([l]) => {
      const r = await client.invariants(l!);
      print(r, () =>
        listing(
          ['CHECK', 'OK', 'DETAILS'],
          r.items.map((i) => [i.name, String(i.ok), i.details.join('; ') || '-']),
        ),
      );
    },
  },
  migrate: {
    args: '<lpar> (<system> | --to A --to B …) [--dry-run]',
    summary: 'migrate, or a series of migrations with a progress bar, one line each',
    operations: ['migrateLpar'],
    needs: 1,
    max: 2,
    flags: ['to', 'dry-run'],
    run: async ([l, system]) => {
      const series = [...(system ? [system] : []), ...(values.to ?? [])];
      if (series.length === 0) throw new UsageError('migrate needs a system, or --to once per migration');
      const live = !json() && process.stderr.isTTY;
      const reports = [];
      for (const [i, destination] of series.entries()) {
        if (live) process.stderr.write(`\r${bar(i, series.length)} migrating to ${destination}…\x1b[K`);
        const m = await client.migrate(l!, { destination, ...(values['dry-run'] ? { dryRun: true } : {}) });
        reports.push(m);
        if (live) process.stderr.write('\r\x1b[K');
        const r = (m.report ?? {}) as Row;
        const renames = Array.isArray(r.renames) ? r.renames.length : 0;
        if (!json())
          out(
            `${bar(i + 1, series.length)} ${m.id} → ${destination}: ${m.state}` +
              (m.report
                ? ` (warnings ${text((r.countsDelta as Row | undefined)?.warnings)}, renames ${renames})`
                : ''),
          );
      }
      if (json()) print(reports.length === 1 ? reports[0] : reports);
    },
  },
  prrn: {
    args: '<lpar> <node>… [--scope N]',
    summary: 'a PRRN event: firmware names nodes (/path or phandle) whose resources moved',
    operations: ['prrnUpdate'],
    needs: 2,
    max: 10_000,
    flags: ['scope'],
    run: async ([l, ...nodes]) => {
      const scope = intFlag('scope');
      const e = await client.prrnUpdate(l!, {
        nodes: nodes.map((n) => (n.startsWith('/') ? { path: n } : { phandle: n })),
        ...(scope !== undefined ? { scope } : {}),
      });
      print(e, () =>
        [
          `${e.id} (${e.handling}): ${e.handled ? `${e.report.operations.length} entries, rc ${e.report.rc}` : 'not handled'}`,
          ...e.report.operations.map(
            (o) =>
              `  ${o.action} ${o.phandle} ${o.node?.path ?? '-'}: ${o.outcome}${o.prrn ? ` (${o.prrn})` : ''}`,
          ),
          ...e.report.dmesg.map((d) => `  dmesg: ${d}`),
        ].join('\n'),
      );
    },
  },
  'overlay-apply': {
    args: '<lpar> <file.dtbo|->',
    summary: 'apply a device-tree overlay (dtc -@ -I dts -O dtb overlay.dts)',
    operations: ['applyOverlay'],
    needs: 2,
    run: async ([l, file]) => {
      const o = await client.applyOverlay(l!, await readInput(file!));
      print(o, () =>
        [
          `overlay ${o.id}: ${o.entries.length} entries, cache ${o.phandleCache.model} (${o.phandleCache.handling}): ${o.report.cacheRebuilds} rebuilds, ${o.report.newNodesCached} of ${o.newNodes.length} new nodes cached`,
          ...o.newNodes.map((n) => `  ${n.address} ${n.path ?? n.lastKnownPath} ${n.phandle} ${n.state}`),
          ...o.report.dmesg.map((d) => `  dmesg: ${d}`),
        ].join('\n'),
      );
    },
  },
  overlays: {
    args: '<lpar>',
    summary: 'the applied overlays, oldest first (only the last may be removed)',
    operations: ['listOverlays'],
    needs: 1,
    run: async ([l]) => {
      const { items } = await client.listOverlays(l!);
      print(items, () =>
        listing(
          ['id', 'fragments', 'entries', 'new-nodes', 'targets'],
          items.map((o) => [
            String(o.id),
            String(o.fragments.length),
            String(o.entries.length),
            String(o.newNodes.length),
            o.fragments.map((f) => f.target.path).join(' '),
          ]),
        ),
      );
    },
  },
  overlay: {
    args: '<lpar> <id>',
    summary: 'one applied overlay: fragments, changeset entries, new nodes',
    operations: ['getOverlay'],
    needs: 2,
    run: async ([l, id]) => print(await client.getOverlay(l!, id!)),
  },
  'overlay-remove': {
    args: '<lpar> <id>',
    summary: 'remove an overlay (of_overlay_remove: the topmost only)',
    operations: ['removeOverlay'],
    needs: 2,
    run: async ([l, id]) => {
      const r = await client.removeOverlay(l!, id!);
      print(r, () =>
        [
          `overlay ${r.id} removed: ${r.reverted.length} entries reverted, ${r.report.cacheRebuilds} cache rebuilds`,
          ...r.nodes.map((n) => `  ${n.address} ${n.lastKnownPath} ${n.state}`),
          ...r.report.dmesg.map((d) => `  dmesg: ${d}`),
        ].join('\n'),
      );
    },
  },
  dlpar: {
    args: '<lpar> <command words…>',
    summary:
      'a write to /sys/kernel/dlpar as drmgr makes it: cpu|memory add|remove count|index N, and on 6.12 dt add|remove index N (exit 1 with the errno)',
    operations: ['writeDlpar'],
    needs: 2,
    max: 64,
    run: async ([l, ...words]) => {
      const r = await client.writeDlpar(l!, words.join(' '));
      print(r, () =>
        [
          `rc ${r.rc}: ${r.command}`,
          ...r.report.firmwareCalls.map(
            (c) => `  ${c.call}${c.drc !== undefined ? ` 0x${c.drc.toString(16)}` : ''}: ${c.status}`,
          ),
          ...r.report.dmesg.map((d) => `  dmesg: ${d}`),
        ].join('\n'),
      );
    },
  },
  slot: {
    args: '<lpar> add|remove <drc name…>',
    summary:
      "a write of a virtual I/O slot's drc name to /sys/bus/pci/slots/control/add_slot or remove_slot, as drmgr makes it: the vio device registered or unregistered (exit 1 with the errno)",
    operations: ['writeAddSlot', 'writeRemoveSlot'],
    needs: 3,
    max: 16,
    run: async ([l, action, ...words]) => {
      if (action !== 'add' && action !== 'remove')
        throw new UsageError(`slot: the action is add or remove, not ${JSON.stringify(action)}`);
      const r = await client.writeSlot(l!, action === 'add' ? 'add_slot' : 'remove_slot', words.join(' '));
      print(r, () =>
        [
          `rc ${r.rc}: ${r.file} ${r.drcName ?? '(name too long: nothing done)'}`,
          ...r.report.registered.map((d) => `  registered vio ${d.device} on ${d.node} (${d.nodeState})`),
          ...r.report.unregistered.map(
            (d) => `  unregistered vio ${d.device} from ${d.node} (${d.nodeState})`,
          ),
          ...r.report.dmesg.map((d) => `  dmesg: ${d}`),
        ].join('\n'),
      );
    },
  },
  migrations: {
    args: '<lpar>',
    summary: 'the LPAR’s migrations, as a table',
    operations: ['listMigrations'],
    needs: 1,
    run: async ([l]) => {
      const r = await client.migrations(l!);
      print(r, () =>
        listing(
          ['ID', 'SOURCE', 'DESTINATION', 'STATE', 'DRY-RUN'],
          r.items.map((m) => [m.id, text(m.source), text(m.destination), m.state, text(m.dryRun)]),
        ),
      );
    },
  },
  migration: {
    args: '<lpar> <migration>',
    summary: 'one migration with its report',
    operations: ['getMigration'],
    needs: 2,
    run: async ([l, m]) => print(await client.getMigration(l!, m!)),
  },
  events: {
    args: '[<lpar>] [--since N]',
    summary: 'the events kept so far (of every LPAR without one), one line each',
    operations: ['streamLparEvents', 'streamEvents'],
    needs: 0,
    max: 1,
    flags: ['since'],
    run: async ([l]) => {
      const since = intFlag('since');
      for await (const e of client.events(l ?? null, { follow: false, ...(since ? { since } : {}) }))
        out(eventLine(e));
    },
  },
  watch: {
    args: '[<lpar>] [--since N]',
    summary: 'the events as they happen, one line each, until the LPAR’s stream ends (Ctrl-C ends)',
    operations: ['streamLparEvents', 'streamEvents'],
    needs: 0,
    max: 1,
    flags: ['since'],
    run: async ([l]) => {
      const since = intFlag('since');
      for await (const e of client.events(l ?? null, since ? { since } : {})) out(eventLine(e));
    },
  },
  journal: {
    args: '<lpar>',
    summary: 'its history as JSON lines, to stdout (> bug.jsonl)',
    operations: ['exportJournal'],
    needs: 1,
    run: async ([l]) => {
      process.stdout.write(await client.exportJournal(l!));
    },
  },
  import: {
    args: '<file|-> [--name N]',
    summary: 'rebuild an LPAR from a history',
    operations: ['importJournal'],
    needs: 1,
    flags: ['name'],
    run: async ([file]) => {
      const lpar = await client.importJournal(await readInput(file!), values.name);
      print({ id: lpar.id, name: lpar.name }, () => `imported ${lpar.id} (${lpar.name})`);
    },
  },
  help: {
    args: '[command]',
    summary: 'the commands, or one (--json: the command table)',
    operations: [],
    needs: 0,
    max: 1,
    run: async ([name]) => {
      if (name && !COMMANDS[name] && !COMMAND_ALIASES[name]) throw new UsageError(`no command ${name}`);
      const n = name && (COMMAND_ALIASES[name] ?? name);
      if (json()) return print(describe().filter((c) => !n || c.name === n));
      out(usage(n));
    },
  },
  completion: {
    args: 'bash|zsh',
    summary: 'a shell completion script: eval "$(npx lparsim completion bash)"',
    operations: [],
    needs: 1,
    words: ['bash', 'zsh'],
    run: async ([shell]) => {
      if (shell === 'bash') return out(bashCompletion());
      if (shell === 'zsh') return out(zshCompletion());
      throw new UsageError(`completion for bash or zsh, not ${shell}`);
    },
  },
};

/** The command table as data: what `help --json` prints and the completion scripts are made of. */
function describe() {
  return Object.entries(COMMANDS).map(([name, c]) => ({
    name,
    args: c.args,
    summary: c.summary,
    operations: c.operations,
    flags: (c.flags ?? []).filter((f) => !FLAG_ALIASES[f]).map((f) => `--${f}`),
    aliases: Object.keys(COMMAND_ALIASES).filter((a) => COMMAND_ALIASES[a] === name),
  }));
}

function usage(name?: string): string {
  const head = [
    'usage: lparsim [--url URL] [--token T] [--json] <command> [args]',
    '  (LPARSIM_URL and LPARSIM_TOKEN are the defaults; exit 0 done, 1 the request failed, 2 usage)',
  ];
  const one = name ? COMMANDS[name] : undefined;
  if (name && one) {
    const aliases = Object.keys(COMMAND_ALIASES).filter((a) => COMMAND_ALIASES[a] === name);
    return [
      ...head,
      `  ${name} ${one.args}`.trimEnd(),
      `      ${one.summary}`,
      ...(one.operations.length ? [`      operations: ${one.operations.join(', ')}`] : []),
      ...(aliases.length ? [`      deprecated name: ${aliases.join(', ')}`] : []),
    ].join('\n');
  }
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  return [
    ...head,
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`),
    `  deprecated: ${Object.entries(COMMAND_ALIASES)
      .map(([a, n]) => `${a} (${n})`)
      .join(', ')}, --scheme (--phandle-scheme)`,
    '  lparsim help <command> for its arguments',
  ].join('\n');
}

/** The words to complete after each command: its flags, their values, its first argument's words. */
function completionWords(c: Command): string {
  return [
    ...(c.words ?? []),
    ...(c.flags ?? []).filter((f) => !FLAG_ALIASES[f]).map((f) => `--${f}`),
    '--json',
  ].join(' ');
}
const flagValueCases = (indent: string) =>
  Object.entries(FLAG_VALUES)
    .map(([f, vs]) => `${indent}--${f}) words="${vs!.join(' ')}" ;;`)
    .join('\n');

function bashCompletion(): string {
  const names = [...Object.keys(COMMANDS), ...Object.keys(COMMAND_ALIASES)];
  const cases = Object.entries(COMMANDS)
    .map(([n, c]) => `      ${n}) words="${n === 'help' ? names.join(' ') : completionWords(c)}" ;;`)
    .join('\n');
  return `# lparsim completion for bash, generated from its command table by \`lparsim completion bash\`.
# Load it with: eval "$(npx lparsim completion bash)"
_lparsim() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmd="" words="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in
      --url|--token|--profile|--name|--seed|--system|--phandle-scheme|--to|--since|-o|--output|--processor|--serial|--machine-type|--string|--strings|--u32|--hex) ((i++)) ;;
      -*) ;;
      *) cmd=\${COMP_WORDS[i]}; break ;;
    esac
  done
  case $prev in
${flagValueCases('    ')}
  esac
  if [[ -z $words ]]; then
    if [[ -z $cmd ]]; then
      words="${names.join(' ')} --url --token --json --help"
    else
      case $cmd in
${cases}
      esac
    fi
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _lparsim lparsim`;
}

function zshCompletion(): string {
  const q = (s: string) => s.replaceAll("'", "'\\''").replaceAll(':', '\\:');
  const described = Object.entries(COMMANDS)
    .map(([n, c]) => `    '${q(n)}:${q(c.summary)}'`)
    .join('\n');
  const cases = Object.entries(COMMANDS)
    .map(
      ([n, c]) =>
        `    ${n}) choices=(${n === 'help' ? Object.keys(COMMANDS).join(' ') : completionWords(c)}) ;;`,
    )
    .join('\n');
  return `#compdef lparsim
# lparsim completion for zsh, generated from its command table by \`lparsim completion zsh\`.
# Load it with: eval "$(npx lparsim completion zsh)", or save it as _lparsim in your $fpath.
_lparsim() {
  local -a commands choices
  local cmd="" i
  commands=(
${described}
  )
  for ((i = 2; i < CURRENT; i++)); do
    case $words[i] in
      --url|--token|--profile|--name|--seed|--system|--phandle-scheme|--to|--since|-o|--output|--processor|--serial|--machine-type|--string|--strings|--u32|--hex) ((i++)) ;;
      -*) ;;
      *) cmd=$words[i]; break ;;
    esac
  done
  case $words[CURRENT-1] in
${Object.entries(FLAG_VALUES)
  .map(([f, vs]) => `    --${f}) compadd -- ${vs!.join(' ')}; return ;;`)
  .join('\n')}
  esac
  if [[ -z $cmd ]]; then
    _describe 'lparsim command' commands
    compadd -- --url --token --json --help
    return
  fi
  case $cmd in
${cases}
  esac
  compadd -- $choices
  _files
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _lparsim "$@"; else compdef _lparsim lparsim; fi`;
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; tokens: true }>>;
  try {
    parsed = parseArgs({ options: OPTIONS, allowPositionals: true, tokens: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  values = parsed.values as Values;
  tokens = parsed.tokens;
  client = new LparsimClient(
    undiciTransport(
      values.url ?? process.env.LPARSIM_URL ?? 'http://127.0.0.1:8080',
      values.token ?? (process.env.LPARSIM_TOKEN || undefined),
    ),
  );
  let [command, ...args] = parsed.positionals;
  if (!command) return out(usage());
  if (COMMAND_ALIASES[command]) {
    process.stderr.write(`lparsim: ${command} is deprecated, say ${COMMAND_ALIASES[command]}\n`);
    command = COMMAND_ALIASES[command]!;
  }
  const c = COMMANDS[command];
  if (!c) throw new UsageError(`unknown command ${command}`);
  if (values.help) return out(usage(command));
  const allowed = new Set<string>([...GLOBAL_FLAGS, ...(c.flags ?? [])]);
  for (const t of tokens)
    if (t.kind === 'option' && !allowed.has(t.name ?? ''))
      throw new UsageError(`${command} takes no --${t.name}: ${`${command} ${c.args}`.trimEnd()}`);
  if (values.scheme) process.stderr.write('lparsim: --scheme is deprecated, say --phandle-scheme\n');
  const max = c.max ?? c.needs;
  if (args.length < c.needs || args.length > max)
    throw new UsageError(
      args.length < c.needs
        ? `${command} needs ${c.needs} argument${c.needs > 1 ? 's' : ''}: ${command} ${c.args}`
        : `${command} takes at most ${max} argument${max === 1 ? '' : 's'}: ${command} ${c.args}`,
    );
  await c.run(args);
}

main().catch((e) => {
  if (e instanceof UsageError) {
    process.stderr.write(`${e.message}\n(lparsim help for the commands)\n`);
    process.exitCode = 2;
    return;
  }
  if (e instanceof ApiError)
    process.stderr.write(
      `${e.status} ${e.problem.title}: ${e.problem.detail}${e.problem.errno ? ` (${e.problem.errno})` : ''}\n`,
    );
  else process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
