// npm run scenario-schema: writes scenarios/schema.json from the TypeBox schema (schema.ts).
// `--check` exits 1 when the committed file differs (a test checks the same).

import { readFile, writeFile } from 'node:fs/promises';
import { ScenarioSchema } from './schema.ts';

export const SCHEMA_FILE = new URL('../../scenarios/schema.json', import.meta.url);

/** The JSON text of the schema, as committed. */
export function schemaJson(): string {
  return `${JSON.stringify(ScenarioSchema, null, 2)}\n`;
}

if (import.meta.main) {
  const doc = schemaJson();
  if (process.argv.includes('--check')) {
    const committed = await readFile(SCHEMA_FILE, 'utf8').catch(() => '');
    if (committed !== doc) {
      process.stderr.write(
        'scenarios/schema.json differs from src/scenario/schema.ts: run npm run scenario-schema\n',
      );
      process.exit(1);
    }
    process.stdout.write('scenarios/schema.json is up to date\n');
  } else {
    await writeFile(SCHEMA_FILE, doc);
    process.stdout.write(`wrote ${SCHEMA_FILE.pathname}\n`);
  }
}
