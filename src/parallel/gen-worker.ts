/**
 * The generation worker (started by ./worker-entry with kind `'gen'`; protocol in ./gen-protocol): a
 * replica of the policy on its own single-threaded backend that decodes a shard of a batch's rows, its
 * draws scheduled by ./lockstep so that the rows get exactly what they would in-process.
 * @internal
 * @module
 */
import { tf } from '../tf';
import { Rng } from '../ops/random';
import { TransformerPolicy } from '../models/policy';
import { generateTokens } from '../models/decode';
import { DrawLockstep } from './lockstep';
import { errorMessage, injectedFault, startWorkerBackend, workerMemory } from './worker-common';
import type { BackendSetup, HostPort } from './port';
import type { FromGen, GenInit, GenShard, ToGen } from './gen-protocol';

function sync(index: number, policy: TransformerPolicy, weights: Float32Array[]): void {
  const vars = policy.trainableVariables;
  if (weights.length !== vars.length) throw new Error(`generation worker ${index}: ${weights.length} weights for ${vars.length} variables`);
  vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(weights[i] as Float32Array, v.shape, 'float32'))));
}

/** Runs a generation worker for `init` until the main thread ends it. */
export async function runGenWorker(port: HostPort, init: GenInit, setup: BackendSetup): Promise<void> {
  const send = (m: FromGen): void => port.post(m);
  const fault: { how?: 'throw' | 'exit' } = {};

  const generate = async (policy: TransformerPolicy, gen: number, s: GenShard): Promise<void> => {
    const lock = new DrawLockstep(s.lockstep, s.shard, s.shards, s.options.maxNewTokens, s.s0);
    try {
      if (injectedFault(port, fault)) return;
      const result = await generateTokens(policy.model, s.prompts, { ...s.options, tools: [] }, new Rng(0), lock);
      send({ type: 'generated', gen, result });
    } catch (e) {
      lock.abort();
      throw e;
    }
  };

  const handle = async (policy: TransformerPolicy, m: ToGen): Promise<void> => {
    try {
      if (m.type === 'generate') await generate(policy, m.gen, m.shard);
      else if (m.type === 'sync') {
        sync(init.index, policy, m.weights);
        send({ type: 'synced' });
      } else if (m.type === 'stats') send({ type: 'stats', memory: workerMemory(port) });
      else if (m.type === 'crash') fault.how = m.how;
    } catch (e) {
      send(errorMessage(e));
    }
  };

  try {
    await startWorkerBackend(`generation worker ${init.index}`, setup);
    const policy = TransformerPolicy.fromSafetensors(init.policy, undefined, 'policy');
    let queue = Promise.resolve(); // one message at a time, in order
    port.listen((m) => { queue = queue.then(() => handle(policy, m as ToGen)); });
    send({ type: 'ready' });
  } catch (e) {
    send(errorMessage(e));
  }
}
