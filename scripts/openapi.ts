// npm run openapi: writes openapi/openapi.json from the route schemas. `--check` exits 1 on drift.

import { readFile, writeFile } from 'node:fs/promises';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';

export const OPENAPI_FILE = new URL('../openapi/openapi.json', import.meta.url);

export async function generateOpenapi(): Promise<string> {
  const app = await buildApp({ ...loadConfig({}), LOG_LEVEL: 'silent' });
  await app.ready();
  const doc = `${JSON.stringify(app.swagger(), null, 2)}\n`;
  await app.close();
  return doc;
}

if (import.meta.main) {
  const doc = await generateOpenapi();
  if (process.argv.includes('--check')) {
    const committed = await readFile(OPENAPI_FILE, 'utf8').catch(() => '');
    if (committed !== doc) {
      console.error('openapi/openapi.json differs from the route schemas: run npm run openapi');
      process.exit(1);
    }
    console.log('openapi/openapi.json is up to date');
  } else {
    await writeFile(OPENAPI_FILE, doc);
    console.log(`wrote ${OPENAPI_FILE.pathname}`);
  }
}
