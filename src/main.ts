// Process entry: configuration from the environment, listen, and a graceful shutdown on SIGTERM/SIGINT.
//
// Shutdown (issue 11, point 5): the listening socket closes at once (no new connections; a request
// that arrives on an open keep-alive connection answers 503 with `connection: close`), SSE streams are
// ended (their preClose hook, src/http/routes/events.ts), requests in flight run to the end, and each
// connection is closed as soon as it goes idle. What is still open after LPARSIM_SHUTDOWN_TIMEOUT_MS —
// a download read too slowly, say — is reset (TCP RST): its chunked body is never terminated, so the
// client sees a connection error, never a clean end of a truncated 200. Then the process exits 0, the
// shutdown having done what it is configured to do. A second signal resets at once. Exit 1 only if
// closing fails, or still hangs HARD_EXIT_MS after the reset.

import type { Socket } from 'node:net';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';

/** How often idle keep-alive connections are closed while draining. */
const SWEEP_MS = 50;
/** How long closing may still take after the open connections were reset, before exit 1. */
const HARD_EXIT_MS = 2000;

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`lparsim: configuration error: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const app = await buildApp(config);

  // Every open connection, so that the ones a drain cannot finish can be reset.
  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  let closing = false;
  let reset = false;
  const cut = (reason: string) => {
    app.server.closeIdleConnections();
    const open = [...sockets].filter((s) => !s.destroyed);
    if (open.length)
      app.log.warn({ connections: open.length, reason }, 'shutdown: resetting the connections still open');
    // RST rather than FIN: a response cut short cannot look finished, even to a client that frames
    // the body by the connection's end.
    for (const socket of open) socket.resetAndDestroy();
    if (reset) return;
    reset = true;
    setTimeout(() => {
      app.log.error({ afterMs: HARD_EXIT_MS }, 'shutdown: still not closed after resetting connections');
      process.exit(1);
    }, HARD_EXIT_MS);
  };
  const shutdown = (signal: string) => {
    if (closing) {
      cut(`second ${signal}`);
      return;
    }
    closing = true;
    const timeoutMs = config.LPARSIM_SHUTDOWN_TIMEOUT_MS;
    app.log.info({ signal, timeoutMs }, 'shutting down: draining in-flight requests');
    // Responses still streaming (exports yield to the event loop, so the signal is handled while they
    // run) go on; their keep-alive connections are closed as soon as they go idle, instead of holding
    // the process until the client's keep-alive ends.
    const sweep = setInterval(() => app.server.closeIdleConnections(), SWEEP_MS);
    sweep.unref();
    const deadline = setTimeout(() => cut(`shutdown timeout (${timeoutMs} ms)`), timeoutMs);
    deadline.unref();
    app.close().then(
      () => {
        clearTimeout(deadline);
        app.log.info('closed');
        process.exit(0);
      },
      (err) => {
        app.log.error({ err }, 'error while closing');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // The journal first (LPARSIM_DATA_DIR): the service listens with every LPAR as it was.
  if (app.journalReplay) {
    const started = performance.now();
    const replay = await app.journalReplay();
    const ms = Math.round(performance.now() - started);
    if (replay.diverged.length)
      app.log.error(
        { diverged: replay.diverged.slice(0, 20), count: replay.diverged.length },
        'journal replay diverged',
      );
    app.log.info({ entries: replay.entries, ms, lpars: app.registry.lpars.size }, 'journal replayed');
  }
  await app.listen({ port: config.PORT, host: config.HOST });
}

main().catch((err) => {
  process.stderr.write(`lparsim: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
