// Process entry: configuration from the environment, listen, graceful shutdown on SIGTERM/SIGINT that
// stops accepting connections and drains in-flight requests.

import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';

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
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: draining in-flight requests');
    const timer = setTimeout(() => {
      app.log.error({ timeoutMs: config.LPARSIM_SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out');
      process.exit(1);
    }, config.LPARSIM_SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    // Responses still streaming (exports yield to the event loop, so SIGTERM is handled while they
    // run) finish first; their keep-alive connections are closed as soon as they go idle, instead of
    // holding the process until the client's keep-alive ends.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
    sweep.unref();
    app.close().then(
      () => {
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
  await app.listen({ port: config.PORT, host: config.HOST });
}

main().catch((err) => {
  process.stderr.write(`lparsim: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
