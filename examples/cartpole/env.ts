/**
 * CartPole-v1 exactly as Gymnasium has it (`gymnasium/envs/classic_control/cartpole.py`, Euler
 * integrator, `TimeLimit(500)`), a vector of such environments with same-step autoreset (what CleanRL's
 * `gym.vector.SyncVectorEnv` does), and a small seeded random number generator. Plain TypeScript, no
 * tensors.
 */

/** Physical constants of CartPole-v1 (Gymnasium). */
export const CARTPOLE = {
  gravity: 9.8,
  massCart: 1.0,
  massPole: 0.1,
  /** Half the pole's length. */
  length: 0.5,
  forceMag: 10.0,
  /** Seconds between state updates. */
  tau: 0.02,
  /** 12 degrees, in radians. */
  thetaThreshold: (12 * 2 * Math.PI) / 360,
  xThreshold: 2.4,
  /** `TimeLimit` of CartPole-v1: the episode is truncated after this many steps. */
  maxSteps: 500,
} as const;

/** Seeded PRNG (mulberry32): `next()` is uniform in [0, 1). Deterministic for a seed. */
export class SeededRandom {
  private s: number;

  /** Different `stream`s of one seed give independent sequences (for the envs, the init, the sampler). */
  constructor(seed: number, stream = 0) {
    this.s = (Math.imul(Math.floor(seed) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(stream + 1, 0xc2b2ae35)) >>> 0;
    for (let i = 0; i < 4; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [p[i], p[j]] = [p[j] as number, p[i] as number];
    }
    return p;
  }
}

/** One transition of {@link CartPole.step}. */
export interface StepResult {
  /** The observation after the step, `[x, x_dot, theta, theta_dot]` rounded to float32 as Gymnasium returns it. */
  obs: Float32Array;
  /** Always 1 (also on the terminating step). */
  reward: number;
  /** The pole fell or the cart left the track. */
  terminated: boolean;
  /** The 500-step time limit was reached. */
  truncated: boolean;
}

/** One CartPole-v1 environment (the Gymnasium dynamics, float64 state, float32 observations). */
export class CartPole {
  /** `[x, x_dot, theta, theta_dot]`, float64 as in Gymnasium. */
  state: [number, number, number, number] = [0, 0, 0, 0];
  /** Steps since the last reset. */
  elapsed = 0;

  constructor(private readonly rng: SeededRandom) {}

  /** Each state variable uniform in [-0.05, 0.05); returns the observation. */
  reset(): Float32Array {
    this.state = [0, 0, 0, 0].map(() => this.rng.uniform(-0.05, 0.05)) as [number, number, number, number];
    this.elapsed = 0;
    return Float32Array.from(this.state);
  }

  /** Applies action 0 (push left) or 1 (push right) for `tau` seconds (semi-implicit Euler as in Gymnasium). */
  step(action: number): StepResult {
    const c = CARTPOLE;
    const [x, xDot, theta, thetaDot] = this.state;
    const totalMass = c.massPole + c.massCart;
    const poleMassLength = c.massPole * c.length;
    const force = action === 1 ? c.forceMag : -c.forceMag;
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    const temp = (force + poleMassLength * thetaDot * thetaDot * sin) / totalMass;
    const thetaAcc = (c.gravity * sin - cos * temp) / (c.length * (4.0 / 3.0 - (c.massPole * cos * cos) / totalMass));
    const xAcc = temp - (poleMassLength * thetaAcc * cos) / totalMass;
    // kinematics_integrator == "euler"
    this.state = [x + c.tau * xDot, xDot + c.tau * xAcc, theta + c.tau * thetaDot, thetaDot + c.tau * thetaAcc];
    this.elapsed += 1;
    const [nx, , nTheta] = this.state;
    const terminated = nx < -c.xThreshold || nx > c.xThreshold || nTheta < -c.thetaThreshold || nTheta > c.thetaThreshold;
    const truncated = this.elapsed >= c.maxSteps; // TimeLimit sets it whether or not the pole fell
    return { obs: Float32Array.from(this.state), reward: 1, terminated, truncated };
  }
}

/** A finished episode: its return (= its length in CartPole) and the global step it ended at. */
export interface Episode {
  /** Undiscounted return. */
  return: number;
  /** Number of steps. */
  length: number;
}

/**
 * `n` CartPoles stepped together, with same-step autoreset: when an episode ends, the observation
 * returned for that environment is already the first one of the next episode (Gymnasium 0.29
 * `SyncVectorEnv`, as in CleanRL). Environment `i` draws its resets from stream `100 + i` of `seed`.
 */
export class VectorCartPole {
  readonly envs: CartPole[];
  /** Current observations, `[n, 4]` row-major. */
  readonly obs: Float32Array;
  private readonly returns: number[];

  constructor(readonly n: number, seed: number) {
    this.envs = Array.from({ length: n }, (_, i) => new CartPole(new SeededRandom(seed, 100 + i)));
    this.obs = new Float32Array(n * 4);
    this.returns = new Array<number>(n).fill(0);
    this.envs.forEach((env, i) => this.obs.set(env.reset(), i * 4));
  }

  /**
   * Steps every environment; writes rewards and done flags (terminated or truncated: CleanRL treats
   * both as the end, without bootstrapping a truncated episode) into the given arrays and returns the
   * episodes that ended, in environment order.
   */
  step(actions: ArrayLike<number>, rewards: Float32Array, dones: Float32Array): Episode[] {
    const ended: Episode[] = [];
    this.envs.forEach((env, i) => {
      const r = env.step(actions[i] as number);
      this.returns[i] = (this.returns[i] as number) + r.reward;
      rewards[i] = r.reward;
      const done = r.terminated || r.truncated;
      dones[i] = done ? 1 : 0;
      if (done) {
        ended.push({ return: this.returns[i] as number, length: env.elapsed });
        this.returns[i] = 0;
        this.obs.set(env.reset(), i * 4);
      } else {
        this.obs.set(r.obs, i * 4);
      }
    });
    return ended;
  }
}
