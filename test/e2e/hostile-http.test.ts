// Issue 11, point 5: hostile requests get problem+json: oversized headers (431) over a real socket,
// and an ofdt write sent as JSON (415), changing nothing.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { fingerprint, problemOf, testApp } from '../helpers/app.ts';

let app: FastifyInstance;
let port: number;
before(async () => {
  ({ app } = await testApp());
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as { port: number }).port;
});
after(() => app.close());

/** A raw HTTP/1.1 exchange: what the socket answers before it closes. */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => {
      answer += d.toString('latin1');
    });
    socket.on('error', () => resolve(answer)); // the server destroys the socket after answering
    socket.on('close', () => resolve(answer));
    socket.on('connect', () => socket.write(request));
    setTimeout(() => reject(new Error(`no answer: ${answer}`)), 10_000).unref();
  });
}

describe('hostile HTTP (issue 11)', () => {
  it('oversized headers are a 431 problem+json', async () => {
    const answer = await raw(`GET /v1/lpars HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    const [head, body] = answer.split('\r\n\r\n');
    assert.match(head!, /^HTTP\/1\.1 431 /);
    assert.match(head!, /content-type: application\/problem\+json/i);
    const p = JSON.parse(body!);
    assert.equal(p.status, 431);
    assert.match(p.type, /header-fields-too-large$/);
  });

  it('a request that is not HTTP is a 400 problem+json', async () => {
    const answer = await raw('THIS IS NOT HTTP\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.equal(JSON.parse(answer.split('\r\n\r\n')[1]!).status, 400);
  });

  it('an ofdt write sent as JSON is 415 and changes nothing', async () => {
    const id = (await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '5.8' } })).json().id;
    const before = await fingerprint(app, id);
    for (const payload of [{ command: 'add_node /x' }, 'add_node /x']) {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/lpars/${id}/proc/ppc64/ofdt`,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(payload),
      });
      assert.equal(res.statusCode, 415, res.body);
      assert.match(problemOf(res).detail, /application\/octet-stream/);
    }
    assert.equal(await fingerprint(app, id), before);
  });
});
