// Synthetic training histories for the report tests.
import type { Logger } from '../../src/logging/logger';
import { logSamples } from '../../src/report/metrics-logger';

/** A PPO stats record in the shape PPOTrainer logs, with a few metrics varying by step. */
export function ppoStats(step: number): Record<string, number> {
  return {
    'objective/kl': 0.1 * step,
    'objective/kl_coef': 0.05,
    'objective/entropy': 3,
    'objective/non_score_reward': -0.005 * step,
    'objective/scores': 0.2 * step,
    'objective/rlhf_reward': 0.2 * step - 0.005 * step,
    'policy/approxkl_avg': 0.001 * step,
    'policy/clipfrac_avg': 0.02 * step,
    'policy/entropy_avg': 2.5,
    'loss/policy_avg': -0.01 * step,
    'loss/value_avg': 1 / step,
    'loss/ptx_avg': 0,
    'val/clipfrac_avg': 0.01 * step,
    'val/ratio': 1,
    'val/num_eos_tokens': 4,
    'val/explained_variance': 0.5,
    'val/response_length': 12,
    lr: 1e-5,
    episode: 8 * step,
    step,
    'policy/approxkl_first': 0,
    'time/rollout': 0.1,
    'time/score': 0.1,
    'time/update': 0.1,
    'time/total': 0.3,
  };
}

/** Logs a small lm → reward → ppo pipeline, with samples (one response tries to inject a script). */
export function logPipeline(logger: Logger, steps = 5): void {
  for (let s = 1; s <= steps; s++) {
    logger.log('info', 'lm step', { step: s, loss: 5 - s * 0.5, lr: 3e-4, gradNorm: 1, tokensPerSecond: 100 });
  }
  for (let s = 1; s <= steps; s++) {
    logger.log('info', 'reward step', {
      step: s, epoch: 1, loss: 0.7 - s * 0.05, accuracy: 0.5 + s * 0.05, margin: 0.1, chosenReward: 0.2, rejectedReward: 0.1, pairs: 8, lr: 1e-5, gradNorm: 1,
    });
  }
  logger.log('warn', 'negative mean KL -0.1000: check temperature', { step: 1 });
  for (let s = 1; s <= steps; s++) logger.log('info', 'ppo step', { ...ppoStats(s) });
  logSamples(logger, steps, [
    { prompt: 'Say hi', response: '<script>alert(1)</script>', score: 0.5, kl: 0.25 },
    { prompt: 'Tom & "Jerry" <b>', response: "it's fine", score: NaN, kl: 1 },
  ]);
}
