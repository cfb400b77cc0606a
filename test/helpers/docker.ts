// Reading docker/Dockerfile and docker/compose.yaml as Docker would, for the tests that check them
// without a Docker engine (test/api/docker.test.ts) and that perform the image's install and start
// (test/e2e/production.test.ts). Only the subset the two files use; anything else throws, so a file
// that grows past it fails loudly instead of being misread.

import { readFileSync } from 'node:fs';

export const ROOT = new URL('../../', import.meta.url);
export const dockerfileText = () => readFileSync(new URL('docker/Dockerfile', ROOT), 'utf8');
export const composeText = () => readFileSync(new URL('docker/compose.yaml', ROOT), 'utf8');

export interface Instruction {
  readonly op: string;
  readonly args: string;
}

export interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** The stages of a Dockerfile: comments dropped, backslash continuations joined. */
export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push((pending + line).trim());
    pending = '';
  }
  if (pending) logical.push(pending.trim());
  const stages: Stage[] = [];
  for (const l of logical) {
    if (l === '') continue;
    const m = /^([A-Z]+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`Dockerfile: cannot read ${JSON.stringify(l)}`);
    const [, op, args] = m as unknown as [string, string, string];
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`Dockerfile: cannot read ${JSON.stringify(l)}`);
      stages.push({ image: f[1]!, name: f[2], instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile: ${op} before FROM`);
    stage.instructions.push({ op, args });
  }
  return stages;
}

export function stage(stages: Stage[], name: string): Stage {
  const s = stages.find((x) => x.name === name);
  if (!s) throw new Error(`Dockerfile: no stage ${name}`);
  return s;
}

export const all = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op);

/** The exec form (a JSON array) of CMD, HEALTHCHECK … CMD, RUN; null for the shell form. */
export function execForm(args: string): string[] | null {
  if (!args.startsWith('[')) return null;
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string'))
    throw new Error(`not an exec form: ${args}`);
  return parsed;
}

/** Every ENV of a stage, in order (the `KEY=value` form, unquoted values). */
export function envOf(s: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of all(s, 'ENV'))
    for (const pair of args.split(/\s+/)) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=([^"'\s]*)$/.exec(pair);
      if (!m) throw new Error(`ENV: cannot read ${JSON.stringify(pair)}`);
      env[m[1]!] = m[2]!;
    }
  return env;
}

export interface Copy {
  readonly from: string | undefined;
  readonly sources: string[];
  readonly dest: string;
}

export function copiesOf(s: Stage): Copy[] {
  return all(s, 'COPY').map(({ args }) => {
    const words = args.split(/\s+/);
    let from: string | undefined;
    while (words[0]?.startsWith('--')) {
      const flag = words.shift()!;
      const m = /^--from=(.+)$/.exec(flag);
      if (!m) throw new Error(`COPY: unknown flag ${flag}`);
      from = m[1];
    }
    if (words.length < 2) throw new Error(`COPY: cannot read ${JSON.stringify(args)}`);
    return { from, sources: words.slice(0, -1), dest: words.at(-1)! };
  });
}

/** The command of a HEALTHCHECK (exec form). */
export function healthcheckCommand(s: Stage): string[] {
  const [hc] = all(s, 'HEALTHCHECK');
  if (!hc) throw new Error('no HEALTHCHECK');
  const m = /\bCMD\s+(\[.*\])$/.exec(hc.args);
  if (!m) throw new Error(`HEALTHCHECK: not an exec-form CMD: ${hc.args}`);
  return execForm(m[1]!)!;
}

export type Yaml = string | null | Yaml[] | { [key: string]: Yaml };

function yamlScalar(text: string): Yaml {
  const t = text.trim();
  if (t === '') return null;
  if (t.startsWith('"') || t.startsWith('[')) return JSON.parse(t) as Yaml;
  if (t.startsWith("'")) {
    if (!t.endsWith("'")) throw new Error(`YAML: unterminated ${t}`);
    return t.slice(1, -1).replaceAll("''", "'");
  }
  if (/^[&*!|>{]/.test(t) || / #/.test(t)) throw new Error(`YAML: unsupported scalar ${t}`);
  return t;
}

/**
 * The subset of YAML the compose file is written in: block mappings, block sequences of scalars,
 * plain / single- / double-quoted scalars and JSON-style flow sequences; full-line comments.
 */
export function parseYaml(text: string): Yaml {
  const lines = text
    .split('\n')
    .map((raw, i) => ({ raw, n: i + 1 }))
    .filter(({ raw }) => raw.trim() !== '' && !raw.trim().startsWith('#'));
  let at = 0;
  const indentOf = (raw: string) => raw.length - raw.trimStart().length;
  function block(indent: number): Yaml {
    const first = lines[at]!;
    if (first.raw.trimStart().startsWith('- ')) {
      const list: Yaml[] = [];
      while (at < lines.length && indentOf(lines[at]!.raw) === indent) {
        const item = lines[at]!.raw.trim();
        if (!item.startsWith('- ')) throw new Error(`YAML line ${lines[at]!.n}: expected a list item`);
        list.push(yamlScalar(item.slice(2)));
        at += 1;
      }
      return list;
    }
    const map: { [key: string]: Yaml } = {};
    while (at < lines.length && indentOf(lines[at]!.raw) === indent) {
      const { raw, n } = lines[at]!;
      const m = /^([A-Za-z0-9_.-]+):(?:\s+(.*))?$/.exec(raw.trim());
      if (!m) throw new Error(`YAML line ${n}: cannot read ${JSON.stringify(raw)}`);
      if (Object.hasOwn(map, m[1]!)) throw new Error(`YAML line ${n}: duplicate key ${m[1]}`);
      at += 1;
      if (m[2] !== undefined) map[m[1]!] = yamlScalar(m[2]);
      else if (at < lines.length && indentOf(lines[at]!.raw) > indent)
        map[m[1]!] = block(indentOf(lines[at]!.raw));
      else map[m[1]!] = null;
    }
    if (at < lines.length && indentOf(lines[at]!.raw) > indent)
      throw new Error(`YAML line ${lines[at]!.n}: unexpected indentation`);
    return map;
  }
  const doc = block(0);
  if (at < lines.length) throw new Error(`YAML line ${lines[at]!.n}: unexpected indentation`);
  return doc;
}

/** Compose's variable interpolation (`${VAR:-default}`, `${VAR}`, `$$`) against `env`. */
export function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (match, name, fallback) => {
    if (match === '$$') return '$';
    const v = env[name];
    return v === undefined || v === '' ? (fallback ?? '') : v;
  });
}

export function composeServices(): Record<string, Record<string, Yaml>> {
  const doc = parseYaml(composeText()) as Record<string, Yaml>;
  return doc.services as Record<string, Record<string, Yaml>>;
}

/** The scenario harness of docker/compose.yaml: its command, and the token it is given. */
export function harness(): { command: string[]; env: Record<string, string> } {
  const s = composeServices().scenarios!;
  const env = Object.fromEntries(
    Object.entries((s.environment ?? {}) as Record<string, string>).map(([k, v]) => [k, interpolate(v, {})]),
  );
  return { command: s.command as string[], env };
}
