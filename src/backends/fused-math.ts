/**
 * The math of the fused kernels, on plain typed arrays (row-major), so it can be property-tested
 * against the tf-op compositions it replaces. Sums are accumulated in float64; results are stored as
 * float32. Each function writes into the output arrays it is given.
 * @internal
 * @module
 */

const TANH_CLAMP = 7.90531110763549805;

/**
 * tanh to float32 accuracy: a [13/6] rational approximation on `|u| <= 7.905` (coefficients of
 * Eigen's `generic_fast_tanh_float`), and `1 - 2 / (e^{2|u|} + 1)` beyond it. Several times faster
 * than `Math.tanh` in V8.
 */
export function fastTanh(u: number): number {
  if (u > TANH_CLAMP || u < -TANH_CLAMP) {
    const t = 1 - 2 / (Math.exp(2 * Math.abs(u)) + 1);
    return u < 0 ? -t : t;
  }
  const x2 = u * u;
  const p = u * (4.89352455891786e-3 + x2 * (6.37261928875436e-4 + x2 * (1.48572235717979e-5 + x2 * (5.12229709037114e-8
    + x2 * (-8.60467152213735e-11 + x2 * (2.00018790482477e-13 + x2 * -2.76076847742355e-16))))));
  const q = 4.89352518554385e-3 + x2 * (2.268434632439e-3 + x2 * (1.18534705686654e-4 + x2 * 1.19825839466702e-6));
  return p / q;
}

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/** GELU (tanh form): `y = 0.5 x (1 + t)`, `t = tanh(c (x + a x^3))`; also stores `t` for the backward. */
export function geluForward(x: Float32Array, y: Float32Array, t: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    const th = fastTanh(GELU_C * (v + GELU_A * v * v * v));
    t[i] = th;
    y[i] = 0.5 * v * (1 + th);
  }
}

/** `dx = dy * (0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2))`. */
export function geluBackward(dy: Float32Array, x: Float32Array, t: Float32Array, dx: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    const th = t[i] as number;
    const d = 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * GELU_C * (1 + 3 * GELU_A * v * v);
    dx[i] = (dy[i] as number) * d;
  }
}

/** Column sums of `x: [rows, cols]` into `out: [cols]` (float64 accumulation). */
export function columnSums(x: Float32Array, rows: number, cols: number, out: Float32Array): void {
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const src = r * cols;
    for (let c = 0; c < cols; c++) acc[c] = (acc[c] as number) + (x[src + c] as number);
  }
  out.set(acc);
}

/**
 * LayerNorm over the last axis of `x: [rows, d]`: `xhat = (x - mean) * rstd`, `rstd = 1/sqrt(var + eps)`
 * (biased variance), `y = xhat * gamma + beta`. Stores `xhat` and `rstd` for the backward.
 */
export function layerNormForward(
  x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number, d: number,
  y: Float32Array, xhat: Float32Array, rstd: Float32Array,
): void {
  const rows = x.length / d;
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let mean = 0;
    for (let j = 0; j < d; j++) mean += x[o + j] as number;
    mean /= d;
    let vari = 0;
    for (let j = 0; j < d; j++) {
      const c = (x[o + j] as number) - mean;
      vari += c * c;
    }
    const rs = 1 / Math.sqrt(vari / d + eps);
    rstd[r] = rs;
    for (let j = 0; j < d; j++) {
      const h = ((x[o + j] as number) - mean) * rs;
      xhat[o + j] = h;
      y[o + j] = h * (gamma[j] as number) + (beta[j] as number);
    }
  }
}

/**
 * LayerNorm backward: `dxhat = dy * gamma`, `dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat))`,
 * `dgamma = sum_rows(dy xhat)`, `dbeta = sum_rows(dy)`.
 */
export function layerNormBackward(
  dy: Float32Array, xhat: Float32Array, rstd: Float32Array, gamma: Float32Array, d: number,
  dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array,
): void {
  const rows = dy.length / d;
  const dg = new Float64Array(d);
  const db = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let m1 = 0;
    let m2 = 0;
    for (let j = 0; j < d; j++) {
      const g = dy[o + j] as number;
      const h = xhat[o + j] as number;
      const dh = g * (gamma[j] as number);
      m1 += dh;
      m2 += dh * h;
      dg[j] = (dg[j] as number) + g * h;
      db[j] = (db[j] as number) + g;
    }
    m1 /= d;
    m2 /= d;
    const rs = rstd[r] as number;
    for (let j = 0; j < d; j++) {
      const dh = (dy[o + j] as number) * (gamma[j] as number);
      dx[o + j] = (dh - m1 - (xhat[o + j] as number) * m2) * rs;
    }
  }
  dgamma.set(dg);
  dbeta.set(db);
}

/**
 * Per row of `logits: [rows, V]`: `lse = log sum exp(logits)` and `logp = logits[target] - lse`
 * (a target outside `[0, V)` selects nothing: `logp = -lse`, like a zero one-hot row).
 */
export function selectedLogProbsForward(logits: Float32Array, targets: Int32Array, V: number, logp: Float32Array, lse: Float32Array): void {
  const rows = targets.length;
  for (let r = 0; r < rows; r++) {
    const o = r * V;
    let max = -Infinity;
    for (let j = 0; j < V; j++) max = Math.max(max, logits[o + j] as number);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp((logits[o + j] as number) - max);
    const l = max + Math.log(s);
    lse[r] = l;
    const t = targets[r] as number;
    logp[r] = (t >= 0 && t < V ? (logits[o + t] as number) : 0) - l;
  }
}

/** `dlogits[r, j] = dy[r] * ([j = target_r] - exp(logits[r, j] - lse[r]))`. */
export function selectedLogProbsBackward(
  dy: Float32Array, logits: Float32Array, lse: Float32Array, targets: Int32Array, V: number, dlogits: Float32Array,
): void {
  const rows = targets.length;
  for (let r = 0; r < rows; r++) {
    const o = r * V;
    const g = dy[r] as number;
    const l = lse[r] as number;
    for (let j = 0; j < V; j++) dlogits[o + j] = -g * Math.exp((logits[o + j] as number) - l);
    const t = targets[r] as number;
    if (t >= 0 && t < V) dlogits[o + t] = g * (1 - Math.exp((logits[o + t] as number) - l));
  }
}

/**
 * Attention of one new query per group (KV-cached decoding): for group `g` (batch row `g / H`),
 * `p = softmax(q_g kT_g + bias_b)` over the first `Tk` keys and `y_g = p v_g`. `q: [G, hd]` (already
 * scaled), `kT: [G, hd, cap]`, `v: [G, cap, hd]` (`cap >= Tk`), `bias: [B, Tk]`; writes `p: [G, Tk]`
 * and `y: [G, hd]`.
 */
export function decodeAttention(
  q: Float32Array, kT: Float32Array, v: Float32Array, bias: Float32Array, H: number, hd: number, Tk: number, cap: number,
  p: Float32Array, y: Float32Array,
): void {
  const G = q.length / hd;
  const s = new Float64Array(Tk);
  for (let g = 0; g < G; g++) {
    const [qo, ko, bo] = [g * hd, g * hd * cap, Math.floor(g / H) * Tk];
    let max = -Infinity;
    for (let j = 0; j < Tk; j++) {
      let acc = bias[bo + j] as number;
      for (let d = 0; d < hd; d++) acc += (q[qo + d] as number) * (kT[ko + d * cap + j] as number);
      s[j] = acc;
      max = Math.max(max, acc);
    }
    let sum = 0;
    for (let j = 0; j < Tk; j++) sum += (s[j] = Math.exp((s[j] as number) - max));
    for (let j = 0; j < Tk; j++) p[g * Tk + j] = (s[j] as number) / sum;
    for (let d = 0; d < hd; d++) {
      let acc = 0;
      for (let j = 0; j < Tk; j++) acc += ((s[j] as number) / sum) * (v[ko + j * hd + d] as number);
      y[qo + d] = acc;
    }
  }
}

/**
 * The per-row end of the SIMD forward: from each row's maximum (in `logp`) and sum of
 * `exp(logits - max)` (in `lse`), `lse = max + log(sum)` and `logp = logits[target] - lse` in place.
 */
export function finishLogProbs(logits: Float32Array, targets: Int32Array, V: number, logp: Float32Array, lse: Float32Array): void {
  for (let r = 0; r < targets.length; r++) {
    const l = (logp[r] as number) + Math.log(lse[r] as number);
    lse[r] = l;
    const t = targets[r] as number;
    logp[r] = (t >= 0 && t < V ? (logits[r * V + t] as number) : 0) - l;
  }
}

/** The per-row end of the SIMD backward: `dlogits[r, target] = dy[r] (1 - exp(logits[r, target] - lse[r]))`. */
export function addTargetTerms(dy: Float32Array, logits: Float32Array, lse: Float32Array, targets: Int32Array, V: number, dlogits: Float32Array): void {
  for (let r = 0; r < targets.length; r++) {
    const t = targets[r] as number;
    if (t >= 0 && t < V) dlogits[r * V + t] = (dy[r] as number) * (1 - Math.exp((logits[r * V + t] as number) - (lse[r] as number)));
  }
}

/**
 * Scalars of one AdamW update (see `AdamW`): `update = stepSize * m / (sqrt(v) + eps)`; the gradient
 * is multiplied by `gradScale` first (a global-norm clip factor).
 */
export interface AdamWScalars { c1: number; c2: number; stepSize: number; eps: number; decay: number; gradScale: number }

/**
 * One AdamW update of a variable: `g = fround(g * gradScale)`, `m += (g - m) c1`, `v += (g^2 - v) c2`
 * (each rounded to float32), `w = w * decay - stepSize * m / (sqrt(v) + eps)`.
 */
export function adamwUpdate(
  w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, s: AdamWScalars,
  wOut: Float32Array, mOut: Float32Array, vOut: Float32Array,
): void {
  const { c1, c2, stepSize, eps, decay, gradScale } = s;
  for (let i = 0; i < w.length; i++) {
    const gi = gradScale === 1 ? (g[i] as number) : Math.fround((g[i] as number) * gradScale);
    const mi = m[i] as number;
    const vi = v[i] as number;
    const mn = Math.fround(mi + (gi - mi) * c1);
    const vn = Math.fround(vi + (gi * gi - vi) * c2);
    mOut[i] = mn;
    vOut[i] = vn;
    wOut[i] = (w[i] as number) * decay - (mn * stepSize) / (Math.sqrt(vn) + eps);
  }
}

/** `sum_i sum(x_i^2)` over several arrays (float64 accumulation, in order). */
export function sumOfSquares(xs: readonly Float32Array[]): number {
  let s = 0;
  for (const x of xs) {
    let part = 0;
    for (let i = 0; i < x.length; i++) part += (x[i] as number) * (x[i] as number);
    s += part;
  }
  return s;
}
