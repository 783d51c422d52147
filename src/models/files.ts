/**
 * Node-only checkpoint files: `config.json` + `model.safetensors` in a directory, written atomically.
 * @module
 */
import { FileFormatError } from '../errors';
import { ensureDir, readFileBytes, writeFileAtomic } from '../io/atomic';
import type { TransformerConfig } from './config';

/** File names inside a checkpoint directory. */
export const WEIGHTS_FILE = 'model.safetensors';
/** Config file name inside a checkpoint directory. */
export const CONFIG_FILE = 'config.json';

function join(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

/** Writes weights then config, each atomically (write temp, fsync, rename). */
export async function saveWeightsFile(dir: string, bytes: Uint8Array, config: TransformerConfig, extra: Record<string, unknown> = {}): Promise<void> {
  await ensureDir(dir);
  await writeFileAtomic(join(dir, WEIGHTS_FILE), bytes);
  await writeFileAtomic(join(dir, CONFIG_FILE), `${JSON.stringify({ ...extra, ...config }, null, 2)}\n`);
}

/** Reads a checkpoint directory; `config` is the parsed `config.json`. */
export async function loadWeightsFile(dir: string): Promise<{ bytes: Uint8Array; file: string; config: TransformerConfig }> {
  const cfgPath = join(dir, CONFIG_FILE);
  let config: TransformerConfig;
  try {
    const text = new TextDecoder().decode(await readFileBytes(cfgPath));
    config = JSON.parse(text) as TransformerConfig;
  } catch (e) {
    throw new FileFormatError(cfgPath, `cannot read the config: ${(e as Error).message}`);
  }
  const file = join(dir, WEIGHTS_FILE);
  let bytes: Uint8Array;
  try {
    bytes = await readFileBytes(file);
  } catch (e) {
    throw new FileFormatError(file, `cannot read the weights: ${(e as Error).message}`);
  }
  return { bytes, file, config };
}
