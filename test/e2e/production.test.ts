// The production install the image performs (issue 11, point 6), without Docker: the deps stage's
// `npm ci --omit=dev --ignore-scripts` on a copy of the package files, then the runtime stage's copies,
// read from docker/Dockerfile so that this mirrors it; then the image's CMD with the image's ENV, on
// this repository's Node 24 (the install has no devDependencies, so no `node` package either). Checks
// /readyz, a create, the compose test harness against it, and the SIGTERM drain (point 5): no new
// connections, a request in flight finishes, SSE streams end cleanly, a download read too slowly is cut
// so that the client sees an error (never a complete-looking truncated body), and exit 0 within the
// shutdown timeout.
//
// npm ci runs --offline from the local npm cache first; without a cached copy it tries the registry,
// and the test is skipped, saying why, if that cannot be reached.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { logLines } from '../helpers/child.ts';
import {
  all,
  copiesOf,
  dockerfileText,
  envOf,
  execForm,
  harness,
  parseDockerfile,
  ROOT,
  stage,
} from '../helpers/docker.ts';

const REPO = fileURLToPath(ROOT);
const SHUTDOWN_TIMEOUT_MS = 3000;
/** What main.ts may take after the timeout (resetting connections, closing), plus scheduling slack. */
const EXIT_SLACK_MS = 2500;
const TOKEN = 'production-test-token';
const NETWORK_ERRORS =
  /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ENOTCACHED/;

/** This repository's Node 24: the one running the tests (npx node / npm test), else the `node` package. */
function node24(): string | undefined {
  if (process.versions.node.startsWith('24.')) return process.execPath;
  const local = join(REPO, 'node_modules/node/bin/node');
  return existsSync(local) ? local : undefined;
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('the production install, as the image performs it', { timeout: 150_000 }, () => {
  const stages = parseDockerfile(dockerfileText());
  const deps = stage(stages, 'deps');
  const runtime = stage(stages, 'runtime');
  const node = node24();
  let skip: string | undefined;
  let tmp: string;
  let app: string;
  before(async () => {
    if (!node) {
      skip = 'no Node 24 binary (run with npx node, or npm ci for the node package)';
      return;
    }
    tmp = mkdtempSync(join(tmpdir(), 'lparsim-production-'));
    // The deps stage: its copies, then its install (the part before `&& npm cache clean`).
    const depsDir = join(tmp, 'deps');
    mkdirSync(depsDir);
    for (const c of copiesOf(deps)) for (const s of c.sources) cpSync(join(REPO, s), join(depsDir, s));
    const [installRun] = all(deps, 'RUN');
    const install = installRun!.args.split('&&')[0]!.trim().split(/\s+/);
    assert.deepEqual(install, ['npm', 'ci', '--omit=dev', '--ignore-scripts']);
    // npm itself runs on Node 24, as in the image (its `#!/usr/bin/env node` finds this one first).
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}`,
    };
    delete env.NODE_TEST_CONTEXT;
    delete env.NODE_OPTIONS;
    const npm = (extra: string[], timeoutMs: number) =>
      run(install[0]!, [...install.slice(1), ...extra], { cwd: depsDir, env, timeoutMs });
    let result = await npm(['--offline', '--no-audit', '--no-fund'], 90_000);
    if (result.code !== 0 && /ENOTCACHED/.test(result.output)) {
      rmSync(join(depsDir, 'node_modules'), { recursive: true, force: true });
      // One quick retry, not npm's default backoff of a minute, when the registry is unreachable.
      const quick = ['--fetch-retries=1', '--fetch-retry-mintimeout=1000', '--fetch-retry-maxtimeout=2000'];
      result = await npm(['--prefer-offline', '--no-audit', '--no-fund', ...quick], 90_000);
      if (result.code !== 0 && NETWORK_ERRORS.test(result.output)) {
        const why = result.output
          .split('\n')
          .filter((l) => /npm error (code|errno|network|request)/.test(l))
          .slice(0, 3)
          .join(' / ');
        skip = `npm ci needs packages that are not in the npm cache, and the registry cannot be reached (${why})`;
        return;
      }
    }
    assert.equal(result.code, 0, `npm ci failed:\n${result.output}`);
    // The runtime stage: node_modules from deps, the rest from the build context.
    app = join(tmp, 'app');
    mkdirSync(app);
    for (const c of copiesOf(runtime)) {
      if (c.from === 'deps') {
        assert.deepEqual(c.sources, ['/app/node_modules']);
        renameSync(join(depsDir, 'node_modules'), join(app, c.dest));
        continue;
      }
      for (const s of c.sources) {
        const dest = c.sources.length === 1 && !c.dest.endsWith('/') ? c.dest : join(c.dest, s);
        cpSync(join(REPO, s), join(app, dest), { recursive: true });
      }
    }
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('has the dependencies and no devDependency', (t) => {
    if (skip) return t.skip(skip);
    const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
    for (const name of Object.keys(pkg.dependencies))
      assert.ok(existsSync(join(app, 'node_modules', name, 'package.json')), `${name} installed`);
    for (const name of Object.keys(pkg.devDependencies))
      assert.ok(!existsSync(join(app, 'node_modules', name)), `devDependency ${name} not installed`);
    for (const dir of ['src', 'scenarios']) assert.ok(existsSync(join(app, dir)), `${dir}/ copied`);
  });

  it('starts with the image CMD and ENV, answers /readyz and a create, runs the compose harness, and drains on SIGTERM', {
    timeout: 120_000,
  }, async (t) => {
    if (skip) return t.skip(skip);
    const cmd = execForm(all(runtime, 'CMD')[0]!.args)!;
    assert.equal(cmd[0], 'node');
    const dataDir = join(tmp, 'data');
    mkdirSync(dataDir);
    // The image's environment, but on a free loopback port, a temporary data directory and a short
    // shutdown timeout; the token the compose file passes (checked once the service implements it).
    const child = spawn(node!, cmd.slice(1), {
      cwd: app,
      env: {
        PATH: process.env.PATH ?? '',
        ...envOf(runtime),
        PORT: '0',
        HOST: '127.0.0.1',
        LPARSIM_DATA_DIR: dataDir,
        LPARSIM_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
        LPARSIM_TOKEN: TOKEN,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
      (resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
    const log = logLines(child);
    const port = Number((await log.waitFor(/"msg":"Server listening at http:\/\/127\.0\.0\.1:(\d+)"/))[1]);
    const base = `http://127.0.0.1:${port}`;
    const headers = { authorization: `Bearer ${TOKEN}` };
    const json = { ...headers, 'content-type': 'application/json' };

    const ready = await request(`${base}/readyz`, { headers });
    assert.equal(ready.statusCode, 200);
    assert.equal(((await ready.body.json()) as { status: string }).status, 'ready');

    const created = await request(`${base}/v1/lpars`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ kernel: '5.8' }),
    });
    const createdBody = await created.body.text();
    assert.equal(created.statusCode, 201, createdBody);
    const small = (JSON.parse(createdBody) as { id: string }).id;
    assert.equal(created.headers.location, `/v1/lpars/${small}`);

    // The compose harness, from the same install, against this service instead of http://lparsim.
    const h = harness();
    const args = h.command.slice(1);
    args[args.indexOf('--url') + 1] = base;
    const scenarios = await run(node!, args, {
      cwd: app,
      env: { PATH: process.env.PATH ?? '', ...h.env, LPARSIM_TOKEN: TOKEN },
      timeoutMs: 60_000,
    });
    assert.equal(scenarios.code, 0, scenarios.output);
    assert.match(scenarios.output, /^scenarios: \d+ passed, 0 failed$/m);

    // A ~34 MB archive, downloaded whole once to know what a complete one is.
    const bigRes = await request(`${base}/v1/lpars`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ kernel: '5.8', options: { cores: 1000 } }),
    });
    assert.equal(bigRes.statusCode, 201);
    const big = ((await bigRes.body.json()) as { id: string }).id;
    const download = async (id: string) => {
      const res = await request(`${base}/v1/lpars/${id}/sysfs.tar`, { headers });
      assert.equal(res.statusCode, 200);
      return Buffer.from(await res.body.arrayBuffer());
    };
    const bigTar = await download(big);
    const smallTar = await download(small);
    assert.ok(bigTar.length > 10_000_000, `${bigTar.length} bytes`);

    // In flight at SIGTERM: a following SSE stream, a slow reader of the big archive, and a fast
    // download of the small one, each on its own connection.
    const sse = await request(`${base}/v1/events`, { headers, dispatcher: new Agent() });
    assert.equal(sse.statusCode, 200);
    const sseDone = (async () => {
      let text = '';
      for await (const chunk of sse.body) text += chunk;
      return text;
    })();
    const slow = await request(`${base}/v1/lpars/${big}/sysfs.tar`, { headers, dispatcher: new Agent() });
    assert.equal(slow.statusCode, 200);
    assert.equal(slow.headers['transfer-encoding'], 'chunked');
    const slowChunks = slow.body[Symbol.asyncIterator]();
    const first = await slowChunks.next();
    assert.ok(!first.done);
    const fast = await request(`${base}/v1/lpars/${small}/sysfs.tar`, { headers, dispatcher: new Agent() });
    assert.equal(fast.statusCode, 200);

    const sigterm = Date.now();
    child.kill('SIGTERM');
    await log.waitFor(/"msg":"shutting down: draining in-flight requests"/);

    // No new connections: refused once the listening socket is closed (right after the preClose
    // hooks; a connection accepted before that answers 503 with connection: close).
    for (let attempt = 0; ; attempt++) {
      const outcome = await request(`${base}/healthz`, { headers, dispatcher: new Agent() }).then(
        async (res) => {
          await res.body.dump();
          return res.statusCode;
        },
        (e: NodeJS.ErrnoException) => e.code,
      );
      if (outcome === 'ECONNREFUSED') break;
      // A connection accepted in the instant before the listener closed, whose request was not read
      // yet, is idle to the drain and closed: never served, as a refused one.
      if (outcome !== 'ECONNRESET') assert.equal(outcome, 503, 'a request during the drain');
      assert.ok(attempt < 20, 'still accepting connections 1 s after SIGTERM');
      await sleep(50);
    }
    // The request in flight finishes, whole.
    assert.equal(sha256(Buffer.from(await fast.body.arrayBuffer())), sha256(smallTar));
    // SSE streams are ended, cleanly, without waiting for the timeout.
    await sseDone;
    assert.ok(Date.now() - sigterm < SHUTDOWN_TIMEOUT_MS, 'SSE ended before the shutdown timeout');

    // The slow reader: 64 KiB per 100 ms would take a minute; the shutdown timeout cuts it. Either
    // way, what it gets is the whole archive or an error: never a clean end of a shorter body.
    const received: Buffer[] = [Buffer.from(first.value as Uint8Array)];
    let failure: unknown;
    try {
      for (;;) {
        const next = await slowChunks.next();
        if (next.done) break;
        received.push(Buffer.from(next.value as Uint8Array));
        await sleep(100);
      }
    } catch (e) {
      failure = e;
    }
    const got = Buffer.concat(received);
    t.diagnostic(
      failure === undefined
        ? `the slow download completed (${got.length} bytes)`
        : `the slow download was cut after ${got.length} of ${bigTar.length} bytes: ${(failure as Error).message}`,
    );
    if (failure === undefined)
      assert.equal(sha256(got), sha256(bigTar), `a clean end after ${got.length} of ${bigTar.length} bytes`);
    else {
      assert.ok(got.length < bigTar.length, 'an error after the whole archive');
      assert.match(String((failure as NodeJS.ErrnoException).code), /ECONNRESET|UND_ERR_SOCKET/);
      assert.ok(log.lines.some((l) => l.includes('shutdown: resetting the connections still open')));
    }

    const { code, signal, at } = await exited;
    assert.equal(signal, null, stderr);
    assert.equal(code, 0, `exit code ${code}\n${stderr}\n${log.lines.slice(-5).join('\n')}`);
    assert.ok(
      at - sigterm < SHUTDOWN_TIMEOUT_MS + EXIT_SLACK_MS,
      `exited ${at - sigterm} ms after SIGTERM (timeout ${SHUTDOWN_TIMEOUT_MS} ms)`,
    );
    assert.ok(log.lines.some((l) => l.includes('"msg":"closed"')));
  });
});
