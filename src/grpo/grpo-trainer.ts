/**
 * `GRPOTrainer` (DeepSeekMath §4.1; Dr. GRPO, DAPO variants) and `RLOOTrainer` (Ahmadian et al.
 * 2024): critic-free RL against a reward model or a verifiable reward function. Both sample G
 * completions per prompt and differ only in the advantage: group-normalised scores for GRPO, a
 * leave-one-out baseline for RLOO.
 * @module
 */
import type { tf } from '../tf';
import type { Logger } from '../logging/logger';
import type { WorkersOption } from '../parallel/options';
import type { DialogueOptions } from '../dialogue/options';
import type { RewardModel } from '../reward/reward-model';
import type { ColumnRewardFunction } from '../rewards/rewards';
import { groupAdvantages, rlooAdvantages } from '../rl/group-advantages';
import type { Tokenizer } from '../tokenizers/tokenizer';
import type { Tool } from '../tools/tool';
import { ConfigError } from '../errors';
import { readTrainerFolder } from '../train/trainer-folder';
import { GroupTrainer, type GroupTrainerJson } from './group-trainer';
import { resolveGroupOptions, type GRPOTrainerOptions, type RLOOTrainerOptions } from './options';

/** What `load` needs besides the checkpoint. */
export interface GroupLoadOptions {
  /** The reward model or function (not stored in checkpoints). */
  reward: RewardModel | ColumnRewardFunction;
  /** The tokenizer. */
  tokenizer: Tokenizer;
  /**
   * The tools the trainer was created with (functions are not stored in checkpoints); their names
   * must match the saved ones. Default `[]`.
   */
  tools?: readonly Tool[];
  /** Logger. Default: silent. */
  logger?: Logger;
  /** Replicas in the update (see `GRPOTrainerOptions.workers`); a run resumes on any count. Default: the saved option. */
  workers?: WorkersOption;
  /** Dialogue options, when the run used them (a `userSimulator` function is not stored in checkpoints). Default: the saved ones. */
  dialogue?: DialogueOptions;
}

async function restore<T extends GroupTrainer>(dir: string, kind: 'grpo' | 'rloo', with_: GroupLoadOptions, make: (o: GRPOTrainerOptions) => T): Promise<T> {
  const c = await readTrainerFolder<GroupTrainerJson>(dir, kind);
  const { workers: saved_, ...options } = c.json.options;
  const saved = c.json.toolNames ?? [];
  const given = Array.isArray(with_.tools) ? with_.tools.map((t) => (t as Tool | null)?.name) : [];
  if (given.length !== saved.length || given.some((n, i) => n !== saved[i])) {
    c.policy.dispose();
    c.ref?.dispose();
    throw new ConfigError('tools', given.slice(0, 8), `must be the tools the checkpoint was trained with (names [${saved.slice(0, 8).join(', ')}])`);
  }
  const trainer = make({
    ...options, policy: c.policy, reward: with_.reward, tokenizer: with_.tokenizer, ...(c.ref ? { ref: c.ref } : {}),
    ...(with_.tools ? { tools: with_.tools } : {}), ...(with_.logger ? { logger: with_.logger } : {}),
    ...((with_.workers ?? saved_) !== undefined && { workers: with_.workers ?? saved_ }), ...(with_.dialogue && { dialogue: with_.dialogue }),
  });
  (trainer as unknown as { owned: { dispose(): void }[] }).owned.push(c.policy, ...(c.ref ? [c.ref] : []));
  trainer.optimizer.importState(c.optimizer);
  trainer.rng.setState(c.json.rng);
  trainer.progress = { ...c.json.progress };
  return trainer;
}

/**
 * Group Relative Policy Optimization: advantages `(r - mean_group) / (std_group + 1e-4)` (or batch
 * std, or no std for Dr. GRPO), one per completion, with the clipped per-token loss and, when
 * `beta > 0`, the k3 KL to the reference in the loss.
 */
export class GRPOTrainer extends GroupTrainer {
  /** Validates options (throws {@link ConfigError}), clones the reference and creates the optimizer. */
  constructor(options: GRPOTrainerOptions) {
    super(options, resolveGroupOptions(options, { name: 'GRPOTrainerOptions', numGenerations: 8, beta: 0, lossType: 'dapo' }), 'grpo');
  }

  /** GRPO's group-normalised advantages. @internal */
  protected advantages(scores: tf.Tensor2D): tf.Tensor2D {
    return groupAdvantages(scores, { scale: this.options.scaleRewards });
  }

  /** Restores a trainer saved by {@link GroupTrainer.save}; pass the reward, tokenizer and tools (if any) again. */
  static async load(dir: string, with_: GroupLoadOptions): Promise<GRPOTrainer> {
    return restore(dir, 'grpo', with_, (o) => new GRPOTrainer(o));
  }
}

/**
 * REINFORCE Leave-One-Out: each completion's advantage is its score minus the mean score of the other
 * G - 1 completions of its prompt; the same clipped update as GRPO, with the k3 KL in the loss when
 * `beta > 0` (TRL instead folds a k1 KL into the reward and uses a sequence-level ratio).
 */
export class RLOOTrainer extends GroupTrainer {
  /** Validates options (throws {@link ConfigError}; `numGenerations >= 2`), clones the reference and creates the optimizer. */
  constructor(options: RLOOTrainerOptions) {
    super(options, resolveGroupOptions(options, { name: 'RLOOTrainerOptions', numGenerations: 2, beta: 0.05, lossType: 'grpo' }), 'rloo');
  }

  /** RLOO's leave-one-out advantages. @internal */
  protected advantages(scores: tf.Tensor2D): tf.Tensor2D {
    return rlooAdvantages(scores);
  }

  /** Restores a trainer saved by {@link GroupTrainer.save}; pass the reward, tokenizer and tools (if any) again. */
  static async load(dir: string, with_: GroupLoadOptions): Promise<RLOOTrainer> {
    return restore(dir, 'rloo', with_, (o) => new RLOOTrainer(o));
  }
}
