// Bench child: polls /healthz of the server every ~5 ms from its own process while run.ts drives a
// heavy operation, and reports each poll's latency.
//
// Open loop: a poll is due every INTERVAL ms whether or not earlier ones have answered, and its latency
// counts from when it was due, not from when a connection was free. So a server that stalls for 8 s
// gives some 1,600 samples from 8 s down to 0 (what a health checker sees), not one slow sample that a
// closed-loop poller would take for 0.06 % of the time.
//
// IPC: {cmd:"start"} begins a window, {cmd:"stop"} ends it; the answer is {type:"window", samples}
// with every latency in ms and the polls that failed.

import { Pool } from 'undici';

const origin = process.argv[2]!;
const INTERVAL = Number(process.argv[3] ?? 5);
const pool = new Pool(origin, {
  connections: 16,
  pipelining: 1,
  headersTimeout: 600_000,
  bodyTimeout: 600_000,
});

let running = false;
let latencies: number[] = [];
let failures = 0;
let inflight = 0;
let timer: NodeJS.Timeout | null = null;

function poll(due: number) {
  inflight += 1;
  pool
    .request({ path: '/healthz', method: 'GET' })
    .then(async (res) => {
      await res.body.dump();
      if (res.statusCode === 200) latencies.push(performance.now() - due);
      else failures += 1;
    })
    .catch(() => {
      failures += 1;
    })
    .finally(() => {
      inflight -= 1;
    });
}

function start() {
  latencies = [];
  failures = 0;
  running = true;
  const t0 = performance.now();
  let i = 0;
  const tick = () => {
    if (!running) return;
    const now = performance.now();
    // Every poll that has fallen due since the last tick (timers in this process are not late, but
    // be exact about it anyway).
    while (t0 + i * INTERVAL <= now) poll(t0 + i++ * INTERVAL);
    timer = setTimeout(tick, Math.max(0, t0 + i * INTERVAL - performance.now()));
  };
  tick();
}

async function stop() {
  running = false;
  if (timer) clearTimeout(timer);
  const deadline = performance.now() + 120_000;
  while (inflight > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const result = { type: 'window', latencies, failures, unanswered: inflight };
  latencies = [];
  return result;
}

process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'start') {
    start();
    process.send?.({ type: 'started' });
  } else if (m.cmd === 'stop') stop().then((r) => process.send?.(r));
});
process.on('disconnect', () => {
  pool.close().finally(() => process.exit(0));
});
process.send?.({ type: 'ready' });
