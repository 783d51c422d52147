import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RewardModel } from '../../src/reward/reward-model';
import { RewardTrainer } from '../../src/reward/reward-trainer';
import { groupComparisons, type ComparisonRecord } from '../../src/reward/pairwise';
import { encodePreferences } from '../../src/dpo/data';
import { chatPrompt, tokenizeChat, tokenizeChatPrompt } from '../../src/data/chat-template';
import { readAll, readRankings } from '../../src/data/jsonl';
import { parseChatRanking } from '../../src/data/chat-ranking';
import type { ChatMessage, ChatRankingExample } from '../../src/data/types';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { FileFormatError, InputError } from '../../src/errors';
import { Rng } from '../../src/ops/random';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';

const tok = new ByteTokenizer();
let dir: string;
beforeAll(async () => {
  await setupBackend();
  dir = mkdtempSync(join(tmpdir(), 'conv-reward-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const small = (contextLength = 160, nLayer = 1): RewardModel =>
  new RewardModel({ vocabSize: tok.vocabSize, contextLength, nLayer, nHead: 2, dModel: 32, seed: 5 });

const chat: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi <b>there</b>' },
  { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: 'Name a colour.' },
];

describe('RewardModel.scoreConversations', () => {
  it('scores the conversation rendered with the SFT chat template, then the reply (+ EOS); no tensor leaks', async () => {
    const rm = small();
    rm.setNormalization({ gain: 2, bias: -0.5 });
    const replies = ['Blue.', 'A colour.'];
    const userOnly = chat.filter((m) => m.role !== 'assistant');
    const got = await expectNoLeaks(() => rm.scoreConversations([chat, userOnly], replies, tok));
    // The ids are exactly what SFT's tokenizeChat trains on for the conversation plus the reply.
    const sftIds = tokenizeChat([...chat, { role: 'assistant', content: 'Blue.' }], tok).ids;
    expect([...tokenizeChatPrompt(chat, tok), ...tok.encode('Blue.'), tok.eosId]).toEqual(sftIds);
    const viaIds = await rm.score([tokenizeChatPrompt(chat, tok), tokenizeChatPrompt(userOnly, tok)], replies.map((r) => [...tok.encode(r), tok.eosId]));
    // Without assistant turns the rendered template text, encoded as a plain prompt, gives the same score.
    const viaText = await rm.score([tok.encode(chatPrompt(userOnly))], [[...tok.encode('A colour.'), tok.eosId]]);
    expect(got).toEqual(viaIds);
    expect(got[1]).toBeCloseTo(viaText[0] as number, 6);
    // Dropping the earlier turns changes the score: the conversation is read, not only the last turn.
    const lastOnly = await rm.scoreConversations([chat.slice(3)], ['Blue.'], tok);
    expect(lastOnly[0]).not.toBeCloseTo(got[0] as number, 6);
    const noEos = await rm.scoreConversations([chat], ['Blue.'], tok, { appendEos: false });
    expect(noEos).toEqual(await rm.score([tokenizeChatPrompt(chat, tok)], [tok.encode('Blue.')]));
    rm.dispose();
  });

  it('rejects bad conversations and replies with InputErrors naming them', async () => {
    const rm = small();
    await expect(rm.scoreConversations([[...chat, { role: 'assistant', content: 'x' }]], ['a'], tok)).rejects.toThrow(/conversations\[0\]\.messages\[4\]\.role.*last turn/);
    await expect(rm.scoreConversations([[]], ['a'], tok)).rejects.toThrow(/conversations\[0\]\.messages.*empty/);
    await expect(rm.scoreConversations([[{ role: 'bot', content: 'x' }] as never], ['a'], tok)).rejects.toThrow(/conversations\[0\]\.messages\[0\]\.role/);
    await expect(rm.scoreConversations([chat], ['a', 'b'], tok)).rejects.toThrow(/replies.*one reply per conversation/);
    await expect(rm.scoreConversations([chat], [7 as never], tok)).rejects.toThrow(/replies\[0\]/);
    await expect(rm.scoreConversations([chat], ['x'.repeat(200)], tok)).rejects.toThrow(InputError); // longer than the context
    rm.dispose();
  });
});

/**
 * The task: the last user turn names a word; the reply that repeats it is best, the others tie
 * behind it. Earlier turns are random filler, so a model must read the conversation's last user turn,
 * found through the template's headers.
 */
const WORDS = ['red', 'blue', 'gold', 'pink'];
function conversationRecords(n: number, seed: number): ChatRankingExample[] {
  const rng = new Rng(seed);
  const word = (): string => WORDS[rng.int(WORDS.length)] as string;
  return Array.from({ length: n }, () => {
    const target = word();
    const others = WORDS.filter((w) => w !== target);
    rng.shuffle(others);
    const responses = [target, others[0] as string, others[1] as string];
    const ranking = [0, 1, 1];
    const order = rng.shuffle([0, 1, 2]);
    const messages: ChatMessage[] = [{ role: 'user', content: word() }, { role: 'assistant', content: word() }, { role: 'user', content: target }];
    return { messages, responses: order.map((i) => responses[i] as string), ranking: order.map((i) => ranking[i] as number) };
  });
}

describe('RewardTrainer on conversation records', () => {
  it('learns from { messages, responses, ranking } mixed with plain prompts: held-out accuracy rises; no leaks', async () => {
    const rm = small(80, 2);
    const trainer = new RewardTrainer({ model: rm, tokenizer: tok, learningRate: 3e-3, batchSize: 8, warmupSteps: 5, decaySteps: 400, maxGradNorm: 5, seed: 2, workers: 1 });
    const plain: ComparisonRecord[] = WORDS.map((w) => ({ prompt: `say ${w}`, chosen: w, rejected: WORDS[(WORDS.indexOf(w) + 1) % WORDS.length] as string }));
    const train: ComparisonRecord[] = [...conversationRecords(120, 1), ...plain];
    const held = conversationRecords(40, 77);
    const before = await trainer.evaluate(held);
    await trainer.train(train.slice(0, 8));
    await expectNoLeaks(() => trainer.train(train, { epochs: 20 }));
    const after = await expectNoLeaks(() => trainer.evaluate(held));
    expect(before.accuracy).toBeLessThan(0.75);
    expect(after.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(after.loss).toBeLessThan(before.loss);
    // The trained model ranks through scoreConversations the same way.
    const probe = held.slice(0, 8);
    let right = 0;
    for (const r of probe) {
      const s = await rm.scoreConversations(r.responses.map(() => r.messages), r.responses, tok);
      const best = s.indexOf(Math.max(...s));
      if (r.ranking[best] === 0) right++;
    }
    expect(right).toBeGreaterThanOrEqual(7);
    trainer.dispose();
    rm.dispose();
  }, 600_000);

  it('checks conversation records: InputErrors name data[i].messages...', async () => {
    const rm = small();
    const t = new RewardTrainer({ model: rm, tokenizer: tok, workers: 1 });
    const good = conversationRecords(1, 3)[0] as ChatRankingExample;
    await expect(t.train([{ ...good, messages: [...good.messages, { role: 'assistant', content: 'x' }] }])).rejects.toThrow(/data\[0\]\.messages\[3\]\.role/);
    await expect(t.train([{ ...good, messages: [] }])).rejects.toThrow(/data\[0\]\.messages.*empty/);
    await expect(t.train([{ ...good, messages: [{ role: 'user', content: 5 }] as never }])).rejects.toThrow(/data\[0\]\.messages\[0\]\.content/);
    await expect(t.train([{ ...good, messages: 'hi' as never }])).rejects.toThrow(/data\[0\]\.messages/);
    await expect(t.train([{ ...good, messages: [{ role: 'user', content: 'x'.repeat(200) }] }])).rejects.toThrow(/exceeds contextLength/);
    // A group keeps the conversation and shows it as the rendered template text.
    const [g] = groupComparisons([good]);
    expect(g?.messages).toEqual(good.messages);
    expect(g?.prompt).toBe(chatPrompt(good.messages));
    // DPO reads the same record with the same template.
    const [enc] = encodePreferences([good], { tokenizer: tok, appendEos: true, contextLength: 160, truncatePrompt: 'error' });
    expect(enc?.prompt).toEqual(tokenizeChatPrompt(good.messages, tok));
    t.dispose();
    rm.dispose();
  });
});

describe('readRankings with conversation rows', () => {
  it('reads plain and conversation rows mixed; fills prompt with the rendered conversation', async () => {
    const file = join(dir, 'mixed.jsonl');
    const rows = [
      { prompt: 'p', responses: ['a', 'b'], ranking: [1, 0] },
      { messages: chat, responses: ['Blue.', 'Red.', 'No.'], ranking: [0, 0, 2], id: 'extra fields are fine' },
      { messages: chat.slice(3), prompt: 'Name a colour.', responses: ['x', 'y'], ranking: [0, 1] },
    ];
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'));
    const got = await readAll(readRankings(file));
    expect(got).toEqual([
      { prompt: 'p', responses: ['a', 'b'], ranking: [1, 0] },
      { prompt: chatPrompt(chat), messages: chat, responses: ['Blue.', 'Red.', 'No.'], ranking: [0, 0, 2] },
      { prompt: 'Name a colour.', messages: chat.slice(3), responses: ['x', 'y'], ranking: [0, 1] },
    ]);
    // What the reader returns trains directly.
    const rm = small();
    const t = new RewardTrainer({ model: rm, tokenizer: tok, workers: 1 });
    expect((await t.evaluate(got)).pairs).toBe(1 + 2 + 1);
    t.dispose();
    rm.dispose();
  });

  it('names file:line and the field of a bad conversation row, with bounded previews', async () => {
    const bad: [unknown, RegExp][] = [
      [{ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }], responses: ['x', 'y'], ranking: [0, 1] }, /field "messages\[1\]\.role" is the last turn/],
      [{ messages: [], responses: ['x', 'y'], ranking: [0, 1] }, /field "messages" is empty/],
      [{ messages: [{ role: 'user' }], responses: ['x', 'y'], ranking: [0, 1] }, /missing field "messages\[0\]\.content"/],
      [{ messages: [{ role: 'robot', content: 'q' }], responses: ['x', 'y'], ranking: [0, 1] }, /field "messages\[0\]\.role" is "robot", not a known role/],
      [{ messages: 'hello', responses: ['x', 'y'], ranking: [0, 1] }, /field "messages" must be an array/],
      [{ messages: chat, prompt: 5, responses: ['x', 'y'], ranking: [0, 1] }, /field "prompt" must be a string/],
      [{ messages: chat, responses: ['x'], ranking: [0] }, /needs at least 2/],
      [{ messages: chat, responses: ['x', 'y'], ranking: [0, 0] }, /tied/],
      [{ messages: chat, responses: ['x', 'y'] }, /missing field "ranking".*"messages", "responses", "ranking"/],
      [{ messages: [{ role: 'r'.repeat(100_000), content: 'c'.repeat(100_000) }], responses: ['x', 'y'], ranking: [0, 1] }, /messages\[0\]\.role/],
    ];
    for (const [i, [row, re]] of bad.entries()) {
      const file = join(dir, `bad-${i}.jsonl`);
      writeFileSync(file, `{"prompt":"ok","responses":["a","b"],"ranking":[0,1]}\n\n${JSON.stringify(row)}\n`);
      const e = await readAll(readRankings(file)).then(() => undefined, (err: unknown) => err);
      expect(e, String(i)).toBeInstanceOf(FileFormatError);
      expect((e as Error).message, String(i)).toMatch(re);
      expect((e as Error).message, String(i)).toContain(`${file}:3`);
      expect((e as Error).message.length, String(i)).toBeLessThan(400 + file.length);
    }
    // parseChatRanking with allowTies: false refuses tied conversation rows too.
    expect(() => parseChatRanking({ messages: chat, responses: ['x', 'y', 'z'], ranking: [0, 1, 1] }, { file: 'f', line: 9 }, { allowTies: false })).toThrow(/f:9.*ties are not allowed/);
  });
});
