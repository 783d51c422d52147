/**
 * Talk to the model you aligned: serves a policy over the OpenAI-compatible Chat Completions API, so
 * curl, the `openai` client or any chat front end that speaks it can use it (and a policy can judge
 * another through `JudgeLabeler`).
 *
 *   npm run quickstart && npx tsx examples/serve.ts     # serves .tmp/quickstart/ppo/policy on port 8080
 *   curl -s http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \
 *     -d '{"model":"tfjs-rlhf","messages":[{"role":"user","content":"Continue: The play was"}],"max_tokens":32}'
 *
 * Add `"stream": true` for Server-Sent Events. Knobs: POLICY (a folder with config.json and
 * model.safetensors; default the quickstart's PPO policy, else the pretrained checkpoint), PORT (8080).
 * The quickstart's policy was trained on plain "Continue: ..." prompts, not chats: it answers through
 * the chat template, but expect text in the style of its training data. Ctrl-C stops it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { consoleLogger, servePolicy, useBackend } from 'tfjs-rlhf';
import { BASE_DIR, loadBase } from './shared/base';

const fallback = existsSync('.tmp/quickstart/ppo/policy/config.json') ? '.tmp/quickstart/ppo/policy' : BASE_DIR;
const dir = process.env.POLICY ?? fallback;
if (!existsSync(join(dir, 'config.json'))) throw new Error(`POLICY=${dir} has no config.json`);
await useBackend();
const { policy, tokenizer } = await loadBase(dir); // checkpoints of the quickstart hold their tokenizer
const server = await servePolicy({
  policy, tokenizer, port: Number(process.env.PORT ?? 8080), maxNewTokens: 64, logger: consoleLogger('info'),
});
console.error(`serving ${dir} at ${server.url}/v1/chat/completions (model "${server.model}"); Ctrl-C stops`);
process.once('SIGINT', () => {
  void server.close().then(() => policy.dispose());
});
