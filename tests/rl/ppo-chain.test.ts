/**
 * "Any policy" sanity check: the functional PPO core trains a tiny MLP softmax policy (and an MLP
 * critic) on a 1-D chain written here, with padded variable-length episodes. Seeded, CPU, a few seconds.
 */
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { expectNoLeaks } from '../helpers/leaks';
import { entropyFromLogits, gae, maskedMean, maskedWhiten, ppoPolicyLoss, ppoValueLoss } from '../../src/rl/index';
import { mulberry32 } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const N_STATES = 5; // states 0..4, start at 0, goal 4
const T = 12; // episode step limit
const B = 32; // episodes per rollout
const HIDDEN = 16;
const STEP_REWARD = -0.1; // every step; +1 more on reaching the goal (optimal return 0.6)

type Net = { w1: tf.Variable; b1: tf.Variable; w2: tf.Variable; b2: tf.Variable };

function makeNet(rng: () => number, out: number, name: string): Net {
  const init = (shape: number[], scale: number) =>
    tf.variable(tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rng() * 2 - 1) * scale), shape), true, `${name}/${shape.join('x')}/${rng()}`);
  return { w1: init([N_STATES, HIDDEN], 0.5), b1: init([HIDDEN], 0), w2: init([HIDDEN, out], 0.1), b2: init([out], 0) };
}

/** MLP over one-hot states: [n] int32 -> [n, out]. */
function forward(net: Net, states: tf.Tensor1D): tf.Tensor2D {
  const x = tf.oneHot(states, N_STATES).toFloat(); // [n, S]
  const h = tf.tanh(tf.add(tf.matMul(x, net.w1), net.b1)); // [n, H]
  return tf.add(tf.matMul(h, net.w2), net.b2) as tf.Tensor2D; // [n, out]
}

/** Log-probabilities of the taken actions, and entropies: [B, T] each. */
function policyEval(pi: Net, s: tf.Tensor2D, a: tf.Tensor2D): { logp: tf.Tensor; ent: tf.Tensor } {
  const logits = forward(pi, s.flatten() as tf.Tensor1D); // [B*T, 2]
  const logp = tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(a.flatten() as tf.Tensor1D, 2)), -1); // [B*T]
  return { logp: logp.reshape([B, T]), ent: entropyFromLogits(logits).reshape([B, T]) };
}

interface Rollout {
  s: tf.Tensor2D;
  a: tf.Tensor2D;
  r: tf.Tensor2D;
  m: tf.Tensor2D;
  meanReturn: number;
}

function rollout(pi: Net, rng: () => number): Rollout {
  const S = new Int32Array(B * T);
  const A = new Int32Array(B * T);
  const R = new Float32Array(B * T);
  const M = new Float32Array(B * T);
  const pos = new Array<number>(B).fill(0);
  const done = new Array<boolean>(B).fill(false);
  let total = 0;
  for (let t = 0; t < T; t++) {
    const probsT = tf.tidy(() => tf.softmax(forward(pi, tf.tensor1d(pos, 'int32')))); // [B, 2]
    const probs = probsT.dataSync();
    probsT.dispose();
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      const i = b * T + t;
      const action = rng() < probs[b * 2 + 1]! ? 1 : 0;
      S[i] = pos[b]!;
      A[i] = action;
      M[i] = 1;
      pos[b] = Math.max(0, pos[b]! + (action === 1 ? 1 : -1));
      R[i] = STEP_REWARD + (pos[b] === N_STATES - 1 ? 1 : 0);
      done[b] = pos[b] === N_STATES - 1;
      total += R[i]!;
    }
  }
  return {
    s: tf.tensor2d(S, [B, T], 'int32'), a: tf.tensor2d(A, [B, T], 'int32'),
    r: tf.tensor2d(R, [B, T]), m: tf.tensor2d(M, [B, T]), meanReturn: total / B,
  };
}

/** One PPO iteration; returns the first-epoch ratio and approx KL (must be exactly 1 and 0). */
function ppoIteration(pi: Net, vf: Net, opt: tf.Optimizer, ro: Rollout): { ratio: number; approxKl: number } {
  const { oldLogp, oldV, adv, ret } = tf.tidy(() => {
    const oldLogp = policyEval(pi, ro.s, ro.a).logp; // [B, T]
    const oldV = forward(vf, ro.s.flatten() as tf.Tensor1D).reshape([B, T]); // [B, T]
    const g = gae(ro.r, oldV, ro.m, { gamma: 0.99, lam: 0.95 });
    return { oldLogp, oldV, adv: maskedWhiten(g.advantages, ro.m), ret: g.returns };
  });
  const first = tf.tidy(() => {
    const out = ppoPolicyLoss({ logProbs: policyEval(pi, ro.s, ro.a).logp, oldLogProbs: oldLogp, advantages: adv, mask: ro.m });
    return [out.ratio.dataSync()[0]!, out.approxKl.dataSync()[0]!];
  });
  const vars = [pi.w1, pi.b1, pi.w2, pi.b2, vf.w1, vf.b1, vf.w2, vf.b2];
  for (let epoch = 0; epoch < 4; epoch++) {
    opt.minimize(() => {
      const { logp, ent } = policyEval(pi, ro.s, ro.a);
      const pl = ppoPolicyLoss({ logProbs: logp, oldLogProbs: oldLogp, advantages: adv, mask: ro.m });
      const values = forward(vf, ro.s.flatten() as tf.Tensor1D).reshape([B, T]); // [B, T]
      const vl = ppoValueLoss({ values, oldValues: oldV, returns: ret, mask: ro.m, clipRangeValue: 10 });
      return tf.sub(tf.add(pl.loss, tf.mul(0.5, vl.loss)), tf.mul(0.01, maskedMean(ent, ro.m))) as tf.Scalar;
    }, false, vars);
  }
  tf.dispose([oldLogp, oldV, adv, ret]);
  return { ratio: first[0]!, approxKl: first[1]! };
}

describe('PPO core trains any policy', () => {
  it('raises the expected return of an MLP policy on a 1-D chain', () => {
    const rng = mulberry32(7);
    const pi = makeNet(rng, 2, 'pi');
    const vf = makeNet(rng, 1, 'vf');
    const opt = tf.train.adam(0.02);
    const returns: number[] = [];
    const iteration = (): void => {
      const ro = rollout(pi, rng);
      returns.push(ro.meanReturn);
      const { ratio, approxKl } = ppoIteration(pi, vf, opt, ro);
      expect(ratio).toBe(1);
      expect(approxKl).toBe(0);
      tf.dispose([ro.s, ro.a, ro.r, ro.m]);
    };
    iteration(); // creates Adam's state; after it nothing may accumulate
    for (let it = 1; it < 15; it++) expectNoLeaks(iteration);
    const start = returns[0]!; // random initial policy
    const end = returns.slice(-5).reduce((s, x) => s + x, 0) / 5;
    expect(start).toBeLessThan(0);
    expect(end).toBeGreaterThan(0.45); // optimal 0.6
    expect(end - start).toBeGreaterThan(0.5);
    opt.dispose();
    tf.dispose([...Object.values(pi), ...Object.values(vf)]);
  });
});
