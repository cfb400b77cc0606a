// The web view in a real browser (issue 13, point 2): Debian's chromium drives the page against a real
// server, one browser for the whole file. An LPAR is created from the page and migrated twice on 4.18;
// the tree must then show what the API says (states, colours, the #1 rename, holders), the compare view
// must show 4.18 and 5.16 differing on ibm,platform-facilities#1, and the screenshots must not be blank.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { freePort, serverProcess, waitReady } from '../helpers/child.ts';
import { launchChromium } from './browser.ts';
import { colourVariety } from './png.ts';

const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;
const TOKEN = 'browser-test-token-8e1f';

let server: ChildProcess;
let locked: ChildProcess;
let base: string;
let lockedBase: string;
let context: BrowserContext;
let closeBrowser: () => Promise<void>;
let page: Page;
let lpar: string;
const measured: Record<string, number> = {};
/** Uncaught errors in the page's scripts: none is allowed (the last test checks). */
const pageErrors: string[] = [];

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const port = await freePort();
  let lockedPort = await freePort();
  while (lockedPort === port) lockedPort = await freePort();
  base = `http://127.0.0.1:${port}`;
  lockedBase = `http://127.0.0.1:${lockedPort}`;
  server = serverProcess(port);
  locked = serverProcess(lockedPort, { LPARSIM_TOKEN: TOKEN });
  const [browser] = await Promise.all([launchChromium(), waitReady(base), waitReady(lockedBase)]);
  ({ context, close: closeBrowser } = browser);
  // A step that does not happen in 10 s is a failure, not a 30 s wait.
  context.setDefaultTimeout(10_000);
  page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
});
after(async () => {
  writeFileSync(`${ARTIFACTS}measurements.json`, `${JSON.stringify(measured, null, 2)}\n`);
  await closeBrowser?.();
  server?.kill();
  locked?.kill();
});

async function apiGet<T>(path: string): Promise<T> {
  const res = await fetch(`${base}${path}`);
  assert.equal(res.status, 200, path);
  return (await res.json()) as T;
}

interface Summary {
  address: string;
  state: string;
  flags: string[];
}
interface NodeDoc extends Summary {
  holders: Array<{ holder: string; count: number }>;
  sysfs: { name: string };
}

/** A screenshot in test/artifacts/, checked not blank: a real page has text, lines and state colours. */
async function shot(name: string, target: Page = page): Promise<void> {
  const png = await target.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: false });
  const { width, colours } = colourVariety(png);
  assert.ok(width > 300, `${name}: ${width} px wide`);
  assert.ok(colours >= 8, `${name}.png looks blank: ${colours} colours`);
}

test('first load: the LPAR list, under 300 KB transferred, every control labelled', async () => {
  const sizes: Array<Promise<number>> = [];
  const onResponse = (res: import('playwright-core').Response) =>
    sizes.push(
      res
        .request()
        .sizes()
        .then((s) => s.responseBodySize + s.responseHeadersSize),
    );
  page.on('response', onResponse);
  await page.goto(`${base}/`);
  await page.getByRole('heading', { name: 'Create an LPAR' }).waitFor();
  await page.getByText('No LPAR yet').waitFor();
  page.off('response', onResponse);
  const total = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
  measured.firstLoadBytes = total;
  measured.firstLoadRequests = sizes.length;
  assert.ok(total < 300 * 1024, `first load transferred ${total} bytes`);
  // The accessibility tree names the controls a user needs (their labels, not just their types)…
  const tree = await page.locator('body').ariaSnapshot();
  for (const control of ['combobox "Kernel', 'spinbutton "Seed"', 'button "Create"', 'textbox "Name"'])
    assert.ok(tree.includes(control), `${control} in:\n${tree}`);
  // …and no control has none.
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, button, [role="tab"], [role="treeitem"]')]
      .filter((el) => {
        const labelled = el.labels?.length || el.getAttribute('aria-label');
        return !labelled && !(el.textContent ?? '').trim();
      })
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  assert.deepEqual(unlabelled, []);
  await shot('lpars');
});

interface Schema {
  properties: { switches: { properties: Record<string, unknown> } };
}

test('the switches offered are the create body’s, read when opened; a choice becomes an override', async () => {
  await page.locator('select[name="kernel"]').selectOption('5.16');
  await page.locator('details.switches summary').click();
  const prrn = page.locator('select[name="switch-prrnEvents"]');
  await prrn.waitFor();
  // Every switch the document's create body names, with its values; no release fact of the profile.
  const doc = await apiGet<{
    paths: {
      '/v1/lpars': { post: { requestBody: { content: { 'application/json': { schema: Schema } } } } };
    };
  }>('/docs/json');
  const documented = Object.keys(
    doc.paths['/v1/lpars'].post.requestBody.content['application/json'].schema.properties.switches.properties,
  );
  const names = await page
    .locator('details.switches select')
    .evaluateAll((els) => els.map((e) => (e as unknown as { name: string }).name.slice('switch-'.length)));
  assert.deepEqual(names, documented);
  assert.ok(names.includes('prrnEvents') && !names.includes('traceIdZero'), names.join());
  assert.deepEqual(await prrn.locator('option').allTextContents(), ['ignored (5.16)', 'update', 'disabled']);
  await prrn.selectOption('update');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(/#\/lpars\/lpar-\d+$/);
  const id = decodeURIComponent(page.url().split('/').pop()!);
  const made = await apiGet<{ kernelProfile: { overrides: Record<string, unknown> } }>(`/v1/lpars/${id}`);
  assert.deepEqual(made.kernelProfile.overrides, { prrnEvents: 'update' });
  await page.goto(`${base}/#/lpars`);
});

test('an LPAR created from the page opens, its tree all attached', async () => {
  await page.locator('select[name="kernel"]').selectOption('4.18');
  await page.getByLabel('Seed').fill('1');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(/#\/lpars\/lpar-\d+$/);
  lpar = decodeURIComponent(page.url().split('/').pop()!);
  await page.getByRole('tree', { name: 'Device tree' }).waitFor();
  const summary = await apiGet<{ counts: { nodes: number } }>(`/v1/lpars/${lpar}`);
  assert.equal(await page.locator('[role="treeitem"]').count(), summary.counts.nodes);
  assert.equal(await page.locator('[role="treeitem"]:not([data-state="attached"])').count(), 0);
});

test('two migrations on 4.18: the nodes recolour live, as the API says, the #1 rename shown', async () => {
  const form = page.getByRole('form', { name: 'Migrate' });
  for (const [i, destination] of ['p9-beta', 'p9-alpha'].entries()) {
    const before = await page.evaluate(() => window.lparsimStats?.lastRecolour ?? 0);
    await form.locator('select[name="destination"]').selectOption(destination);
    await form.getByRole('button', { name: 'Migrate' }).click();
    await page
      .getByRole('heading', { name: new RegExp(`Migration m${i + 1}: .* → ${destination}`) })
      .waitFor();
    await page.waitForFunction((b) => (window.lparsimStats?.lastRecolour ?? 0) > b, before);
    // What the API says now, shown by the page once the stream has been applied.
    const nodes = (await apiGet<{ items: Summary[] }>(`/v1/lpars/${lpar}/nodes?limit=5000`)).items;
    await page.waitForFunction(
      (want) =>
        want.every(
          ([a, s]) =>
            document.querySelector(`[role="treeitem"][data-address="${a}"]`)?.getAttribute('data-state') ===
            s,
        ),
      nodes.map((n) => [n.address, n.state]),
    );
    const ms = await page.evaluate(
      () => window.lparsimStats!.lastRecolour! - window.lparsimStats!.migrationRequestedAt!,
    );
    measured[`migration${i + 1}RequestToLastRecolourMs`] = Math.round(ms);
  }
  const nodes = (await apiGet<{ items: Summary[] }>(`/v1/lpars/${lpar}/nodes?limit=5000`)).items;
  const states = new Set(nodes.map((n) => n.state));
  for (const s of ['detached', 'released', 'orphaned']) assert.ok(states.has(s), `4.18 leaves ${s} nodes`);
  // Each state's colour is the legend's, and the five are apart.
  const legend = await page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll('.legend .swatch')].map((el) => [
        el.getAttribute('data-state'),
        getComputedStyle(el).backgroundColor,
      ]),
    ),
  );
  assert.equal(new Set(Object.values(legend)).size, 5, JSON.stringify(legend));
  for (const n of nodes) {
    const colour = await page
      .locator(`[role="treeitem"][data-address="${n.address}"] .swatch`)
      .evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(colour, legend[n.state], `${n.address} (${n.state})`);
  }
  assert.notEqual(legend.detached, legend.attached);
  // The node safe_name renamed shows its sysfs name, and it is the API's.
  const dynamic = nodes.filter((n) => n.flags.includes('OF_DYNAMIC') && n.state === 'attached');
  const docs = await Promise.all(dynamic.map((n) => apiGet<NodeDoc>(`/v1/lpars/${lpar}/nodes/${n.address}`)));
  const renamed = docs.filter((d) => d.sysfs.name.includes('#'));
  assert.ok(
    renamed.some((d) => d.sysfs.name === 'ibm,platform-facilities#1'),
    'the API renamed the second copy',
  );
  for (const d of renamed)
    assert.equal(
      await page.locator(`[role="treeitem"][data-address="${d.address}"] .badge.rename`).textContent(),
      d.sysfs.name,
    );
  assert.equal(await page.locator('.badge.rename').count(), renamed.length);
  await shot('migrated');
});

test('a detached node: its holders are the API’s, its deep link survives a reload', async () => {
  const detached = (await apiGet<{ items: Summary[] }>(`/v1/lpars/${lpar}/nodes?state=detached`)).items[0]!;
  await page.locator(`[role="treeitem"][data-address="${detached.address}"]`).click();
  await page.waitForURL(new RegExp(`#/lpars/${lpar}/nodes/${detached.address}$`));
  const doc = await apiGet<NodeDoc>(`/v1/lpars/${lpar}/nodes/${detached.address}`);
  const holders = page.getByRole('table', { name: 'Holders' });
  await holders.waitFor();
  const shown = await holders
    .locator('tbody tr')
    .evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
  assert.deepEqual(
    shown,
    doc.holders.map((h) => [h.holder, String(h.count)]),
  );
  assert.ok(doc.holders.length > 0);
  await shot('node');
  await page.reload();
  await page.getByRole('table', { name: 'Holders' }).waitFor();
  assert.equal(
    await page.locator(`[role="treeitem"][data-address="${detached.address}"]`).getAttribute('aria-selected'),
    'true',
  );
  assert.match((await page.locator('#node-title').textContent()) ?? '', /detached/);
});

test('keyboard: arrows move in the tree, Enter selects', async () => {
  await page.locator('[role="treeitem"][aria-selected="true"]').focus();
  await page.keyboard.press('Home');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  const second = await page.locator('[role="treeitem"]').nth(2).getAttribute('data-address');
  await page.waitForURL(new RegExp(`/nodes/${second}$`));
  assert.equal(await page.locator('[role="treeitem"]').nth(2).getAttribute('aria-selected'), 'true');
  // Left on an open node closes it: its children leave the tree.
  const rows = await page.locator('[role="treeitem"]').count();
  await page.keyboard.press('Home');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await page.locator('[role="treeitem"]').count(), 1);
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.locator('[role="treeitem"]').count(), rows);
});

test('the cache, vio and dmesg views mark what is stale, broken and folded', async () => {
  await page.getByRole('tab', { name: 'Phandle cache' }).click();
  const cache = await apiGet<{ counts: { staleCacheEntries: number } }>(`/v1/lpars/${lpar}/phandle-cache`);
  assert.ok(cache.counts.staleCacheEntries > 0);
  assert.equal(await page.locator('tr.stale[data-slot]').count(), cache.counts.staleCacheEntries);
  await page.getByRole('tab', { name: 'VIO devices' }).click();
  assert.ok((await page.locator('tr.broken').count()) > 0, 'the vio devices of the detached nodes');
  await page.getByRole('tab', { name: 'dmesg' }).click();
  const warnings = await page.locator('.dmesg details.block.warning').count();
  const lpars = await apiGet<{ counts: { warnings: number } }>(`/v1/lpars/${lpar}`);
  assert.equal(warnings, lpars.counts.warnings);
  assert.equal(await page.locator('.dmesg details.block[open]').count(), 0, 'folded');
});

test('an API error shows its problem title and detail', async () => {
  await page.goto(`${base}/#/`);
  await page.getByLabel('Name', { exact: true }).fill(lpar);
  await page.getByRole('button', { name: 'Create' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  const res = await fetch(`${base}/v1/lpars`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kernel: '4.18', name: lpar }),
  });
  const problem = (await res.json()) as { title: string; detail: string };
  assert.equal(await alert.locator('.problem-title').first().textContent(), problem.title);
  assert.equal(await alert.locator('.problem-detail').first().textContent(), problem.detail);
});

test('compare: 4.18 and 5.16, same seed, same migrations, differ on ibm,platform-facilities#1', async () => {
  await page.goto(`${base}/#/compare`);
  await page.locator('select[name="kernelA"]').selectOption('4.18');
  await page.locator('select[name="kernelB"]').selectOption('5.16');
  await page.getByLabel('Migrations').fill('p9-beta, p9-alpha');
  await page.getByRole('button', { name: 'Create both and migrate' }).click();
  const table = page.getByRole('table', { name: 'Nodes compared' });
  await table.waitFor({ timeout: 20_000 });
  const row = table.locator('tbody tr', { hasText: 'ibm,platform-facilities#1' });
  assert.equal(await row.count(), 1);
  assert.equal(await row.getAttribute('data-differs'), 'true');
  const [a, b] = await row.locator('td.side').allTextContents();
  assert.match(a!, /ibm,platform-facilities#1/);
  assert.doesNotMatch(b!, /#1/);
  assert.match((await page.locator('#compare-title').textContent()) ?? '', /\(4\.18\) vs .*\(5\.16\)/);
  // Leaving refcounts out, fewer nodes differ, and the renamed facilities node still does.
  const differing = async () =>
    Number(
      /(\d+) of \d+ nodes differ/.exec((await page.locator('.compare p').first().textContent()) ?? '')?.[1],
    );
  const withCounts = await differing();
  await page.getByLabel('refcounts count as a difference').uncheck();
  const without = await differing();
  assert.ok(without < withCounts, `${without} nodes differ without refcounts, ${withCounts} with`);
  assert.equal(await row.getAttribute('data-differs'), 'true');
  await page.getByLabel('refcounts count as a difference').check();
  await shot('compare');
});

test('a phone-width screen shows the LPAR in one column', async () => {
  const phone = await context.newPage();
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.goto(`${base}/#/lpars/${lpar}`);
  await phone.getByRole('tree', { name: 'Device tree' }).waitFor();
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - innerWidth);
  assert.ok(overflow <= 1, `the page is ${overflow} px wider than the phone`);
  const [tree, detail] = await Promise.all(
    ['.tree-pane', '.detail-pane'].map((s) => phone.locator(s).boundingBox()),
  );
  assert.ok(detail!.y >= tree!.y + tree!.height, 'the node pane comes below the tree');
  await shot('phone', phone);
  await phone.close();
});

test('with LPARSIM_TOKEN the page asks for the token once, then keeps it for the tab', async () => {
  const tab = await context.newPage();
  await tab.goto(`${lockedBase}/`);
  const dialog = tab.getByRole('dialog', { name: 'API token' });
  await dialog.waitFor();
  await dialog.getByLabel('Token').fill(TOKEN);
  await dialog.getByRole('button', { name: 'Use token' }).click();
  await tab.getByText('No LPAR yet').waitFor();
  await tab.reload();
  await tab.getByText('No LPAR yet').waitFor();
  assert.equal(await tab.getByRole('dialog').count(), 0, 'not asked again');
  await tab.close();
});

test('the page threw no uncaught error', () => {
  assert.deepEqual(pageErrors, []);
});

test('the screenshots are on disk and not blank', () => {
  for (const name of ['lpars', 'migrated', 'node', 'compare', 'phone']) {
    const { colours } = colourVariety(readFileSync(`${ARTIFACTS}${name}.png`));
    assert.ok(colours >= 8, name);
  }
});

// The browser's globals the callbacks passed to page.evaluate use (they run in the page; this project
// compiles without the DOM library).
interface PageElement {
  getAttribute(name: string): string | null;
  textContent: string | null;
  outerHTML: string;
  labels?: ArrayLike<unknown> | null;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
  documentElement: { scrollWidth: number };
};
declare const getComputedStyle: (el: unknown) => { backgroundColor: string };
declare const innerWidth: number;

/** The page's measurement hooks (src/web/js/views/lpar.js, migrate.js). */
declare const window: {
  lparsimStats?: { lastRecolour?: number; migrationRequestedAt?: number; events?: number };
};
