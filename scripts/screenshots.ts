// Regenerates docs/screenshots/*.png (docs/web.md): the service in this process on an ephemeral port,
// Debian's chromium, and the thread's scenario: 4.18 and 5.16 from seed 1, each migrated to p9-beta
// and back to p9-alpha. Run: npx node scripts/screenshots.ts

import { mkdirSync } from 'node:fs';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { launchChromium } from '../test/browser/browser.ts';

const OUT = new URL('../docs/screenshots/', import.meta.url).pathname;
mkdirSync(OUT, { recursive: true });

const app = await buildApp({ ...loadConfig({}), LOG_LEVEL: 'silent' });
const base = await app.listen({ port: 0, host: '127.0.0.1' });

async function post<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const pair: string[] = [];
for (const kernel of ['4.18', '5.16']) {
  const lpar = await post<{ id: string }>('/v1/lpars', { kernel, seed: 1, name: `web-${kernel}` });
  for (const destination of ['p9-beta', 'p9-alpha'])
    await post(`/v1/lpars/${lpar.id}/migrations`, { destination });
  pair.push(lpar.id);
}
const [old] = pair;
const detached = (
  (await (await fetch(`${base}/v1/lpars/${old}/nodes?state=detached`)).json()) as {
    items: Array<{ address: string }>;
  }
).items[0]!.address;

const { context, close } = await launchChromium({ width: 1280, height: 860 });
const page = await context.newPage();
const shots: Array<[string, string, (p: typeof page) => Promise<void>]> = [
  [
    'lpars',
    '/#/',
    async (p) => void (await p.getByRole('heading', { name: 'LPARs', exact: true }).waitFor()),
  ],
  [
    'lpar',
    `/#/lpars/${old}/nodes/${detached}`,
    async (p) => {
      await p.getByRole('table', { name: 'Holders' }).waitFor();
      // The tree keeps its own scroll at the selected node; the page goes back to its head.
      await p.evaluate(
        "document.querySelector('[role=treeitem][aria-selected=true]').scrollIntoView({ block: 'center' }); scrollTo(0, 0)",
      );
    },
  ],
  [
    'cache',
    `/#/lpars/${old}`,
    async (p) => {
      await p.getByRole('tab', { name: 'Phandle cache' }).click();
      await p.locator('.panes').evaluate((el) => el.scrollIntoView());
    },
  ],
  [
    'dmesg',
    `/#/lpars/${old}`,
    async (p) => {
      await p.getByRole('tab', { name: 'dmesg' }).click();
      await p.locator('.dmesg details.block').first().click();
      await p.locator('.panes').evaluate((el) => el.scrollIntoView());
    },
  ],
  [
    'compare',
    `/#/compare/${pair[0]}/${pair[1]}`,
    async (p) => void (await p.getByRole('table', { name: 'Nodes compared' }).waitFor()),
  ],
];
for (const [name, url, ready] of shots) {
  await page.goto(`${base}${url}`);
  await page.reload();
  await ready(page);
  await page.waitForTimeout(200);
  await page.screenshot({ path: `${OUT}${name}.png` });
  console.log(`docs/screenshots/${name}.png`);
}
await page.setViewportSize({ width: 390, height: 844 });
await page.goto(`${base}/#/lpars/${old}/nodes/${detached}`);
await page.getByRole('table', { name: 'Holders' }).waitFor();
await page.locator('.tree-pane').evaluate((el) => el.scrollIntoView());
await page.screenshot({ path: `${OUT}phone.png` });
console.log('docs/screenshots/phone.png');
await close();
await app.close();
