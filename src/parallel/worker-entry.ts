/**
 * The one entry of every worker the library starts, built as `dist/worker.js` and exported as
 * `tfjs-rlhf/worker`. In Node the library spawns it as a worker thread; in a browser, a page's own
 * module worker imports it (`import 'tfjs-rlhf/worker'`, see `setWorkerFactory`) so that the page's
 * bundler resolves tfjs for it. It reads what to run from its start message and runs it until the
 * main thread ends it.
 * @module
 */
import { connectToHost, type WorkerStart } from './port';
import { errorMessage } from './worker-common';
import { runReplicaWorker } from './worker';
import { runCriticWorker } from './critic-worker';
import { runGenWorker } from './gen-worker';
import type { WorkerInit } from './protocol';
import type { CriticInit } from './critic-protocol';
import type { GenInit } from './gen-protocol';

function run({ port, start }: Awaited<ReturnType<typeof connectToHost>>): Promise<void> {
  const s: WorkerStart = start;
  switch (s.kind) {
    case 'replica':
      return runReplicaWorker(port, s.data as WorkerInit, s);
    case 'critic':
      return runCriticWorker(port, s.data as CriticInit, s);
    case 'gen':
      return runGenWorker(port, s.data as GenInit, s);
    default:
      port.post(errorMessage(new Error(`unknown worker kind ${JSON.stringify(String((s as { kind?: unknown }).kind)).slice(0, 40)}`)));
      return Promise.resolve();
  }
}

void connectToHost().then(run);
