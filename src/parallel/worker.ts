/**
 * The replica worker (started by ./worker-entry with kind `'replica'`). It starts its own
 * single-threaded backend, builds a replica of the policy and its AdamW from the weights it is given,
 * then for each step: computes its shard's gradient into its shared slot, waits at the Atomics barrier
 * for the main thread's decision, and applies the summed gradient (GO) or drops it (ABORT).
 * @internal
 * @module
 */
import { tf } from '../tf';
import { errorMessage, injectedFault, startWorkerBackend, workerMemory } from './worker-common';
import { TransformerPolicy } from '../models/policy';
import { RewardModel } from '../reward/reward-model';
import { AdamW } from '../optim/adamw';
import { ABORT, CTRL_DECISION, CTRL_GEN, HDR_LR, HDR_SCALE, STATS_PER_REPLICA, sharedViews, type SharedViews } from './layout';
import { applySummedGradient, computeShardGradient, variableNames, weightsChecksum, type Replica } from './replica';
import type { ReplicaModel } from './tasks';
import type { BackendSetup, HostPort } from './port';
import type { FromWorker, ReplicaState, ToWorker, WorkerInit } from './protocol';

function checkNames(index: number, model: ReplicaModel, state: ReplicaState): void {
  const names = variableNames(model);
  if (names.length !== state.names.length || names.some((n, i) => n !== state.names[i])) {
    throw new Error(`replica ${index}: variable names differ from the main thread's`);
  }
}

function loadState(index: number, rep: Replica, state: ReplicaState): void {
  checkNames(index, rep.model, state);
  const vars = rep.opt.variables as tf.Variable[];
  vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(state.values[i] as Float32Array, v.shape, 'float32'))));
  rep.opt.importState(state.optimizer);
}

/** The replica's model, built straight from the main thread's weights (no random initialisation). */
function buildModel(init: WorkerInit): ReplicaModel {
  const values = new Map<string, tf.Tensor>();
  const { names, shapes, values: data } = init.state;
  names.forEach((n, i) => values.set(n, tf.tensor(data[i] as Float32Array, shapes[i], 'float32')));
  try {
    if (init.modelKind === 'reward') return { kind: 'reward', model: new RewardModel(init.config, values) };
    return { kind: 'policy', policy: new TransformerPolicy(init.config, values) };
  } finally {
    tf.dispose([...values.values()]);
  }
}

async function startReplica(init: WorkerInit, setup: BackendSetup): Promise<Replica> {
  await startWorkerBackend(`replica ${init.index}`, setup);
  const model = buildModel(init);
  const vars = model.kind === 'policy' ? model.policy.trainableVariables : model.model.trainableVariables;
  const { decayFlags, ...options } = init.optimizer;
  const opt = new AdamW(vars, { ...options, decayMask: (_, i) => decayFlags[i] === true });
  checkNames(init.index, model, init.state);
  opt.importState(init.state.optimizer);
  return { model, opt };
}

/** Blocks until the main thread decides generation `gen`; returns the decision. */
function awaitDecision(views: SharedViews, gen: number): number {
  for (;;) {
    const seen = Atomics.load(views.ctrl, CTRL_GEN);
    if (seen >= gen) return Atomics.load(views.ctrl, CTRL_DECISION);
    Atomics.wait(views.ctrl, CTRL_GEN, seen, 1000); // wakes at least every second, so terminate() is prompt
  }
}

/** Runs a replica worker for `init` until the main thread ends it. */
export async function runReplicaWorker(port: HostPort, init: WorkerInit, setup: BackendSetup): Promise<void> {
  const views = sharedViews(init.shared, init.replicas, init.params);
  const send = (m: FromWorker): void => port.post(m);
  const fault: { how?: 'throw' | 'exit' } = {};

  const step = (rep: Replica, m: Extract<ToWorker, { type: 'step' }>): void => {
    if (injectedFault(port, fault)) return;
    const r = computeShardGradient(rep, m.task, views.slot(init.index));
    views.stats[init.index * STATS_PER_REPLICA] = r.loss;
    send({ type: 'grads', gen: m.gen, metrics: r.metrics });
    if (awaitDecision(views, m.gen) === ABORT) {
      send({ type: 'aborted', gen: m.gen });
      return;
    }
    applySummedGradient(rep, views.sum, views.header[HDR_SCALE] as number, views.header[HDR_LR] as number);
    send({ type: 'applied', gen: m.gen, checksum: m.checksum ? weightsChecksum(rep.opt.variables) : null });
  };

  const handle = (rep: Replica, m: ToWorker): void => {
    try {
      if (m.type === 'step') step(rep, m);
      else if (m.type === 'sync') {
        loadState(init.index, rep, m.state);
        send({ type: 'synced' });
      } else if (m.type === 'stats') send({ type: 'stats', memory: workerMemory(port) });
      else if (m.type === 'crash') fault.how = m.how;
    } catch (e) {
      send(errorMessage(e));
    }
  };

  try {
    const rep = await startReplica(init, setup);
    port.listen((m) => handle(rep, m as ToWorker));
    send({ type: 'ready' });
  } catch (e) {
    send(errorMessage(e));
  }
}
