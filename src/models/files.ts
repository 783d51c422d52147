/**
 * Node-only checkpoint files: `config.json` + `model.safetensors` in a folder, written atomically as a
 * whole (`io/atomic-dir`). The same two files, nested, are parts of PPO and round checkpoints.
 * @module
 */
import { FileFormatError } from '../errors';
import { readDirFiles, writeDirAtomic, type CheckpointFiles } from '../io/atomic-dir';
import { joinPath } from '../io/paths';
import type { TransformerConfig } from './config';

/** File names inside a checkpoint directory. */
export const WEIGHTS_FILE = 'model.safetensors';
/** Config file name inside a checkpoint directory. */
export const CONFIG_FILE = 'config.json';

/** A model checkpoint read from disk: the weights' bytes, their path, and the parsed `config.json`. */
export interface ModelFile {
  /** Contents of `model.safetensors`. */
  bytes: Uint8Array;
  /** Its path (for error messages). */
  file: string;
  /** The parsed `config.json` (the config plus any extra fields saved with it). */
  config: TransformerConfig;
}

/** The two files of a model checkpoint: weights and `config.json` (`extra` fields first, then the config). */
export function modelFiles(bytes: Uint8Array, config: TransformerConfig, extra: Record<string, unknown> = {}): CheckpointFiles {
  return { [WEIGHTS_FILE]: bytes, [CONFIG_FILE]: `${JSON.stringify({ ...extra, ...config }, null, 2)}\n` };
}

/** Paths of a model checkpoint's files under `prefix` (`''` for the folder itself). */
export function modelFileNames(prefix = ''): [string, string] {
  const p = prefix === '' ? '' : `${prefix}/`;
  return [`${p}${CONFIG_FILE}`, `${p}${WEIGHTS_FILE}`];
}

/** Picks a model checkpoint out of files read with `readDirFiles` (`prefix`: its sub-folder, or `''`). */
export function parseModelFiles(files: Map<string, Uint8Array>, dir: string, prefix = ''): ModelFile {
  const [cfgName, weightsName] = modelFileNames(prefix);
  const cfgPath = joinPath(dir, cfgName);
  let config: TransformerConfig;
  try {
    config = JSON.parse(new TextDecoder().decode(files.get(cfgName))) as TransformerConfig;
  } catch (e) {
    throw new FileFormatError(cfgPath, `cannot read the config: ${(e as Error).message}`);
  }
  if (typeof config !== 'object' || config === null) throw new FileFormatError(cfgPath, 'the config must be a JSON object');
  const bytes = files.get(weightsName);
  if (bytes === undefined) throw new FileFormatError(joinPath(dir, weightsName), 'missing');
  return { bytes, file: joinPath(dir, weightsName), config };
}

/** Writes `config.json` and `model.safetensors` into `dir`, atomically as a whole (write a new folder, then swap). */
export async function saveWeightsFile(dir: string, bytes: Uint8Array, config: TransformerConfig, extra: Record<string, unknown> = {}): Promise<void> {
  await writeDirAtomic(dir, modelFiles(bytes, config, extra));
}

/** Reads a checkpoint directory; `config` is the parsed `config.json`. */
export async function loadWeightsFile(dir: string): Promise<ModelFile> {
  return parseModelFiles(await readDirFiles(dir, modelFileNames()), dir);
}
