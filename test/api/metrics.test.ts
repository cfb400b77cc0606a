// GET /metrics from prom-client (issue 12, point 8): process metrics, the request-duration histogram
// by route pattern and status, the model's series typed as gauges or counters, and per-LPAR labels
// bounded by LPARSIM_METRICS_MAX_LPARS (the rest summed under lpar="_other"). A scrape changes nothing.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { fingerprint, ofdtWrite, testApp } from '../helpers/app.ts';

describe('/metrics', () => {
  let app: FastifyInstance;
  const ids: string[] = [];
  before(async () => {
    ({ app } = await testApp({ LPARSIM_METRICS_MAX_LPARS: '2' }));
    for (const kernel of ['4.18', '5.16', '5.8'])
      ids.push((await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel } })).json().id);
    // Two renames on 4.18's second migration (K-SYSFS-3), one use of the default route per status.
    for (const destination of ['p9-beta', 'p9-alpha'])
      await app.inject({ method: 'POST', url: `/v1/lpars/${ids[0]}/migrations`, payload: { destination } });
    await app.inject({ url: `/v1/lpars/${ids[1]}/nodes?path=/no-such-node` });
  });
  after(() => app.close());

  const scrape = async () => {
    const res = await app.inject({ url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return res.body;
  };

  it('has the process metrics and a request-duration histogram by route pattern and status', async () => {
    const body = await scrape();
    assert.match(body, /^process_cpu_user_seconds_total \d/m);
    assert.match(body, /^nodejs_eventloop_lag_seconds /m);
    assert.match(body, /^# TYPE lparsim_http_request_duration_seconds histogram$/m);
    assert.match(
      body,
      /^lparsim_http_request_duration_seconds_count\{method="POST",route="\/v1\/lpars\/:lpar\/migrations",status_code="201"\} 2$/m,
    );
    assert.match(
      body,
      /^lparsim_http_request_duration_seconds_count\{method="GET",route="\/v1\/lpars\/:lpar\/nodes",status_code="404"\} 1$/m,
    );
  });

  it('types the model series, and labels at most LPARSIM_METRICS_MAX_LPARS LPARs', async () => {
    const body = await scrape();
    assert.match(body, /^# TYPE lparsim_lpars gauge$/m);
    assert.match(body, /^lparsim_lpars 3$/m);
    assert.match(body, /^# TYPE lparsim_sysfs_renames_total counter$/m);
    const renames = Number(
      new RegExp(`^lparsim_sysfs_renames_total\\{lpar="${ids[0]}",kernel="4.18"\\} (\\d+)$`, 'm').exec(
        body,
      )?.[1],
    );
    assert.ok(renames > 0, 'the 4.18 LPAR renamed');
    const labelled = new Set([...body.matchAll(/^lparsim_nodes\{lpar="([^"]+)"/gm)].map((m) => m[1]));
    assert.deepEqual([...labelled].sort(), [ids[0], ids[1], '_other'].sort());
    // The third LPAR's nodes are in _other, summed.
    const attached = (lpar: string) =>
      Number(
        new RegExp(`^lparsim_nodes\\{lpar="${lpar}",kernel="[^"]+",state="attached"\\} (\\d+)$`, 'm').exec(
          body,
        )?.[1],
      );
    assert.equal(attached('_other'), app.registry.get(ids[2]!).of.nodes.size);
  });

  it('a scrape changes nothing it reports', async () => {
    await ofdtWrite(app, ids[1]!, 'add_node /vdevice/m@1 name 2 m\0');
    const before = await Promise.all(ids.map((id) => fingerprint(app, id)));
    await scrape();
    await scrape();
    assert.deepEqual(await Promise.all(ids.map((id) => fingerprint(app, id))), before);
  });
});
