/**
 * CleanRL's CartPole agent, on tfjs-core directly: a policy MLP (4 -> 64 -> 64 -> 2, tanh) and a
 * separate critic MLP (4 -> 64 -> 64 -> 1, tanh), orthogonally initialised with gain sqrt(2) for the
 * hidden layers, 0.01 for the policy head and 1 for the critic head, biases 0
 * (`layer_init` in CleanRL `ppo.py`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SeededRandom } from './env';

/** One dense layer: `y = x @ w + b`, `w: [in, out]`. */
interface Dense {
  w: tf.Variable; // [in, out]
  b: tf.Variable; // [out]
}

/**
 * A `[rows, cols]` matrix with orthonormal rows or columns (whichever are fewer), times `gain`:
 * PyTorch `nn.init.orthogonal_` (QR of a standard-normal matrix, signs fixed so that diag(R) > 0),
 * done here by modified Gram-Schmidt, which gives the same Q.
 */
export function orthogonal(rows: number, cols: number, gain: number, rng: SeededRandom): Float32Array {
  const tall = rows >= cols;
  const n = tall ? rows : cols; // length of each vector
  const k = tall ? cols : rows; // number of orthonormal vectors
  const q: Float64Array[] = [];
  for (let j = 0; j < k; j++) {
    const v = Float64Array.from({ length: n }, () => rng.normal());
    for (const u of q) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += (u[i] as number) * (v[i] as number);
      for (let i = 0; i < n; i++) v[i] = (v[i] as number) - dot * (u[i] as number);
    }
    const norm = Math.hypot(...v);
    for (let i = 0; i < n; i++) v[i] = (v[i] as number) / norm;
    q.push(v);
  }
  const out = new Float32Array(rows * cols); // row-major [rows, cols]
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      out[r * cols + c] = gain * ((tall ? q[c]?.[r] : q[r]?.[c]) as number);
    }
  }
  return out;
}

/** A dense layer `in -> out`, weights as PyTorch `[out, in]` orthogonal(gain), stored transposed. */
function dense(inDim: number, outDim: number, gain: number, rng: SeededRandom, name: string): Dense {
  const torchW = orthogonal(outDim, inDim, gain, rng); // [out, in]
  const w0 = tf.tidy(() => tf.transpose(tf.tensor2d(torchW, [outDim, inDim]))); // [in, out]
  const b0 = tf.zeros([outDim]); // [out]
  const layer = { w: tf.variable(w0, true, `${name}.w`), b: tf.variable(b0, true, `${name}.b`) };
  tf.dispose([w0, b0]); // the variables hold their own references
  return layer;
}

function mlp(layers: Dense[], x: tf.Tensor2D): tf.Tensor2D {
  let h = x; // [N, 4]
  layers.forEach((l, i) => {
    const z = tf.add(tf.matMul(h, l.w), l.b) as tf.Tensor2D; // [N, out]
    h = i < layers.length - 1 ? tf.tanh(z) : z;
  });
  return h; // [N, out]
}

/** CleanRL's `Agent` for CartPole: separate actor and critic. */
export class Agent {
  private readonly actor: Dense[];
  private readonly critic: Dense[];

  constructor(rng: SeededRandom, obsDim = 4, actions = 2, hidden = 64) {
    const s2 = Math.SQRT2;
    // Same initialisation order as CleanRL: critic first, then actor.
    this.critic = [dense(obsDim, hidden, s2, rng, 'critic.0'), dense(hidden, hidden, s2, rng, 'critic.1'), dense(hidden, 1, 1.0, rng, 'critic.2')];
    this.actor = [dense(obsDim, hidden, s2, rng, 'actor.0'), dense(hidden, hidden, s2, rng, 'actor.1'), dense(hidden, actions, 0.01, rng, 'actor.2')];
  }

  /** All trainable variables (critic, then actor). */
  get variables(): tf.Variable[] {
    return [...this.critic, ...this.actor].flatMap((l) => [l.w, l.b]);
  }

  /** Action logits `[N, actions]`. */
  logits(obs: tf.Tensor2D): tf.Tensor2D {
    return mlp(this.actor, obs);
  }

  /** State values `[N]`. */
  value(obs: tf.Tensor2D): tf.Tensor1D {
    return tf.reshape(mlp(this.critic, obs), [-1]); // [N]
  }

  dispose(): void {
    this.variables.forEach((v) => v.dispose());
  }
}
