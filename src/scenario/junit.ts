// JUnit XML for CI: one testsuite per scenario, one testcase per scenario and kernel, a failure element
// carrying every failed expectation of that run.

import type { ScenarioResult } from './runner.ts';

export interface SuiteReport {
  readonly name: string;
  readonly file: string;
  readonly results: readonly ScenarioResult[];
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;
/** Characters XML 1.0 cannot carry at all: C0 controls but tab and newlines, U+FFFE, U+FFFF. */
const isBanned = (c: number) =>
  (c < 0x20 && c !== 0x9 && c !== 0xa && c !== 0xd) || c === 0xfffe || c === 0xffff;

/**
 * Text safe in XML 1.0 content (and, with `attribute`, in a quoted attribute, where newlines and tabs
 * would otherwise be normalised to spaces): markup escaped, and characters XML cannot carry, lone
 * surrogates included, written as `\u{…}`.
 */
export function xmlEscape(text: string, attribute = false): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isHigh(c) && i + 1 < text.length && isLow(text.charCodeAt(i + 1))) {
      out += text.slice(i, i + 2);
      i += 1;
    } else if (isBanned(c) || isHigh(c) || isLow(c)) out += `\\u{${c.toString(16)}}`;
    else if (c === 0x26) out += '&amp;';
    else if (c === 0x3c) out += '&lt;';
    else if (c === 0x3e) out += '&gt;';
    else if (c === 0x22) out += '&quot;';
    else if (c === 0x27) out += '&apos;';
    else if (attribute && (c === 0x9 || c === 0xa || c === 0xd)) out += `&#${c};`;
    else out += text[i];
  }
  return out;
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

function testcase(suite: string, r: ScenarioResult): string {
  const open = `    <testcase name="${xmlEscape(`${suite} [${r.kernel}]`, true)}" classname="${xmlEscape(suite, true)}" time="${seconds(r.durationMs)}"`;
  if (r.ok) return `${open}/>`;
  const first = r.failures[0] ?? 'failed';
  const message = r.failures.length > 1 ? `${first} (and ${r.failures.length - 1} more)` : first;
  return [
    `${open}>`,
    `      <failure message="${xmlEscape(message, true)}" type="ScenarioFailure">${xmlEscape(r.failures.join('\n'))}</failure>`,
    '    </testcase>',
  ].join('\n');
}

export function junitReport(suites: readonly SuiteReport[]): string {
  const count = (rs: readonly ScenarioResult[]) => ({
    tests: rs.length,
    failures: rs.filter((r) => !r.ok).length,
    ms: rs.reduce((t, r) => t + r.durationMs, 0),
  });
  const all = count(suites.flatMap((s) => s.results));
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="lparsim scenarios" tests="${all.tests}" failures="${all.failures}" errors="0" time="${seconds(all.ms)}">`,
  ];
  for (const s of suites) {
    const c = count(s.results);
    lines.push(
      `  <testsuite name="${xmlEscape(s.name, true)}" tests="${c.tests}" failures="${c.failures}" errors="0" skipped="0" time="${seconds(c.ms)}" file="${xmlEscape(s.file, true)}">`,
      ...s.results.map((r) => testcase(s.name, r)),
      '  </testsuite>',
    );
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}
