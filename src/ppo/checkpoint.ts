/**
 * PPO checkpoints: everything a resumed run needs to continue exactly as if it had never stopped —
 * policy, reference, critic (or value head), Adam moments, KL coefficient, RNG state and counters.
 * Every file is written atomically; `trainer.json` is written last, so a checkpoint without it (a crash
 * mid-save) is rejected rather than half-loaded.
 * @module
 */
import { tf } from '../tf';
import { FileFormatError } from '../errors';
import { ensureDir, readFileBytes, writeFileAtomic } from '../io/atomic';
import { decodeSafetensors, encodeSafetensors, type NamedTensorData } from '../io/safetensors';
import type { RngState } from '../ops/random';
import type { AdamWState, StateTensor } from '../optim/adamw';
import type { KLControllerState } from '../rl/kl-controllers';
import type { ResolvedPPOOptions } from './options';
import type { PPOProgress } from './ppo-trainer';

/** Checkpoint format version. */
export const PPO_CHECKPOINT_FORMAT = 1;

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

/** Joins path parts with '/'. */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

/** Writes `trainer.safetensors` (optimizer + value head) then `trainer.json`. */
export async function writeTrainerState(dir: string, json: PPOTrainerJson, opt: AdamWState, valueHead?: { weight: tf.Tensor; bias: tf.Tensor }): Promise<void> {
  await ensureDir(dir);
  const tensors: Record<string, NamedTensorData> = {};
  for (const [k, t] of Object.entries(opt.tensors)) tensors[`optimizer.${k}`] = t;
  if (valueHead) {
    tensors['value_head.weight'] = { dtype: 'float32', shape: valueHead.weight.shape.slice(), data: (await valueHead.weight.data()) as Float32Array };
    tensors['value_head.bias'] = { dtype: 'float32', shape: valueHead.bias.shape.slice(), data: (await valueHead.bias.data()) as Float32Array };
  }
  await writeFileAtomic(joinPath(dir, 'trainer.safetensors'), encodeSafetensors(tensors, { 'optimizer.step': String(opt.step) }));
  await writeFileAtomic(joinPath(dir, 'trainer.json'), `${JSON.stringify(json, null, 2)}\n`);
}

/** Reads `trainer.json` and `trainer.safetensors`. */
export async function readTrainerState(dir: string): Promise<{ json: PPOTrainerJson; optimizer: AdamWState; valueHead?: { weight: NamedTensorData; bias: NamedTensorData } }> {
  const jsonPath = joinPath(dir, 'trainer.json');
  let json: PPOTrainerJson;
  try {
    json = JSON.parse(new TextDecoder().decode(await readFileBytes(jsonPath))) as PPOTrainerJson;
  } catch (e) {
    throw new FileFormatError(jsonPath, `cannot read the trainer state (incomplete checkpoint?): ${(e as Error).message}`);
  }
  if (json.format !== PPO_CHECKPOINT_FORMAT) throw new FileFormatError(jsonPath, `format ${json.format} is not ${PPO_CHECKPOINT_FORMAT}`);
  const stPath = joinPath(dir, 'trainer.safetensors');
  const { tensors, metadata } = decodeSafetensors(await readFileBytes(stPath), stPath);
  const opt: Record<string, StateTensor> = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (!k.startsWith('optimizer.')) continue;
    if (t.dtype !== 'float32') throw new FileFormatError(stPath, `tensor ${k} must be float32`);
    opt[k.slice('optimizer.'.length)] = { dtype: 'float32', shape: t.shape, data: t.data as Float32Array };
  }
  const step = Number(metadata['optimizer.step']);
  if (!Number.isInteger(step) || step < 0) throw new FileFormatError(stPath, `bad optimizer.step metadata ${metadata['optimizer.step']}`);
  const w = tensors['value_head.weight'];
  const b = tensors['value_head.bias'];
  return { json, optimizer: { step, tensors: opt }, ...(w && b ? { valueHead: { weight: w, bias: b } } : {}) };
}
