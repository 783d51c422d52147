/**
 * `JudgeLabeler`: AI feedback (RLAIF). A judge ranks the K responses of each item in place of a
 * person: a scoring function, a {@link RewardModel}, or a chat model behind an OpenAI-compatible
 * endpoint prompted with a list of principles. A judge that fails is reported, never guessed.
 * @module
 */
import { ConfigError } from '../../errors';
import { silentLogger, type Logger } from '../../logging/logger';
import { fnv1a32 } from '../../ops/hash';
import { Rng } from '../../ops/random';
import { RewardModel } from '../../reward/reward-model';
import type { Tokenizer } from '../../tokenizers/tokenizer';
import { callEndpoint, type JudgeEndpoint } from './judge-endpoint';
import { JudgeError } from './judge-error';
import { parseJudgeAnswer, rankingFromGroups, rankingFromScores, unshuffleRanking } from './judge-parse';
import { DEFAULT_PRINCIPLES, judgeMessages } from './judge-prompt';
import type { Judgement, LabelRequest, Labeler, RankedJudgement } from '../types';
import { checkRequest } from '../check-judgement';

/** A judge function: one finite score per response of the request, higher is better. */
export type JudgeFunction = (request: LabelRequest) => number[] | Promise<number[]>;

/** Options of {@link JudgeLabeler}. */
export interface JudgeLabelerOptions {
  /** Who judges: a scoring function, a reward model (needs `tokenizer`) or a chat endpoint. Required. */
  judge: JudgeFunction | RewardModel | JudgeEndpoint;
  /** Encodes prompt and response for a reward-model judge. Required with a {@link RewardModel}. */
  tokenizer?: Tokenizer;
  /** Append EOS to responses scored by a reward-model judge, as `RewardTrainer` does by default. Default `true`. */
  appendEos?: boolean;
  /** The principles an endpoint judge ranks by (its "constitution"). Default {@link DEFAULT_PRINCIPLES}. */
  principles?: readonly string[];
  /** Accept ties (`=` in an answer, equal scores). Default `false`: a tie is a judge failure. */
  allowTies?: boolean;
  /** What a failed judgement does: `'throw'` a {@link JudgeError}, or `'skip'` the item (logged as a warning). Default `'throw'`. */
  onFailure?: 'throw' | 'skip';
  /** Show the responses to the judge in a seeded random order (against position bias) and map the ranking back. Default `false`. */
  shuffle?: boolean;
  /** Seed of the shuffle; each item's order depends on this seed and its id only. Default `0`. */
  seed?: number;
  /** The labeller name. Default `judge:<model>`, `judge:<function name>` or `judge:reward-model`. */
  name?: string;
  /** Receives a warning per skipped item. Default: silent. */
  logger?: Logger;
}

function isEndpoint(j: unknown): j is JudgeEndpoint {
  return typeof j === 'object' && j !== null && !(j instanceof RewardModel) && typeof (j as JudgeEndpoint).baseUrl === 'string';
}

function checkEndpoint(e: JudgeEndpoint): void {
  if (!/^https?:\/\//.test(e.baseUrl)) throw new ConfigError('judge.baseUrl', e.baseUrl, 'must be an http(s) URL such as "http://localhost:11434/v1"');
  if (typeof e.model !== 'string' || e.model === '') throw new ConfigError('judge.model', e.model, 'must be a non-empty model name');
  if (e.temperature !== undefined && !(Number.isFinite(e.temperature) && e.temperature >= 0)) throw new ConfigError('judge.temperature', e.temperature, 'must be a finite number >= 0');
  if (e.timeoutMs !== undefined && !(Number.isFinite(e.timeoutMs) && e.timeoutMs > 0)) throw new ConfigError('judge.timeoutMs', e.timeoutMs, 'must be a number > 0');
  if (e.maxTokens !== undefined && !(Number.isInteger(e.maxTokens) && e.maxTokens >= 1)) throw new ConfigError('judge.maxTokens', e.maxTokens, 'must be an integer >= 1');
  if (e.fetch !== undefined && typeof e.fetch !== 'function') throw new ConfigError('judge.fetch', e.fetch, 'must be a fetch function');
}

/**
 * A {@link Labeler} whose judgements come from a judge instead of a person (RLAIF).
 *
 * - A {@link JudgeFunction} or a {@link RewardModel} scores every response; the ranking follows the
 *   scores (higher is better). Scores that are not finite, or of the wrong count, are a failure.
 * - A request with `messages` (a conversation): an endpoint judge sees the conversation turn by turn
 *   (see `judgeMessages`), a reward-model judge scores it with the chat template
 *   (`RewardModel.scoreConversations`), and a function judge gets it in the request.
 * - A {@link JudgeEndpoint} is asked, with the principles, the prompt and the numbered responses, to
 *   end its answer with `RANKING: 2 > 1 > 3`; the answer is parsed strictly (every response exactly
 *   once). The whole answer is kept as the judgement's `note`.
 *
 * Any failure is a {@link JudgeError} carrying the raw answer, thrown or (with `onFailure: 'skip'`)
 * turned into a `SkippedJudgement`. An abort through `signal` is rethrown as is, never skipped.
 * The judge gives no per-criterion ratings.
 */
export class JudgeLabeler implements Labeler {
  /** `judge:<model>` (or the `name` option). */
  readonly name: string;
  private readonly o: JudgeLabelerOptions & { principles: readonly string[]; allowTies: boolean; onFailure: 'throw' | 'skip'; seed: number };
  private readonly logger: Logger;

  /** @param options - See {@link JudgeLabelerOptions}; validated here ({@link ConfigError}). */
  constructor(options: JudgeLabelerOptions) {
    const j = options?.judge;
    if (j instanceof RewardModel) {
      if (options.tokenizer === undefined) throw new ConfigError('tokenizer', undefined, 'is required with a RewardModel judge');
    } else if (isEndpoint(j)) checkEndpoint(j);
    else if (typeof j !== 'function') throw new ConfigError('judge', j, 'must be a scoring function, a RewardModel or an endpoint { baseUrl, model }');
    const principles = options.principles ?? DEFAULT_PRINCIPLES;
    if (!Array.isArray(principles) || principles.length === 0 || !principles.every((p) => typeof p === 'string' && p.trim() !== '')) {
      throw new ConfigError('principles', principles, 'must be a non-empty array of non-empty strings');
    }
    const onFailure = options.onFailure ?? 'throw';
    if (onFailure !== 'throw' && onFailure !== 'skip') throw new ConfigError('onFailure', onFailure, 'must be "throw" or "skip"');
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(seed)) throw new ConfigError('seed', seed, 'must be an integer');
    this.o = { ...options, principles, allowTies: options.allowTies ?? false, onFailure, seed };
    this.logger = options.logger ?? silentLogger;
    this.name = options.name ?? `judge:${j instanceof RewardModel ? 'reward-model' : isEndpoint(j) ? j.model : (j as JudgeFunction).name || 'function'}`;
  }

  /** Ranks the responses of one item. See the class notes for what counts as a failure. */
  async label(request: LabelRequest, signal?: AbortSignal): Promise<Judgement> {
    checkRequest(request);
    signal?.throwIfAborted();
    try {
      return await this.judgeOnce(request, signal);
    } catch (e) {
      if (!(e instanceof JudgeError) || this.o.onFailure === 'throw') throw e;
      this.logger.log('warn', 'judge failed; item skipped', { judge: this.name, id: request.id, reason: e.reason });
      return { kind: 'skipped', reason: `judge failed: ${e.reason}` };
    }
  }

  /** The display order of an item: `shown[d]` is the original index shown at position `d`. */
  order(request: LabelRequest): number[] {
    const shown = request.responses.map((_, i) => i);
    return this.o.shuffle === true ? new Rng((this.o.seed ^ fnv1a32(request.id)) >>> 0).shuffle(shown) : shown;
  }

  private async judgeOnce(request: LabelRequest, signal?: AbortSignal): Promise<RankedJudgement> {
    const shown = this.order(request);
    const responses = shown.map((i) => request.responses[i] as string);
    const k = responses.length;
    const j = this.o.judge;
    if (isEndpoint(j)) {
      const messages = judgeMessages(request.prompt, responses, this.o.principles, this.o.allowTies, request.criteria ?? [], request.messages);
      const answer = await callEndpoint(j, messages, { judge: this.name, itemId: request.id }, signal);
      const parsed = parseJudgeAnswer(answer, k, this.o.allowTies);
      if (!parsed.ok) throw new JudgeError(this.name, request.id, parsed.reason, answer);
      return { kind: 'ranked', ranking: unshuffleRanking(rankingFromGroups(parsed.groups, k), shown), note: answer };
    }
    const scores = await this.scores(j, { ...request, responses }, signal);
    return { kind: 'ranked', ranking: unshuffleRanking(this.scoreRanking(scores, k, request.id), shown) };
  }

  private async scores(j: JudgeFunction | RewardModel, shownRequest: LabelRequest, signal?: AbortSignal): Promise<unknown> {
    try {
      if (!(j instanceof RewardModel)) return await j(shownRequest);
      const tok = this.o.tokenizer as Tokenizer;
      const appendEos = this.o.appendEos ?? true;
      const conversation = shownRequest.messages;
      if (conversation !== undefined) {
        // A conversation: rendered with the chat template, as RewardTrainer trains on it.
        return await j.scoreConversations(shownRequest.responses.map(() => conversation), shownRequest.responses, tok, { appendEos });
      }
      const promptIds = tok.encode(shownRequest.prompt);
      const eos = appendEos ? [tok.eosId] : [];
      const responseIds = shownRequest.responses.map((r) => [...tok.encode(r), ...eos]);
      return await j.score(shownRequest.responses.map(() => promptIds), responseIds);
    } catch (e) {
      signal?.throwIfAborted();
      throw new JudgeError(this.name, shownRequest.id, `the judge threw: ${e instanceof Error ? e.message : String(e)}`, undefined, e);
    }
  }

  private scoreRanking(scores: unknown, k: number, id: string): number[] {
    const raw = JSON.stringify(scores) ?? String(scores);
    if (!Array.isArray(scores) || scores.length !== k) throw new JudgeError(this.name, id, `the judge must return ${k} scores (one per response)`, raw);
    const bad = scores.findIndex((s) => typeof s !== 'number' || !Number.isFinite(s));
    if (bad >= 0) throw new JudgeError(this.name, id, `score of response ${bad + 1} is not a finite number`, String(scores[bad]));
    const ranking = rankingFromScores(scores as number[]);
    if (new Set(ranking).size === 1) throw new JudgeError(this.name, id, `all ${k} responses have the same score; a full tie ranks nothing`, raw);
    if (!this.o.allowTies && new Set(ranking).size < k) throw new JudgeError(this.name, id, 'two responses have equal scores, but ties are not allowed (allowTies: false)', raw);
    return ranking;
  }
}
