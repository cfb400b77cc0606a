// Validation of scenario files: TypeBox's errors against the schema (schema.ts), each turned into one
// message naming the file, the step (number and `do`) and the key, then the checks a schema cannot
// state: kernels a step names but the scenario never runs, labels used before any step records them,
// regular expressions that do not compile, and kernels for which nothing at all is checked.

import { Kind, type TSchema } from '@sinclair/typebox';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import {
  DMESG_CHECKS,
  EXPECT_CHECKS,
  HINT,
  type Hint,
  type KernelFilter,
  type KernelName,
  type NodeRef,
  type Scenario,
  ScenarioSchema,
  STEP_KINDS,
  STEPS,
  Step,
  type StepKind,
  VIEW_PATH_PATTERN,
} from './schema.ts';

const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

export function appliesTo(kernels: KernelFilter | undefined, kernel: KernelName): boolean {
  if (kernels === undefined) return true;
  return (Array.isArray(kernels) ? kernels : [kernels]).includes(kernel);
}

const isStepKind = (k: unknown): k is StepKind => (STEP_KINDS as readonly unknown[]).includes(k);
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

// ---- where a problem is ----

/** JSON-pointer segments of a TypeBox error path. */
function segments(path: string): string[] {
  if (path === '') return [];
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** `dmesg.contains[0]`, `sysfs.children["/sys/x"]`. */
function keyPath(segs: readonly string[]): string {
  let out = '';
  for (const s of segs) {
    if (/^\d+$/.test(s)) out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

const join = (...parts: string[]) => parts.filter((p) => p !== '').join(': ');

// ---- what a schema wants ----

const hintOf = (schema: TSchema): Hint => (schema as { [HINT]?: Hint })[HINT] ?? {};

function describe(schema: TSchema): string {
  const hint = hintOf(schema);
  if (hint.what) return hint.what;
  switch (schema[Kind]) {
    case 'Literal':
      return show(schema.const);
    case 'Union': {
      const variants = schema.anyOf as TSchema[];
      if (variants.every((v) => v[Kind] === 'Literal'))
        return `one of ${variants.map((v) => show(v.const)).join(', ')}`;
      return variants.map(describe).join(' or ');
    }
    case 'String':
      if (schema.pattern) return `a string matching /${schema.pattern}/`;
      return schema.minLength ? 'a non-empty string' : 'a string';
    case 'Integer':
      return schema.minimum === 0 ? 'an integer ≥ 0' : 'an integer';
    case 'Number':
      return 'a number';
    case 'Boolean':
      return 'true or false';
    case 'Null':
      return 'null';
    case 'Array':
      return `a list, each ${describe(schema.items)}`;
    default:
      return 'an object';
  }
}

type Rough = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null' | 'other';
function roughValue(v: unknown): Rough {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  return t === 'object' || t === 'string' || t === 'number' || t === 'boolean' ? t : 'other';
}
function roughSchema(schema: TSchema): Rough[] {
  switch (schema[Kind]) {
    case 'Union':
      return (schema.anyOf as TSchema[]).flatMap(roughSchema);
    case 'Literal':
      return [roughValue(schema.const)];
    case 'Integer':
    case 'Number':
      return ['number'];
    case 'String':
      return ['string'];
    case 'Boolean':
      return ['boolean'];
    case 'Null':
      return ['null'];
    case 'Array':
      return ['array'];
    case 'Object':
    case 'Record':
      return ['object'];
    default:
      return ['other'];
  }
}

/** How well an object value fits an object schema: keys it knows, less keys it does not. */
function fit(schema: TSchema, value: object): number {
  if (schema[Kind] === 'Union') return Math.max(...(schema.anyOf as TSchema[]).map((v) => fit(v, value)));
  const known = Object.keys(schema.properties ?? {});
  return Object.keys(value).reduce((n, k) => n + (known.includes(k) ? 1 : -1), 0);
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
  return d[a.length]![b.length]!;
}

function unknownKey(key: string, schema: TSchema): string {
  const known = Object.keys(schema.properties ?? {});
  const near = known.filter((k) => distance(k.toLowerCase(), key.toLowerCase()) <= 2);
  const tail =
    near.length === 1
      ? ` (did you mean ${show(near[0])}?)`
      : known.length
        ? ` (known keys: ${known.join(', ')})`
        : '';
  return `unknown key ${show(key)}${tail}`;
}

interface Problem {
  readonly at: string[];
  readonly text: string;
}

/** One TypeBox error as problems; a union error becomes the errors of the variant the value meant. */
function explain(e: ValueError): Problem[] {
  const at = segments(e.path);
  const hint = hintOf(e.schema);
  const wrong = () => hint.wrong?.(e.value) ?? `expected ${describe(e.schema)}, saw ${show(e.value)}`;
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties:
      return [{ at: at.slice(0, -1), text: unknownKey(at.at(-1)!, e.schema) }];
    case ValueErrorType.ObjectRequiredProperty:
      return [{ at: at.slice(0, -1), text: `missing key ${show(at.at(-1))}` }];
    case ValueErrorType.ObjectMinProperties:
    case ValueErrorType.ArrayMinItems:
      return [{ at, text: hint.empty ?? 'must not be empty' }];
    case ValueErrorType.ObjectMaxProperties:
      return [{ at, text: 'has too many keys' }];
    case ValueErrorType.ArrayMaxItems:
      return [{ at, text: `has more than ${e.schema.maxItems} entries` }];
    case ValueErrorType.ArrayUniqueItems:
      return [{ at, text: `lists an entry twice: ${show(e.value)}` }];
    case ValueErrorType.StringMinLength:
      return [{ at, text: e.schema.minLength === 1 ? 'must not be empty' : wrong() }];
    case ValueErrorType.Union: {
      const variants = e.schema.anyOf as TSchema[];
      const rough = roughValue(e.value);
      let candidates = variants.map((_, i) => i).filter((i) => roughSchema(variants[i]!).includes(rough));
      if (rough === 'object' && candidates.length > 1) {
        const scores = candidates.map((i) => fit(variants[i]!, e.value as object));
        const best = Math.max(...scores);
        candidates = candidates.filter((_, n) => scores[n] === best);
      }
      // A literal union ("one of …") says more as a whole than each literal's "expected x".
      const literals = variants.every((v) => v[Kind] === 'Literal');
      if (candidates.length === 1 && !literals) {
        const inner = withoutEchoes(e.errors[candidates[0]!]!);
        // The variant's own complaint about the value as a whole says less than the union's hint.
        const whole = inner.every(
          (i) => i.path === e.path && !hintOf(i.schema).what && !hintOf(i.schema).wrong,
        );
        if (inner.length && !(whole && hint.what)) return inner.flatMap(explain);
      }
      return [{ at, text: wrong() }];
    }
    default:
      return [{ at, text: wrong() }];
  }
}

/** A missing key is also reported as a wrong value at its path: keep only the first. */
function withoutEchoes(errors: Iterable<ValueError>): ValueError[] {
  const all = [...errors];
  const missing = new Set(
    all.filter((e) => e.type === ValueErrorType.ObjectRequiredProperty).map((e) => e.path),
  );
  return all.filter((e) => e.type === ValueErrorType.ObjectRequiredProperty || !missing.has(e.path));
}

/** Every schema problem of `value`, deduplicated, as messages under `scope`. */
function schemaProblems(schema: TSchema, value: unknown, scope: string, skip?: RegExp): string[] {
  const errors = withoutEchoes(Value.Errors(schema, value)).filter((e) => !skip?.test(e.path));
  const out: string[] = [];
  for (const p of errors.flatMap(explain)) {
    const msg = join(scope, keyPath(p.at), p.text);
    if (!out.includes(msg)) out.push(msg);
  }
  return out;
}

// ---- the file ----

const stepScope = (i: number, kind?: unknown) =>
  typeof kind === 'string' ? `step ${i + 1} (${kind})` : `step ${i + 1}`;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Everything wrong with a parsed scenario file, each message starting with `file`; empty when the
 * file is a valid scenario.
 */
export function scenarioProblems(value: unknown, file: string): string[] {
  if (!isObject(value)) return [`${file}: expected a JSON object (a scenario), saw ${show(value)}`];
  // The file's own keys, with steps checked one by one below (a union of nine kinds explains nothing).
  const problems = schemaProblems(ScenarioSchema, value, file, /^\/steps\/\d+(\/|$)/);
  if (Array.isArray(value.steps))
    for (const [i, st] of value.steps.entries()) problems.push(...stepProblems(st, i, file));
  if (problems.length) return problems;
  // The whole schema again, as the type guard the semantic checks need (and a net under the above).
  if (!Value.Check(ScenarioSchema, value)) return schemaProblems(ScenarioSchema, value, file);
  return semanticProblems(value, file);
}

function stepProblems(st: unknown, i: number, file: string): string[] {
  if (!isObject(st)) return [join(file, stepScope(i), `expected an object (a step), saw ${show(st)}`)];
  if (!('do' in st)) return [join(file, stepScope(i), 'missing key "do"')];
  const kind = st.do;
  const scope = join(file, stepScope(i, kind));
  if (!isStepKind(kind))
    return [join(scope, `unknown step kind ${show(kind)} (known: ${STEP_KINDS.join(', ')})`)];
  const problems = schemaProblems(STEPS[kind], st, scope);
  if (problems.length || !Value.Check(Step, st)) return problems;
  return localProblems(st, scope);
}

// ---- what a schema cannot say ----

function refsOf(step: Step): Array<[string, NodeRef]> {
  switch (step.do) {
    case 'label':
    case 'get':
      return [['node', step.node]];
    case 'put':
      return 'node' in step ? [['node', step.node]] : [];
    case 'prrn':
      return step.nodes.map((n, j) => [`nodes[${j}]`, n]);
    case 'expect': {
      const out: Array<[string, NodeRef]> = (step.nodes ?? []).map((n, j) => [`nodes[${j}].node`, n.node]);
      if (step.lookup?.finds) out.push(['lookup.finds', step.lookup.finds]);
      return out;
    }
    default:
      return [];
  }
}

function regexProblems(step: Step): Array<[string, string]> {
  if (step.do !== 'expect' || !step.dmesg) return [];
  const d = step.dmesg;
  const res: Array<[string, string]> = [
    ...(d.matches ?? []).map((r, j): [string, string] => [`dmesg.matches[${j}]`, r]),
    ...(d.absent ?? []).map((r, j): [string, string] => [`dmesg.absent[${j}]`, r]),
    ...Object.keys(d.count ?? {}).map((r): [string, string] => [`dmesg.count[${JSON.stringify(r)}]`, r]),
  ];
  const out: Array<[string, string]> = [];
  for (const [where, re] of res) {
    try {
      new RegExp(re);
    } catch (e) {
      out.push([where, `not a valid regular expression: ${message(e)}`]);
    }
  }
  return out;
}

/** What one step gets wrong on its own: checks that check nothing, bad regexes, bad directory keys. */
function localProblems(step: Step, scope: string): string[] {
  const out = regexProblems(step).map(([where, text]) => join(scope, where, text));
  if (step.do === 'slot' && (step.drcName === undefined) === (step.of === undefined))
    out.push(join(scope, 'name the slot with drcName or with of (one of the two)'));
  if (step.do !== 'expect') return out;
  if (!EXPECT_CHECKS.some((k) => step[k] !== undefined))
    out.push(join(scope, `checks nothing: give at least one of ${EXPECT_CHECKS.join(', ')}`));
  if (step.dmesg && !DMESG_CHECKS.some((k) => step.dmesg?.[k] !== undefined))
    out.push(join(scope, 'dmesg', `checks nothing: give at least one of ${DMESG_CHECKS.join(', ')}`));
  const viewPath = new RegExp(VIEW_PATH_PATTERN);
  for (const dir of Object.keys(step.sysfs?.children ?? {}))
    if (!viewPath.test(dir))
      out.push(
        join(
          scope,
          `sysfs.children[${JSON.stringify(dir)}]`,
          'expected an absolute path under /sys or /proc/device-tree',
        ),
      );
  return out;
}

/** Checks across the steps of a scenario the schema accepts. */
function semanticProblems(s: Scenario, file: string): string[] {
  const out: string[] = [];
  s.steps.forEach((step, i) => {
    if (step.kernel === undefined) return;
    for (const k of Array.isArray(step.kernel) ? step.kernel : [step.kernel])
      if (!s.kernels.includes(k))
        out.push(
          join(
            file,
            stepScope(i, step.do),
            'kernel',
            `${show(k)} is not one of this scenario's kernels (${s.kernels.join(', ')}), so the step never runs for it`,
          ),
        );
  });
  out.push(...perKernelProblems(s, file));
  return out;
}

/**
 * What happens in each kernel's run, step by step: a label or reference used before a step makes it,
 * and a run in which nothing is checked. Problems common to every kernel are said once.
 */
function perKernelProblems(s: Scenario, file: string): string[] {
  const byMessage = new Map<string, { kernels: string[]; perKernel: boolean }>();
  const note = (msg: string, kernel: string, perKernel = false) => {
    const seen = byMessage.get(msg) ?? { kernels: [], perKernel };
    byMessage.set(msg, { ...seen, kernels: [...seen.kernels, kernel] });
  };
  for (const kernel of s.kernels) {
    const labels = new Set<string>();
    const refs = new Set<string>();
    const overlays = new Set<string>();
    let checks = 0;
    s.steps.forEach((step, i) => {
      if (!appliesTo(step.kernel, kernel)) return;
      const scope = join(file, stepScope(i, step.do));
      for (const [where, ref] of refsOf(step))
        if ('label' in ref && !labels.has(ref.label))
          note(join(scope, where, `no earlier step labels a node ${show(ref.label)}`), kernel);
      if (step.do === 'put' && 'ref' in step) {
        if (!refs.has(step.ref))
          note(join(scope, 'ref', `no earlier get step holds a reference named ${show(step.ref)}`), kernel);
        refs.delete(step.ref);
      }
      if (step.do === 'overlay-remove') {
        if (!overlays.has(step.overlay))
          note(join(scope, 'overlay', `no earlier overlay step is named ${show(step.overlay)}`), kernel);
        // A removal the kernel refuses leaves the overlay applied.
        if (step.expectError === undefined) overlays.delete(step.overlay);
      }
      if (step.do === 'overlay' && step.as !== undefined) overlays.add(step.as);
      if (step.do === 'label') labels.add(step.as);
      if (step.do === 'lookup' && step.as !== undefined) labels.add(step.as);
      if (step.do === 'get' && step.as !== undefined) refs.add(step.as);
      if (
        step.do === 'expect' ||
        (step.do === 'ofdt' && step.expectError !== undefined) ||
        (step.do === 'prrn' && step.handled !== undefined) ||
        ((step.do === 'dlpar' || step.do === 'slot') &&
          (step.rc !== undefined || step.expectError !== undefined)) ||
        ((step.do === 'overlay' || step.do === 'overlay-remove') && step.expectError !== undefined)
      )
        checks += 1;
    });
    if (checks === 0)
      note(
        join(
          file,
          'kernels',
          `no expect step (and no ofdt expectError) runs for kernel ${show(kernel)}: its run would pass without checking anything`,
        ),
        kernel,
        true,
      );
  }
  return [...byMessage].map(([msg, { kernels, perKernel }]) =>
    perKernel || kernels.length === s.kernels.length ? msg : `${msg} (running ${kernels.join(', ')})`,
  );
}

/** Thrown when scenario files are not valid; `problems` holds one message per problem. */
export class ScenarioError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'ScenarioError';
    this.problems = problems;
  }
}

/** A parsed scenario, or a ScenarioError listing everything wrong with it. */
export function checkScenario(value: unknown, file: string): Scenario {
  const problems = scenarioProblems(value, file);
  if (problems.length || !Value.Check(ScenarioSchema, value)) throw new ScenarioError(problems);
  return value;
}

/** Parses and checks the text of a scenario file. */
export function parseScenario(text: string, file: string): Scenario {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ScenarioError([`${file}: not valid JSON: ${message(e)}`]);
  }
  return checkScenario(value, file);
}
