// Issue 11, point 7: an app's state is its own. Closing one app ends its event streams and no other's.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { testApp } from '../helpers/app.ts';

describe('two apps in one process (issue 11)', () => {
  it("closing one app does not end the other app's event streams", async () => {
    const { app: a } = await testApp();
    const { app: b } = await testApp();
    const url = await a.listen({ port: 0, host: '127.0.0.1' });
    await b.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await request(`${url}/v1/events`);
      assert.equal(res.statusCode, 200);
      const chunks: string[] = [];
      let ended = false;
      res.body.on('data', (c: Buffer) => chunks.push(c.toString()));
      res.body.on('end', () => {
        ended = true;
      });
      // B has a stream of its own, which its close ends.
      const bUrl = `http://127.0.0.1:${(b.server.address() as { port: number }).port}`;
      const bStream = await request(`${bUrl}/v1/events`);
      const bEnded = bStream.body.text();
      await b.close();
      await bEnded; // B's own stream ended with B
      // A's stream is still open: an event on A arrives after B has closed.
      const created = await request(`${url}/v1/lpars`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ kernel: '5.8' }),
      });
      assert.equal(created.statusCode, 201);
      await created.body.text();
      for (let i = 0; i < 100 && !chunks.join('').includes('lpar.booted'); i++)
        await new Promise((r) => setTimeout(r, 10));
      assert.equal(ended, false, "B's close ended A's stream");
      assert.match(chunks.join(''), /event: lpar.booted/);
      res.body.destroy();
    } finally {
      await a.close();
    }
  });
});
