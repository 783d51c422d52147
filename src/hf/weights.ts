/**
 * GPT-2 weights in Hugging Face files: `model.safetensors` or a sharded `model.safetensors.index.json`,
 * F32/F16/BF16 (upcast to float32), names with or without `transformer.`; GPT-2's constant attention
 * buffers (`attn.bias`, `attn.masked_bias`) are ignored and a tied `lm_head.weight` is dropped.
 * @module
 */
import { tf } from '../tf';
import { FileFormatError } from '../errors';
import { readFileBytes } from '../io/atomic';
import { decodeSafetensors, encodeSafetensors, type NamedTensorData } from '../io/safetensors';
import type { ResolvedTransformerConfig } from '../models/config';
import { parameterShapes } from '../models/transformer';
import type { PretrainedFiles } from './source';
import { readJsonFile } from './source';

/** Single-file weights. */
export const HF_WEIGHTS = 'model.safetensors';
/** Index of sharded weights. */
export const HF_WEIGHTS_INDEX = 'model.safetensors.index.json';
const IGNORED = /(^|\.)attn\.(bias|masked_bias)$/;

function stripName(name: string): string {
  return name.startsWith('transformer.') ? name.slice('transformer.'.length) : name;
}

async function shardFiles(files: PretrainedFiles): Promise<{ names: string[]; expected: Map<string, string> } | undefined> {
  const index = await readJsonFile(files, HF_WEIGHTS_INDEX);
  if (index === undefined) return undefined;
  const where = `${files.label}/${HF_WEIGHTS_INDEX}`;
  const map = index.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new FileFormatError(where, 'weight_map must be an object');
  const expected = new Map<string, string>();
  for (const [name, shard] of Object.entries(map)) {
    if (typeof shard !== 'string' || !/^[\w.-]+\.safetensors$/.test(shard)) throw new FileFormatError(where, `weight_map[${JSON.stringify(name).slice(0, 80)}] must name a .safetensors file in the folder`);
    expected.set(name, shard);
  }
  return { names: [...new Set(expected.values())].sort(), expected };
}

/**
 * Every tensor of the source by GPT-2 name (prefix stripped, buffers dropped), as float32 or int32 data.
 * @throws {@link FileFormatError} when no safetensors weights exist (a `pytorch_model.bin` is named),
 *   a shard is missing, or a tensor listed in the index is not in its shard.
 */
export async function readHfTensors(files: PretrainedFiles): Promise<Map<string, NamedTensorData>> {
  const shards = await shardFiles(files);
  const names = shards?.names ?? [HF_WEIGHTS];
  const out = new Map<string, NamedTensorData>();
  for (const name of names) {
    const path = await files.file(name);
    if (path === undefined) {
      const hint = shards === undefined && (await files.file('pytorch_model.bin')) !== undefined
        ? ': only safetensors weights load (this model has pytorch_model.bin; convert it with `safetensors` or save_pretrained(safe_serialization=True))' : '';
      throw new FileFormatError(`${files.label}/${name}`, `no such file${hint}`);
    }
    const { tensors } = decodeSafetensors(await readFileBytes(path), path);
    for (const [raw, t] of Object.entries(tensors)) {
      if (shards !== undefined && shards.expected.get(raw) !== name) continue; // only what the index assigns here
      const stripped = stripName(raw);
      if (IGNORED.test(stripped)) continue;
      out.set(stripped, t);
    }
  }
  for (const [raw, shard] of shards?.expected ?? []) {
    if (!IGNORED.test(stripName(raw)) && !out.has(stripName(raw))) throw new FileFormatError(`${files.label}/${shard}`, `tensor ${JSON.stringify(raw).slice(0, 80)} listed in the index is missing`);
  }
  return out;
}

/**
 * Checks tensors against the config's parameter shapes (plus `extra`) and makes float32 tensors of
 * them (the caller disposes). `lm_head.weight` is dropped when embeddings are tied; other unexpected
 * tensors are an error, as are missing ones. @internal
 */
export function tensorsForConfig(
  found: Map<string, NamedTensorData>, c: ResolvedTransformerConfig, extra: [string, number[]][], label: string, optional: string[] = [],
): Map<string, tf.Tensor> {
  const expected = new Map([...parameterShapes(c), ...extra]);
  for (const [name, t] of found) {
    if (name === 'lm_head.weight' && c.tieEmbeddings) continue;
    const shape = expected.get(name);
    if (shape === undefined) throw new FileFormatError(label, `unexpected tensor ${JSON.stringify(name).slice(0, 80)} for a GPT-2 of this config`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new FileFormatError(label, `tensor ${JSON.stringify(name)} has shape [${t.shape}] but config.json needs [${shape}]`);
    }
  }
  const missing = [...expected.keys()].filter((n) => !found.has(n) && !optional.includes(n));
  if (missing.length > 0) throw new FileFormatError(label, `missing tensors: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
  const values = new Map<string, tf.Tensor>();
  for (const [name, shape] of expected) {
    const t = found.get(name);
    if (t === undefined) continue;
    values.set(name, tf.tensor(t.data instanceof Float32Array ? t.data : Float32Array.from(t.data), shape, 'float32'));
  }
  return values;
}

/** Grows `[V, d]` embedding rows to `[V2, d]`, new rows = the mean row (a neutral start for added tokens). @internal */
export function growRows(t: NamedTensorData, rows: number): NamedTensorData {
  const [v, d] = t.shape as [number, number];
  if (rows <= v) return t;
  const data = new Float32Array(rows * d);
  data.set(t.data as Float32Array);
  const mean = new Float32Array(d);
  for (let i = 0; i < v * d; i++) mean[i % d] = (mean[i % d] as number) + (t.data[i] as number) / v;
  for (let r = v; r < rows; r++) data.set(mean, r * d);
  return { dtype: 'float32', shape: [rows, d], data };
}

/**
 * Safetensors bytes in `transformers`' save_pretrained naming: trunk tensors under `transformer.`,
 * heads (`lm_head.weight`, `score.weight`) at the top, F32, `__metadata__ {"format": "pt"}`. @internal
 */
export function encodeHfWeights(trunk: Map<string, tf.Tensor>, heads: Map<string, tf.Tensor>): Uint8Array {
  const tensors: Record<string, NamedTensorData> = {};
  const put = (name: string, v: tf.Tensor) => {
    tensors[name] = { dtype: 'float32', shape: v.shape.slice(), data: v.dataSync() as Float32Array };
  };
  for (const [name, v] of trunk) if (name !== 'lm_head.weight') put(`transformer.${name}`, v);
  for (const [name, v] of heads) put(name, v);
  return encodeSafetensors(tensors, { format: 'pt' });
}
