/**
 * The data of the quickstart and the rounds example, all from the Brown corpus: the task of Ziegler et
 * al. (2019), "continue the text with positive sentiment", sized for a 0.8 M-parameter model.
 *
 * Real sentences (reviews, editorials, essays, hobbies, fiction...; not the categories pretraining saw)
 * are cut just before their first sentiment word, when that word is one of 50 frequent ones; the prompt
 * is the 3-6 words before it and the completion runs to the next punctuation mark. SFT on these teaches
 * the policy to go on with an evaluative word, as often negative as positive:
 *
 *   { prompt: 'Continue: the entire membership on its record of', completion: ' good legislation.' }
 *
 * The simulated labeller then prefers the more positive continuation; RLHF should tilt the policy that way.
 */
import { Rng, type SFTExample, type Tokenizer } from 'tfjs-rlhf';
import { brownSentences } from './brown';
import { sentimentScore } from './sentiment-labeller';

const WORDS = new Set([
  'good', 'great', 'best', 'better', 'important', 'help', 'true', 'strong', 'peace', 'love', 'fine', 'popular', 'successful', 'hope',
  'clear', 'free', 'beautiful', 'happy', 'nice', 'wonderful', 'glad', 'pleasant', 'perfect', 'easy', 'safe',
  'no', 'war', 'problem', 'problems', 'death', 'difficult', 'hard', 'cut', 'pressure', 'concerned', 'alone', 'stress', 'limited', 'bad',
  'poor', 'lost', 'fear', 'crisis', 'trouble', 'dead', 'wrong', 'pain', 'sorry', 'lack', 'afraid',
]);

/**
 * The Brown categories the task's sentences come from: editorials, reviews, religion, skills and
 * hobbies, government documents, fiction of several kinds, humor. Pretraining (examples/pretrain-bpe.ts)
 * used the others (press reportage, popular lore, belles lettres, learned, adventure), so no prompt or
 * demonstration is text the base model saw.
 */
export const TASK_CATEGORIES = ['cb', 'cc', 'cd', 'ce', 'ch', 'ck', 'cl', 'cm', 'cp', 'cr'];

/** How many items of each kind to return. */
export interface TaskSizes {
  /** SFT demonstrations (half positive, half negative), held-out ones included. */
  demonstrations: number;
  /** Of those, held out for the SFT loss. */
  heldOut: number;
  /** Prompts held out from every stage, for before/after samples. */
  evaluation: number;
  /** Prompts to collect comparisons on. */
  comparison: number;
  /** Prompts for PPO. */
  ppo: number;
}

/** The splits; prompts never repeat across them. */
export interface SentimentTask {
  demonstrations: SFTExample[];
  sftHeldOut: SFTExample[];
  evalPrompts: string[];
  comparisonPrompts: string[];
  ppoPrompts: string[];
}

/**
 * Cuts a sentence before its first listed sentiment word (from the 4th word on), or `undefined`. The
 * completion runs from that word to the first punctuation mark at or after its 4th word (or to the end
 * of the sentence), and must fit in `maxNew` tokens.
 */
function atSentiment(s: string, tokenizer: Tokenizer, maxNew: number): SFTExample | undefined {
  if (!/^[\x20-\x7e]+$/.test(s)) return undefined;
  const words = s.split(' ');
  const i = words.findIndex((w, j) => j >= 3 && sentimentScore(w) !== 0);
  if (i < 0 || !WORDS.has(words[i]?.toLowerCase() ?? '')) return undefined;
  const rest = words.slice(i);
  const end = rest.findIndex((w, j) => j >= 3 && /[.,;:!?]$/.test(w));
  const completion = ` ${rest.slice(0, end < 0 ? rest.length : end + 1).join(' ')}`;
  if (tokenizer.encode(completion).length > maxNew) return undefined; // the demonstration fits the response budget
  return { prompt: `Continue: ${words.slice(Math.max(0, i - 6), i).join(' ')}`, completion };
}

/**
 * Builds the splits for a policy with context `contextLength` whose responses are capped at `maxNew`
 * tokens, so every prompt leaves room for a full response and its EOS.
 */
export async function sentimentTask(tokenizer: Tokenizer, contextLength: number, maxNew: number, sizes: TaskSizes): Promise<SentimentTask> {
  const fits = (e: SFTExample) => tokenizer.encode(e.prompt).length + maxNew + 1 <= contextLength;
  const pool = new Rng(42).shuffle(await brownSentences(TASK_CATEGORIES))
    .map((s) => atSentiment(s, tokenizer, maxNew)).filter((e): e is SFTExample => e !== undefined && fits(e));
  const firstWordScore = (e: SFTExample) => sentimentScore(e.completion.split(' ')[1] ?? '');
  const pos = pool.filter((e) => firstWordScore(e) > 0);
  const neg = pool.filter((e) => firstWordScore(e) < 0);
  const half = Math.min(Math.floor(sizes.demonstrations / 2), neg.length, pos.length);
  // Balanced, so the SFT policy is not yet positive: that is RLHF's job.
  const demos = pos.splice(0, half).flatMap((e, i) => [e, neg[i] as SFTExample]);
  neg.splice(0, half);
  const prompts = new Rng(7).shuffle([...pos, ...neg]).map((e) => e.prompt);
  const take = (n: number) => prompts.splice(0, n);
  const nHeld = Math.min(sizes.heldOut, Math.floor(demos.length / 4));
  return {
    demonstrations: demos.slice(0, demos.length - nHeld),
    sftHeldOut: demos.slice(demos.length - nHeld),
    evalPrompts: take(sizes.evaluation),
    comparisonPrompts: take(sizes.comparison),
    ppoPrompts: take(sizes.ppo),
  };
}
