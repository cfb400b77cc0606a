// Docs that run (issue 12, point 9): every ```sh / ```bash / ```shell / ```console block of README.md and
// docs/*.md runs, in document order, in one bash per block, against a fresh server per document (the
// documented base URL localhost:8080 rewritten to it, LPARSIM_URL set for `npx lparsim`), and fails if
// a command fails: the block runs under `set -e`, and curl is `curl --fail-with-body`, so a 4xx is a
// failure too. What a document shows as output is checked against what its commands print:
// - a `# → TEXT` comment, on a command's line or on the lines after it: that command's output contains
//   TEXT, white space aside, where `…` stands for anything (the pieces appear in order);
// - a fenced block right after a shell block (only blank lines between): the block's output. A ```json
//   one holds JSON values trimmed to the fields discussed: each must be a part of a value the commands
//   printed (objects: the keys shown, with their values; arrays: the elements shown, in order, among
//   the others), in order. A plain one holds lines that must all be printed, in order.
// A block that cannot run here must be listed in NOT_RUN with the reason, so that a new block is never
// skipped in silence; an entry that matches no block fails the test too.

import assert from 'node:assert/strict';
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, serverProcess, waitReady } from '../helpers/child.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
/** Inside the project (so `npx lparsim` finds the package's bin) and ignored by git (`/tmp/`). */
const WORK = join(ROOT, 'tmp', `docs-run-${process.pid}`);
const SHELL = new Set(['sh', 'bash', 'shell', 'console']);
const DOCUMENTS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

/** Blocks that cannot run in a test: `file` and a line the block holds, and why. */
const NOT_RUN: ReadonlyArray<{ file: string; holds: string; reason: string }> = [];

interface Fence {
  readonly lang: string;
  readonly text: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** Line after the closing fence. */
  readonly end: number;
}
interface ShellBlock extends Fence {
  readonly file: string;
  readonly output?: Fence;
}

function fences(doc: string): Fence[] {
  const lines = doc.split('\n');
  const found: Fence[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++) body.push(lines[j]!.slice(indent));
    found.push({ lang: open[2]!, text: body.join('\n'), line: i + 1, end: j + 2 });
    i = j;
  }
  return found;
}

function shellBlocks(file: string): ShellBlock[] {
  const doc = readFileSync(join(ROOT, file), 'utf8');
  const lines = doc.split('\n');
  const all = fences(doc);
  return all.flatMap((f, k) => {
    if (!SHELL.has(f.lang)) return [];
    const next = all[k + 1];
    const between = next ? lines.slice(f.end - 1, next.line - 1) : [];
    const output = next && !SHELL.has(next.lang) && between.every((l) => l.trim() === '') ? next : undefined;
    return [{ ...f, file, ...(output ? { output } : {}) }];
  });
}

/** A command of a block (its lines, continuations and loops included) and the outputs it promises. */
interface Unit {
  readonly text: string;
  readonly expect: string[];
}
const ARROW = /(?:^|\s)#\s→\s?(.*)$/;
function units(block: string): Unit[] {
  const out: { lines: string[]; expect: string[] }[] = [];
  let open = false;
  let depth = 0;
  for (const line of block.split('\n')) {
    const trimmed = line.trim();
    if (!open) {
      if (trimmed === '') continue;
      if (trimmed.startsWith('#')) {
        const m = ARROW.exec(trimmed);
        if (m && out.length) out.at(-1)!.expect.push(m[1]!);
        continue;
      }
      out.push({ lines: [], expect: [] });
    }
    out.at(-1)!.lines.push(line);
    const m = ARROW.exec(line);
    if (m) out.at(-1)!.expect.push(m[1]!);
    const code = line.replace(/\s#\s.*$/, '').trimEnd();
    if (/^\s*(for|while|until|if)\b/.test(code)) depth++;
    if (/^\s*(done|fi)\b/.test(code)) depth--;
    open = depth > 0 || /(\\|\||&&)$/.test(code);
  }
  return out.map((u) => ({ text: u.lines.join('\n'), expect: u.expect }));
}

/** `…`-separated pieces of TEXT in order in `actual`, white space aside. */
function containsPieces(actual: string, expected: string): boolean {
  const flat = actual.replace(/\s+/g, '');
  let at = 0;
  for (const piece of expected.split('…').map((p) => p.replace(/\s+/g, ''))) {
    if (piece === '') continue;
    const i = flat.indexOf(piece, at);
    if (i < 0) return false;
    at = i + piece.length;
  }
  return true;
}

/** The JSON values in a text (documents printed one after another, with or without text between). */
function jsonValues(text: string): unknown[] {
  const values: unknown[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '{' && text[i] !== '[') continue;
    let depth = 0;
    let inString = false;
    let j = i;
    for (; j < text.length; j++) {
      const c = text[j];
      if (inString) {
        if (c === '\\') j++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) break;
      }
    }
    try {
      values.push(JSON.parse(text.slice(i, j + 1)));
      i = j;
    } catch {
      // Not JSON from here (a `[` of a dmesg timestamp): go on from the next character.
    }
  }
  return values;
}

/** `shown` is a part of `actual`: the keys shown with their values, array elements in order. */
function part(actual: unknown, shown: unknown): boolean {
  if (Array.isArray(shown)) {
    if (!Array.isArray(actual)) return false;
    let k = 0;
    for (const s of shown) {
      while (k < actual.length && !part(actual[k], s)) k++;
      if (k === actual.length) return false;
      k++;
    }
    return true;
  }
  if (shown !== null && typeof shown === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(shown).every(
      ([key, v]) => Object.hasOwn(actual, key) && part((actual as Record<string, unknown>)[key], v),
    );
  }
  return actual === shown;
}

function checkOutput(where: string, printed: string, shown: Fence): void {
  if (shown.lang === 'json') {
    const got = jsonValues(printed);
    let k = 0;
    for (const value of jsonValues(shown.text)) {
      while (k < got.length && !part(got[k], value)) k++;
      assert.ok(
        k < got.length,
        `${where}: no printed JSON has ${JSON.stringify(value)}\nprinted:\n${printed.slice(0, 4000)}`,
      );
      k++;
    }
    return;
  }
  const lines = printed.split('\n').map((l) => l.trimEnd());
  let k = 0;
  for (const line of shown.text.split('\n').filter((l) => l.trim() !== '')) {
    while (k < lines.length && lines[k] !== line.trimEnd()) k++;
    assert.ok(k < lines.length, `${where}: not printed (in this order): ${line}\nprinted:\n${printed}`);
    k++;
  }
}

const MARK = '\x1e';
/** Runs a block's commands in one bash (so variables carry from one to the next); each one's output. */
function runBlock(us: readonly Unit[], cwd: string, env: NodeJS.ProcessEnv) {
  const script = [
    'set -e',
    'curl() { command curl --fail-with-body "$@"; }',
    ...us.flatMap((u, i) => [`printf '\\n${MARK}%d\\n' ${i}`, u.text]),
    `printf '\\n${MARK}end\\n'`,
  ].join('\n');
  return new Promise<{ code: number; outputs: string[]; stderr: string }>((resolve) => {
    execFile('bash', ['-c', script], { cwd, env, maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      const parts = stdout.split(new RegExp(`\\n${MARK}(?:\\d+|end)\\n`));
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, outputs: parts.slice(1), stderr });
    });
  });
}

describe('the shell blocks of the README and docs/*.md run and print what they show', () => {
  const children = new Set<ChildProcess>();
  const ran: string[] = [];
  const blocks = DOCUMENTS.flatMap(shellBlocks);
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(WORK, { recursive: true, force: true });
  });

  it('finds shell blocks, and every NOT_RUN entry names one', () => {
    assert.ok(blocks.length >= 10, `${blocks.length} blocks`);
    for (const n of NOT_RUN)
      assert.ok(
        blocks.some((b) => b.file === n.file && b.text.includes(n.holds)),
        `NOT_RUN names no block: ${n.file} ${n.holds}`,
      );
    // The set-up commands are indented code, not shell blocks: kept exactly as they are, run by hand
    // (one starts the service, the other runs every test, this one included).
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.match(readme, /\n\n {4}npm ci && npm start\n\n/);
    assert.match(readme, /\n\n {4}npm ci && npm test\n\n/);
  });

  for (const file of DOCUMENTS) {
    const mine = blocks.filter((b) => b.file === file);
    if (mine.length === 0) continue;
    it(`${file}: ${mine.length} shell block${mine.length > 1 ? 's' : ''}, on a fresh server`, async () => {
      const port = await freePort();
      const child = serverProcess(port);
      children.add(child);
      const base = `127.0.0.1:${port}`;
      await waitReady(`http://${base}`);
      const cwd = join(WORK, file.replaceAll('/', '_'));
      mkdirSync(cwd, { recursive: true });
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        // Node 24 and the project's bins first, as under npm.
        PATH: `${dirname(process.execPath)}:${join(ROOT, 'node_modules/.bin')}:${process.env.PATH ?? ''}`,
        LPARSIM_URL: `http://${base}`,
      };
      delete env.LPARSIM_TOKEN;
      for (const block of mine) {
        const where = `${file}:${block.line}`;
        const skip = NOT_RUN.find((n) => n.file === file && block.text.includes(n.holds));
        if (skip) continue;
        const us = units(block.text.replace(/\b(?:localhost|127\.0\.0\.1):8080\b/g, base));
        const r = await runBlock(us, cwd, env);
        const failed = r.outputs.length - 1; // the unit whose marker was printed last
        assert.equal(
          r.code,
          0,
          `${where}: failed (exit ${r.code}) at\n${us[failed]?.text}\n${r.stderr}\n${r.outputs.at(-1)}`,
        );
        us.forEach((u, i) => {
          for (const e of u.expect)
            assert.ok(
              containsPieces(r.outputs[i]!, e),
              `${where}: ${u.text}\nprints no ${e}\nprinted:\n${r.outputs[i]!.slice(0, 4000)}`,
            );
        });
        if (block.output) checkOutput(where, r.outputs.join('\n'), block.output);
        ran.push(where);
      }
    });
  }

  it('ran every shell block that NOT_RUN does not list', () => {
    const skipped = blocks.filter((b) => NOT_RUN.some((n) => n.file === b.file && b.text.includes(n.holds)));
    assert.equal(ran.length + skipped.length, blocks.length, `ran ${ran.join(', ')}`);
  });
});
