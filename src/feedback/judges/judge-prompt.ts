/**
 * The judge prompt: a written list of principles (a "constitution"), the prompt (or the conversation
 * so far, turn by turn), the numbered
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

/** Longest turn shown to a judge, in characters; a longer one keeps its start and end. */
const MAX_TURN_CHARS = 2000;
/** Most turns shown to a judge: the first (often the system turn) and the latest ones. */
const MAX_TURNS = 20;

/** `text` cut to {@link MAX_TURN_CHARS} code points: its start and its end, with the cut marked. */
function bounded(text: string): string {
  if (text.length <= MAX_TURN_CHARS) return text;
  const cps = Array.from(text);
  if (cps.length <= MAX_TURN_CHARS) return text;
  const head = Math.ceil(MAX_TURN_CHARS / 2);
  const tail = MAX_TURN_CHARS - head;
  return `${cps.slice(0, head).join('')}\n[... ${cps.length - MAX_TURN_CHARS} characters omitted ...]\n${cps.slice(cps.length - tail).join('')}`;
}

/** The conversation block: each turn numbered with its role, fenced, bounded in length and count. */
function conversationBlock(messages: readonly ChatMessage[]): string {
  const n = messages.length;
  const shown = n <= MAX_TURNS ? messages.map((m, i) => [m, i] as const)
    : [[messages[0] as ChatMessage, 0] as const, ...messages.slice(n - (MAX_TURNS - 1)).map((m, j) => [m, n - (MAX_TURNS - 1) + j] as const)];
  const parts = [`Conversation so far (${n} turn${n === 1 ? '' : 's'}, oldest first):`];
  shown.forEach(([m, i], k) => {
    if (k === 1 && i > 1) parts.push(`[... turns 2 to ${i} omitted ...]`);
    parts.push(fenced(`Turn ${i + 1} (${m.role}):`, bounded(m.content)));
  });
  return parts.join('\n\n');
}

/**
 * Builds the judge conversation for one item. With `messages` the judge sees the conversation so
 * far, each turn numbered with its role (`Turn 3 (user):`) in order, instead of the prompt, and ranks
 * the responses as candidate next assistant turns. A turn longer than 2000 characters shows its first
 * and last 1000 with the cut marked; a conversation of more than 20 turns shows its first turn and its
 * last 19.
 * @param prompt - The prompt the responses answer (not shown when `messages` is given).
 * @param responses - The responses in the order they are shown (numbered from 1).
 * @param principles - What to rank by, one per line.
 * @param allowTies - Whether the judge may answer `=` ties.
 * @param criteria - Extra criteria the requester named (`LabelRequest.criteria`), if any.
 * @param messages - The conversation the responses answer (`LabelRequest.messages`), if any.
 * @returns The system and user messages.
 */
export function judgeMessages(
  prompt: string,
  responses: readonly string[],
  principles: readonly string[],
  allowTies: boolean,
  criteria: readonly string[] = [],
  messages?: readonly ChatMessage[],
): ChatMessage[] {
  const k = responses.length;
  const chat = messages !== undefined && messages.length > 0;
  const parts = [
    chat
      ? `Below is a conversation between a user and an AI assistant, then ${k} candidate responses for the assistant's next turn. Rank the responses from best to worst, as replies to the whole conversation, by these principles:`
      : `Rank the ${k} responses below to the same prompt, from best to worst, by these principles:`,
    principles.map((p, i) => `${i + 1}. ${p}`).join('\n'),
  ];
  if (criteria.length > 0) parts.push(`Weigh these criteria as well: ${criteria.join(', ')}.`);
  parts.push(chat ? conversationBlock(messages) : fenced('Prompt:', prompt));
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
