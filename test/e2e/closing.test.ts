// A request that reaches the service after close() began (read from a connection that was busy when
// the drain started) is refused with a 503 Problem and `connection: close`, like every other error,
// not fastify's own JSON body.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { testApp } from '../helpers/app.ts';

describe('a request during shutdown', () => {
  it('is a 503 problem+json with connection: close; the request in flight is still served', async () => {
    const { app } = await testApp();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => {
      answer += d.toString('latin1');
    });
    const ended = new Promise((resolve) => socket.on('close', resolve));
    await new Promise((resolve) => socket.on('connect', resolve));

    // The first request is in flight (its body half sent) when the drain starts, so its connection is
    // not idle and stays open; the second, pipelined behind it, is read only during the drain.
    const body = JSON.stringify({ kernel: '5.16' });
    socket.write(
      `POST /v1/lpars HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
    );
    await sleep(100);
    const closed = app.close();
    await sleep(100);
    socket.write(`${body.slice(5)}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
    await ended;
    await closed;

    const responses = answer.split(/(?=HTTP\/1\.1 )/);
    assert.equal(responses.length, 2, answer);
    assert.match(responses[0]!, /^HTTP\/1\.1 201 /);
    const [head, problem] = responses[1]!.split('\r\n\r\n');
    assert.match(head!, /^HTTP\/1\.1 503 /);
    assert.match(head!, /\r\ncontent-type: application\/problem\+json/i);
    assert.match(head!, /\r\nconnection: close/i);
    assert.match(head!, /\r\nretry-after: 1/i);
    const p = JSON.parse(problem!);
    assert.equal(p.status, 503);
    assert.equal(p.title, 'Service shutting down');
    assert.equal(p.instance, '/healthz');
    assert.match(p.type, /\/shutting-down$/);
  });
});
