// npm run scenarios -- <file|dir>... [--url URL] [--kernel K] [--tag T]
// Prints one PASS/FAIL line per scenario and kernel, the failures under it, and a closing count.

import { parseArgs } from 'node:util';
import { buildApp } from '../app.ts';
import { LparsimClient } from '../client/client.ts';
import { injectTransport, undiciTransport } from '../client/transport.ts';
import { loadConfig } from '../config.ts';
import { loadScenarios } from './files.ts';
import { runScenarioKernels } from './runner.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { url: { type: 'string' }, kernel: { type: 'string' }, tag: { type: 'string', multiple: true } },
});
const targets = positionals.length ? positionals : ['scenarios'];
let close = async () => {};
let client: LparsimClient;
if (values.url) client = new LparsimClient(undiciTransport(values.url));
else {
  const app = await buildApp({ ...loadConfig({}), LOG_LEVEL: 'silent' });
  client = new LparsimClient(injectTransport(app));
  close = () => app.close();
}
let passed = 0;
let failed = 0;
try {
  for (const target of targets) {
    for (const { scenario } of await loadScenarios(target)) {
      if (values.tag && !values.tag.some((t) => scenario.tags?.includes(t))) continue;
      for (const r of await runScenarioKernels(client, scenario, values.kernel)) {
        if (r.ok) passed += 1;
        else failed += 1;
        console.log(`${r.ok ? 'PASS' : 'FAIL'} ${r.scenario} [${r.kernel}]`);
        for (const f of r.failures) console.log(`     ${f}`);
      }
    }
  }
  console.log(`scenarios: ${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
} catch (e) {
  // A file that cannot be read or is not a scenario, or a service that cannot be reached.
  console.error(`scenarios: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 2;
} finally {
  await close();
}
