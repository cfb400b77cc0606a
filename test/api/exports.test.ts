// The sysfs tarball, gzip-compressed (issue 10, point 5): GET …/sysfs.tar.gz, and GET …/sysfs.tar with
// `content-encoding: gzip` when Accept-Encoding allows it. Both gunzip to exactly the plain archive,
// stream with backpressure through the compressor, and only look at the model.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { negotiateGzip, parseAcceptEncoding } from '../../src/http/accept-encoding.ts';
import { gzipped } from '../../src/http/gzip.ts';
import { lparDigest } from '../../src/lpar/digest.ts';
import { ofdtWrite, problemOf, testApp } from '../helpers/app.ts';

describe('Accept-Encoding negotiation (RFC 9110 §12.5.3)', () => {
  const cases: Array<[string | string[] | undefined, 'gzip' | 'identity']> = [
    [undefined, 'identity'], // no field: the bytes as they are
    ['', 'identity'], // empty: no coding wanted
    ['gzip', 'gzip'],
    ['GZip', 'gzip'],
    ['x-gzip', 'gzip'],
    ['gzip, deflate, br, zstd', 'gzip'], // what browsers and undici's fetch send
    ['br;q=1.0, gzip;q=0.8, *;q=0.1', 'gzip'],
    ['deflate, br', 'identity'], // gzip not named, no *
    ['*', 'gzip'],
    ['*;q=0.5', 'gzip'], // identity takes * too: a tie goes to gzip
    ['*;q=0', 'identity'], // nothing acceptable: identity anyway
    ['gzip;q=0', 'identity'],
    ['gzip; q=0', 'identity'], // OWS before the parameter
    ['gzip;Q=0', 'identity'], // the parameter name is case-insensitive
    ['gzip;q=0.000', 'identity'],
    ['gzip;q=0.001', 'gzip'],
    ['gzip;q=0, *', 'identity'], // the named coding beats *
    ['*, gzip;q=0', 'identity'],
    ['gzip;q=0, x-gzip;q=0.5', 'gzip'], // one coding named twice: the highest weight
    ['identity;q=0, gzip', 'gzip'],
    ['gzip;q=0.5, identity', 'identity'], // identity preferred
    ['gzip;q=0.5, identity;q=0.5', 'gzip'],
    ['identity;q=0.3, gzip;q=0.4', 'gzip'],
    ['identity;q=0.5, gzip;q=0.4', 'identity'],
    ['gzip;q=0.8', 'gzip'], // identity, not named: after every named coding
    ['br, gzip;q=0.5', 'gzip'],
    ['br, gzip;q=0', 'identity'],
    ['gzip;q=1.000', 'gzip'],
    ['gzip;q=1.5', 'identity'], // not a qvalue: the member is void
    ['gzip;q=abc', 'identity'],
    ['gzip;q=', 'identity'],
    ['gzip;q=0.0001', 'identity'], // four decimals: not a qvalue
    ['gzip;level=9', 'gzip'], // an unknown parameter is ignored
    [' , gzip ,', 'gzip'], // empty list members are allowed
    [['deflate', 'gzip'], 'gzip'], // several header lines
    [['deflate', 'gzip;q=0.2'], 'gzip'], // identity, not named, weighs the least listed: 0.2
    [['gzip', 'gzip;q=0'], 'gzip'],
  ];
  for (const [header, expected] of cases) {
    it(`${JSON.stringify(header)} → ${expected}`, () => {
      assert.equal(negotiateGzip(header), expected);
    });
  }

  it('parses weights by lower-cased coding', () => {
    assert.deepEqual(
      [...parseAcceptEncoding('GZIP;q=0.5, Br, *;q=0, identity;q=1.0, bad;q=2')],
      [
        ['gzip', 0.5],
        ['br', 1],
        ['*', 0],
        ['identity', 1],
      ],
    );
  });
});

describe('gzipped: backpressure through the compressor', () => {
  it('pulls from its source only as far as it is read, and destroying it destroys the source', async () => {
    // Incompressible chunks, so that what the gzip stream holds is what it was given.
    let pulled = 0;
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < 1000; i++) {
          pulled++;
          yield randomBytes(64 * 1024);
        }
      })(),
      { objectMode: false },
    );
    const gz = gzipped(source);
    const first = await once(gz, 'data');
    assert.ok((first[0] as Buffer).length > 0);
    gz.pause();
    await new Promise((r) => setTimeout(r, 200));
    const held = pulled;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(pulled, held, 'an unread stream pulls no more');
    assert.ok(held < 8, `${held} of 1000 chunks pulled while nothing is read (64 KiB each)`);
    gz.destroy();
    await new Promise((resolve) => source.once('close', resolve));
    assert.ok(source.destroyed);
  });
});

describe('GET /v1/lpars/:lpar/sysfs.tar.gz and sysfs.tar with Accept-Encoding', () => {
  let app: FastifyInstance;
  let id: string;
  let plain: Buffer;
  before(async () => {
    ({ app } = await testApp());
    const created = await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '5.8' } });
    assert.equal(created.statusCode, 201);
    id = created.json().id;
    const res = await app.inject({ url: `/v1/lpars/${id}/sysfs.tar` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-encoding'], undefined);
    plain = res.rawPayload;
  });
  after(() => app.close());

  it('sysfs.tar.gz is application/gzip, named <id>-sysfs.tar.gz, and gunzips to the plain tar', async () => {
    const res = await app.inject({ url: `/v1/lpars/${id}/sysfs.tar.gz` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/gzip');
    assert.equal(res.headers['content-disposition'], `attachment; filename="${id}-sysfs.tar.gz"`);
    assert.equal(res.headers['content-encoding'], undefined, 'the gzip is the content, not a coding');
    assert.deepEqual([...res.rawPayload.subarray(0, 2)], [0x1f, 0x8b]);
    assert.ok(gunzipSync(res.rawPayload).equals(plain));
    // Whatever the request accepts: the file is gzip.
    const again = await app.inject({
      url: `/v1/lpars/${id}/sysfs.tar.gz`,
      headers: { 'accept-encoding': 'identity' },
    });
    assert.equal(again.headers['content-encoding'], undefined);
    assert.ok(gunzipSync(again.rawPayload).equals(plain));
  });

  it('the default tree ({"kernel":"5.8"}) gzips to at most a tenth of the plain tar', async () => {
    const gz = (await app.inject({ url: `/v1/lpars/${id}/sysfs.tar.gz` })).rawPayload;
    const ratio = gz.length / plain.length;
    assert.ok(plain.length > 100_000, `the plain tar is ${plain.length} bytes`);
    assert.ok(ratio <= 0.1, `gzip ${gz.length} / plain ${plain.length} = ${ratio.toFixed(4)}`);
  });

  it('sysfs.tar answers content-encoding: gzip only when Accept-Encoding allows it, with vary either way', async () => {
    const cases: Array<[string | undefined, boolean]> = [
      [undefined, false],
      ['gzip', true],
      ['gzip, deflate, br', true],
      ['*', true],
      ['gzip;q=0', false],
      ['gzip;q=0, *', false],
      ['*;q=0', false],
      ['identity', false],
      ['br', false],
      ['gzip;q=0.5, identity', false],
      ['x-gzip;q=0.9, identity;q=0.1', true],
    ];
    for (const [acceptEncoding, gzip] of cases) {
      const res = await app.inject({
        url: `/v1/lpars/${id}/sysfs.tar`,
        headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding },
      });
      const what = `Accept-Encoding: ${acceptEncoding}`;
      assert.equal(res.statusCode, 200, what);
      assert.equal(res.headers['content-type'], 'application/x-tar', what);
      assert.equal(res.headers['content-disposition'], `attachment; filename="${id}-sysfs.tar"`, what);
      assert.equal(res.headers.vary, 'accept-encoding', what);
      assert.equal(res.headers['content-encoding'], gzip ? 'gzip' : undefined, what);
      const body = gzip ? gunzipSync(res.rawPayload) : res.rawPayload;
      assert.ok(body.equals(plain), what);
      if (gzip) assert.ok(res.rawPayload.length <= plain.length / 10, what);
    }
  });

  it('an unknown LPAR is a 404 problem on both, never compressed', async () => {
    for (const url of ['/v1/lpars/nope/sysfs.tar.gz', '/v1/lpars/nope/sysfs.tar']) {
      const res = await app.inject({ url, headers: { 'accept-encoding': 'gzip' } });
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.headers['content-encoding'], undefined, url);
      const p = problemOf(res);
      assert.equal(p.status, 404);
      assert.equal(p.instance, url);
    }
    const bad = await app.inject({ url: '/v1/lpars/no%20pe/sysfs.tar.gz' });
    assert.equal(bad.statusCode, 400);
    assert.equal(problemOf(bad).status, 400);
  });

  it('looking does not change the model (lparDigest), compressed or not', async () => {
    const lpar = app.registry.get(id); // read only: the digest looks, the API acts
    // A history first, so there is more than a freshly booted tree to disturb.
    assert.equal((await ofdtWrite(app, id, 'add_node /vdevice/gz@1 name 3 gz\0')).statusCode, 200);
    const digest = lparDigest(lpar);
    const tar = (await app.inject({ url: `/v1/lpars/${id}/sysfs.tar` })).rawPayload;
    for (const req of [
      { url: `/v1/lpars/${id}/sysfs.tar.gz` },
      { url: `/v1/lpars/${id}/sysfs.tar`, headers: { 'accept-encoding': 'gzip' } },
      { url: `/v1/lpars/${id}/sysfs.tar` },
    ]) {
      const res = await app.inject(req);
      assert.equal(res.statusCode, 200);
      const body =
        res.headers['content-type'] === 'application/gzip' || res.headers['content-encoding']
          ? gunzipSync(res.rawPayload)
          : res.rawPayload;
      assert.ok(body.equals(tar), req.url);
      assert.equal(lparDigest(lpar), digest, `${req.url} ${JSON.stringify(req.headers ?? {})}`);
    }
  });

  it('holds the LPAR queue while a slow reader has not read the archive, and the walk waits for it', async () => {
    // A tree whose tar (about 34 MB) is far more than the stream buffers hold even compressed.
    const big = (
      await app.inject({
        method: 'POST',
        url: '/v1/lpars',
        payload: { kernel: '5.8', options: { cores: 1000 } },
      })
    ).json().id;
    const expected = (await app.inject({ url: `/v1/lpars/${big}/sysfs.tar` })).rawPayload;
    const res = await app.inject({ url: `/v1/lpars/${big}/sysfs.tar.gz`, payloadAsStream: true });
    assert.equal(res.statusCode, 200);
    const stream = res.stream();
    const chunks: Buffer[] = [(await once(stream, 'data'))[0] as Buffer];
    stream.pause();
    // The export has not reached its end: an ofdt write queued behind it waits.
    let written = false;
    const write = ofdtWrite(app, big, 'add_node /vdevice/late@1 name 5 late\0').then((r) => {
      written = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(written, false, 'the walk stopped with its reader, the queue still held');
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.resume();
    await once(stream, 'end');
    assert.ok(gunzipSync(Buffer.concat(chunks)).equals(expected), 'the archive at the instant it began');
    assert.equal((await write).statusCode, 200);
  });
});
