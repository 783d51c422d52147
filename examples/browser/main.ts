/**
 * Browser example: load the quickstart's pretrained base (examples/assets/brown-bpe: a 4.2 M-parameter
 * GPT and its BPE tokenizer, int8 weights, about 7 MB) in the page, sample from it, fine-tune it on a
 * few inline paragraphs while charting the loss live with vega, then sample again. Serve it with
 * `npx vite examples/browser` (see README.md next to this file). When done it sets
 * `window.__rlhfResult` (read by tests/browser/browser.test.ts).
 */
import { changeset, parse, View, type Spec } from 'vega';
import { BpeTokenizer, consoleLogger, LMTrainer, setWorkerFactory, TransformerPolicy, useBackend, type TransformerConfig } from 'tfjs-rlhf';
// The base checkpoint: its config and tokenizer bundled as JSON, its weights fetched as a file.
import baseConfig from '../assets/brown-bpe/config.json';
import tokenizerJson from '../assets/brown-bpe/tokenizer.json';
import tokenizerConfig from '../assets/brown-bpe/tokenizer_config.json';
import weightsUrl from '../assets/brown-bpe/model.safetensors?url';
// The wasm backend's binaries as bundled asset URLs (Vite copies them into the build output).
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

/** What the page reports when it finishes (or fails). */
interface RlhfResult {
  backend: string;
  steps: number;
  losses: number[];
  sample: string;
  /** The base model's continuation of the prompt, before fine-tuning. */
  before: string;
  /** Web Workers the trainer used (0: it trained in-process). */
  workers: number;
  error?: string;
}

declare global {
  interface Window {
    __rlhfResult?: RlhfResult;
  }
}

const STEPS = 20;
const PROMPT = 'The';

const TEXT = [
  'The little train left the station early in the morning. It ran past the river, past the mill and ' +
    'past the long green fields where the farmers were already at work. The children at the windows ' +
    'waved at the cows, and the cows did not wave back.',
  'In the town there was a small bakery with a red door. Every day the baker made bread, rolls and a ' +
    'cake with apples on top. People came from the other side of the river to buy the cake, and by ' +
    'noon the shelves were always empty.',
  'When the rain came in the evening, the streets were quiet. The lamps were lit one by one, the ' +
    'shops closed their doors, and the last train came back to the station with only a few people on ' +
    'board. The baker went home, tired and happy, and slept until the morning.',
].join('\n\n');

const el = (id: string): HTMLElement => {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`missing element #${id}`);
  return found;
};

const chartSpec: Spec = {
  width: 520,
  height: 220,
  padding: 5,
  autosize: 'pad',
  data: [{ name: 'loss' }],
  scales: [
    { name: 'x', type: 'linear', domain: [1, STEPS], range: 'width' },
    { name: 'y', type: 'linear', domain: { data: 'loss', field: 'loss' }, range: 'height', zero: false, nice: true },
  ],
  axes: [
    { orient: 'bottom', scale: 'x', title: 'step' },
    { orient: 'left', scale: 'y', title: 'loss (nats/token)' },
  ],
  marks: [{
    type: 'line',
    from: { data: 'loss' },
    encode: {
      enter: { stroke: { value: '#4c78a8' }, strokeWidth: { value: 2 } },
      update: { x: { scale: 'x', field: 'step' }, y: { scale: 'y', field: 'loss' } },
    },
  }],
};

async function run(result: RlhfResult): Promise<void> {
  const status = el('status');
  // Every core: on a cross-origin isolated page the trainers' default `workers: 'auto'` starts Web
  // Workers from this factory (one replica per core, capped by the batch); elsewhere they train in-process.
  setWorkerFactory(() => new Worker(new URL('./rlhf-worker.ts', import.meta.url), { type: 'module' }));
  // 'auto' in a browser: webgpu or webgl when their packages were imported, else wasm, else cpu.
  result.backend = await useBackend('auto', {
    logger: consoleLogger('warn'), // says why if wasm fails and it falls back to the slow cpu backend
    wasmPaths: {
      'tfjs-backend-wasm.wasm': wasmUrl,
      'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimdUrl,
    },
  });
  el('backend').textContent = result.backend;

  const view = new View(parse(chartSpec), { renderer: 'svg', container: '#chart', hover: false });
  await view.runAsync();

  status.textContent = 'loading the base model…';
  const tokenizer = BpeTokenizer.fromJson(tokenizerJson, tokenizerConfig);
  const weights = new Uint8Array(await (await fetch(weightsUrl)).arrayBuffer());
  const policy = TransformerPolicy.fromSafetensors(weights, baseConfig as TransformerConfig, 'brown-bpe/model.safetensors');
  const tokens = tokenizer.encode(TEXT);
  const sample = async () => {
    const { tokens: out } = await policy.generate([tokenizer.encode(PROMPT)], { maxNewTokens: 16, temperature: 0.8, seed: 7, stopTokens: [tokenizer.eosId] });
    return tokenizer.decode(out[0] ?? []);
  };
  result.before = await sample();
  el('before').textContent = PROMPT + result.before;
  const trainer = new LMTrainer({
    policy, learningRate: 3e-4, batchSize: 2, sequenceLength: 32, warmupSteps: 3, decaySteps: STEPS, seed: 1,
  });
  try {
    await trainer.train(tokens, {
      steps: STEPS,
      onStep: async (s) => {
        result.steps = s.step;
        result.losses.push(s.loss);
        status.textContent = `training: step ${s.step}/${STEPS}, loss ${s.loss.toFixed(3)}`;
        await view.change('loss', changeset().insert([{ step: s.step, loss: s.loss }])).runAsync();
        await new Promise((resolve) => setTimeout(resolve, 0)); // let the browser paint the chart
      },
    });
    result.workers = (await trainer.workerMemory()).length;
    el('workers').textContent = result.workers === 0 ? 'none (the page is not cross-origin isolated)' : `${result.workers} (+ the page: ${result.workers + 1} replicas)`;
    status.textContent = 'sampling…';
    result.sample = await sample();
    el('sample').textContent = PROMPT + result.sample; // model output is text, never markup
    status.textContent = `done: ${STEPS} steps, final loss ${result.losses.at(-1)?.toFixed(3) ?? '?'}`;
  } finally {
    trainer.dispose();
    policy.dispose();
  }
}

async function main(): Promise<void> {
  const result: RlhfResult = { backend: '', steps: 0, losses: [], sample: '', before: '', workers: 0 };
  try {
    await run(result);
  } catch (e) {
    result.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    const status = document.getElementById('status');
    if (status !== null) {
      status.textContent = `error: ${result.error}`;
      status.className = 'error';
    }
  }
  window.__rlhfResult = result;
}

void main();
