/**
 * Checkpoints of the LM, preference and critic-free trainers (LM, DPO, GRPO, RLOO): `policy/`, optionally
 * `ref/`, the Adam moments (`trainer.safetensors`) and a `trainer.json` with a kind tag, format
 * version, counters, RNG state and options. The folder is written atomically as a whole
 * (`io/atomic-dir`): after a crash a load gives the previous checkpoint or the new one, never a mix.
 * @module
 */
import { FileFormatError } from '../errors';
import { nestFiles, readDirFiles, writeDirAtomic } from '../io/atomic-dir';
import { checkFiniteTensors } from '../io/finite';
import { joinPath } from '../io/paths';
import { decodeSafetensors, encodeSafetensors, type NamedTensorData } from '../io/safetensors';
import { modelFileNames, modelFiles, parseModelFiles } from '../models/files';
import { TransformerPolicy } from '../models/policy';
import type { AdamWState, StateTensor } from '../optim/adamw';

/** Version of the `trainer.json` layout written by {@link writeTrainerFolder}. */
export const TRAINER_FOLDER_FORMAT = 1;

/** The common fields of `trainer.json`; trainers add their own. */
export interface TrainerFolderJson {
  /** Which trainer wrote it, e.g. `'dpo'`, `'grpo'`, `'rloo'`. */
  kind: string;
  /** Layout version. */
  format: number;
  /** Anything else the trainer needs to resume. */
  [key: string]: unknown;
}

/** What {@link writeTrainerFolder} saves. */
export interface TrainerFolderParts {
  /** `trainer.json` contents. */
  json: TrainerFolderJson;
  /** The trained policy (`policy/`). */
  policy: TransformerPolicy;
  /** The frozen reference (`ref/`), when the trainer has one. */
  ref?: TransformerPolicy;
  /** Adam moments and step. */
  optimizer: AdamWState;
}

const JSON_FILE = 'trainer.json';
const STATE_FILE = 'trainer.safetensors';

/** Writes the checkpoint folder atomically as a whole (a stale `ref/` of an earlier save is dropped). */
export async function writeTrainerFolder(dir: string, parts: TrainerFolderParts): Promise<void> {
  const tensors: Record<string, NamedTensorData> = {};
  for (const [k, t] of Object.entries(parts.optimizer.tensors)) tensors[`optimizer.${k}`] = t;
  const { policy, ref } = parts;
  await writeDirAtomic(dir, {
    ...nestFiles('policy', modelFiles(policy.toSafetensors(), policy.config)),
    ...(ref ? nestFiles('ref', modelFiles(ref.toSafetensors(), ref.config)) : {}),
    [STATE_FILE]: encodeSafetensors(tensors, { 'optimizer.step': String(parts.optimizer.step) }),
    [JSON_FILE]: `${JSON.stringify(parts.json)}\n`,
  }, { replaces: ['policy', 'ref', STATE_FILE, JSON_FILE] });
}

/** What {@link readTrainerFolder} returns; the caller owns the models. */
export interface TrainerFolder<J extends TrainerFolderJson> {
  /** `trainer.json`. */
  json: J;
  /** The policy. */
  policy: TransformerPolicy;
  /** The reference, when saved. */
  ref?: TransformerPolicy;
  /** Adam moments and step. */
  optimizer: AdamWState;
}

function parseJson(bytes: Uint8Array | undefined, path: string, kind: string): TrainerFolderJson {
  let json: TrainerFolderJson;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes)) as TrainerFolderJson;
  } catch (e) {
    throw new FileFormatError(path, `cannot read the trainer state: ${(e as Error).message.slice(0, 200)}`);
  }
  if (typeof json !== 'object' || json === null || json.kind !== kind) {
    throw new FileFormatError(path, `is not a ${kind} checkpoint (kind ${String((json as { kind?: unknown } | null)?.kind).slice(0, 40)})`);
  }
  if (json.format !== TRAINER_FOLDER_FORMAT) throw new FileFormatError(path, `format ${String(json.format).slice(0, 40)} is not ${TRAINER_FOLDER_FORMAT}`);
  return json;
}

function parseOptimizer(bytes: Uint8Array, path: string): AdamWState {
  const { tensors, metadata } = decodeSafetensors(bytes, path);
  checkFiniteTensors(Object.entries(tensors), path);
  const out: Record<string, StateTensor> = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (!k.startsWith('optimizer.')) continue;
    if (t.dtype !== 'float32') throw new FileFormatError(path, `tensor ${k.slice(0, 80)} must be float32`);
    out[k.slice('optimizer.'.length)] = { dtype: 'float32', shape: t.shape, data: t.data as Float32Array };
  }
  const step = Number(metadata['optimizer.step']);
  if (!Number.isInteger(step) || step < 0) throw new FileFormatError(path, `bad optimizer.step metadata ${String(metadata['optimizer.step']).slice(0, 40)}`);
  return { step, tensors: out };
}

/**
 * Reads a folder written by {@link writeTrainerFolder} for a trainer of `kind`; every file comes from
 * the same save. A wrong kind, format, or non-finite moments are a {@link FileFormatError}.
 */
export async function readTrainerFolder<J extends TrainerFolderJson>(dir: string, kind: string): Promise<TrainerFolder<J>> {
  const files = await readDirFiles(dir, [JSON_FILE, STATE_FILE, ...modelFileNames('policy')], modelFileNames('ref'));
  const json = parseJson(files.get(JSON_FILE), joinPath(dir, JSON_FILE), kind) as J;
  const optimizer = parseOptimizer(files.get(STATE_FILE) as Uint8Array, joinPath(dir, STATE_FILE));
  const load = (prefix: string) => {
    const f = parseModelFiles(files, dir, prefix);
    return TransformerPolicy.fromSafetensors(f.bytes, f.config, f.file);
  };
  const policy = load('policy');
  try {
    const ref = files.has(modelFileNames('ref')[1]) ? load('ref') : undefined;
    return { json, policy, optimizer, ...(ref ? { ref } : {}) };
  } catch (e) {
    policy.dispose();
    throw e;
  }
}
