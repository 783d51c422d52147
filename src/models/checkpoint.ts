/**
 * Model weights <-> safetensors bytes, with the config stored in the header's `__metadata__`.
 * Names follow Hugging Face GPT-2 (a leading `transformer.` is accepted; GPT-2's constant attention-mask
 * buffers `attn.bias` / `attn.masked_bias` are recognised and ignored). Anything else that does not fit
 * the config is an error naming the tensor: nothing is dropped silently.
 * @module
 */
import { tf } from '../tf';
import { FileFormatError } from '../errors';
import { decodeSafetensors, encodeSafetensors, type NamedTensorData } from '../io/safetensors';
import { checkFiniteTensors } from '../io/finite';
import { resolveConfig, type ResolvedTransformerConfig, type TransformerConfig } from './config';
import { parameterShapes } from './transformer';
import { collapseQuantized, storeQuantized } from '../compress/format';
import { setQuantized } from '../compress/registry';

/** Metadata key under which the model config is stored. */
export const CONFIG_METADATA_KEY = 'tfjs-rlhf.config';
/** Metadata key of the checkpoint format version. */
export const FORMAT_METADATA_KEY = 'tfjs-rlhf.format';
/** Current checkpoint format version. */
export const FORMAT_VERSION = '1';

/** Encodes named variables (and optional extra metadata) as safetensors bytes. */
export function encodeWeights(
  params: Map<string, tf.Tensor>,
  config: TransformerConfig,
  extraMetadata: Record<string, string> = {},
): Uint8Array {
  const tensors: Record<string, NamedTensorData> = {};
  for (const [name, v] of params) {
    tensors[name] = { dtype: 'float32', shape: v.shape.slice(), data: v.dataSync() as Float32Array };
  }
  const quantMetadata = storeQuantized(params, tensors); // int8 weights (src/compress) as I8 + scales
  return encodeSafetensors(tensors, {
    ...extraMetadata,
    ...quantMetadata,
    [FORMAT_METADATA_KEY]: FORMAT_VERSION,
    [CONFIG_METADATA_KEY]: JSON.stringify(config),
  });
}

function configFromMetadata(metadata: Record<string, string>, file: string): TransformerConfig {
  const raw = metadata[CONFIG_METADATA_KEY];
  if (raw === undefined) {
    throw new FileFormatError(file, `no model config: pass one, or use a file written by tfjs-rlhf (metadata key ${CONFIG_METADATA_KEY})`);
  }
  try {
    return JSON.parse(raw) as TransformerConfig;
  } catch (e) {
    throw new FileFormatError(file, `metadata ${CONFIG_METADATA_KEY} is not valid JSON: ${(e as Error).message}`);
  }
}

const IGNORED = /(^|\.)attn\.(bias|masked_bias)$/;

/**
 * Decodes safetensors bytes into a resolved config and tensors by GPT-2 name. The caller owns the
 * returned tensors. Throws {@link FileFormatError} for missing, unexpected or mis-shaped tensors, and for
 * NaN or ±Infinity values (naming the file and tensor).
 * `extraShapes` names tensors beyond the transformer's (e.g. a reward head).
 */
export function decodeWeights(
  bytes: Uint8Array,
  config: TransformerConfig | undefined,
  file = '<bytes>',
  extraShapes: [string, number[]][] | ((c: ResolvedTransformerConfig) => [string, number[]][]) = [],
): { config: ResolvedTransformerConfig; values: Map<string, tf.Tensor>; metadata: Record<string, string> } {
  const { tensors, metadata } = decodeSafetensors(bytes, file);
  const quantized = collapseQuantized(tensors, file); // I8 + scales -> dequantized float32 entries
  const resolved = resolveConfig(config ?? configFromMetadata(metadata, file));
  const extra = typeof extraShapes === 'function' ? extraShapes(resolved) : extraShapes;
  const expected = new Map([...parameterShapes(resolved), ...extra]);
  const found = new Map<string, NamedTensorData>();
  for (const [rawName, t] of Object.entries(tensors)) {
    const name = rawName.startsWith('transformer.') ? rawName.slice('transformer.'.length) : rawName;
    if (IGNORED.test(name)) continue;
    if (name === 'lm_head.weight' && resolved.tieEmbeddings) continue; // HF stores the tied copy too
    const shape = expected.get(name);
    if (shape === undefined) throw new FileFormatError(file, `unexpected tensor ${JSON.stringify(rawName)} for this config`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new FileFormatError(file, `tensor ${JSON.stringify(rawName)} has shape [${t.shape}] but the config needs [${shape}]`);
    }
    found.set(name, t);
  }
  const missing = [...expected.keys()].filter((n) => !found.has(n));
  if (missing.length > 0) throw new FileFormatError(file, `missing tensors: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
  checkFiniteTensors(found, file);
  const values = new Map<string, tf.Tensor>();
  for (const [name, t] of found) {
    const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
    values.set(name, tf.tensor(data, t.shape, 'float32'));
    const q = quantized.get(name) ?? quantized.get(`transformer.${name}`);
    if (q !== undefined) setQuantized(values.get(name) as tf.Tensor, q);
  }
  return { config: resolved, values, metadata };
}
