// The lparsim command line: the typed client from a shell (`npm run -s lparsim -- <command>`).
// Every command is a row of COMMANDS: its arguments, what it does and how it runs, so `help` and the
// dispatch cannot disagree. Output is a human text by default and JSON with --json; exit codes are
// 0 (done), 1 (the request failed: the problem's title and detail on stderr) and 2 (usage).
// Listings (leaks, refcounts, ls) follow the service's pages to the end.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeCommand } from '../scenario/runner.ts';
import { ApiError, LparsimClient } from './client.ts';
import { undiciTransport } from './transport.ts';

/** A mistake in how the command was called: exit code 2, with the usage. */
class UsageError extends Error {}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        url: { type: 'string', default: process.env.LPARSIM_URL ?? 'http://127.0.0.1:8080' },
        token: { type: 'string', default: process.env.LPARSIM_TOKEN || undefined },
        profile: { type: 'string' },
        name: { type: 'string' },
        seed: { type: 'string' },
        scheme: { type: 'string' },
        to: { type: 'string', multiple: true },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n(lparsim help for the commands)\n`);
    process.exit(2);
  }
})();

const client = new LparsimClient(undiciTransport(values.url!, values.token));
const json = values.json === true;
const out = (text: string): void => {
  process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
};
/** JSON with --json or for documents; `human` (a table, lines) otherwise when there is one. */
const print = (v: unknown, human?: () => string): void =>
  out(!json && human ? human() : typeof v === 'string' && !json ? v : JSON.stringify(v, null, 2));

/** Columns padded to their widest cell, as `column -t` would. */
function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '))
    .join('\n');
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface Command {
  readonly args: string;
  readonly summary: string;
  /** Positional arguments it needs. */
  readonly needs: number;
  readonly run: (args: readonly string[]) => Promise<void>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  create: {
    args: '<kernel> [--profile power9|power10] [--name N] [--seed S] [--scheme phyp|dtc]',
    summary: 'boot an LPAR',
    needs: 1,
    run: async ([kernel]) =>
      print(
        await client.createLpar({
          kernel: kernel as never,
          ...(values.profile ? { profile: values.profile as 'power9' | 'power10' } : {}),
          ...(values.name ? { name: values.name } : {}),
          ...(values.seed ? { seed: Number(values.seed) } : {}),
          ...(values.scheme ? { phandleScheme: values.scheme as 'phyp' | 'dtc' } : {}),
        }),
      ),
  },
  list: {
    args: '',
    summary: 'the LPARs, as a table',
    needs: 0,
    run: async () => {
      const { items } = await client.listLpars();
      print(items, () =>
        table([
          ['ID', 'NAME', 'KERNEL', 'SYSTEM', 'NODES'],
          ...items.map((l) => [l.id, l.name, l.kernel, l.system, String(l.nodes)]),
        ]),
      );
    },
  },
  show: {
    args: '<lpar>',
    summary: 'one LPAR with its counts',
    needs: 1,
    run: async ([l]) => print(await client.getLpar(l!)),
  },
  delete: {
    args: '<lpar>',
    summary: 'delete an LPAR',
    needs: 1,
    run: async ([l]) => {
      await client.deleteLpar(l!);
      print({ deleted: l }, () => `deleted ${l}`);
    },
  },
  reboot: {
    args: '<lpar>',
    summary: 'boot the same tree again',
    needs: 1,
    run: async ([l]) => print(await client.rebootLpar(l!)),
  },
  node: {
    args: '<lpar> <path>',
    summary: 'the attached node at a path',
    needs: 2,
    run: async ([l, p]) => print(await client.nodeByPath(l!, p!)),
  },
  lookup: {
    args: '<lpar> <phandle>',
    summary: 'of_find_node_by_phandle now (a kernel action)',
    needs: 2,
    run: async ([l, p]) => print(await client.lookup(l!, p!)),
  },
  migrate: {
    args: '<lpar> (<system> | --to A --to B …) [--dry-run]',
    summary: 'migrate, or a series of migrations, one line each',
    needs: 1,
    run: async ([l, system]) => {
      const series = values.to ?? (system ? [system] : []);
      if (series.length === 0) throw new UsageError('migrate needs a system, or --to once per migration');
      const reports = [];
      for (const [i, destination] of series.entries()) {
        const m = await client.migrate(l!, { destination, ...(values['dry-run'] ? { dryRun: true } : {}) });
        reports.push(m);
        if (!json) out(`[${i + 1}/${series.length}] ${m.id} → ${destination}: ${m.state}`);
      }
      if (json) print(reports.length === 1 ? reports[0] : reports);
    },
  },
  dmesg: {
    args: '<lpar>',
    summary: 'the kernel log',
    needs: 1,
    run: async ([l]) => {
      const log = await client.dmesg(l!);
      print(log, () => log.items.map((x) => x.line).join('\n'));
    },
  },
  leaks: {
    args: '<lpar>',
    summary: 'detached, held and orphaned nodes',
    needs: 1,
    run: async ([l]) => print(await client.leaks(l!)),
  },
  refcounts: {
    args: '<lpar> [state]',
    summary: 'every node with its count and holders',
    needs: 1,
    run: async ([l, state]) => print(await client.refcounts(l!, state)),
  },
  ls: {
    args: '<lpar> <path>',
    summary: 'a /sys or /proc/device-tree directory (every page)',
    needs: 2,
    run: async ([l, p]) => {
      const listing = await client.list(l!, p!);
      if (!listing.items) return print(listing);
      const items = [...listing.items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      print(listing, () =>
        table(
          items.map((e) => [e.mode, e.type, String(e.size), `${e.name}${e.target ? ` -> ${e.target}` : ''}`]),
        ),
      );
    },
  },
  cache: {
    args: '<lpar>',
    summary: 'the phandle cache, slot by slot',
    needs: 1,
    run: async ([l]) => print(await client.phandleCache(l!)),
  },
  ofdt: {
    args: '<lpar> <command>',
    summary: 'one write to /proc/ppc64/ofdt (\\xNN escapes allowed)',
    needs: 2,
    run: async ([l, ...cmd]) => print(await client.ofdt(l!, decodeCommand(cmd.join(' ')))),
  },
  read: {
    args: '<lpar> <path>',
    summary: 'a /sys or /proc/device-tree file, as bytes',
    needs: 2,
    run: async ([l, p]) => {
      process.stdout.write(await client.read(l!, p!));
    },
  },
  watch: {
    args: '<lpar>',
    summary: 'the LPAR’s events as they happen, one line each (Ctrl-C ends)',
    needs: 1,
    run: async ([l]) => {
      for await (const e of client.events(l!))
        out(
          json ? JSON.stringify(e) : `${e.id}\t${e.type}\t${JSON.stringify({ ...e.data, type: undefined })}`,
        );
    },
  },
  journal: {
    args: '<lpar>',
    summary: 'its history as JSON lines, to stdout (> bug.jsonl)',
    needs: 1,
    run: async ([l]) => {
      process.stdout.write(await client.exportJournal(l!));
    },
  },
  import: {
    args: '<file|-> [--name N]',
    summary: 'rebuild an LPAR from a history',
    needs: 1,
    run: async ([file]) => {
      const history = file === '-' ? await readStdin() : readFileSync(file!);
      const lpar = await client.importJournal(new Uint8Array(history), values.name);
      print({ id: lpar.id, name: lpar.name }, () => `imported ${lpar.id} (${lpar.name})`);
    },
  },
};

function usage(name?: string): string {
  const lines = Object.entries(COMMANDS)
    .filter(([n]) => name === undefined || n === name)
    .map(([n, c]) => [`  ${n} ${c.args}`, c.summary] as const);
  const width = Math.max(...lines.map(([a]) => a.length));
  return [
    'usage: lparsim [--url URL] [--token T] [--json] <command> [args]',
    '  (LPARSIM_URL and LPARSIM_TOKEN are the defaults; exit 0 done, 1 the request failed, 2 usage)',
    ...lines.map(([a, s]) => `${a.padEnd(width)}  ${s}`),
    '  help [command]',
  ].join('\n');
}

async function main(): Promise<void> {
  const [command, ...args] = positionals;
  if (values.help || !command) return out(usage());
  if (command === 'help') {
    if (args[0] && !COMMANDS[args[0]]) throw new UsageError(`no command ${args[0]}`);
    return out(usage(args[0]));
  }
  const c = COMMANDS[command];
  if (!c) throw new UsageError(`unknown command ${command}`);
  if (args.length < c.needs)
    throw new UsageError(
      `${command} needs ${c.needs} argument${c.needs > 1 ? 's' : ''}: ${command} ${c.args}`,
    );
  await c.run(args);
}

main().catch((e) => {
  if (e instanceof UsageError) {
    process.stderr.write(`${e.message}\n${usage()}\n`);
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
