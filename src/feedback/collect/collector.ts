/**
 * `PreferenceCollector`: samples K responses per prompt from a policy, asks a {@link Labeler} to rank
 * them, and appends each judgement durably to a JSONL file in the K-way ranking format that
 * `readRankings` and `RewardTrainer` read. A stopped or crashed session resumes where it left off;
 * while one session collects, `<file>.lock` keeps a second one (another process, or another collector
 * in this one) from labelling the same prompts again.
 * Node.js only (it writes files); no tensors are kept.
 * @module
 */
import { ConfigError, FileFormatError, InputError } from '../../errors';
import { conversationPromptProblem } from '../../data/validate';
import { parseChatRanking } from '../../data/chat-ranking';
import { chatPrompt, tokenizeChatPrompt } from '../../data/chat-template';
import type { ChatMessage } from '../../data/types';
import type { TransformerPolicy } from '../../models/policy';
import type { Tokenizer } from '../../tokenizers/tokenizer';
import type { GenerateOptions } from '../../generation/generate';
import { resolveSampling } from '../../generation/sampling';
import { silentLogger, type Logger } from '../../logging/logger';
import { DEFAULT_CRITERIA, type Labeler, type LabelRequest, type RankedJudgement, type SkippedJudgement } from '../types';
import { checkCriteria, checkJudgement } from '../check-judgement';
import { appendDurable, readDurableJsonl } from './durable-append';
import { fnv1a64Hex } from '../../ops/hash';
import { acquireFileLock, type FileLock } from './file-lock';
import { checkModerator, flaggedCategories, moderate, type Moderator } from '../../moderation/types';

/** How responses are sampled; see `GenerateOptions`. */
export type CollectSampling = Pick<GenerateOptions, 'maxNewTokens' | 'temperature' | 'topK' | 'topP'>;

/** Options of {@link PreferenceCollector}. */
export interface PreferenceCollectorOptions {
  /** The policy whose responses are ranked. */
  policy: TransformerPolicy;
  /** The policy's tokenizer: encodes prompts, decodes responses; its EOS ends a response. */
  tokenizer: Tokenizer;
  /** Who ranks: a person (`WebLabeler`, `TerminalLabeler`) or a judge model. */
  labeler: Labeler;
  /** JSONL output of ranked items. Skipped items go to a sidecar, see {@link skippedFileOf}. */
  file: string;
  /** Responses per prompt, 2..9. Default `4`. */
  k?: number;
  /** Criteria the labeller rates (1-7). Default `DEFAULT_CRITERIA`; `[]` asks for no ratings. */
  criteria?: string[];
  /** Sampling of responses. Default: `GenerateOptions` defaults (32 new tokens, temperature 1). */
  sampling?: CollectSampling;
  /** Base seed; each prompt's responses use a seed derived from it and the prompt. Default `0`. */
  seed?: number;
  /** Receives progress (`task: 'collect'`) and warnings. Default: the silent logger. */
  logger?: Logger;
  /**
   * Checks each prompt before sampling: a flagged prompt is not sampled nor shown; it is recorded in
   * the skipped file with `responses: []`, `labeler: "moderation"` and `reason: "moderation: <categories>"`.
   * Default: none (no check).
   */
  moderation?: Moderator;
}

/**
 * What {@link PreferenceCollector.collect} asks about: a prompt (plain text, encoded as is), or a
 * conversation so far (rendered with the chat template, `tokenizeChatPrompt`; non-empty, its last turn
 * not an assistant turn), whose K sampled responses are candidate assistant replies.
 */
export type CollectPrompt = string | readonly ChatMessage[];

/** A ranked item as written to the main file (a `RankingExample` plus metadata). */
export interface RankedRecord {
  /** {@link promptId} of the prompt (or conversation). */
  id: string;
  /** The prompt; for a conversation, `chatPrompt(messages)`. */
  prompt: string;
  /** The conversation the responses answer, when the item was a conversation. */
  messages?: ChatMessage[];
  /** The K sampled responses, decoded. */
  responses: string[];
  /** `ranking[i]` is the rank of `responses[i]`, 0 best; equal ranks are ties. */
  ranking: number[];
  /** Per-criterion ratings 1..7, one per response, when the labeller gave them. */
  ratings?: Record<string, number[]>;
  /** Indices of responses the labeller flagged. */
  flagged?: number[];
  /** The labeller's comment. */
  note?: string;
  /** The labeller's name. */
  labeler: string;
  /** When the judgement was saved (ISO 8601). */
  time: string;
}

/** A skipped item as written to the sidecar file. */
export interface SkippedRecord {
  /** {@link promptId} of the prompt (or conversation). */
  id: string;
  /** The prompt; for a conversation, `chatPrompt(messages)`. */
  prompt: string;
  /** The conversation, when the item was a conversation. */
  messages?: ChatMessage[];
  /** The responses that were shown. */
  responses: string[];
  /** Always `true`. */
  skipped: true;
  /** The labeller's reason, if given. */
  reason?: string;
  /** The labeller's name. */
  labeler: string;
  /** When it was saved (ISO 8601). */
  time: string;
}

/** Options of {@link PreferenceCollector.collect}. */
export interface CollectOptions {
  /** Stops the session: the item being judged is not saved; `collect` resolves with `aborted: true`. */
  signal?: AbortSignal;
  /** Called after each record is durably saved. */
  onRecord?: (record: RankedRecord | SkippedRecord) => void;
}

/** What {@link PreferenceCollector.collect} did. */
export interface CollectSummary {
  /** Prompts given (duplicates included). */
  total: number;
  /** Items ranked and saved in this call. */
  labelled: number;
  /** Items skipped by the labeller in this call (saved to the sidecar). */
  skipped: number;
  /** Prompts passed over because their id was already in either file (or earlier in `prompts`). */
  alreadyDone: number;
  /** Whether the signal stopped the session early. */
  aborted: boolean;
}

/**
 * Stable id of a prompt: FNV-1a (64-bit) of its UTF-8 bytes, as 16 hex digits. For a conversation,
 * of `"\u0000chat"` followed by the JSON of its `[role, content]` pairs (so turn boundaries count).
 * @param prompt - The prompt text, or a conversation.
 * @returns The id.
 */
export function promptId(prompt: string | readonly ChatMessage[]): string {
  if (typeof prompt === 'string') return fnv1a64Hex(prompt);
  return fnv1a64Hex(`\u0000chat${JSON.stringify(prompt.map((m) => [m.role, m.content]))}`);
}

/** One item to collect: its id, its text and (for a conversation) a copy of its messages. */
interface Item {
  id: string;
  prompt: string;
  messages?: ChatMessage[];
}

/** Checks the prompts of {@link PreferenceCollector.collect} and turns them into items. */
function itemsOf(prompts: readonly CollectPrompt[]): Item[] {
  if (!Array.isArray(prompts)) throw new InputError('prompts', prompts, 'must be an array of strings or conversations');
  return prompts.map((p: unknown, i) => {
    if (typeof p === 'string') return { id: promptId(p), prompt: p };
    if (!Array.isArray(p)) throw new InputError(`prompts[${i}]`, p, 'must be a string or a conversation (an array of chat messages)');
    const problem = conversationPromptProblem(p);
    if (problem !== undefined) throw new InputError(`prompts[${i}]${problem.path.slice('messages'.length)}`, problem.value, problem.reason);
    const messages = (p as ChatMessage[]).map((m) => ({ role: m.role, content: m.content }));
    return { id: promptId(messages), prompt: chatPrompt(messages), messages };
  });
}

/**
 * The sidecar file of skipped items: `file` with `.jsonl` replaced by `.skipped.jsonl` (or that suffix
 * added). Kept apart so the main file stays readable by `readRankings`.
 * @param file - The main JSONL file.
 * @returns The sidecar's path.
 */
export function skippedFileOf(file: string): string {
  return `${file.endsWith('.jsonl') ? file.slice(0, -'.jsonl'.length) : file}.skipped.jsonl`;
}

/** The id of a saved record: its `id` field, else the id of its `prompt`. */
function idOf(value: unknown, file: string, line: number): string {
  const o = (typeof value === 'object' && value !== null ? value : {}) as { id?: unknown; prompt?: unknown };
  if (typeof o.id === 'string') return o.id;
  if (typeof o.prompt === 'string') return promptId(o.prompt);
  throw new FileFormatError(file, 'a collected record needs a string "id" or "prompt"', line);
}

function checkOptions(o: PreferenceCollectorOptions): { k: number; criteria: string[]; seed: number } {
  if (typeof o !== 'object' || o === null) throw new ConfigError('options', o, 'must be an object');
  if (typeof o.policy?.generate !== 'function') throw new ConfigError('policy', o.policy, 'must be a TransformerPolicy');
  if (typeof o.tokenizer?.encode !== 'function' || typeof o.tokenizer.decode !== 'function') {
    throw new ConfigError('tokenizer', o.tokenizer, 'must be a Tokenizer');
  }
  if (typeof o.labeler?.label !== 'function' || typeof o.labeler.name !== 'string') {
    throw new ConfigError('labeler', o.labeler, 'must be a Labeler (a name and a label method)');
  }
  if (typeof o.file !== 'string' || o.file === '') throw new ConfigError('file', o.file, 'must be a non-empty path');
  const k = o.k ?? 4;
  if (!Number.isInteger(k) || k < 2 || k > 9) throw new ConfigError('k', k, 'must be an integer in [2, 9]');
  checkCriteria(o.criteria, 'criteria', true);
  const sampling: unknown = o.sampling ?? {};
  if (typeof sampling !== 'object' || sampling === null) throw new ConfigError('sampling', sampling, 'must be an object');
  resolveSampling(sampling as CollectSampling, o.tokenizer.vocabSize);
  const maxNewTokens = (sampling as CollectSampling).maxNewTokens;
  if (maxNewTokens !== undefined && (!Number.isInteger(maxNewTokens) || maxNewTokens < 1)) {
    throw new ConfigError('sampling.maxNewTokens', maxNewTokens, 'must be an integer >= 1');
  }
  const seed = o.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new ConfigError('seed', seed, 'must be a safe integer');
  if (o.moderation !== undefined) checkModerator('moderation', o.moderation);
  return { k, criteria: [...(o.criteria ?? DEFAULT_CRITERIA)], seed };
}

/**
 * Collects human (or judge) rankings of policy samples into a K-way ranking JSONL file.
 *
 * ```ts
 * const labeler = await WebLabeler.start();
 * console.error(`open ${labeler.url}`);
 * const collector = new PreferenceCollector({ policy, tokenizer, labeler, file: 'prefs.jsonl', k: 4 });
 * const summary = await collector.collect(prompts);
 * await labeler.close();
 * ```
 */
export class PreferenceCollector {
  private readonly o: PreferenceCollectorOptions;
  private readonly k: number;
  private readonly criteria: string[];
  private readonly seed: number;
  private readonly logger: Logger;

  /**
   * @param options - See {@link PreferenceCollectorOptions}; validated here.
   * @throws A {@link ConfigError} naming the invalid option.
   */
  constructor(options: PreferenceCollectorOptions) {
    ({ k: this.k, criteria: this.criteria, seed: this.seed } = checkOptions(options));
    this.o = { ...options };
    this.logger = options.logger ?? silentLogger;
  }

  /** The sidecar file of skipped items (see {@link skippedFileOf}). */
  get skippedFile(): string {
    return skippedFileOf(this.o.file);
  }

  /**
   * Ids already judged: those in the main file and in the sidecar. Repairs a torn last line (see
   * `readDurableJsonl`); checks every main-file record is a valid ranking row.
   * @throws A `FileFormatError` naming `file:line` for a corrupt record.
   */
  async doneIds(): Promise<Set<string>> {
    const done = new Set<string>();
    for (const file of [this.o.file, this.skippedFile]) {
      const { records } = await readDurableJsonl(file, { logger: this.logger });
      for (const r of records) {
        if (file === this.o.file) parseChatRanking(r.value, { file, line: r.line });
        done.add(idOf(r.value, file, r.line));
      }
    }
    return done;
  }

  /**
   * Judges every prompt not judged before, one at a time, saving each judgement before asking for the
   * next. A conversation is shown to the labeller turn by turn (`LabelRequest.messages`) and saved
   * with its `messages`.
   * @param prompts - The prompts or conversations (see {@link CollectPrompt}); each must fit the
   *   policy's context with `sampling.maxNewTokens`.
   * @param options - See {@link CollectOptions}.
   * @returns Counts of what was done.
   * @throws An {@link InputError} when a prompt is neither a string nor a valid conversation (naming
   *   e.g. `prompts[2][1].role`) or a labeller's judgement is invalid
   *   (naming the labeller); a `FileFormatError` when an existing file is corrupt; a
   *   `FileLockedError` when another live session collects into the same file (a lock left by a
   *   process that is gone is taken over); what the labeller or the policy throws.
   */
  async collect(prompts: readonly CollectPrompt[], options: CollectOptions = {}): Promise<CollectSummary> {
    const items = itemsOf(prompts);
    const lock = await acquireFileLock(this.o.file, this.logger);
    try {
      return await this.collectLocked(items, options, lock);
    } finally {
      await lock.release();
    }
  }

  private async collectLocked(prompts: readonly Item[], options: CollectOptions, lock: FileLock): Promise<CollectSummary> {
    const done = await this.doneIds();
    const summary: CollectSummary = { total: prompts.length, labelled: 0, skipped: 0, alreadyDone: 0, aborted: false };
    const { signal } = options;
    for (let i = 0; i < prompts.length; i++) {
      if (signal?.aborted === true) return { ...summary, aborted: true };
      const item = prompts[i] as Item;
      const { id } = item;
      if (done.has(id)) {
        summary.alreadyDone++;
      } else {
        const record = await this.judgeOne(item, signal, lock);
        if (record === undefined) return { ...summary, aborted: true };
        done.add(id);
        if ('skipped' in record) summary.skipped++;
        else summary.labelled++;
        options.onRecord?.(record);
      }
      this.logger.progress?.({
        task: 'collect', done: i + 1, total: prompts.length, unit: 'prompt',
        info: { labelled: summary.labelled, skipped: summary.skipped, alreadyDone: summary.alreadyDone },
      });
    }
    return summary;
  }

  /** Samples, asks, validates and saves one item; `undefined` when the signal stopped it. */
  private async judgeOne(item: Item, signal: AbortSignal | undefined, lock: FileLock): Promise<RankedRecord | SkippedRecord | undefined> {
    const { id, prompt, messages } = item;
    // A conversation is moderated on what the user (and system) said, not on the assistant's turns.
    const checked = messages === undefined ? prompt : messages.filter((m) => m.role !== 'assistant').map((m) => m.content).join('\n');
    const verdict = this.o.moderation === undefined ? undefined : await moderate(this.o.moderation, checked);
    if (verdict?.flagged === true) {
      await lock.check();
      const reason = `moderation: ${flaggedCategories(verdict).join(', ')}`;
      const record = skippedRecord(item, [], { kind: 'skipped', reason }, 'moderation', new Date().toISOString());
      await appendDurable(this.skippedFile, record);
      return record;
    }
    const responses = await this.sample(item);
    const request: LabelRequest = { id, prompt, ...(messages !== undefined && { messages }), responses, criteria: this.criteria };
    const { labeler } = this.o;
    let raw: unknown;
    try {
      raw = await labeler.label(request, signal);
    } catch (e) {
      if (signal?.aborted === true) return undefined;
      throw e;
    }
    if (signal?.aborted === true) return undefined;
    const judgement = checkJudgement(raw, request, labeler.name);
    await lock.check(); // never append under a lock another session has taken over
    const time = new Date().toISOString();
    if (judgement.kind === 'skipped') {
      const record = skippedRecord(item, responses, judgement, labeler.name, time);
      await appendDurable(this.skippedFile, record);
      return record;
    }
    const record = rankedRecord(item, responses, judgement, labeler.name, time);
    await appendDurable(this.o.file, record);
    return record;
  }

  /** K responses to the item, decoded, each cut at EOS. Deterministic per (seed, item). */
  private async sample({ id, prompt, messages }: Item): Promise<string[]> {
    const { tokenizer, policy } = this.o;
    const ids = messages !== undefined ? tokenizeChatPrompt(messages, tokenizer) : prompt.length > 0 ? tokenizer.encode(prompt) : [tokenizer.bosId];
    const seed = (((this.seed + parseInt(id.slice(0, 8), 16)) % 2 ** 31) + 2 ** 31) % 2 ** 31;
    const out = await policy.generate(Array.from({ length: this.k }, () => ids), {
      ...this.o.sampling, stopTokens: [tokenizer.eosId], seed,
    });
    return out.tokens.map((row) => tokenizer.decode(row.filter((t) => t !== tokenizer.eosId)));
  }
}

function rankedRecord({ id, prompt, messages }: Item, responses: string[], j: RankedJudgement, labeler: string, time: string): RankedRecord {
  return {
    id, prompt, ...(messages !== undefined && { messages }), responses, ranking: j.ranking,
    ...(j.ratings !== undefined && { ratings: j.ratings }),
    ...(j.flagged !== undefined && { flagged: j.flagged }),
    ...(j.note !== undefined && { note: j.note }),
    labeler, time,
  };
}

function skippedRecord({ id, prompt, messages }: Item, responses: string[], j: SkippedJudgement, labeler: string, time: string): SkippedRecord {
  return { id, prompt, ...(messages !== undefined && { messages }), responses, skipped: true, ...(j.reason !== undefined && { reason: j.reason }), labeler, time };
}
