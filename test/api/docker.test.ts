// No Docker engine runs on these machines: check docker/Dockerfile and docker/compose.yaml against the
// code (issue 11, point 6). test/e2e/production.test.ts performs the image's install and runs it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { ConfigSchema, loadConfig } from '../../src/config.ts';
import { scenarioFiles } from '../../src/scenario/files.ts';
import { testApp } from '../helpers/app.ts';
import {
  all,
  composeServices,
  composeText,
  copiesOf,
  dockerfileText,
  envOf,
  execForm,
  healthcheckCommand,
  interpolate,
  parseDockerfile,
  parseYaml,
  ROOT,
  stage,
  type Yaml,
} from '../helpers/docker.ts';
import { KNOWN_DIVERGENCES } from '../scenarios/divergences.ts';

const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8'));
const readme = readFileSync(new URL('README.md', ROOT), 'utf8');
const defaultPort = ConfigSchema.properties.PORT.default as number;
const stages = parseDockerfile(dockerfileText());
const deps = stage(stages, 'deps');
const runtime = stage(stages, 'runtime');
const imageEnv = envOf(runtime);
/** docker stop's default grace period before SIGKILL, and what main.ts may take after its timeout. */
const DOCKER_STOP_GRACE_MS = 10_000;
const HARD_EXIT_MS = 2000;

let app: FastifyInstance;
let port: number;
before(async () => {
  ({ app } = await testApp());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  assert.ok(addr && typeof addr === 'object');
  port = addr.port;
});
after(() => app.close());

/** Runs a container command (`node …`) here, with `env`; resolves its exit code. */
function runNode(command: string[], env: Record<string, string>): Promise<number | null> {
  assert.equal(command[0], 'node');
  const child = spawn(process.execPath, command.slice(1), {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: 'ignore',
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

describe('docker/Dockerfile', () => {
  it('is multi-stage on Node 24 slim, runs as a non-root user, and refuses a node that cannot run .ts', () => {
    assert.ok(stages.length >= 2);
    for (const s of stages) assert.match(s.image, /^node:24-slim$/);
    const [user] = all(runtime, 'USER');
    assert.match(user?.args ?? '', /^(node|\d{3,})$/);
    // src/ is TypeScript run as it is: Node 24 strips types by default, and the image checks it.
    assert.ok(
      all(runtime, 'RUN').some(
        (r) => /process\.features\.typescript/.test(r.args) && /exit\(1\)/.test(r.args),
      ),
    );
    assert.ok(process.features.typescript, 'the Node these tests run on strips types too');
    assert.match(pkg.engines.node, /^>=24\b/);
  });

  it('CMD runs node itself on the entry point (PID 1 gets SIGTERM), the file npm start runs', () => {
    const cmds = all(runtime, 'CMD');
    assert.equal(cmds.length, 1);
    const cmd = execForm(cmds[0]!.args) ?? [];
    assert.equal(cmd[0], 'node');
    assert.equal(cmd.at(-1), 'src/main.ts');
    assert.ok(
      cmd.slice(1, -1).every((a) => a.startsWith('--')),
      `only node flags between: ${cmd.join(' ')}`,
    );
    // The same young generation as npm start (the heap limit is the container's, see the Dockerfile).
    assert.ok(
      cmd.includes('--max-semi-space-size=8') && pkg.scripts.start.includes('--max-semi-space-size=8'),
    );
    assert.equal(all(runtime, 'ENTRYPOINT').length, 0, 'nothing between docker and node');
    assert.match(pkg.scripts.start, /^node (--\S+ )*src\/main\.ts$/);
    const main = readFileSync(new URL('src/main.ts', ROOT), 'utf8');
    assert.match(main, /process\.on\('SIGTERM'/);
    assert.match(main, /process\.on\('SIGINT'/);
    assert.match(readme, /npm ci && npm start/);
  });

  it('binds every address in the image, loopback outside it; its environment is a valid configuration', () => {
    assert.equal(ConfigSchema.properties.HOST.default, '127.0.0.1');
    assert.equal(loadConfig({}).HOST, '127.0.0.1');
    assert.equal(imageEnv.HOST, '0.0.0.0');
    const config = loadConfig(imageEnv);
    assert.equal(config.HOST, '0.0.0.0');
    assert.equal(config.PORT, defaultPort);
    assert.equal(imageEnv.NODE_ENV, 'production');
    const exposed = all(runtime, 'EXPOSE').map((e) => e.args);
    assert.deepEqual(exposed, [String(defaultPort)]);
    // The drain, and the reset of what is left, end before docker stop's SIGKILL.
    assert.ok(
      config.LPARSIM_SHUTDOWN_TIMEOUT_MS + HARD_EXIT_MS < DOCKER_STOP_GRACE_MS,
      `LPARSIM_SHUTDOWN_TIMEOUT_MS=${config.LPARSIM_SHUTDOWN_TIMEOUT_MS}`,
    );
    assert.match(readme, /\| `HOST` \| `127\.0\.0\.1` \|.*`0\.0\.0\.0`/);
  });

  it('declares the data volume at LPARSIM_DATA_DIR, made writable by the service user before USER', () => {
    const dir = imageEnv.LPARSIM_DATA_DIR;
    assert.ok(dir?.startsWith('/'), 'LPARSIM_DATA_DIR is set to an absolute path');
    const volumes = all(runtime, 'VOLUME').flatMap((v) => execForm(v.args) ?? v.args.split(/\s+/));
    assert.ok(volumes.includes(dir), `VOLUME ${dir}`);
    const ops = runtime.instructions;
    const chown = ops.findIndex(
      (i) =>
        i.op === 'RUN' && i.args.includes(`mkdir -p ${dir}`) && i.args.includes(`chown node:node ${dir}`),
    );
    const volume = ops.findIndex((i) => i.op === 'VOLUME');
    const user = ops.findIndex((i) => i.op === 'USER');
    assert.ok(chown >= 0 && chown < volume && volume < user, 'mkdir+chown, then VOLUME, then USER');
  });

  it('installs the production dependencies only, and copies src/, scenarios/ and files that exist and are not ignored', () => {
    const install = all(deps, 'RUN').map((r) => r.args.split('&&')[0]!.trim());
    assert.deepEqual(install, ['npm ci --omit=dev --ignore-scripts']);
    const ignored = readFileSync(new URL('.dockerignore', ROOT), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const isIgnored = (p: string) =>
      ignored.some((pattern) => {
        const re = new RegExp(
          `^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`,
        );
        return re.test(p.replace(/^\.\//, ''));
      });
    const copied: string[] = [];
    for (const c of [...copiesOf(deps), ...copiesOf(runtime)]) {
      if (c.from !== undefined) {
        assert.equal(c.from, 'deps');
        assert.deepEqual(c.sources, ['/app/node_modules']);
        continue;
      }
      for (const p of c.sources) {
        assert.ok(existsSync(new URL(p, ROOT)), `COPY ${p}: missing`);
        assert.ok(!isIgnored(p), `COPY ${p}: excluded by .dockerignore`);
        copied.push(p);
      }
    }
    for (const p of ['package.json', 'package-lock.json', 'src', 'scenarios'])
      assert.ok(
        copiesOf(runtime).some((c) => c.sources.includes(p)),
        `the runtime stage copies ${p}`,
      );
    assert.ok(copied.length > 0);
  });

  it('src/ imports at run time only packages of dependencies (the image has no devDependencies)', () => {
    const bare = new Set<string>();
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, e.name);
        if (e.isDirectory()) walk(path);
        else if (e.name.endsWith('.ts')) {
          const text = readFileSync(path, 'utf8');
          for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^;'"]*?\s+from\s+)?'([^']+)'/gm))
            if (!m[1] && !m[2]!.startsWith('.') && !m[2]!.startsWith('node:')) bare.add(m[2]!);
          for (const m of text.matchAll(/\bimport\('([^']+)'\)/g))
            if (!m[1]!.startsWith('.') && !m[1]!.startsWith('node:') && !text.includes(`import('${m[1]}').`))
              bare.add(m[1]!);
        }
      }
    };
    walk(fileURLToPath(new URL('src', ROOT)));
    assert.ok(bare.has('fastify'), 'the scan finds imports');
    for (const spec of bare) {
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      assert.ok(pkg.dependencies[name], `src imports ${spec}, which is not in dependencies`);
    }
  });

  it("HEALTHCHECK reads $PORT when it runs: healthy on the service's port, unhealthy elsewhere", async () => {
    const [hc] = all(runtime, 'HEALTHCHECK');
    assert.match(hc!.args, /--interval=\d+s --timeout=\d+s --start-period=\d+s --retries=\d+ CMD /);
    const command = healthcheckCommand(runtime);
    assert.ok(!/:\d{2,5}\//.test(command.join(' ')), 'no port written into the URL');
    assert.match(command.join(' '), /process\.env\.PORT/);
    assert.match(command.join(' '), /\/readyz/);
    assert.equal(await runNode(command, { PORT: String(port) }), 0);
    const closed = await testApp();
    await closed.app.listen({ port: 0, host: '127.0.0.1' });
    const closedPort = (closed.app.server.address() as { port: number }).port;
    await closed.app.close();
    assert.equal(await runNode(command, { PORT: String(closedPort) }), 1);
  });
});

describe('docker/compose.yaml', () => {
  const services = composeServices();
  const service = services.lparsim!;
  const harness = services.scenarios!;
  const env = (s: Record<string, Yaml>) => s.environment as Record<string, string>;

  it('parses as the subset of YAML the helper reads (nothing misread)', () => {
    const doc = parseYaml(composeText()) as Record<string, Yaml>;
    assert.deepEqual(Object.keys(doc).sort(), ['services', 'volumes']);
    assert.deepEqual(Object.keys(services).sort(), ['example-client', 'lparsim', 'scenarios']);
  });

  it('builds the image and runs it with the health check of the image, on a volume, with a token', () => {
    assert.deepEqual(service.build, { context: '..', dockerfile: 'docker/Dockerfile' });
    assert.deepEqual(service.ports, [`${defaultPort}:${defaultPort}`]);
    assert.deepEqual((service.healthcheck as Record<string, Yaml>).test, [
      'CMD',
      ...healthcheckCommand(runtime),
    ]);
    // The volume: a named one, declared, mounted where the service keeps its data.
    const dataDir = env(service).LPARSIM_DATA_DIR;
    assert.equal(dataDir, imageEnv.LPARSIM_DATA_DIR);
    const [mount] = service.volumes as string[];
    const [volume, target] = mount!.split(':');
    assert.equal(target, dataDir);
    const top = (parseYaml(composeText()) as Record<string, Record<string, Yaml>>).volumes!;
    assert.ok(Object.hasOwn(top, volume!), `volume ${volume} declared`);
    // The token: from the environment, with an example default.
    const token = env(service).LPARSIM_TOKEN!;
    assert.match(token, /^\$\{LPARSIM_TOKEN:-[^}]+\}$/);
    assert.equal(interpolate(token, { LPARSIM_TOKEN: 's3cret' }), 's3cret');
    assert.ok(interpolate(token, {}).length >= 8);
    // The environment on top of the image's is a valid configuration.
    const composed = Object.fromEntries(
      Object.entries(env(service)).map(([k, v]) => [k, interpolate(v, {})]),
    );
    assert.equal(loadConfig({ ...imageEnv, ...composed }).HOST, '0.0.0.0');
    // docker stop waits for the drain.
    const grace = /^(\d+)s$/.exec(String(service.stop_grace_period));
    assert.ok(grace, 'stop_grace_period in seconds');
    assert.ok(
      Number(grace[1]) * 1000 > loadConfig(imageEnv).LPARSIM_SHUTDOWN_TIMEOUT_MS + HARD_EXIT_MS,
      'stop_grace_period covers the shutdown timeout',
    );
  });

  it('a test harness runs the scenario runner against the healthy service, with the token, and exits with its status', async () => {
    assert.deepEqual(harness.depends_on, { lparsim: { condition: 'service_healthy' } });
    assert.equal(harness.image, service.image);
    assert.deepEqual(harness.build, service.build);
    assert.deepEqual(harness.healthcheck, { disable: 'true' });
    assert.equal(harness.restart, 'no');
    assert.equal(env(harness).LPARSIM_TOKEN, env(service).LPARSIM_TOKEN);
    const command = harness.command as string[];
    assert.deepEqual(command.slice(0, 2), ['node', pkg.scripts.scenarios.replace(/^node /, '')]);
    const url = command.indexOf('--url');
    assert.ok(url > 0);
    assert.equal(command[url + 1], `http://lparsim:${imageEnv.PORT}`);
    const files = command.slice(2).filter((_, i, a) => a[i - 1] !== '--url' && a[i] !== '--url');
    for (const f of files) assert.ok(existsSync(new URL(f, ROOT)), f);
    // Exactly the shipped scenarios the kernel sources agree with: any other would fail every run.
    const diverging = new Set(KNOWN_DIVERGENCES.map((d) => d.scenario));
    const shipped = await scenarioFiles(fileURLToPath(new URL('scenarios', ROOT)));
    const agreeing = shipped
      .filter((f) => !diverging.has(JSON.parse(readFileSync(f, 'utf8')).name))
      .map((f) => `scenarios/${f.split('/').at(-1)}`);
    assert.deepEqual(files.sort(), agreeing.sort());
    assert.match(composeText(), /--exit-code-from scenarios/);
    assert.match(readme, /--exit-code-from scenarios/);
  });

  it('the example client, outside the default profile, creates its LPAR by name any number of times', async () => {
    const client = services['example-client']!;
    assert.deepEqual(client.profiles, ['example']);
    assert.deepEqual(client.depends_on, { lparsim: { condition: 'service_healthy' } });
    const args = (client.command as string[]).map((a) => interpolate(a, {}));
    const value = (flag: string) => args.filter((_, i) => args[i - 1] === flag);
    assert.deepEqual(value('-X'), ['PUT']);
    const url = new URL(args.find((a) => a.startsWith('http://'))!);
    assert.equal(url.host, `lparsim:${imageEnv.PORT}`);
    const headers = Object.fromEntries(
      value('-H').map((h) => [h.slice(0, h.indexOf(':')).toLowerCase(), h.slice(h.indexOf(':') + 1).trim()]),
    );
    assert.equal(headers.authorization, `Bearer ${interpolate(env(service).LPARSIM_TOKEN!, {})}`);
    const [body] = value('-d');
    const put = () =>
      app.inject({ method: 'PUT', url: url.pathname, headers, payload: JSON.parse(body!) as object });
    const first = await put();
    assert.equal(first.statusCode, 201, first.body);
    const again = await put();
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json().id, first.json().id);
  });
});
