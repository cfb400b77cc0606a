// No Docker engine runs on these machines: check the Dockerfile and compose file against the code.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ConfigSchema } from '../../src/config.ts';
import { testApp } from '../helpers/app.ts';

const root = new URL('../../', import.meta.url);
const dockerfile = readFileSync(new URL('docker/Dockerfile', root), 'utf8');
const compose = readFileSync(new URL('docker/compose.yaml', root), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const readme = readFileSync(new URL('README.md', root), 'utf8');
const defaultPort = ConfigSchema.properties.PORT.default as number;

let app: FastifyInstance;
before(async () => {
  ({ app } = await testApp());
});
after(() => app.close());

describe('docker/Dockerfile', () => {
  it('is multi-stage on Node 24 slim and runs as a non-root user', () => {
    const froms = dockerfile.match(/^FROM .*/gm) ?? [];
    assert.ok(froms.length >= 2);
    for (const f of froms) assert.match(f, /^FROM node:24-slim\b/);
    assert.match(dockerfile, /^USER (node|\d{3,})$/m);
  });

  it('exposes the default port and checks health on a route that answers 200', async () => {
    assert.match(dockerfile, new RegExp(`^EXPOSE ${defaultPort}$`, 'm'));
    assert.match(dockerfile, new RegExp(`PORT=${defaultPort}`));
    const url = /HEALTHCHECK[\s\S]*?http:\/\/127\.0\.0\.1:(\d+)(\/\w+)/.exec(dockerfile);
    assert.ok(url);
    assert.equal(Number(url[1]), defaultPort);
    assert.equal(url[2], '/readyz');
    assert.equal((await app.inject({ url: url[2]! })).statusCode, 200);
  });

  it("runs the README's start command, and copies files that exist", () => {
    assert.match(dockerfile, /^CMD \["npm", "start"\]$/m);
    assert.ok(pkg.scripts.start);
    assert.match(readme, /npm ci && npm start/);
    for (const line of dockerfile.match(/^COPY (?!--from).*/gm) ?? []) {
      const parts = line.split(/\s+/).slice(1, -1);
      for (const p of parts) assert.ok(existsSync(new URL(p, root)), `${line}: ${p} is missing`);
    }
  });
});

describe('docker/compose.yaml', () => {
  it('builds the service with the same health check, and the client waits for healthy then creates an LPAR', async () => {
    assert.match(compose, /dockerfile: docker\/Dockerfile/);
    assert.match(compose, new RegExp(`"${defaultPort}:${defaultPort}"`));
    assert.match(compose, /healthcheck:\s*\n\s*test: .*\/readyz/);
    assert.match(compose, /condition: service_healthy/);
    const body = /'(\{"name":"compose-demo".*\})'/.exec(compose);
    assert.ok(body);
    const res = await app.inject({ method: 'POST', url: '/v1/lpars', payload: JSON.parse(body[1]!) });
    assert.equal(res.statusCode, 201, res.body);
  });
});
