// Loading scenario files from a file or a directory. Every file is checked against the scenario
// schema; all problems of all files are reported together. A directory's `kernels/` subdirectory holds
// kernel extensions (scenarios-extra/README.md): a scenario kept elsewhere, run on kernels it does not
// list, with the expectations those kernels have.

import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { KERNEL_NAMES } from '../kernel/profiles.ts';
import {
  type ExpectStep,
  type KernelExtension,
  KernelExtensionSchema,
  type KernelName,
  KernelRun,
  KernelSkip,
  type Scenario,
  type Step,
} from './schema.ts';
import { appliesTo, checkScenario, parseScenario, ScenarioError } from './validate.ts';

export interface LoadedScenario {
  readonly file: string;
  readonly scenario: Scenario;
  /** For a kernel extension's run (file is the extension): the scenario file it extends. */
  readonly extends?: string;
}

/** The JSON Schema of the language sits beside the scenarios; it is not one of them. */
export const SCHEMA_FILE_NAME = 'schema.json';

/** The scenario files of a target: the file itself, or a directory's `*.json` but schema.json. */
export async function scenarioFiles(target: string): Promise<string[]> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(target);
  } catch {
    throw new ScenarioError([`${target}: no such file or directory`]);
  }
  if (!info.isDirectory()) return [target];
  return (await readdir(target))
    .filter((f) => f.endsWith('.json') && f !== SCHEMA_FILE_NAME)
    .sort()
    .map((f) => join(target, f));
}

const run = promisify(execFile);

/** An overlay file's blob: a .dts compiled as a user would (`dtc -@`), anything else read as it is. */
async function overlayBytes(path: string): Promise<Buffer> {
  if (!path.endsWith('.dts')) return readFile(path);
  const { stdout } = await run('dtc', ['-@', '-q', '-I', 'dts', '-O', 'dtb', path], {
    encoding: 'buffer',
    maxBuffer: 64 << 20,
  });
  return stdout;
}

/**
 * The scenario with each overlay step's `file` (relative to the scenario file) read into `base64`, so
 * that the runner, which may talk to a service elsewhere, needs no file of its own.
 */
async function withOverlayFiles(scenario: Scenario, file: string, problems: string[]): Promise<Scenario> {
  const steps: Step[] = [];
  for (const [i, step] of scenario.steps.entries()) {
    if (step.do !== 'overlay' || !('file' in step)) {
      steps.push(step);
      continue;
    }
    const { file: relative, ...rest } = step;
    const path = resolve(dirname(file), relative);
    try {
      steps.push({ ...rest, base64: (await overlayBytes(path)).toString('base64') });
    } catch (e) {
      const why =
        (e as { stderr?: Buffer }).stderr?.toString().trim() || (e instanceof Error ? e.message : String(e));
      problems.push(`${file}: step ${i + 1} (overlay): file: cannot read ${relative}: ${why}`);
      steps.push(step);
    }
  }
  return { ...scenario, steps };
}

/** Where a directory keeps its kernel extensions. */
export const KERNELS_DIR_NAME = 'kernels';

/**
 * `base` as it runs on `kernel`, which it does not list: every step whose kernel filter takes
 * `run.as` runs, the expect steps `run.replace` names are this kernel's own, and `run.append`'s come
 * last. A step the scenario runs only on other kernels becomes an invariants check (a pure read that
 * must always pass), so every step keeps the number the runner prints for it in the shared file.
 */
export function scenarioForKernel(base: Scenario, kernel: KernelName, run: KernelRun): Scenario {
  const placeholder = (): ExpectStep => ({ do: 'expect', invariants: true });
  const steps: Step[] = base.steps.map((step, i) => {
    const own = run.replace?.[String(i + 1)];
    if (own) return own;
    if (!appliesTo(step.kernel, run.as)) return placeholder();
    const { kernel: _filter, ...rest } = step;
    return rest as Step;
  });
  return { ...base, kernels: [kernel], steps: [...steps, ...(run.append ?? [])] };
}

/** The problems of one kernel entry that the schema cannot state. */
function kernelRunProblems(base: Scenario, run: KernelRun, where: string): string[] {
  const out: string[] = [];
  if (!base.kernels.includes(run.as))
    out.push(
      `${where}: as: ${JSON.stringify(run.as)} is not one of the scenario's kernels (${base.kernels.join(', ')})`,
    );
  for (const n of Object.keys(run.replace ?? {})) {
    const step = base.steps[Number(n) - 1];
    if (!step) out.push(`${where}: replace: the scenario has no step ${n} (it has ${base.steps.length})`);
    else if (step.do !== 'expect')
      out.push(`${where}: replace: step ${n} is a ${step.do} step; only expectations are replaced`);
  }
  const own = [...Object.values(run.replace ?? {}), ...(run.append ?? [])];
  if (own.some((s) => s.kernel !== undefined))
    out.push(`${where}: a replaced or appended step is this kernel's own; it takes no kernel filter`);
  return out;
}

/**
 * The file's shape, each entry checked against the kind it is meant to be (a run or a skip); the
 * steps an entry brings are checked afterwards as steps of the scenario it makes, with the scenario
 * checker's messages.
 */
function extensionProblems(ext: unknown, file: string): string[] {
  const errors = (schema: TSchema, value: unknown, at: string) =>
    [...Value.Errors(schema, value)].map((e) => `${file}: ${at}${e.path}: ${e.message}`);
  const kernels = (ext as { kernels?: unknown } | null)?.kernels;
  const entries =
    kernels && typeof kernels === 'object'
      ? Object.entries(kernels).filter(([k]) => (KERNEL_NAMES as readonly string[]).includes(k))
      : [];
  const out = errors(KernelExtensionSchema, ext, '').filter(
    (m) => !entries.some(([k]) => m.startsWith(`${file}: /kernels/${k}`)),
  );
  for (const [k, entry] of entries) {
    if (!entry || typeof entry !== 'object') continue;
    if ('skip' in entry) out.push(...errors(KernelSkip, entry, `/kernels/${k}`));
    else {
      // Steps stand in as stubs here: their content is checked later, with step numbers.
      const { replace, append, ...rest } = entry as Record<string, unknown>;
      const stub = { do: 'expect', invariants: true };
      const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null && !Array.isArray(v);
      const masked = {
        ...rest,
        ...(replace === undefined
          ? {}
          : {
              replace: isObject(replace)
                ? Object.fromEntries(Object.keys(replace).map((n) => [n, stub]))
                : replace,
            }),
        ...(append === undefined ? {} : { append: Array.isArray(append) ? append.map(() => stub) : append }),
      };
      out.push(...errors(KernelRun, masked, `/kernels/${k}`));
      const own = [
        ...(isObject(replace) ? Object.values(replace) : []),
        ...(Array.isArray(append) ? append : []),
      ];
      if (own.some((st) => (st as { do?: unknown } | null)?.do !== 'expect'))
        out.push(`${file}: /kernels/${k}: replace and append take expect steps ({"do": "expect", …})`);
    }
  }
  return out;
}

/** The runs one kernel extension file adds: one scenario per kernel it runs the extended one on. */
async function kernelExtension(file: string, problems: string[]): Promise<LoadedScenario[]> {
  let ext: unknown;
  try {
    ext = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    problems.push(`${file}: cannot read: ${e instanceof Error ? e.message : String(e)}`);
    return [];
  }
  const found = extensionProblems(ext, file);
  if (found.length) {
    problems.push(...found);
    return [];
  }
  const { extends: extended, kernels } = ext as KernelExtension;
  const basePath = resolve(dirname(file), extended);
  let base: Scenario;
  try {
    base = await withOverlayFiles(
      parseScenario(await readFile(basePath, 'utf8'), basePath),
      basePath,
      problems,
    );
  } catch (e) {
    if (e instanceof ScenarioError) problems.push(...e.problems);
    else
      problems.push(
        `${file}: extends: cannot read ${extended}: ${e instanceof Error ? e.message : String(e)}`,
      );
    return [];
  }
  const out: LoadedScenario[] = [];
  for (const [kernel, entry] of Object.entries(kernels)) {
    const where = `${file}: kernels.${kernel}`;
    if (base.kernels.includes(kernel as KernelName)) {
      problems.push(`${where}: ${relative(dirname(file), basePath)} already runs on ${kernel}`);
      continue;
    }
    if (!entry || 'skip' in entry) continue;
    const found = kernelRunProblems(base, entry, where);
    if (found.length) {
      problems.push(...found);
      continue;
    }
    try {
      const scenario = scenarioForKernel(base, kernel as KernelName, entry);
      out.push({ file, scenario: checkScenario(scenario, `${file} [${kernel}]`), extends: basePath });
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      problems.push(...e.problems);
    }
  }
  return out;
}

/** The kernel extension files of a directory (its kernels/*.json), none if it has no kernels/. */
export async function kernelExtensionFiles(dir: string): Promise<string[]> {
  const sub = join(dir, KERNELS_DIR_NAME);
  try {
    if (!(await stat(sub)).isDirectory()) return [];
  } catch {
    return [];
  }
  return (await readdir(sub))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(sub, f));
}

/**
 * Loads and checks every scenario of `target`, and for a directory the runs its kernel extensions add;
 * throws one ScenarioError listing every problem.
 */
export async function loadScenarios(target: string): Promise<LoadedScenario[]> {
  const out: LoadedScenario[] = [];
  const problems: string[] = [];
  for (const file of await scenarioFiles(target)) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      problems.push(`${file}: cannot read: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    try {
      out.push({ file, scenario: await withOverlayFiles(parseScenario(text, file), file, problems) });
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      problems.push(...e.problems);
    }
  }
  if ((await stat(target)).isDirectory())
    for (const file of await kernelExtensionFiles(target))
      out.push(...(await kernelExtension(file, problems)));
  if (problems.length) throw new ScenarioError(problems);
  return out;
}
