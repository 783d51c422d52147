/**
 * `PreferenceCollector`: samples K responses per prompt from a policy, asks a {@link Labeler} to rank
 * them, and appends each judgement durably to a JSONL file in the K-way ranking format that
 * `readRankings` and `RewardTrainer` read. A stopped or crashed session resumes where it left off;
 * while one session collects, `<file>.lock` keeps a second one (another process, or another collector
 * in this one) from labelling the same prompts again.
 * Node.js only (it writes files); no tensors are kept.
 * @module
 */
import { parseChatRanking } from '../../data/chat-ranking';
import { tokenizeChatPrompt } from '../../data/chat-template';
import { silentLogger, type Logger } from '../../logging/logger';
import type { ConfigError, InputError } from '../../errors';
import type { LabelRequest, Labeler } from '../types';
import { checkJudgement } from '../check-judgement';
import { appendDurable, readDurableJsonl } from './durable-append';
import { acquireFileLock, type FileLock } from './file-lock';
import { flaggedCategories, moderate } from '../../moderation/types';
import { resolveCollectorOptions, type PreferenceCollectorOptions } from './collector-options';
import {
  idOf, itemsOf, rankedRecord, skippedFileOf, skippedRecord, type CollectPrompt, type Item, type RankedRecord, type SkippedRecord,
} from './records';

export type { CollectSampling, PreferenceCollectorOptions } from './collector-options';
export { promptId, skippedFileOf } from './records';
export type { CollectPrompt, RankedRecord, SkippedRecord } from './records';

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
    ({ k: this.k, criteria: this.criteria, seed: this.seed } = resolveCollectorOptions(options));
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
