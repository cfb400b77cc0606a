// Loading scenario files from a file or a directory. Every file is checked against the scenario
// schema; all problems of all files are reported together.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Scenario } from './schema.ts';
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
      out.push({ file, scenario: parseScenario(text, file) });
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      problems.push(...e.problems);
    }
  }
  if (problems.length) throw new ScenarioError(problems);
  return out;
}
