// Loading scenario files from a file or a directory.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Scenario, scenarioProblems } from './runner.ts';

export interface LoadedScenario {
  readonly file: string;
  readonly scenario: Scenario;
}

export async function loadScenarios(target: string): Promise<LoadedScenario[]> {
  const info = await stat(target);
  const files = info.isDirectory()
    ? (await readdir(target))
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => join(target, f))
    : [target];
  const out: LoadedScenario[] = [];
  for (const file of files) {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    const problems = scenarioProblems(parsed);
    if (problems.length) throw new Error(`${file}: ${problems.join('; ')}`);
    out.push({ file, scenario: parsed as Scenario });
  }
  return out;
}
