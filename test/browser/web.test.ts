// The web view in a real browser (issue 13, point 2): Debian's chromium drives the page against a real
// server, one browser for the whole file.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { freePort, serverProcess, waitReady } from '../helpers/child.ts';
import { launchChromium } from './browser.ts';

let server: ChildProcess;
let base: string;
let context: BrowserContext;
let closeBrowser: () => Promise<void>;

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = serverProcess(port);
  const [browser] = await Promise.all([launchChromium(), waitReady(base)]);
  ({ context, close: closeBrowser } = browser);
});
after(async () => {
  await closeBrowser?.();
  server?.kill();
});

test('/ renders the application', async () => {
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.getByRole('heading', { name: 'lparsim' }).waitFor();
  assert.equal(await page.title(), 'lparsim');
  await page.close();
});
