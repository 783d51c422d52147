/**
 * The README's usage example, kept here so CI type-checks (and the example tests run) exactly what
 * the README shows. Runs in about a minute on 2 cores.
 */
import { ByteTokenizer, PPOTrainer, RewardModel, RewardTrainer, SFTTrainer, TransformerPolicy, useBackend } from 'tfjs-rlhf';

await useBackend();                                             // 'auto': tensorflow > wasm > cpu in Node
const tokenizer = new ByteTokenizer();
const policy = new TransformerPolicy({ vocabSize: tokenizer.vocabSize, contextLength: 64,
                                       nLayer: 2, nHead: 4, dModel: 64, seed: 1 });

const demos = [{ prompt: 'Greet:', completion: ' hello there' }, { prompt: 'Thank:', completion: ' thanks a lot' }];
await new SFTTrainer({ policy, tokenizer, learningRate: 3e-3, batchSize: 2 }).train(demos, { epochs: 30 });

const rm = RewardModel.fromPolicy(policy);                      // trunk copy + fresh scalar head
const rankings = [{ prompt: 'Greet:', responses: [' hello there', ' go away', ' hi'], ranking: [0, 2, 1] }];
await new RewardTrainer({ model: rm, tokenizer, learningRate: 1e-3, batchSize: 1 }).train(rankings, { epochs: 20 });

const ppo = new PPOTrainer({ policy, reward: rm, tokenizer, klCoef: 0.05, maxNewTokens: 12,
                             learningRate: 1e-4, batchSize: 4, miniBatchSize: 2 });
for (let i = 0; i < 5; i++) {
  const stats = await ppo.step(['Greet:', 'Thank:', 'Greet:', 'Thank:']);
  console.log(i, stats['objective/scores'].toFixed(3), stats['objective/kl'].toFixed(4));
}
await policy.save('.tmp/aligned');                               // config.json + model.safetensors
