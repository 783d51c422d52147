/**
 * Datasets out, as JSONL that Hugging Face TRL (`load_dataset("json", ...)`) and OpenRLHF
 * (`--data.dataset file.jsonl`) read directly:
 * - preferences: `{prompt, chosen, rejected}` (DPO, and the reward model with `--data.prompt_key
 *   prompt`); a K-way ranking becomes its C(K,2) untied pairs, each tagged with `group` (the ranking's
 *   index) so the full ranking can be rebuilt; `implicitPrompt` writes `{chosen, rejected}` with the
 *   prompt inside both (TRL's RewardTrainer's recommended form);
 * - demonstrations: `{prompt, completion}` (SFT), chats: `{messages}`;
 * - prompts: `{prompt}` plus any extra columns (GRPO/PPO prompt datasets; extra columns reach reward
 *   functions by name).
 * `conversational` writes message lists (`[{role, content}]`) instead of strings. Each file is
 * written atomically. Node.js only.
 * @module
 */
import { ConfigError, InputError } from '../errors';
import { ensureDir, writeFileAtomic } from '../io/atomic';
import { preferencePairsFromRanking } from '../data/validate';
import type { ChatExample, PreferencePair, RankingExample, SFTExample } from '../data/types';

/** Preference data for {@link exportDataset}. */
export interface PreferenceDataset {
  /** Discriminator. */
  kind: 'preference';
  /** Comparisons. Default: none. */
  pairs?: readonly PreferencePair[];
  /** K-way rankings, exported as their untied pairs. Default: none. */
  rankings?: readonly RankingExample[];
}

/** Supervised data for {@link exportDataset}. */
export interface SFTDataset {
  /** Discriminator. */
  kind: 'sft';
  /** Prompt/completion pairs. Default: none. */
  demonstrations?: readonly SFTExample[];
  /** Conversations (always written as `messages`). Default: none. */
  chats?: readonly ChatExample[];
}

/** A prompt with extra columns (e.g. `answer`) that reach reward functions by name. */
export interface ExportPromptRow {
  /** The prompt text. */
  prompt: string;
  /** Extra columns, written as they are. */
  [column: string]: unknown;
}

/** Prompt-only data for {@link exportDataset}. */
export interface PromptDataset {
  /** Discriminator. */
  kind: 'prompts';
  /** Prompts, or rows with a `prompt` and extra columns. */
  prompts: readonly (string | ExportPromptRow)[];
}

/** What {@link exportDataset} writes. */
export type ExportableDataset = PreferenceDataset | SFTDataset | PromptDataset;

/** Options of {@link exportDataset}. */
export interface ExportDatasetOptions {
  /** `'standard'` (plain strings; GPT-2 has no chat template) or `'conversational'` (message lists). Default `'standard'`. */
  format?: 'standard' | 'conversational';
  /** Preferences only: write `{chosen, rejected}` with the prompt prepended to both, no `prompt` column. Default `false`. */
  implicitPrompt?: boolean;
}

/** What {@link exportDataset} wrote. */
export interface ExportDatasetResult {
  /** The file. */
  path: string;
  /** Number of JSONL rows. */
  rows: number;
}

const user = (content: string) => [{ role: 'user', content }];
const assistant = (content: string) => [{ role: 'assistant', content }];

function checkString(name: string, v: unknown): string {
  if (typeof v !== 'string') throw new InputError(name, v, 'must be a string');
  return v;
}

function preferenceRows(d: PreferenceDataset, o: Required<ExportDatasetOptions>): Record<string, unknown>[] {
  const pairs: { pair: PreferencePair; group?: number }[] = (d.pairs ?? []).map((pair) => ({ pair }));
  (d.rankings ?? []).forEach((r, g) => { for (const pair of preferencePairsFromRanking(r)) pairs.push({ pair, group: g }); });
  return pairs.map(({ pair, group }, i) => {
    const prompt = checkString(`pairs[${i}].prompt`, pair.prompt);
    const chosen = checkString(`pairs[${i}].chosen`, pair.chosen);
    const rejected = checkString(`pairs[${i}].rejected`, pair.rejected);
    const tag = group === undefined ? {} : { group };
    if (o.format === 'conversational') {
      if (o.implicitPrompt) return { chosen: [...user(prompt), ...assistant(chosen)], rejected: [...user(prompt), ...assistant(rejected)], ...tag };
      return { prompt: user(prompt), chosen: assistant(chosen), rejected: assistant(rejected), ...tag };
    }
    if (o.implicitPrompt) return { chosen: prompt + chosen, rejected: prompt + rejected, ...tag };
    return { prompt, chosen, rejected, ...tag };
  });
}

function sftRows(d: SFTDataset, o: Required<ExportDatasetOptions>): Record<string, unknown>[] {
  const rows = (d.demonstrations ?? []).map((e, i) => {
    const prompt = checkString(`demonstrations[${i}].prompt`, e.prompt);
    const completion = checkString(`demonstrations[${i}].completion`, e.completion);
    return o.format === 'conversational' ? { messages: [...user(prompt), ...assistant(completion)] } : { prompt, completion };
  });
  (d.chats ?? []).forEach((c, i) => {
    if (!Array.isArray(c.messages)) throw new InputError(`chats[${i}].messages`, c.messages, 'must be an array of {role, content}');
    rows.push({ messages: c.messages.map((m, j) => ({ role: checkString(`chats[${i}].messages[${j}].role`, m.role), content: checkString(`chats[${i}].messages[${j}].content`, m.content) })) });
  });
  return rows;
}

function promptRows(d: PromptDataset, o: Required<ExportDatasetOptions>): Record<string, unknown>[] {
  return d.prompts.map((p, i) => {
    const row = typeof p === 'string' ? { prompt: p } : { ...p };
    const prompt = checkString(`prompts[${i}].prompt`, row.prompt);
    return { ...row, prompt: o.format === 'conversational' ? user(prompt) : prompt };
  });
}

/**
 * Writes a dataset as TRL/OpenRLHF JSONL (one JSON object per line), atomically.
 * @param path - The `.jsonl` file (its folder is created).
 * @param dataset - Preferences, demonstrations/chats, or prompts.
 * @param options - Standard or conversational form; implicit prompt for preferences.
 * @returns The path and the number of rows.
 * @throws {@link ConfigError} for a bad option; {@link InputError} naming the first bad record field.
 */
export async function exportDataset(path: string, dataset: ExportableDataset, options: ExportDatasetOptions = {}): Promise<ExportDatasetResult> {
  const format = options.format ?? 'standard';
  if (format !== 'standard' && format !== 'conversational') throw new ConfigError('format', format, 'must be "standard" or "conversational"');
  const implicitPrompt = options.implicitPrompt ?? false;
  if (typeof implicitPrompt !== 'boolean') throw new ConfigError('implicitPrompt', implicitPrompt, 'must be a boolean');
  const o = { format, implicitPrompt };
  const kind = (dataset as { kind?: unknown } | null)?.kind;
  const rows = kind === 'preference' ? preferenceRows(dataset as PreferenceDataset, o)
    : kind === 'sft' ? sftRows(dataset as SFTDataset, o)
      : kind === 'prompts' ? promptRows(dataset as PromptDataset, o)
        : (() => { throw new InputError('dataset.kind', kind, 'must be "preference", "sft" or "prompts"'); })();
  const slash = path.lastIndexOf('/');
  if (slash > 0) await ensureDir(path.slice(0, slash));
  await writeFileAtomic(path, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return { path, rows: rows.length };
}
