// The replay worker (journal/digests.ts starts it): rebuilds one LPAR from its history in an app and
// registry of its own, as recorded (same id, name and identity), and digests the state after the
// creation and after every entry. In a worker thread because a replay runs every request of the
// history again and a digest walks the whole model: the service's event loop goes on meanwhile, and
// the copy's memory is the worker's heap, not the service's.

import { parentPort, workerData } from 'node:worker_threads';
import { buildApp } from '../app.ts';
import type { Config } from '../config.ts';
import { lparDigest } from '../lpar/digest.ts';
import { LparError } from '../lpar/errors.ts';
import type { WorkerAnswer } from './digests.ts';
import type { HistoryFile } from './history-file.ts';
import { replayHistory } from './replay.ts';

const { config, file } = workerData as { config: Config; file: HistoryFile };

async function run(): Promise<WorkerAnswer> {
  const app = await buildApp(config);
  try {
    const digests: string[] = [];
    const { divergence } = await replayHistory(app, file, {
      asRecorded: true,
      after: (lpar) => digests.push(lparDigest(lpar)),
    });
    return { kind: 'replayed', digests, divergence };
  } catch (e) {
    if (e instanceof LparError)
      return { kind: 'refused', problem: e.kind, title: e.title, detail: e.message };
    throw e;
  } finally {
    await app.close();
  }
}

parentPort!.postMessage(await run());
