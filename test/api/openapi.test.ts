import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { generateOpenapi, OPENAPI_FILE } from '../../scripts/openapi.ts';

describe('openapi/openapi.json', () => {
  it('is what the route schemas generate (run npm run openapi after changing a route)', async () => {
    assert.equal(await readFile(OPENAPI_FILE, 'utf8'), await generateOpenapi());
  });

  it('names every operation with a unique operationId (issue 12, point 4)', async () => {
    const doc = JSON.parse(await readFile(OPENAPI_FILE, 'utf8')) as {
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    const ids = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => {
        assert.ok(op.operationId, `${method.toUpperCase()} ${path} has no operationId`);
        return op.operationId;
      }),
    );
    assert.ok(ids.length >= 50, `${ids.length} operations`);
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  });

  it('lints with zero errors (redocly recommended)', async () => {
    const bin = new URL('../../node_modules/.bin/redocly', import.meta.url).pathname;
    const run = promisify(execFile);
    const { stdout, stderr } = await run(bin, ['lint', OPENAPI_FILE.pathname, '--format=summary'], {
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      cwd: new URL('../..', import.meta.url).pathname,
    }).catch((e: { stdout: string; stderr: string }) => ({ stdout: e.stdout, stderr: e.stderr }));
    const out = `${stdout}\n${stderr}`;
    assert.doesNotMatch(out, /\berror/i, out);
    assert.match(out, /valid|0 errors|Woohoo/i, out);
  });
});
