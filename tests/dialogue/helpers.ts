// Shared fixtures of the dialogue tests: a tiny byte-level policy that ends its turns with EOS often
// (so conversations have several turns), the rollout settings, and a user simulator that records calls.
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import type { ChatMessage } from '../../src/data/types';
import type { RolloutOptions } from '../../src/ppo/rollout';
import type { UserSimulator, UserTurnContext } from '../../src/dialogue/options';

export const tok = new ByteTokenizer();

/**
 * The tiny preset (context 160) with the EOS logit raised by about `eosLogit` at every position (the
 * final LayerNorm's bias gets `eosLogit` in dimension 0 and EOS's tied embedding a 1 there) and the
 * logits of non-ASCII bytes and of PAD/BOS lowered by about 30 (dimension 1, likewise), so replies
 * decode to valid text that re-encodes to the same ids. The rest stays random, so log-probs and
 * gradients are those of a real model.
 */
export function chattyPolicy(seed = 3, eosLogit = 5): TransformerPolicy {
  const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed, contextLength: 160 });
  const p = policy.model.params;
  tf.tidy(() => {
    const d = policy.config.dModel;
    const bias = p.get('ln_f.bias') as tf.Variable;
    bias.assign(tf.add(bias, tf.tensor1d([eosLogit, -30, ...new Array<number>(d - 2).fill(0)])) as tf.Tensor1D);
    const wte = p.get('wte.weight') as tf.Variable;
    const set = new Float32Array(tok.vocabSize * d); //                  [V, d]: 1 at (EOS, 0) and at (t >= 128, 1)
    const keep = new Float32Array(tok.vocabSize * d).fill(1);
    set[tok.eosId * d] = 1;
    keep[tok.eosId * d] = 0;
    for (let t = 128; t < tok.vocabSize; t++) {
      if (t === tok.eosId) continue;
      set[t * d + 1] = 1;
      keep[t * d + 1] = 0;
    }
    const shape: [number, number] = [tok.vocabSize, d];
    wte.assign(tf.add(tf.mul(wte, tf.tensor2d(keep, shape)), tf.tensor2d(set, shape)) as tf.Tensor2D);
  });
  return policy;
}

/** Sampling settings of the dialogue rollouts in these tests. */
export const sampling: RolloutOptions = { maxNewTokens: 6, temperature: 1, topK: 0, topP: 1, stopTokens: [tok.eosId] };

/** A recorded simulator call. */
export interface SimCall { conversation: ChatMessage[]; context: UserTurnContext }

/** A simulator answering `u<row>.<turn>` (or what `reply` returns) and recording each call. */
export function recordingSimulator(reply?: (c: ChatMessage[], x: UserTurnContext) => string | null): { sim: UserSimulator; calls: SimCall[] } {
  const calls: SimCall[] = [];
  const sim: UserSimulator = async (conversation, context) => {
    calls.push({ conversation: JSON.parse(JSON.stringify(conversation)) as ChatMessage[], context: { ...context } });
    return reply ? reply(conversation, context) : `u${context.row}.${context.turn}`;
  };
  return { sim, calls };
}
