/**
 * The examples' pretrained base: examples/assets/brown-bpe, a 4.2 M-parameter GPT and its 4,096-token
 * byte-level BPE tokenizer, both trained on the Brown corpus by examples/pretrain-bpe.ts (the weights
 * ship in int8; see examples/assets/README.md).
 */
import { TransformerPolicy, loadTokenizer, type Tokenizer } from 'tfjs-rlhf';

/** Folder of the base checkpoint (config.json, model.safetensors, tokenizer files). */
export const BASE_DIR = new URL('../assets/brown-bpe', import.meta.url).pathname;

/** The tokenizer saved with a checkpoint folder (default: the base's). */
export function baseTokenizer(dir = BASE_DIR): Promise<Tokenizer> {
  return loadTokenizer(dir);
}

/** The policy and tokenizer of a checkpoint folder (default: the base). */
export async function loadBase(dir = BASE_DIR): Promise<{ policy: TransformerPolicy; tokenizer: Tokenizer }> {
  return { policy: await TransformerPolicy.load(dir), tokenizer: await loadTokenizer(dir) };
}
