// The state digests of a history, line by line (GET …/journal writes them, POST /v1/lpars/import
// checks them): a replay as recorded in a worker thread (replay-worker.ts), one at a time per app,
// with a heap of LPARSIM_REPLAY_WORKER_MB. A worker that runs out of it is an answer too (507).

import { Worker } from 'node:worker_threads';
import type { Config } from '../config.ts';
import type { ProblemKind } from '../lpar/errors.ts';
import type { HistoryFile } from './history-file.ts';
import type { Divergence } from './replay.ts';

export type WorkerAnswer =
  | { readonly kind: 'replayed'; readonly digests: string[]; readonly divergence: Divergence | null }
  | {
      readonly kind: 'refused';
      readonly problem: ProblemKind;
      readonly title: string;
      readonly detail: string;
    };

export type DigestAnswer = WorkerAnswer | { readonly kind: 'out-of-memory'; readonly heapMb: number };

/** What the worker's app runs with: the service's limits, nothing durable, no token, no logs. */
function workerConfig(config: Config): Config {
  const heapMb = config.LPARSIM_REPLAY_WORKER_MB;
  return {
    ...config,
    LOG_LEVEL: 'silent',
    LPARSIM_DATA_DIR: undefined,
    LPARSIM_TOKEN: undefined,
    LPARSIM_MAX_LPARS: 1,
    // Its registry refuses (507) before V8 would run out of the worker's heap.
    LPARSIM_MEMORY_BUDGET_MB: Math.max(16, Math.floor(heapMb * 0.75)),
  };
}

function runWorker(config: Config, file: HistoryFile): Promise<DigestAnswer> {
  const heapMb = config.LPARSIM_REPLAY_WORKER_MB;
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./replay-worker.ts', import.meta.url), {
      workerData: { config: workerConfig(config), file },
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
    });
    let answered = false;
    worker.once('message', (answer: WorkerAnswer) => {
      answered = true;
      resolve(answer);
    });
    worker.once('error', (e: NodeJS.ErrnoException) => {
      answered = true;
      if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') resolve({ kind: 'out-of-memory', heapMb });
      else reject(e);
    });
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`the replay worker exited with code ${code} before answering`));
    });
  });
}

/** Replays run one after another: each holds a whole copy of an LPAR. */
export class ReplayDigests {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly config: Config;

  constructor(config: Config) {
    this.config = config;
  }

  run(file: HistoryFile): Promise<DigestAnswer> {
    const next = this.tail.then(() => runWorker(this.config, file));
    this.tail = next.catch(() => {});
    return next;
  }
}
