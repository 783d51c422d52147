/**
 * The judge prompt: a written list of principles (a "constitution"), the prompt, the numbered
 * responses, and the exact answer format `RANKING: a > b > c` that {@link parseJudgeAnswer} reads.
 * @module
 */
import type { ChatMessage } from '../../data/types';

/**
 * The default principles a judge model ranks by. Written for this library; replace them with your
 * own list through `JudgeLabelerOptions.principles`.
 */
export const DEFAULT_PRINCIPLES: readonly string[] = [
  'Prefer the response that does what the prompt asks, completely and directly.',
  'Prefer responses whose factual claims are correct; penalise invented facts, sources and numbers.',
  'Prefer responses that say when they are unsure over responses that sound certain and are wrong.',
  'Prefer responses that avoid helping with clearly harmful acts, and that decline politely when they must.',
  'Prefer responses that treat people with respect and avoid demeaning or biased statements.',
  'Prefer clear, well-organised and concise responses; length is not a merit in itself.',
  'Judge the content only: ignore the order in which responses are shown and their numbering.',
];

/** The system message of the judge conversation. */
export const JUDGE_SYSTEM_MESSAGE = 'You are a careful, impartial evaluator of AI assistant responses.';

function fenced(label: string, text: string): string {
  return `${label}\n<<<\n${text}\n>>>`;
}

/**
 * Builds the judge conversation for one item.
 * @param prompt - The prompt the responses answer.
 * @param responses - The responses in the order they are shown (numbered from 1).
 * @param principles - What to rank by, one per line.
 * @param allowTies - Whether the judge may answer `=` ties.
 * @param criteria - Extra criteria the requester named (`LabelRequest.criteria`), if any.
 * @returns The system and user messages.
 */
export function judgeMessages(
  prompt: string,
  responses: readonly string[],
  principles: readonly string[],
  allowTies: boolean,
  criteria: readonly string[] = [],
): ChatMessage[] {
  const k = responses.length;
  const parts = [
    `Rank the ${k} responses below to the same prompt, from best to worst, by these principles:`,
    principles.map((p, i) => `${i + 1}. ${p}`).join('\n'),
  ];
  if (criteria.length > 0) parts.push(`Weigh these criteria as well: ${criteria.join(', ')}.`);
  parts.push(fenced('Prompt:', prompt));
  responses.forEach((r, i) => parts.push(fenced(`Response ${i + 1}:`, r)));
  parts.push([
    'You may explain your reasoning briefly. Then end your answer with one line in exactly this format,',
    `naming each response number from 1 to ${k} exactly once, best first:`,
    `RANKING: a > b${k > 2 ? ' > c' : ''}${k > 3 ? ' > ...' : ''}`,
    allowTies
      ? 'where a, b, ... are response numbers. Write = instead of > between responses that are equally good.'
      : 'where a, b, ... are response numbers. Do not give ties: decide between every two responses.',
  ].join('\n'));
  return [
    { role: 'system', content: JUDGE_SYSTEM_MESSAGE },
    { role: 'user', content: parts.join('\n\n') },
  ];
}
