/**
 * The `tfjs-rlhf-compress` command: `tfjs-rlhf-compress <model-dir> --method <m> --out <dir>
 * [--calibration text.txt] [--eval text.txt] ...` compresses a saved policy or reward model and prints a
 * table (perplexity before/after for a policy, zeros, bytes). Node.js only.
 * @module
 */
import { FileFormatError, RlhfError } from '../errors';
import { loadTokenizer } from '../hf/tokenizer-files';
import type { Tokenizer } from '../tokenizers/tokenizer';
import { TransformerPolicy } from '../models/policy';
import { RewardModel } from '../reward/reward-model';
import { ByteTokenizer } from '../tokenizers/byte';
import { Gpt2Tokenizer } from '../tokenizers/gpt2';
import { progressLogger } from '../logging/progress';
import { readFileBytes } from '../io/atomic';
import { perplexity } from './evaluate';
import { prune } from './prune';
import { quantize } from './quantize';
import { countZeros } from './sparsity';
import type { CompressibleModel } from './targets';

/** Usage text of the `tfjs-rlhf-compress` command. */
export const COMPRESS_CLI_USAGE = `Usage: tfjs-rlhf-compress <model-dir> --method <method> --out <dir> [options]

Compresses a policy or reward model saved with save() and writes it to --out.

  --method <m>        int8 | magnitude | sparsegpt | sparsegpt+int8 | magnitude+int8
  --out, -o <dir>     output folder (config.json + model.safetensors)
  --calibration <f>   text file; windows of it calibrate SparseGPT / int8 outliers
  --eval <f>          held-out text file for the perplexity table (default: --calibration)
  --sparsity <p>      fraction pruned (default 0.5)      --pattern <N:M>   e.g. 2:4
  --samples <n>       calibration windows (default 32)   --scheme <s>      per-channel | vector-wise
  --outlier <t>       int8: keep inputs with |x| >= t in float (needs --calibration)
  --embeddings        int8: also the token and position embeddings (the tied head)
  --help, -h          show this help
`;

/** Where {@link runCompressCli} writes; each defaults to the process's stream. */
export interface CompressCliIo {
  /** Receives the table and `--help`. */
  stdout?: (text: string) => void;
  /** Receives progress and errors. */
  stderr?: (text: string) => void;
}

const FLAGS = ['method', 'out', 'calibration', 'eval', 'sparsity', 'pattern', 'samples', 'scheme', 'outlier', 'embeddings'] as const;
/** Flags that take no value. */
const SWITCHES: readonly string[] = ['embeddings'];
type Args = { input: string } & Partial<Record<(typeof FLAGS)[number], string>>;
class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Args | undefined {
  const positional: string[] = [];
  const opts: Partial<Record<string, string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h' || arg === '--help') return undefined;
    const m = /^(?:--([a-z]+)|(-o))(?:=(.*))?$/s.exec(arg);
    if (m === null) {
      positional.push(arg);
      continue;
    }
    const flag = m[2] ? 'out' : (m[1] as string);
    if (!(FLAGS as readonly string[]).includes(flag)) throw new UsageError(`unknown option ${arg.slice(0, 40)}`);
    if (SWITCHES.includes(flag)) {
      if (m[3] !== undefined) throw new UsageError(`--${flag} takes no value`);
      opts[flag] = 'yes';
      continue;
    }
    const value = m[3] ?? argv[++i];
    if (value === undefined || value === '') throw new UsageError(`--${flag} needs a value`);
    opts[flag] = value;
  }
  if (positional.length !== 1) throw new UsageError('expected exactly one model folder');
  if (opts.method === undefined || opts.out === undefined) throw new UsageError('--method and --out are required');
  return { input: positional[0] as string, ...opts };
}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x)) throw new UsageError(`--${name} must be a number, got ${JSON.stringify(v.slice(0, 40))}`);
  return x;
}

async function loadModel(dir: string): Promise<CompressibleModel> {
  const cfg = JSON.parse(new TextDecoder().decode(await readFileBytes(`${dir}/config.json`))) as { kind?: string };
  return cfg.kind === 'reward-model' ? RewardModel.load(dir) : TransformerPolicy.load(dir);
}

/** The model folder's own tokenizer (saved with it), else bytes for a 259-id model, else GPT-2's. */
async function tokenizerOf(dir: string, vocabSize: number): Promise<Tokenizer> {
  try {
    return await loadTokenizer(dir);
  } catch (e) {
    if (!(e instanceof FileFormatError)) throw e;
    return vocabSize === new ByteTokenizer().vocabSize ? new ByteTokenizer() : new Gpt2Tokenizer();
  }
}

async function tokensOf(file: string | undefined, tokenizer: Tokenizer): Promise<number[] | undefined> {
  if (file === undefined) return undefined;
  return tokenizer.encode(new TextDecoder().decode(await readFileBytes(file)));
}

function compress(model: CompressibleModel, a: Args, calibration: number[][] | undefined, stderr: (t: string) => void): CompressibleModel {
  const [pruneMethod, int8] = a.method === 'int8' ? [undefined, true] : [a.method?.replace(/\+int8$/, ''), a.method?.endsWith('+int8') ?? false];
  if (pruneMethod !== undefined && pruneMethod !== 'magnitude' && pruneMethod !== 'sparsegpt') throw new UsageError(`unknown --method ${JSON.stringify(a.method?.slice(0, 40))}`);
  const logger = progressLogger({ stream: { write: (s: string) => stderr(s), isTTY: false }, every: 1 });
  const sparsity = num('sparsity', a.sparsity);
  const pruned = pruneMethod === undefined ? model : prune(model, {
    method: pruneMethod, logger, ...(sparsity === undefined ? {} : { sparsity }), ...(a.pattern ? { pattern: a.pattern } : {}),
    ...(calibration ? { calibration } : {}),
  });
  if (!int8) return pruned;
  const outlier = num('outlier', a.outlier);
  const q = quantize(pruned, {
    logger, scheme: (a.scheme ?? 'per-channel') as 'per-channel',
    ...(outlier === undefined ? {} : { outlierThreshold: outlier }), ...(calibration ? { calibration } : {}),
    embeddings: a.embeddings === 'yes',
  });
  if (pruned !== model) pruned.dispose();
  return q;
}

function table(rows: [string, string, string][]): string {
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i] as number)).join('  ')).join('\n') + '\n';
}

async function run(a: Args, stdout: (t: string) => void, stderr: (t: string) => void): Promise<void> {
  const model = await loadModel(a.input);
  const ctx = model.config.contextLength;
  const tokenizer = await tokenizerOf(a.input, model.config.vocabSize);
  const stream = await tokensOf(a.calibration, tokenizer);
  const samples = num('samples', a.samples) ?? 32;
  const calibration = stream && Array.from({ length: Math.min(samples, Math.floor(stream.length / ctx)) }, (_, i) => stream.slice(i * ctx, (i + 1) * ctx));
  const evalTokens = (await tokensOf(a.eval, tokenizer)) ?? stream;
  const out = compress(model, a, calibration, stderr);
  await out.save(a.out as string);
  const { stat } = await import('node:fs/promises');
  const bytes = async (dir: string) => (await stat(`${dir}/model.safetensors`)).size;
  const ppl = async (m: CompressibleModel) => (m instanceof TransformerPolicy && evalTokens ? (await perplexity(m, evalTokens, { maxWindows: 64 })).perplexity.toFixed(3) : '-');
  const zeros = (m: CompressibleModel) => { const z = countZeros(m); return `${(100 * z.zeros / z.total).toFixed(1)}%`; };
  stdout(table([
    ['', 'before', 'after'],
    ['perplexity', await ppl(model), await ppl(out)],
    ['zeros (block matrices)', zeros(model), zeros(out)],
    ['bytes (model.safetensors)', String(await bytes(a.input)), String(await bytes(a.out as string))],
  ]));
  model.dispose();
  out.dispose();
}

/**
 * Runs the `tfjs-rlhf-compress` command.
 * @param argv - The arguments after the program name (`process.argv.slice(2)`).
 * @param io - Output sinks; default `process.stdout` and `process.stderr`.
 * @returns `0` on success, `1` when compression failed (bad file, bad option value), `2` for invalid arguments.
 */
export async function runCompressCli(argv: readonly string[], io: CompressCliIo = {}): Promise<number> {
  const proc = (globalThis as { process?: { stdout: { write(s: string): unknown }; stderr: { write(s: string): unknown } } }).process;
  const stdout = io.stdout ?? ((t: string) => void proc?.stdout.write(t));
  const stderr = io.stderr ?? ((t: string) => void proc?.stderr.write(t));
  try {
    const args = parseArgs(argv);
    if (args === undefined) {
      stdout(COMPRESS_CLI_USAGE);
      return 0;
    }
    await run(args, stdout, stderr);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      stderr(`tfjs-rlhf-compress: ${e.message}\n\n${COMPRESS_CLI_USAGE}`);
      return 2;
    }
    const known = e instanceof RlhfError || (e instanceof Error && typeof (e as { code?: unknown }).code === 'string');
    stderr(`tfjs-rlhf-compress: ${known ? (e as Error).message : String(e instanceof Error ? (e.stack ?? e.message) : e)}\n`);
    return 1;
  }
}
