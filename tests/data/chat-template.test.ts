import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chatHeader, chatPrompt, tokenizeChat, tokenizeChatPrompt, type ChatMessage } from '../../src/data/index';
import { InputError } from '../../src/errors';
import type { Tokenizer } from '../../src/tokenizers/tokenizer';

/** Tiny inline tokenizer: UTF-8 bytes, eos 256, pad 257, bos 258. */
const tok: Tokenizer = {
  vocabSize: 259,
  eosId: 256,
  padId: 257,
  bosId: 258,
  encode: (text: string) => Array.from(new TextEncoder().encode(text)),
  decode: (ids: readonly number[]) => new TextDecoder().decode(Uint8Array.from(ids.filter((i) => i < 256))),
};
const enc = (s: string): number[] => tok.encode(s);
const EOS = tok.eosId;

describe('tokenizeChat', () => {
  it('masks exactly the assistant content and its EOS, over several turns', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Bye' },
      { role: 'assistant', content: 'Ciao é' },
    ];
    const ctx1 = enc('<|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\n');
    const a1 = enc('Hello!');
    const ctx2 = enc('<|user|>\nBye\n<|assistant|>\n');
    const a2 = enc('Ciao é');
    const { ids, lossMask } = tokenizeChat(messages, tok);
    expect(ids).toEqual([...ctx1, ...a1, EOS, ...ctx2, ...a2, EOS]);
    const zeros = (n: number): number[] => new Array<number>(n).fill(0);
    const ones = (n: number): number[] => new Array<number>(n).fill(1);
    expect(lossMask).toEqual([...zeros(ctx1.length), ...ones(a1.length + 1), ...zeros(ctx2.length), ...ones(a2.length + 1)]);
  });
  it('keeps trailing user turns as unmasked context, and allows empty assistant content', () => {
    const { ids, lossMask } = tokenizeChat(
      [
        { role: 'assistant', content: '' },
        { role: 'user', content: 'x' },
      ],
      tok,
    );
    expect(ids).toEqual([...enc('<|assistant|>\n'), EOS, ...enc('<|user|>\nx\n')]);
    expect(lossMask.filter((m) => m === 1)).toHaveLength(1);
    expect(lossMask[enc('<|assistant|>\n').length]).toBe(1);
  });
  it('rejects conversations that would train on nothing, and invalid messages', () => {
    expect(() => tokenizeChat([], tok)).toThrow(InputError);
    expect(() => tokenizeChat([{ role: 'user', content: 'x' }], tok)).toThrow(/no assistant turn/);
    expect(() => tokenizeChat([{ role: 'bot' as 'user', content: 'x' }], tok)).toThrow(/messages\[0\]\.role/);
    expect(() => tokenizeChat([{ role: 'assistant', content: 3 as unknown as string }], tok)).toThrow(
      /messages\[0\]\.content/,
    );
  });
  it('property: mask-1 tokens are exactly the assistant contents, each ended by EOS', () => {
    const msg = fc.record({
      role: fc.constantFrom<ChatMessage['role']>('system', 'user', 'assistant'),
      content: fc.string({ unit: 'binary', maxLength: 12 }),
    });
    const convo = fc
      .array(msg, { maxLength: 8 })
      .chain((m) => fc.tuple(fc.constant(m), msg.map((a) => ({ ...a, role: 'assistant' as const })), fc.nat()))
      .map(([m, a, at]) => {
        const out = m.slice();
        out.splice(at % (m.length + 1), 0, a);
        return out;
      });
    fc.assert(
      fc.property(convo, (messages) => {
        const { ids, lossMask } = tokenizeChat(messages, tok);
        expect(lossMask).toHaveLength(ids.length);
        const trained: number[][] = [[]];
        for (let i = 0; i < ids.length; i++) {
          if (lossMask[i] !== 1) continue;
          if (ids[i] === EOS) trained.push([]);
          else trained[trained.length - 1]!.push(ids[i]!);
        }
        const assistant = messages.filter((m) => m.role === 'assistant');
        expect(trained.pop()).toEqual([]);
        expect(trained).toEqual(assistant.map((m) => enc(m.content)));
        expect(ids.filter((id) => id === EOS)).toHaveLength(assistant.length);
        expect(ids.every((id, i) => id !== EOS || lossMask[i] === 1)).toBe(true);
        const text = messages
          .map((m) => `${chatHeader(m.role)}${m.content}${m.role === 'assistant' ? '' : '\n'}`)
          .join('');
        expect(tok.decode(ids)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});

describe('chatPrompt and tokenizeChatPrompt', () => {
  const history: ChatMessage[] = [
    { role: 'system', content: 'S' },
    { role: 'user', content: 'U' },
  ];
  it('renders the history and an open assistant header', () => {
    expect(chatPrompt(history)).toBe('<|system|>\nS\n<|user|>\nU\n<|assistant|>\n');
    expect(chatPrompt([])).toBe('<|assistant|>\n');
    expect(tokenizeChatPrompt(history, tok)).toEqual(enc(chatPrompt(history)));
  });
  it('is the exact prefix of the training tokens', () => {
    const full: ChatMessage[] = [...history, { role: 'assistant', content: 'A' }, { role: 'user', content: 'V' }];
    const train = tokenizeChat([...full, { role: 'assistant', content: 'B' }], tok).ids;
    const prompt = tokenizeChatPrompt(full, tok);
    expect(train.slice(0, prompt.length)).toEqual(prompt);
    expect(prompt.filter((id) => id === EOS)).toHaveLength(1);
    expect(chatPrompt(full)).toBe('<|system|>\nS\n<|user|>\nU\n<|assistant|>\nA<|user|>\nV\n<|assistant|>\n');
  });
  it('rejects invalid messages', () => {
    expect(() => chatPrompt([{ role: 'tool' as 'user', content: '' }])).toThrow(InputError);
    expect(() => tokenizeChatPrompt('hi' as unknown as ChatMessage[], tok)).toThrow(InputError);
  });
});
