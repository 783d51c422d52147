/**
 * PPO checkpoints: everything a resumed run needs to continue exactly as if it had never stopped —
 * policy, reference, critic (or value head), Adam moments, KL coefficient, RNG state and counters.
 * The folder (`policy/`, `ref/`, `critic/`, `trainer.safetensors`, `trainer.json`) is written atomically
 * as a whole (`io/atomic-dir`): after a crash at any point, a load gives the previous checkpoint or
 * the new one, never a mix of steps.
 * @module
 */
import { tf } from '../tf';
import { FileFormatError } from '../errors';
import { nestFiles, readDirFiles, writeDirAtomic } from '../io/atomic-dir';
import { checkFiniteTensors } from '../io/finite';
import { joinPath } from '../io/paths';
import { decodeSafetensors, encodeSafetensors, type NamedTensorData } from '../io/safetensors';
import { modelFileNames, modelFiles, parseModelFiles } from '../models/files';
import { TransformerPolicy } from '../models/policy';
import type { RngState } from '../ops/random';
import type { AdamWState, StateTensor } from '../optim/adamw';
import { RewardModel, rewardModelFiles, rewardModelFromFile } from '../reward/reward-model';
import type { KLControllerState } from '../rl/kl-controllers';
import type { ResolvedPPOOptions } from './options';

/** Checkpoint format version. */
export const PPO_CHECKPOINT_FORMAT = 1;

/** Mutable training state that a checkpoint must restore. */
export interface PPOProgress {
  /** PPO steps taken. */
  step: number;
  /** Episodes (responses) seen. */
  episode: number;
}

/** Contents of `trainer.json`. */
export interface PPOTrainerJson {
  /** Format version. */
  format: number;
  /** Steps and episodes. */
  progress: PPOProgress;
  /** KL controller state. */
  kl: KLControllerState;
  /** RNG state. */
  rng: RngState;
  /** Resolved numeric options (logger excluded). */
  options: Omit<ResolvedPPOOptions, 'logger'>;
  /** Critic kind. */
  critic: 'separate' | 'shared';
}

/** What {@link writePPOCheckpoint} saves. */
export interface PPOCheckpointParts {
  /** `trainer.json`. */
  json: PPOTrainerJson;
  /** The policy being trained (`policy/`). */
  policy: TransformerPolicy;
  /** The frozen reference (`ref/`). */
  ref: TransformerPolicy;
  /** A separate critic (`critic/`), if any. */
  critic?: RewardModel;
  /** Adam moments and step. */
  optimizer: AdamWState;
  /** The shared critic's value head, if any. */
  valueHead?: { weight: tf.Tensor; bias: tf.Tensor };
}

/** What {@link readPPOCheckpoint} returns; the caller owns the models. */
export interface PPOCheckpoint {
  /** `trainer.json`. */
  json: PPOTrainerJson;
  /** Adam moments and step. */
  optimizer: AdamWState;
  /** The shared critic's value head, if saved. */
  valueHead?: { weight: NamedTensorData; bias: NamedTensorData };
  /** The policy. */
  policy: TransformerPolicy;
  /** The reference. */
  ref: TransformerPolicy;
  /** The separate critic, if saved. */
  critic?: RewardModel;
}

const JSON_FILE = 'trainer.json';
const STATE_FILE = 'trainer.safetensors';

async function trainerSafetensors(opt: AdamWState, valueHead?: { weight: tf.Tensor; bias: tf.Tensor }): Promise<Uint8Array> {
  const tensors: Record<string, NamedTensorData> = {};
  for (const [k, t] of Object.entries(opt.tensors)) tensors[`optimizer.${k}`] = t;
  if (valueHead) {
    tensors['value_head.weight'] = { dtype: 'float32', shape: valueHead.weight.shape.slice(), data: (await valueHead.weight.data()) as Float32Array };
    tensors['value_head.bias'] = { dtype: 'float32', shape: valueHead.bias.shape.slice(), data: (await valueHead.bias.data()) as Float32Array };
  }
  return encodeSafetensors(tensors, { 'optimizer.step': String(opt.step) });
}

/** Writes the whole checkpoint folder atomically (a stale `critic/` of an earlier save is dropped). */
export async function writePPOCheckpoint(dir: string, parts: PPOCheckpointParts): Promise<void> {
  const { policy, ref, critic } = parts;
  await writeDirAtomic(dir, {
    ...nestFiles('policy', modelFiles(policy.toSafetensors(), policy.config)),
    ...nestFiles('ref', modelFiles(ref.toSafetensors(), ref.config)),
    ...(critic ? nestFiles('critic', rewardModelFiles(critic)) : {}),
    [STATE_FILE]: await trainerSafetensors(parts.optimizer, parts.valueHead),
    [JSON_FILE]: `${JSON.stringify(parts.json, null, 2)}\n`,
  }, { replaces: ['policy', 'ref', 'critic', STATE_FILE, JSON_FILE] });
}

function parseTrainerJson(bytes: Uint8Array | undefined, path: string): PPOTrainerJson {
  let json: PPOTrainerJson;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes)) as PPOTrainerJson;
  } catch (e) {
    throw new FileFormatError(path, `cannot read the trainer state: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || json.format !== PPO_CHECKPOINT_FORMAT) {
    throw new FileFormatError(path, `format ${String((json as { format?: unknown } | null)?.format).slice(0, 40)} is not ${PPO_CHECKPOINT_FORMAT}`);
  }
  return json;
}

function parseTrainerState(bytes: Uint8Array, stPath: string): Pick<PPOCheckpoint, 'optimizer' | 'valueHead'> {
  const { tensors, metadata } = decodeSafetensors(bytes, stPath);
  checkFiniteTensors(Object.entries(tensors), stPath);
  const opt: Record<string, StateTensor> = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (!k.startsWith('optimizer.')) continue;
    if (t.dtype !== 'float32') throw new FileFormatError(stPath, `tensor ${k} must be float32`);
    opt[k.slice('optimizer.'.length)] = { dtype: 'float32', shape: t.shape, data: t.data as Float32Array };
  }
  const step = Number(metadata['optimizer.step']);
  if (!Number.isInteger(step) || step < 0) throw new FileFormatError(stPath, `bad optimizer.step metadata ${String(metadata['optimizer.step']).slice(0, 40)}`);
  const w = tensors['value_head.weight'];
  const b = tensors['value_head.bias'];
  return { optimizer: { step, tensors: opt }, ...(w && b ? { valueHead: { weight: w, bias: b } } : {}) };
}

/**
 * Reads a checkpoint written by {@link writePPOCheckpoint}: every file from the same save (see
 * `io/atomic-dir`). Non-finite weights or moments are a {@link FileFormatError}.
 */
export async function readPPOCheckpoint(dir: string): Promise<PPOCheckpoint> {
  const files = await readDirFiles(dir, [JSON_FILE, STATE_FILE, ...modelFileNames('policy'), ...modelFileNames('ref')], modelFileNames('critic'));
  const json = parseTrainerJson(files.get(JSON_FILE), joinPath(dir, JSON_FILE));
  const state = parseTrainerState(files.get(STATE_FILE) as Uint8Array, joinPath(dir, STATE_FILE));
  const owned: { dispose(): void }[] = [];
  try {
    const load = (prefix: string) => {
      const f = parseModelFiles(files, dir, prefix);
      const p = TransformerPolicy.fromSafetensors(f.bytes, f.config, f.file);
      owned.push(p);
      return p;
    };
    const policy = load('policy');
    const ref = load('ref');
    let critic: RewardModel | undefined;
    if (json.critic === 'separate') {
      if (!files.has(modelFileNames('critic')[1])) throw new FileFormatError(joinPath(dir, 'critic'), 'missing: trainer.json names a separate critic');
      critic = rewardModelFromFile(parseModelFiles(files, dir, 'critic'));
    }
    return { json, ...state, policy, ref, ...(critic ? { critic } : {}) };
  } catch (e) {
    for (const x of owned) x.dispose();
    throw e;
  }
}
