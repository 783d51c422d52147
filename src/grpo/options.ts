/**
 * Options of the critic-free online trainers, {@link GRPOTrainer} and {@link RLOOTrainer}: one
 * interface, each field documented once with its default (TRL `GRPOConfig` / `RLOOConfig` unless
 * noted), validated once by {@link resolveGroupOptions}.
 * @module
 */
import { ConfigError } from '../errors';
import { silentLogger, type Logger } from '../logging/logger';
import type { TransformerPolicy } from '../models/policy';
import { checkInteger, checkNumber } from '../ops/validate';
import { checkWorkersOption, type WorkersOption } from '../parallel/options';
import { resolveDialogueOptions, type DialogueOptions, type ResolvedDialogueOptions } from '../dialogue/options';
import type { RewardModel } from '../reward/reward-model';
import type { ColumnRewardFunction } from '../rewards/rewards';
import type { GrpoLossType } from '../rl/grpo-loss';
import type { RewardScaling } from '../rl/group-advantages';
import type { Tokenizer } from '../tokenizers/tokenizer';
import { checkTools, type Tool } from '../tools/tool';

/** Options of {@link GRPOTrainer} (and, with other defaults, {@link RLOOTrainer}). */
export interface GRPOTrainerOptions {
  /** The policy to optimise (updated in place). Required. */
  policy: TransformerPolicy;
  /**
   * A reward model, or a function of the samples; a function also receives each prompt row's extra
   * dataset columns (e.g. `{ prompt, answer }` gives every sample an `answer`), as TRL passes them. Required.
   */
  reward: RewardModel | ColumnRewardFunction;
  /** Encodes prompts and decodes completions; its `eosId` is the default stop token. Required. */
  tokenizer: Tokenizer;
  /** Frozen reference for the KL term and the `kl` metric. Default: a clone of `policy` at construction. */
  ref?: TransformerPolicy;
  /** Completions sampled per prompt (G); at least 2. Default `8` (GRPO), `2` (RLOO). */
  numGenerations?: number;
  /** Weight of the k3 KL to the reference in the loss. Default `0` (GRPO, TRL since v0.19), `0.05` (RLOO). */
  beta?: number;
  /** Lower clip epsilon of the ratio. Default `0.2`. */
  epsilon?: number;
  /** Upper clip epsilon (DAPO suggests 0.28). Default `epsilon`. */
  epsilonHigh?: number;
  /** Loss aggregation: `'grpo'`, `'dr_grpo'`, `'dapo'` or `'bnpo'` (see `GrpoLossType`). Default `'dapo'` (GRPO), `'grpo'` (RLOO). */
  lossType?: GrpoLossType;
  /** GRPO advantage scaling: `'group'` std, `'batch'` std, or `'none'` (Dr. GRPO; pair it with `lossType: 'dr_grpo'`). Ignored by RLOO. Default `'group'`. */
  scaleRewards?: RewardScaling;
  /** Adam learning rate. Default `1e-6` (tiny models from scratch want ~1e-3). */
  learningRate?: number;
  /** Prompts per step in `train` (each sampled `numGenerations` times). Default `8`. */
  batchSize?: number;
  /** Completions per gradient step. Default: all `batchSize * numGenerations` of the step. */
  miniBatchSize?: number;
  /** Passes over each step's samples (TRL `num_iterations`, mu). Default `1`. */
  numIterations?: number;
  /** Most tokens generated per completion (also Dr. GRPO's length divisor). Default `32`. */
  maxNewTokens?: number;
  /** Sampling temperature; every log-prob uses the same temperature. Default `1`. */
  temperature?: number;
  /** Top-k at sampling (0 = off). Default `0`. */
  topK?: number;
  /** Top-p at sampling (1 = off). Default `1`. */
  topP?: number;
  /** Tokens that end a completion. Default `[tokenizer.eosId]`. */
  stopTokens?: number[];
  /**
   * Tools the policy may call while it writes (e.g. `calculatorTool()`, see `GenerateOptions.tools`):
   * the tokens a tool wrote stay in the completion (the reward sees them) but are masked out of the
   * policy loss and the KL, so the policy is not trained to predict the tool. Not saved in
   * checkpoints: pass them again to `load`, like the reward. Default `[]`.
   */
  tools?: readonly Tool[];
  /** Most tool calls per completion; later end markers stay plain text. Default `4`. */
  maxToolCalls?: number;
  /** Subtracted from the score of a completion that hit no stop token. Default: no penalty. */
  missingEosPenalty?: number;
  /** Clip the global gradient norm. Default `1`. */
  maxGradNorm?: number;
  /** Seed of sampling and shuffling. Default `0`. */
  seed?: number;
  /** Receives per-step stats (`'grpo step'` / `'rloo step'`), samples and progress. Default: silent. */
  logger?: Logger;
  /** Every this many steps, log a table of samples; 0 = never. Default `10`. */
  sampleEvery?: number;
  /** Rows in each sample table. Default `4`. */
  sampleRows?: number;
  /**
   * Multi-turn dialogue rollouts, as in `PPOTrainerOptions.dialogue`: `step` then takes conversations
   * (a string, chat messages, or `{ messages, userTurns }`), each of the `numGenerations` completions of
   * a conversation is a whole multi-turn continuation (user turns from the script or
   * `dialogue.userSimulator`), the reward scores the whole conversation, and user-turn tokens are
   * masked out of the loss and the KL. Only `rewardPer: 'conversation'` (group advantages compare
   * whole completions). Default: off.
   */
  dialogue?: DialogueOptions;
  /**
   * Replicas of the policy in the update (Node, wasm or cpu backend): the main thread plus `workers - 1`
   * worker threads; each minibatch's completions are split between them and their gradients summed
   * (same result as `1` up to float summation order). Sampling and scoring stay on the main thread.
   * `'auto'` = the cores available, capped by `miniBatchSize`. Default: the `TFJS_RLHF_WORKERS`
   * environment variable, else `'auto'`.
   */
  workers?: WorkersOption;
}

/** {@link GRPOTrainerOptions} for {@link RLOOTrainer}: the same fields, RLOO's defaults. */
export type RLOOTrainerOptions = Omit<GRPOTrainerOptions, 'scaleRewards'>;

/** Resolved options (models excluded); `missingEosPenalty` stays optional. */
export type ResolvedGroupOptions = Required<Omit<GRPOTrainerOptions, 'policy' | 'reward' | 'tokenizer' | 'ref' | 'missingEosPenalty' | 'dialogue'>>
  & Pick<GRPOTrainerOptions, 'missingEosPenalty'> & {
    /** The dialogue options with defaults filled in; absent = single-turn prompts. */
    dialogue?: ResolvedDialogueOptions;
  };

/** The defaults that differ between GRPO and RLOO. */
export interface GroupDefaults {
  /** Option-name prefix in errors, e.g. `'GRPOTrainerOptions'`. */
  name: string;
  /** Default G. */
  numGenerations: number;
  /** Default beta. */
  beta: number;
  /** Default aggregation. */
  lossType: GrpoLossType;
}

/** Validates options (throws {@link ConfigError} naming the option) and fills in defaults. */
export function resolveGroupOptions(o: GRPOTrainerOptions, d: GroupDefaults): ResolvedGroupOptions {
  const P = (k: string) => `${d.name}.${k}`;
  if (o === null || typeof o !== 'object') throw new ConfigError(d.name, o, 'must be an object');
  if (o.policy === undefined) throw new ConfigError(P('policy'), o.policy, 'is required');
  if (o.reward === undefined) throw new ConfigError(P('reward'), o.reward, 'is required (a RewardModel or a function)');
  if (o.tokenizer === undefined) throw new ConfigError(P('tokenizer'), o.tokenizer, 'is required');
  const lossType = o.lossType ?? d.lossType;
  if (!['grpo', 'dr_grpo', 'dapo', 'bnpo'].includes(lossType)) throw new ConfigError(P('lossType'), lossType, "must be 'grpo', 'dr_grpo', 'dapo' or 'bnpo'");
  const scaleRewards = o.scaleRewards ?? 'group';
  if (!['group', 'batch', 'none'].includes(scaleRewards)) throw new ConfigError(P('scaleRewards'), scaleRewards, "must be 'group', 'batch' or 'none'");
  const numGenerations = checkInteger(P('numGenerations'), o.numGenerations ?? d.numGenerations, 2);
  const batchSize = checkInteger(P('batchSize'), o.batchSize ?? 8, 1);
  const V = o.policy.config.vocabSize;
  const stopTokens = o.stopTokens ?? [o.tokenizer.eosId];
  if (!Array.isArray(stopTokens)) throw new ConfigError(P('stopTokens'), stopTokens, 'must be an array of token ids');
  stopTokens.forEach((t, i) => { if (!Number.isInteger(t) || t < 0 || t >= V) throw new ConfigError(`${P('stopTokens')}[${i}]`, t, `must be a token id in [0, ${V})`); });
  const workers = checkWorkersOption(P('workers'), o.workers);
  const dialogue = o.dialogue === undefined ? undefined : resolveDialogueOptions(o.dialogue, P('dialogue'));
  if (dialogue?.rewardPer === 'turn') throw new ConfigError(P('dialogue.rewardPer'), 'turn', "must be 'conversation': group advantages compare whole completions");
  const epsilon = checkNumber(P('epsilon'), o.epsilon ?? 0.2, { gt: 0, lt: 1 });
  return {
    numGenerations, batchSize, lossType, scaleRewards, epsilon, stopTokens, workers, ...(dialogue && { dialogue }),
    beta: checkNumber(P('beta'), o.beta ?? d.beta, { ge: 0 }),
    epsilonHigh: checkNumber(P('epsilonHigh'), o.epsilonHigh ?? epsilon, { gt: 0 }),
    learningRate: checkNumber(P('learningRate'), o.learningRate ?? 1e-6, { gt: 0 }),
    miniBatchSize: checkInteger(P('miniBatchSize'), o.miniBatchSize ?? batchSize * numGenerations, 1),
    numIterations: checkInteger(P('numIterations'), o.numIterations ?? 1, 1),
    maxNewTokens: checkInteger(P('maxNewTokens'), o.maxNewTokens ?? 32, 1),
    temperature: checkNumber(P('temperature'), o.temperature ?? 1, { gt: 0 }),
    topK: checkInteger(P('topK'), o.topK ?? 0, 0),
    topP: checkNumber(P('topP'), o.topP ?? 1, { gt: 0, le: 1 }),
    tools: checkTools(P('tools'), o.tools ?? []),
    maxToolCalls: checkInteger(P('maxToolCalls'), o.maxToolCalls ?? 4, 0),
    ...(o.missingEosPenalty === undefined ? {} : { missingEosPenalty: checkNumber(P('missingEosPenalty'), o.missingEosPenalty) }),
    maxGradNorm: checkNumber(P('maxGradNorm'), o.maxGradNorm ?? 1, { gt: 0 }),
    seed: checkInteger(P('seed'), o.seed ?? 0, 0),
    logger: o.logger ?? silentLogger,
    sampleEvery: checkInteger(P('sampleEvery'), o.sampleEvery ?? 10, 0),
    sampleRows: checkInteger(P('sampleRows'), o.sampleRows ?? 4, 1),
  };
}
