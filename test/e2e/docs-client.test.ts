// docs/client.md's program runs as written (issue 12, point 5): its `ts` block, imported through the
// package's own `lparsim/client` entry, against a fresh server, prints what the page says it prints.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { freePort, serverProcess, waitReady } from '../helpers/child.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const doc = readFileSync(`${ROOT}docs/client.md`, 'utf8');
const blocks = [...doc.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], text: m[2]! }));

describe('docs/client.md', () => {
  const kill: Array<() => void> = [];
  after(() => {
    for (const k of kill) k();
  });

  it('its program prints what the page shows, twice in a row', async () => {
    const program = blocks.find((b) => b.lang === 'ts')!.text;
    const printed = blocks.filter((b) => b.lang === '').at(-1)!.text;
    const port = await freePort();
    const child = serverProcess(port);
    kill.push(() => child.kill('SIGKILL'));
    await waitReady(`http://127.0.0.1:${port}`);
    for (let run = 0; run < 2; run++) {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--input-type=module-typescript', '-e', program],
        { cwd: ROOT, env: { ...process.env, LPARSIM_URL: `http://127.0.0.1:${port}` } },
      );
      assert.equal(stdout, printed, `run ${run + 1}`);
    }
  });
});
