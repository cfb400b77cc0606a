// Loading scenario files from a file or a directory. Every file is checked against the scenario
// schema; all problems of all files are reported together.

import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Scenario, Step } from './schema.ts';
import { parseScenario, ScenarioError } from './validate.ts';

export interface LoadedScenario {
  readonly file: string;
  readonly scenario: Scenario;
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

/** Loads and checks every scenario of `target`; throws one ScenarioError listing every problem. */
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
  if (problems.length) throw new ScenarioError(problems);
  return out;
}
