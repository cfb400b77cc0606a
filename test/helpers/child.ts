// Child processes in end-to-end tests: the server's log lines as they come.

import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { request } from 'undici';

/** The child's stdout as lines, and a way to wait for a line that matches. */
export function logLines(child: ChildProcess) {
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (m: RegExpExecArray) => void }> = [];
  let buf = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of [...waiters]) {
        const m = w.re.exec(line);
        if (m) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    }
  });
  const waitFor = (re: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const seen = lines.map((l) => re.exec(l)).find(Boolean);
      if (seen) return resolve(seen);
      waiters.push({ re, resolve });
      child.once('exit', () => reject(new Error(`exited before ${re}: ${lines.join('\n')}`)));
    });
  return { lines, waitFor };
}

/** A TCP port nothing listens on now (for a child server's PORT). */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Waits until the server at `base` answers /readyz 200 (every 20 ms, `tries` times), else throws. */
export async function waitReady(base: string, tries = 1500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    const up = await request(`${base}/readyz`).then(
      async (r) => {
        await r.body.text();
        return r.statusCode === 200;
      },
      () => false,
    );
    if (up) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the server at ${base} did not become ready`);
}

/**
 * The service as `npm start` runs it (src/main.ts on this Node), on 127.0.0.1:`port`, logging errors
 * only, with `env` on top; stdin, stdout and stderr as `stdio` says.
 */
export function serverProcess(
  port: number,
  env: Record<string, string> = {},
  stdio: StdioOptions = 'ignore',
): ChildProcess {
  return spawn(process.execPath, ['src/main.ts'], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'error', ...env },
    stdio,
  });
}
