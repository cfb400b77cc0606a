// Bench child: the service as `npm start` builds it (buildApp(loadConfig(env)), default limits), plus
// bench-only routes registered on the same fastify instance, so that the bare route and the real ones
// share one process, one event loop and one set of plugins and hooks:
//
//   GET  /bench/bare          the JSON stored by PUT /bench/bare, no schema, no model work
//   PUT  /bench/bare          stores the body (the bench sends a real node document: similar size)
//   GET  /bench/eld?reset=1   monitorEventLoopDelay since the last reset, in ms (the sampling
//                             interval is subtracted: the histogram records whole timer intervals)
//   POST /bench/gc            two full collections, then process.memoryUsage()
//
// It reports its port to run.ts over IPC once it listens on 127.0.0.1.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { fullGc } from './lib.ts';

const RESOLUTION_MS = 10;
const config = loadConfig(process.env);
const app = await buildApp(config);
const eld = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
eld.enable();
let bare: unknown = { status: 'ok' };

const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
app.get('/bench/bare', async () => bare);
app.put('/bench/bare', async (req) => {
  bare = req.body;
  return { stored: JSON.stringify(bare).length };
});
app.get('/bench/eld', async (req) => {
  const stats = {
    resolutionMs: RESOLUTION_MS,
    samples: eld.count,
    p50Ms: ms(eld.percentile(50)),
    p99Ms: ms(eld.percentile(99)),
    maxMs: ms(eld.max),
    meanMs: ms(eld.mean),
  };
  if ((req.query as { reset?: string }).reset) eld.reset();
  return stats;
});
app.post('/bench/gc', async () => {
  fullGc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, external: m.external, rss: m.rss };
});

await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : 0;
process.send?.({ type: 'listening', port, config });
process.on('disconnect', () => {
  app.close().then(() => process.exit(0));
});
