/**
 * Entry point of a generation worker thread (built as dist/gen-worker.js; protocol in ./gen-protocol):
 * a replica of the policy on its own single-threaded backend that decodes a shard of a batch's rows,
 * its draws scheduled by ./lockstep so that the rows get exactly what they would in-process.
 * @internal
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { tf } from '../tf';
import { Rng } from '../ops/random';
import { TransformerPolicy } from '../models/policy';
import { generateTokens } from '../models/decode';
import { DrawLockstep } from './lockstep';
import { errorMessage, startWorkerBackend, workerMemory } from './worker-common';
import type { FromGen, GenInit, GenShard, ToGen } from './gen-protocol';

const init = workerData as GenInit;
const port = parentPort;
let policy: TransformerPolicy | undefined;
let fault: 'throw' | 'exit' | undefined;

function send(m: FromGen): void {
  port?.postMessage(m);
}

function sync(weights: Float32Array[]): void {
  const vars = (policy as TransformerPolicy).trainableVariables;
  if (weights.length !== vars.length) throw new Error(`generation worker ${init.index}: ${weights.length} weights for ${vars.length} variables`);
  vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(weights[i] as Float32Array, v.shape, 'float32'))));
}

async function generate(gen: number, s: GenShard): Promise<void> {
  const lock = new DrawLockstep(s.lockstep, s.shard, s.shards, s.options.maxNewTokens, s.s0);
  try {
    if (fault === 'throw') {
      fault = undefined;
      throw new Error('injected fault (test hook)');
    }
    if (fault === 'exit') process.exit(3);
    const result = await generateTokens((policy as TransformerPolicy).model, s.prompts, { ...s.options, tools: [] }, new Rng(0), lock);
    send({ type: 'generated', gen, result });
  } catch (e) {
    lock.abort();
    throw e;
  }
}

async function handle(m: ToGen): Promise<void> {
  try {
    if (m.type === 'generate') await generate(m.gen, m.shard);
    else if (m.type === 'sync') {
      sync(m.weights);
      send({ type: 'synced' });
    } else if (m.type === 'stats') send({ type: 'stats', memory: workerMemory() });
    else if (m.type === 'crash') fault = m.how;
  } catch (e) {
    send(errorMessage(e));
  }
}

startWorkerBackend(init.backend, `generation worker ${init.index}`).then(
  () => {
    policy = TransformerPolicy.fromSafetensors(init.policy, undefined, 'policy');
    let queue = Promise.resolve(); // one message at a time, in order
    port?.on('message', (m: ToGen) => { queue = queue.then(() => handle(m)); });
    send({ type: 'ready' });
  },
  (e: unknown) => send(errorMessage(e)),
);
