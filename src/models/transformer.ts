/**
 * The GPT-style decoder, in dependency order: parameters -> attention -> MLP -> block -> forward.
 * Pre-LayerNorm blocks, causal multi-head attention, tanh-GELU MLP, final LayerNorm, LM head tied to
 * the token embedding by default. Parameter names and layouts follow Hugging Face GPT-2
 * (`h.0.attn.c_attn.weight` is `[d, 3d]`, Conv1D layout), so GPT-2 weights map one to one.
 * Shapes: B batch, T query length, Tk key length, d = dModel, H heads, hd = d / H, V vocab.
 * @module
 */
import { tf } from '../tf';
import { Rng } from '../ops/random';
import { checkInteger } from '../ops/validate';
import type { ResolvedTransformerConfig } from './config';
import { bmm, embed, gelu, layerNorm, linear, matmul2d } from './layers';
import { cacheAppend, cacheBuffer, concat3d, decodeAttention, fusedOn, mergeHeads, splitHeads } from '../backends/fused-ops';
import { attentionBias, positionIds, type PaddedBatch } from './batch';
import { inheritQuantized } from '../compress/registry';

/** Cached keys (pre-transposed) and values of one layer for incremental decoding. */
export interface LayerCache {
  /** Keys, transposed for `q @ kT`: `[B*H, hd, Tk]` (or `[B*H, hd, capacity]`, the first `length` filled). */
  kT: tf.Tensor3D;
  /** Values: `[B*H, Tk, hd]` (or `[B*H, capacity, hd]`, the first `length` filled). */
  v: tf.Tensor3D;
  /** Positions filled when the tensors have room to grow (see `cacheCapacity`); absent: all of `Tk`. */
  length?: number;
}

/**
 * The cache after this pass's keys `kNew: [B*H, hd, T]` and values `vNew: [B*H, T, hd]`: with a
 * capacity on wasm, one buffer per tensor written in place (the first pass allocates it); otherwise the
 * concatenation of the past and the new.
 */
function extendCache(past: LayerCache | undefined, kNew: tf.Tensor3D, vNew: tf.Tensor3D, capacity: number | undefined): LayerCache {
  const T = kNew.shape[2];
  if (capacity === undefined || !fusedOn()) {
    return past ? { kT: concat3d(past.kT, kNew, 2), v: concat3d(past.v, vNew, 1) } : { kT: kNew, v: vNew };
  }
  if (!past) return { kT: cacheBuffer(kNew, 2, capacity), v: cacheBuffer(vNew, 1, capacity), length: T };
  const at = past.length ?? past.kT.shape[2];
  return { kT: cacheAppend(past.kT, kNew, 2, at), v: cacheAppend(past.v, vNew, 1, at), length: at + T };
}

/** Inputs of one forward pass, as tensors (all created by the caller inside the same tidy). */
export interface ForwardInputs {
  /** Token ids `[B*T]` int32. */
  ids: tf.Tensor1D;
  /** Position ids `[B*T]` int32. */
  positions: tf.Tensor1D;
  /** Additive attention bias `[B, 1, T, Tk]` (Tk = cached length + T). */
  bias: tf.Tensor4D;
  /** Batch size B. */
  batch: number;
  /** Query length T. */
  length: number;
  /** Per-layer caches of earlier tokens; omitted for a full pass. */
  cache?: LayerCache[];
  /**
   * Room for this many positions in the returned cache (the decoding loop: prompt + new tokens). On wasm
   * the cache is then one buffer per layer written in place as tokens arrive, instead of a copy that
   * grows by one position per token: a cache passed in `cache` is extended in place, so keep only the
   * latest one (an older one shares its memory). Default: none (the cache is exactly the tokens so far).
   */
  cacheCapacity?: number;
  /** Apply dropout (training only). */
  training?: boolean;
  /** Random stream for dropout seeds. */
  rng?: Rng;
}

/** Result of a forward pass: final hidden states and the per-layer caches including these tokens. */
export interface ForwardOutputs {
  /** Hidden states after the final LayerNorm, `[B*T, d]`. */
  hidden: tf.Tensor2D;
  /** Keys and values of all tokens so far, per layer. */
  cache: LayerCache[];
}

/** Ordered GPT-2 parameter names and shapes for a config. */
export function parameterShapes(c: ResolvedTransformerConfig): [string, number[]][] {
  const d = c.dModel;
  const shapes: [string, number[]][] = [['wte.weight', [c.vocabSize, d]], ['wpe.weight', [c.contextLength, d]]];
  for (let i = 0; i < c.nLayer; i++) {
    shapes.push(
      [`h.${i}.ln_1.weight`, [d]], [`h.${i}.ln_1.bias`, [d]],
      [`h.${i}.attn.c_attn.weight`, [d, 3 * d]], [`h.${i}.attn.c_attn.bias`, [3 * d]],
      [`h.${i}.attn.c_proj.weight`, [d, d]], [`h.${i}.attn.c_proj.bias`, [d]],
      [`h.${i}.ln_2.weight`, [d]], [`h.${i}.ln_2.bias`, [d]],
      [`h.${i}.mlp.c_fc.weight`, [d, c.dMlp]], [`h.${i}.mlp.c_fc.bias`, [c.dMlp]],
      [`h.${i}.mlp.c_proj.weight`, [c.dMlp, d]], [`h.${i}.mlp.c_proj.bias`, [d]],
    );
  }
  shapes.push(['ln_f.weight', [d]], ['ln_f.bias', [d]]);
  if (!c.tieEmbeddings) shapes.push(['lm_head.weight', [c.vocabSize, d]]);
  return shapes;
}

/** GPT-2 initialisation: N(0, 0.02), residual projections N(0, 0.02 / sqrt(2 nLayer)), LN 1/0, biases 0. */
export function initialValues(c: ResolvedTransformerConfig, name: string, shape: number[], rng: Rng): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  if (name.endsWith('.bias')) return out;
  if (name.startsWith('ln_') || name.includes('.ln_')) return out.fill(1);
  const std = name.endsWith('c_proj.weight') ? 0.02 / Math.sqrt(2 * c.nLayer) : 0.02;
  for (let i = 0; i < size; i++) out[i] = rng.normal() * std;
  return out;
}

/** The decoder: owns its parameters as tf.Variables, knows nothing of training. */
export class Transformer {
  /** Parameters by GPT-2 name, in {@link parameterShapes} order. */
  readonly params: Map<string, tf.Variable>;

  /** The validated config. */
  readonly config: ResolvedTransformerConfig;

  /** @param values - initial values by name; when omitted, initialised from `config.seed`. */
  constructor(config: ResolvedTransformerConfig, values?: Map<string, tf.Tensor>) {
    this.config = config;
    this.params = new Map();
    const rng = new Rng(config.seed);
    for (const [name, shape] of parameterShapes(config)) {
      const given = values?.get(name);
      const init = given ?? tf.tensor(initialValues(config, name, shape, rng), shape, 'float32');
      const v = tf.variable(init, true, undefined, 'float32');
      inheritQuantized(given, v); // an int8-stored weight (src/compress) stays int8 when saved
      this.params.set(name, v);
      if (given === undefined) init.dispose();
    }
  }

  /**
   * Called with the input `[N, in]` of each block's linear maps (and the name of its weight) during a
   * forward pass: calibration for compression (src/compress) reads activations through it. Default: none.
   */
  linearTap: ((weightName: string, x: tf.Tensor2D) => void) | undefined = undefined;

  /** `x @ W + b` of the linear map `name` (e.g. `h.0.mlp.c_fc`), reporting `x` to {@link Transformer.linearTap}. */
  private lin(name: string, x: tf.Tensor2D): tf.Tensor2D {
    this.linearTap?.(`${name}.weight`, x);
    return linear(x, this.p(`${name}.weight`), this.p(`${name}.bias`));
  }

  /** A parameter by name. */
  p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (v === undefined) throw new Error(`internal: no parameter ${name}`);
    return v;
  }

  private dropout(x: tf.Tensor2D, inp: ForwardInputs): tf.Tensor2D {
    const rate = this.config.dropout;
    if (!inp.training || rate === 0) return x;
    return tf.dropout(x, rate, undefined, (inp.rng ?? new Rng(0)).nextUint32()) as tf.Tensor2D;
  }

  /** Causal self-attention of layer `i` on `x: [B*T, d]`; returns output and the extended cache. */
  private attention(i: number, x: tf.Tensor2D, inp: ForwardInputs): { y: tf.Tensor2D; cache: LayerCache } {
    const { batch: B, length: T } = inp;
    const { nHead: H, headDim: hd } = this.config;
    const qkv = this.lin(`h.${i}.attn.c_attn`, x); //                                                      [B*T, 3d]
    const dims = { B, T, H, hd };
    const [q, kNew, vNew] = splitHeads(qkv, dims, 1 / Math.sqrt(hd)); // q / sqrt(hd): [B*H, T, hd]; kT: [B*H, hd, T]; v: [B*H, T, hd]
    const past = inp.cache?.[i];
    const cache = extendCache(past, kNew, vNew, inp.cacheCapacity); //                                   keys and values so far
    const n = cache.length; // filled positions of a cache with room to grow
    let yh: tf.Tensor3D; //                                                                             [B*H, T, hd]
    if (!past) yh = this.attend(q, kNew, vNew, inp.bias, B, H); // a full pass (or a prompt)
    else if (T === 1) yh = decodeAttention(q, cache.kT, cache.v, inp.bias, H); // one token: a fused pass, no gradient
    else if (n === undefined) yh = this.attend(q, cache.kT, cache.v, inp.bias, B, H);
    else yh = this.attend(q, tf.slice(cache.kT, [0, 0, 0], [-1, -1, n]), tf.slice(cache.v, [0, 0, 0], [-1, n, -1]), inp.bias, B, H);
    const y = mergeHeads(yh, dims); //                                                                  [B*T, d]
    const out = this.lin(`h.${i}.attn.c_proj`, y); //                                                      [B*T, d]
    return { y: out, cache };
  }

  /** `softmax(q kT + bias) v` for `q: [B*H, T, hd]` (scaled), `kT: [B*H, hd, Tk]`, `v: [B*H, Tk, hd]`. */
  private attend(q: tf.Tensor3D, kT: tf.Tensor3D, v: tf.Tensor3D, bias: tf.Tensor, B: number, H: number): tf.Tensor3D {
    const [T, Tk] = [q.shape[1], kT.shape[2]];
    const scores = bmm(q, kT); //                                                                       [B*H, T, Tk]
    const biased = tf.add(tf.reshape(scores, [B, H, T, Tk]), bias); //                                  [B, H, T, Tk]
    const att = tf.reshape(tf.softmax(biased), [B * H, T, Tk]); //                                      [B*H, T, Tk]
    return bmm(att, v); //                                                                              [B*H, T, hd]
  }

  /** Position-wise MLP of layer `i`: `[B*T, d] -> [B*T, d]`. */
  private mlp(i: number, x: tf.Tensor2D): tf.Tensor2D {
    const hid = gelu(this.lin(`h.${i}.mlp.c_fc`, x)) as tf.Tensor2D; //  [B*T, dMlp]
    return this.lin(`h.${i}.mlp.c_proj`, hid); //                                         [B*T, d]
  }

  /** Pre-LN block: `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))`. */
  private block(i: number, x: tf.Tensor2D, inp: ForwardInputs): { x: tf.Tensor2D; cache: LayerCache } {
    const eps = this.config.layerNormEpsilon;
    const a = this.attention(i, layerNorm(x, this.p(`h.${i}.ln_1.weight`), this.p(`h.${i}.ln_1.bias`), eps), inp);
    const x1 = tf.add(x, this.dropout(a.y, inp)) as tf.Tensor2D; //                                      [B*T, d]
    const m = this.mlp(i, layerNorm(x1, this.p(`h.${i}.ln_2.weight`), this.p(`h.${i}.ln_2.bias`), eps));
    return { x: tf.add(x1, this.dropout(m, inp)) as tf.Tensor2D, cache: a.cache };
  }

  /** Embeddings -> blocks -> final LayerNorm. Call inside `tf.tidy`. */
  forward(inp: ForwardInputs): ForwardOutputs {
    if (inp.cacheCapacity !== undefined) {
      const first = inp.cache?.[0];
      checkInteger('cacheCapacity', inp.cacheCapacity, (first ? (first.length ?? first.kT.shape[2]) : 0) + inp.length);
    }
    const tok = embed(this.p('wte.weight'), inp.ids); //           [B*T, d]
    const pos = embed(this.p('wpe.weight'), inp.positions); //     [B*T, d]
    let x = this.dropout(tf.add(tok, pos) as tf.Tensor2D, inp);
    const cache: LayerCache[] = [];
    for (let i = 0; i < this.config.nLayer; i++) {
      const r = this.block(i, x, inp);
      x = r.x;
      cache.push(r.cache);
    }
    const eps = this.config.layerNormEpsilon;
    return { hidden: layerNorm(x, this.p('ln_f.weight'), this.p('ln_f.bias'), eps), cache }; // [B*T, d]
  }

  /**
   * Hidden states `[B*T, d]` of a padded batch: position ids from the mask, causal + key-padding
   * attention bias (call inside `tf.tidy`).
   */
  forwardBatch(batch: PaddedBatch, options: { training?: boolean; rng?: Rng } = {}): tf.Tensor2D {
    const { batch: B, length: T } = batch;
    return this.forward({
      ids: tf.tensor1d(batch.ids, 'int32'),
      positions: tf.tensor1d(positionIds(batch.mask, B, T), 'int32'),
      bias: tf.tensor4d(attentionBias(batch.mask, B, T, T, 0), [B, 1, T, T]),
      batch: B,
      length: T,
      training: options.training ?? false,
      ...(options.rng ? { rng: options.rng } : {}),
    }).hidden;
  }

  /** The LM head matrix transposed, `[d, V]` (callers that decode many steps compute it once). */
  headT(): tf.Tensor2D {
    const w = this.config.tieEmbeddings ? this.p('wte.weight') : this.p('lm_head.weight'); // [V, d]
    return tf.transpose(w) as tf.Tensor2D;
  }

  /** LM head: hidden `[N, d]` -> logits `[N, V]`; `headT` may be a precomputed {@link Transformer.headT}. */
  logits(hidden: tf.Tensor2D, headT?: tf.Tensor2D): tf.Tensor2D {
    return matmul2d(hidden, headT ?? this.headT()); //                                       [N, V]
  }

  /** Number of scalar parameters (tied embeddings counted once). */
  parameterCount(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  /** Frees every parameter. */
  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}
