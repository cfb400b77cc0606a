// npm run scenarios -- [<file|dir>...] [--url URL] [--kernel K] [--tag T]... [--reporter text|junit]
//                      [--output FILE]
// Checks every scenario file first (nothing runs if one is wrong), then runs each scenario once per
// kernel it names. Prints one PASS/FAIL line per scenario and kernel, the failures under it, and a
// closing count; `--reporter junit` writes JUnit XML instead (to --output, or to stdout with the
// progress lines moved to stderr). Exit 0: all passed; 1: some failed; 2: bad arguments, bad files,
// nothing to run, or a service that cannot be reached.

import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '../app.ts';
import { LparsimClient } from '../client/client.ts';
import { injectTransport, undiciTransport } from '../client/transport.ts';
import { loadConfig } from '../config.ts';
import { KERNEL_NAMES } from '../kernel/profiles.ts';
import { type LoadedScenario, loadScenarios } from './files.ts';
import { junitReport, type SuiteReport } from './junit.ts';
import { runScenarioKernels } from './runner.ts';
import { ScenarioError } from './validate.ts';

const USAGE =
  'usage: npm run scenarios -- [<file|dir>...] [--url URL] [--kernel K] [--tag T]... [--reporter text|junit] [--output FILE]';

/** A problem with what was asked, found before anything runs: exit 2. */
class UsageError extends Error {}

function options() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        kernel: { type: 'string' },
        tag: { type: 'string', multiple: true },
        reporter: { type: 'string', default: 'text' },
        output: { type: 'string' },
      },
    });
  } catch (e) {
    throw new UsageError(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
  }
}

/** The scenarios to run, or a UsageError when the selection would run nothing. */
function select(
  loaded: LoadedScenario[],
  targets: string[],
  kernel?: string,
  tags?: string[],
): LoadedScenario[] {
  const where = targets.join(', ');
  if (loaded.length === 0) throw new UsageError(`no scenario files in ${where}`);
  const seen = new Map<string, string>();
  const duplicates: string[] = [];
  // A kernel extension's runs share the name of the scenario they extend, each on its own kernel.
  const key = (l: LoadedScenario) =>
    l.extends ? `${l.scenario.name} [${l.scenario.kernels[0]}]` : l.scenario.name;
  const sameFile = (a: string, b: string) => resolve(a) === resolve(b);
  for (const l of loaded) {
    const other = seen.get(key(l));
    const plain = l.extends ? seen.get(l.scenario.name) : undefined;
    if (other)
      duplicates.push(
        l.extends
          ? `${l.file}: scenario ${JSON.stringify(key(l))} is also run by ${other}`
          : `${l.file}: scenario name ${JSON.stringify(l.scenario.name)} is also used by ${other}`,
      );
    else if (plain && !sameFile(plain, l.extends!))
      duplicates.push(`${l.file}: scenario name ${JSON.stringify(l.scenario.name)} is also used by ${plain}`);
    seen.set(key(l), l.file);
  }
  if (duplicates.length) throw new ScenarioError(duplicates);
  const tagged = tags ? loaded.filter((l) => tags.some((t) => l.scenario.tags?.includes(t))) : loaded;
  if (tags && tagged.length === 0)
    throw new UsageError(`no scenario in ${where} has tag ${tags.join(' or ')}`);
  if (kernel === undefined) return tagged;
  if (!(KERNEL_NAMES as readonly string[]).includes(kernel))
    throw new UsageError(`unknown kernel ${JSON.stringify(kernel)} (known: ${KERNEL_NAMES.join(', ')})`);
  const named = tagged.filter((l) => (l.scenario.kernels as readonly string[]).includes(kernel));
  if (named.length === 0)
    throw new UsageError(
      `no scenario${tags ? ` with tag ${tags.join(' or ')}` : ''} in ${where} names kernel ${kernel}`,
    );
  return named;
}

async function main(): Promise<number> {
  const { values, positionals } = options();
  const reporter = values.reporter;
  if (reporter !== 'text' && reporter !== 'junit')
    throw new UsageError(`unknown reporter ${JSON.stringify(reporter)} (text or junit)\n${USAGE}`);
  const targets = positionals.length ? positionals : ['scenarios'];
  const loaded: LoadedScenario[] = [];
  const problems: string[] = [];
  for (const target of targets) {
    try {
      loaded.push(...(await loadScenarios(target)));
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      problems.push(...e.problems);
    }
  }
  if (problems.length) throw new ScenarioError(problems);
  const selected = select(loaded, targets, values.kernel, values.tag);

  // Only now, with every file good and something to run, reach for the service.
  let close = async () => {};
  let client: LparsimClient;
  if (values.url)
    client = new LparsimClient(undiciTransport(values.url, process.env.LPARSIM_TOKEN || undefined));
  else {
    const app = await buildApp({ ...loadConfig({}), LOG_LEVEL: 'silent' });
    client = new LparsimClient(injectTransport(app));
    close = () => app.close();
  }
  // The XML owns stdout when it goes there; the progress lines then go to stderr.
  const xmlOnStdout = reporter === 'junit' && values.output === undefined;
  const text: string[] = [];
  const say = (line: string) => {
    text.push(line);
    (xmlOnStdout ? process.stderr : process.stdout).write(`${line}\n`);
  };
  const suites: SuiteReport[] = [];
  let passed = 0;
  let failed = 0;
  try {
    for (const { file, scenario } of selected) {
      const results = await runScenarioKernels(client, scenario, values.kernel);
      for (const r of results) {
        if (r.ok) passed += 1;
        else failed += 1;
        say(`${r.ok ? 'PASS' : 'FAIL'} ${r.scenario} [${r.kernel}]`);
        for (const f of r.failures) say(`     ${f}`);
      }
      suites.push({ name: scenario.name, file, results });
    }
  } finally {
    await close();
  }
  say(`scenarios: ${passed} passed, ${failed} failed`);
  const report = reporter === 'junit' ? junitReport(suites) : `${text.join('\n')}\n`;
  if (values.output !== undefined) await writeFile(values.output, report);
  else if (reporter === 'junit') process.stdout.write(report);
  return failed ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (e) {
  // Bad arguments, a file that cannot be read or is not a valid scenario, nothing to run, or a
  // service that cannot be reached: one line per problem.
  const lines = e instanceof ScenarioError ? e.problems : [e instanceof Error ? e.message : String(e)];
  for (const line of lines) console.error(`scenarios: ${line}`);
  process.exitCode = 2;
}
