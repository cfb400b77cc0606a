// The lparsim command line: the typed client from a shell.
//   npm run lparsim -- [--url URL] <command> [args]
// Commands: create <kernel> [--profile power9|power10] [--name N] [--seed S] [--scheme phyp|dtc]
//           list | show <lpar> | delete <lpar> | node <lpar> <path> | lookup <lpar> <phandle>
//           migrate <lpar> <system> [--dry-run] | dmesg <lpar> | leaks <lpar> | cache <lpar>
//           refcounts <lpar> [state] | ls <lpar> </sys/... or /proc/device-tree/...>
//           ofdt <lpar> <command text, \xNN escapes allowed> | read <lpar> </sys/... or /proc/device-tree/...>
//           journal <lpar> (the history, to stdout) | import <file or -> [--name N]
// Listings (leaks, refcounts, ls) follow the service's pages to the end.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeCommand } from '../scenario/runner.ts';
import { ApiError, LparsimClient } from './client.ts';
import { undiciTransport } from './transport.ts';

const USAGE = `usage: lparsim [--url URL] <command> [args]
  create <kernel> [--profile power9|power10] [--name N] [--seed S] [--scheme phyp|dtc]
  list | show <lpar> | delete <lpar>
  node <lpar> <path> | lookup <lpar> <phandle>
  migrate <lpar> <system> [--dry-run]
  dmesg <lpar> | leaks <lpar> | cache <lpar>
  refcounts <lpar> [state]
  ls <lpar> <path>        (/sys/... or /proc/device-tree/...; every page)
  ofdt <lpar> <command>   (\\xNN escapes allowed)
  read <lpar> <path>      (/sys/... or /proc/device-tree/...)
  journal <lpar>          (its history as JSON lines, to stdout: > bug.jsonl)
  import <file|-> [--name N]   (rebuild an LPAR from a history)`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: process.env.LPARSIM_URL ?? 'http://127.0.0.1:8080' },
    profile: { type: 'string' },
    name: { type: 'string' },
    seed: { type: 'string' },
    scheme: { type: 'string' },
    'dry-run': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

const client = new LparsimClient(undiciTransport(values.url!, process.env.LPARSIM_TOKEN || undefined));
const [command, ...args] = positionals;
const need = (n: number) => {
  if (args.length < n) throw new Error(`${command} needs ${n} argument${n > 1 ? 's' : ''}\n${USAGE}`);
};
const print = (v: unknown) => console.log(typeof v === 'string' ? v : JSON.stringify(v, null, 2));

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function main(): Promise<void> {
  if (values.help || !command) return print(USAGE);
  switch (command) {
    case 'create':
      need(1);
      return print(
        await client.createLpar({
          kernel: args[0] as never,
          ...(values.profile ? { profile: values.profile as 'power9' | 'power10' } : {}),
          ...(values.name ? { name: values.name } : {}),
          ...(values.seed ? { seed: Number(values.seed) } : {}),
          ...(values.scheme ? { phandleScheme: values.scheme as 'phyp' | 'dtc' } : {}),
        }),
      );
    case 'list':
      return print(
        (await client.listLpars()).items
          .map((l) => `${l.id}\t${l.kernel}\t${l.system}\t${l.name}`)
          .join('\n'),
      );
    case 'show':
      need(1);
      return print(await client.getLpar(args[0]!));
    case 'delete':
      need(1);
      return client.deleteLpar(args[0]!);
    case 'node':
      need(2);
      return print(await client.nodeByPath(args[0]!, args[1]!));
    case 'lookup':
      need(2);
      return print(await client.lookup(args[0]!, args[1]!));
    case 'migrate':
      need(2);
      return print(
        await client.migrate(args[0]!, {
          destination: args[1]!,
          ...(values['dry-run'] ? { dryRun: true } : {}),
        }),
      );
    case 'dmesg':
      need(1);
      return print((await client.dmesg(args[0]!)).items.map((l) => l.line).join('\n'));
    case 'leaks':
      need(1);
      return print(await client.leaks(args[0]!));
    case 'refcounts':
      need(1);
      return print(await client.refcounts(args[0]!, args[1]));
    case 'ls': {
      need(2);
      const listing = await client.list(args[0]!, args[1]!);
      if (!listing.items) return print(listing);
      return print(
        [...listing.items]
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
          .map((e) => `${e.mode}\t${e.type}\t${e.size}\t${e.name}${e.target ? ` -> ${e.target}` : ''}`)
          .join('\n'),
      );
    }
    case 'cache':
      need(1);
      return print(await client.phandleCache(args[0]!));
    case 'ofdt':
      need(2);
      return print(await client.ofdt(args[0]!, decodeCommand(args.slice(1).join(' '))));
    case 'read':
      need(2);
      process.stdout.write(await client.read(args[0]!, args[1]!));
      return;
    case 'journal':
      need(1);
      process.stdout.write(await client.exportJournal(args[0]!));
      return;
    case 'import': {
      need(1);
      const history = args[0] === '-' ? await readStdin() : readFileSync(args[0]!);
      const lpar = await client.importJournal(new Uint8Array(history), values.name);
      return print({ id: lpar.id, name: lpar.name });
    }
    default:
      throw new Error(`unknown command ${command}\n${USAGE}`);
  }
}

main().catch((e) => {
  if (e instanceof ApiError)
    console.error(
      `${e.status} ${e.problem.title}: ${e.problem.detail}${e.problem.errno ? ` (${e.problem.errno})` : ''}`,
    );
  else console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
