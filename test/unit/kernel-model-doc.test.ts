// docs/kernel-model.md is the project's reference for its kernel model (issue 9 item 7). These tests keep
// it and the code from drifting: the switch table between its markers must be exactly what
// KERNEL_PROFILES says, and every rule id (K-…) and erratum id (E1…) the code cites must be on the page.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KERNEL_PROFILES, SWITCH_NAMES } from '../../src/kernel/profiles.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOC_PATH = join(ROOT, 'docs/kernel-model.md');
const SRC = join(ROOT, 'src');
const START = '<!-- switch-table:start -->';
const END = '<!-- switch-table:end -->';

const doc = readFileSync(DOC_PATH, 'utf8');

function render(value: string | boolean): string {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return value;
}

/** The cells of a markdown table row: `| a | b |` → ['a', 'b']. */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((c) => c.trim());
}

function tableLines(): string[] {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  assert.ok(start >= 0, `docs/kernel-model.md has no ${START} marker`);
  assert.ok(end > start, `docs/kernel-model.md has no ${END} marker after ${START}`);
  return doc
    .slice(start + START.length, end)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

describe('docs/kernel-model.md switch table', () => {
  const profiles = KERNEL_PROFILES.map((p) => p.name);
  const expectedHeader = `| switch | ${profiles.join(' | ')} | origin |`;

  it('has the header the profiles give, then a separator row', () => {
    const [header, separator] = tableLines();
    assert.equal(header, expectedHeader, 'header row of the switch table');
    assert.match(separator ?? '', /^\|(\s*:?-{3,}:?\s*\|)+$/, 'separator row after the header');
    assert.equal(cells(separator!).length, profiles.length + 2, 'separator row has one cell per column');
  });

  it('has one row per switch, in SWITCH_NAMES order, with the values of KERNEL_PROFILES', () => {
    const rows = tableLines().slice(2);
    const problems: string[] = [];
    const found = new Map<string, { line: string; values: string[]; origin: string; index: number }>();
    rows.forEach((line, index) => {
      const c = cells(line);
      const name = /^`([^`]+)`$/.exec(c[0] ?? '')?.[1];
      if (!line.startsWith('|') || !line.endsWith('|') || name === undefined) {
        problems.push(`not a switch row: ${line}`);
        return;
      }
      if (found.has(name)) problems.push(`switch ${name} has more than one row`);
      found.set(name, { line, values: c.slice(1, -1), origin: c.at(-1) ?? '', index });
    });

    for (const s of SWITCH_NAMES) {
      const want = KERNEL_PROFILES.map((p) => render(p[s]));
      const row = found.get(s);
      if (!row) {
        problems.push(`missing row for switch ${s}: expected | \`${s}\` | ${want.join(' | ')} | <origin> |`);
        continue;
      }
      if (row.values.length !== want.length) {
        problems.push(
          `switch ${s}: ${row.values.length + 2} cells, expected ${want.length + 2} (${row.line})`,
        );
        continue;
      }
      want.forEach((value, i) => {
        if (row.values[i] !== value)
          problems.push(
            `switch ${s}, profile ${profiles[i]}: doc says ${JSON.stringify(row.values[i])}, code says ${JSON.stringify(value)}`,
          );
      });
      if (row.origin.length === 0) problems.push(`switch ${s}: the origin cell is empty`);
      const exact = `| \`${s}\` | ${want.join(' | ')} | ${row.origin} |`;
      if (row.line !== exact && row.values.every((v, i) => v === want[i]))
        problems.push(
          `switch ${s}: row is not in the exact format\n    doc:      ${row.line}\n    expected: ${exact}`,
        );
    }
    for (const name of found.keys())
      if (!(SWITCH_NAMES as readonly string[]).includes(name))
        problems.push(`extra row for ${name}, which is not a switch in src/kernel/profiles.ts`);

    const order = [...found.entries()].sort((a, b) => a[1].index - b[1].index).map(([n]) => n);
    const expectedOrder = SWITCH_NAMES.filter((s) => found.has(s));
    const docOrder = order.filter((n) => (SWITCH_NAMES as readonly string[]).includes(n));
    if (docOrder.join(',') !== expectedOrder.join(','))
      problems.push(
        `rows are not in SWITCH_NAMES order:\n    doc:  ${docOrder.join(', ')}\n    code: ${expectedOrder.join(', ')}`,
      );

    assert.deepEqual(problems, [], `switch table differs from KERNEL_PROFILES:\n  ${problems.join('\n  ')}`);
  });
});

// ---- the release fact tables (K-DLPAR-4, K-SLOT-3) ----

describe('docs/kernel-model.md fact tables', () => {
  const profiles = KERNEL_PROFILES.filter((p) => p.overrides === null);
  for (const group of ['dlpar', 'slot'] as const) {
    it(`has one row per ${group} fact, with the values of KERNEL_PROFILES`, () => {
      const facts = Object.keys(profiles[0]![group]);
      const header = `| fact | ${profiles.map((p) => p.name).join(' | ')} | source |`;
      const problems: string[] = [];
      for (const fact of facts) {
        const rows = doc.split('\n').filter((l) => l.trim().startsWith(`| \`${fact}\` |`));
        if (rows.length !== 1) {
          problems.push(`${fact}: ${rows.length} rows`);
          continue;
        }
        const row = cells(rows[0]!);
        const at = doc.indexOf(rows[0]!);
        const before = doc.slice(0, at).trimEnd().split('\n');
        // The row's table header: the line above the separator above the first row of the table.
        let i = before.length - 1;
        while (i > 0 && before[i]!.trim().startsWith('| `')) i--;
        if (before[i - 1]?.trim() !== header) problems.push(`${fact}: its table's header is not ${header}`);
        profiles.forEach((p, j) => {
          const want = render((p[group] as unknown as Record<string, string | boolean>)[fact]!);
          if (row[j + 1] !== want)
            problems.push(`${fact} ${p.name}: the page says ${row[j + 1]}, the profile ${want}`);
        });
      }
      assert.deepEqual(problems, [], `fact table differs from KERNEL_PROFILES:\n  ${problems.join('\n  ')}`);
    });
  }
});

// ---- rule ids ----

const RULE = /\bK-[A-Z]+(?:-\d+)?\b/g;
const ERRATUM = /\bE\d{1,2}\b/g;

/**
 * Rule ids in a text, with the short forms comments use expanded: `K-CACHE-2/3/4` and
 * `K-SYSFS-2, -3, -5` cite K-CACHE-2..4 and K-SYSFS-2, -3 and -5.
 */
function ruleIds(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(RULE)) {
    out.push(m[0]);
    const numbered = /^(K-[A-Z]+)-\d+$/.exec(m[0]);
    if (!numbered) continue;
    const rest = /^(?:\/\d+|,\s*-\d+)+/.exec(text.slice(m.index + m[0].length));
    if (rest) for (const n of rest[0].matchAll(/\d+/g)) out.push(`${numbered[1]}-${n[0]}`);
  }
  return out;
}

/**
 * The comments of a TypeScript source (line and block comments, each with the line it starts on), with
 * string, template and regex literals skipped, so that an erratum id is only taken where the code
 * talks about the kernel.
 */
function comments(src: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  const lineStarts = [0];
  for (let p = src.indexOf('\n'); p >= 0; p = src.indexOf('\n', p + 1)) lineStarts.push(p + 1);
  const lineOf = (offset: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  let i = 0;
  // Each entry is a template literal waiting for the `}` that closes its `${`, with the brace depth
  // of code inside that substitution.
  const templates: number[] = [];
  let prevSignificant = '';
  const regexCanStart = () => prevSignificant === '' || '(,=:[!&|?{};+-*%<>~^'.includes(prevSignificant);

  const skipQuoted = (quote: string) => {
    i += 1;
    while (i < src.length && src[i] !== quote && src[i] !== '\n') i += src[i] === '\\' ? 2 : 1;
    i += 1;
  };
  /** Skips template text up to a closing backtick (returns false) or a `${` (returns true). */
  const skipTemplateText = (): boolean => {
    while (i < src.length) {
      if (src[i] === '\\') i += 2;
      else if (src[i] === '`') {
        i += 1;
        return false;
      } else if (src[i] === '$' && src[i + 1] === '{') {
        i += 2;
        return true;
      } else i += 1;
    }
    return false;
  };

  while (i < src.length) {
    const ch = src[i]!;
    const next = src[i + 1];
    if (ch === '/' && next === '/') {
      const end = src.indexOf('\n', i);
      out.push({ text: src.slice(i + 2, end < 0 ? src.length : end), line: lineOf(i) });
      i = end < 0 ? src.length : end;
    } else if (ch === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      out.push({ text: src.slice(i + 2, end < 0 ? src.length : end), line: lineOf(i) });
      i = end < 0 ? src.length : end + 2;
    } else if (ch === '"' || ch === "'") {
      skipQuoted(ch);
      prevSignificant = 'a';
    } else if (ch === '`') {
      i += 1;
      if (skipTemplateText()) templates.push(0);
      prevSignificant = 'a';
    } else if (ch === '/' && regexCanStart()) {
      i += 1;
      let inClass = false;
      while (i < src.length && src[i] !== '\n' && (inClass || src[i] !== '/')) {
        if (src[i] === '\\') i += 1;
        else if (src[i] === '[') inClass = true;
        else if (src[i] === ']') inClass = false;
        i += 1;
      }
      i += 1;
      prevSignificant = 'a';
    } else {
      if (templates.length > 0) {
        if (ch === '{') templates[templates.length - 1]! += 1;
        else if (ch === '}') {
          if (templates.at(-1) === 0) {
            templates.pop();
            i += 1;
            if (skipTemplateText()) templates.push(0);
            prevSignificant = 'a';
            continue;
          }
          templates[templates.length - 1]! -= 1;
        }
      }
      if (!/\s/.test(ch)) prevSignificant = ch;
      i += 1;
    }
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

interface Citation {
  readonly id: string;
  readonly where: string;
}

function citations(): Citation[] {
  const out: Citation[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const name = relative(ROOT, file);
    text.split('\n').forEach((line, n) => {
      for (const id of ruleIds(line)) out.push({ id, where: `${name}:${n + 1}` });
    });
    for (const c of comments(text)) {
      const lines = c.text.split('\n');
      lines.forEach((l, n) => {
        for (const m of l.matchAll(ERRATUM)) out.push({ id: m[0], where: `${name}:${c.line + n}` });
      });
    }
  }
  return out;
}

const docIds = new Set([...ruleIds(doc), ...(doc.match(ERRATUM) ?? [])]);

describe('docs/kernel-model.md rule ids', () => {
  it('the comment scanner finds comments and skips literals', () => {
    const sample = [
      "const a = '// E1 not a comment'; // E2 is",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a sample of TypeScript source, not a template
      'const b = `x ${c ? `E3` : "E4"} y`; /* E5 is */',
      'const r = /E6\\/\\//.test(s); // E7 is',
      'const d = x / y; // E8 is',
    ].join('\n');
    const found = comments(sample).flatMap((c) =>
      [...c.text.matchAll(ERRATUM)].map((m) => `${m[0]}@${c.line}`),
    );
    assert.deepEqual(found, ['E2@1', 'E5@2', 'E7@3', 'E8@4']);
    assert.deepEqual(ruleIds('see K-SYSFS-2, -3, -5 and K-CACHE-2/3/4; K-OFDT'), [
      'K-SYSFS-2',
      'K-SYSFS-3',
      'K-SYSFS-5',
      'K-CACHE-2',
      'K-CACHE-3',
      'K-CACHE-4',
      'K-OFDT',
    ]);
  });

  it('every rule id and erratum id cited in src/ is on the page', () => {
    const found = citations();
    assert.ok(
      found.some((c) => c.id.startsWith('K-')),
      'no rule ids found in src/: the scan is broken',
    );
    const missing = new Map<string, string[]>();
    for (const c of found) {
      if (docIds.has(c.id)) continue;
      missing.set(c.id, [...(missing.get(c.id) ?? []), c.where]);
    }
    const report = [...missing].map(([id, where]) => `${id} (cited at ${[...new Set(where)].join(', ')})`);
    assert.deepEqual(
      report,
      [],
      `ids cited in src/ but absent from docs/kernel-model.md:\n  ${report.join('\n  ')}`,
    );
  });

  it('names every erratum E1 to E14', () => {
    const missing = Array.from({ length: 14 }, (_, i) => `E${i + 1}`).filter((e) => !docIds.has(e));
    assert.deepEqual(missing, [], 'errata not mentioned in docs/kernel-model.md');
  });

  it('does not send readers outside the project', () => {
    assert.ok(!doc.includes('../shared'), 'docs/kernel-model.md points at ../shared');
  });
});
