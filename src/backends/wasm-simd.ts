/**
 * The fused SIMD kernels (`simd/kernels.ll`, built into `simd-module.ts`), instantiated on
 * tfjs-backend-wasm's own memory so they read and write tensors in place: arguments are heap byte
 * offsets. They compute in float32 lanes, four at a time (V8 does not vectorise the TypeScript
 * kernels of `fused-math.ts`, which remain the fallback and the reference).
 *
 * Two variants: one importing a plain memory, one a shared memory (the threaded build that a
 * cross-origin-isolated page may load). Where neither can run (no WebAssembly SIMD),
 * {@link simdKernels} returns null and the kernels use the TypeScript math.
 * @internal
 * @module
 */
import { SIMD_MODULE_BASE64, SIMD_MODULE_SHARED_BASE64 } from './simd-module';
import type { WasmBackendInternals } from './wasm-heap';

/** The kernels, over heap byte offsets (see `fused-math.ts` for the math of each). */
export interface SimdKernels {
  /** GELU: `y`, `t = tanh(...)` from `x`, `n` elements. */
  geluForward(x: number, y: number, t: number, n: number): void;
  /** GELU backward: `dx` from `dy`, `x`, `t`, `n` elements. */
  geluBackward(dy: number, x: number, t: number, dx: number, n: number): void;
  /** One AdamW update of `n` elements into `wo`, `mo`, `vo`. */
  adamw(w: number, m: number, v: number, g: number, wo: number, mo: number, vo: number, n: number,
    c1: number, c2: number, stepSize: number, eps: number, decay: number, gradScale: number): void;
  /** LayerNorm over `rows` rows of `d`: `y`, `xhat`, `rstd`. */
  layerNormForward(x: number, gamma: number, beta: number, eps: number, rows: number, d: number, y: number, xhat: number, rstd: number): void;
  /** LayerNorm backward: `dx`, `dgamma`, `dbeta`. */
  layerNormBackward(dy: number, xhat: number, rstd: number, gamma: number, rows: number, d: number, dx: number, dgamma: number, dbeta: number): void;
  /** Per row of `logits: [rows, V]`: its maximum into `max`, `sum exp(logits - max)` into `sum`. */
  rowMaxSumExp(logits: number, rows: number, V: number, max: number, sum: number): void;
  /** `dl[r, j] = -dy[r] exp(logits[r, j] - lse[r])`. */
  negScaledSoftmax(dy: number, logits: number, lse: number, rows: number, V: number, dl: number): void;
  /** Column sums of `x: [rows, cols]` (float64 accumulation) into `out`. */
  columnSums(x: number, rows: number, cols: number, out: number): void;
  /** `sum(x^2)` of `n` floats, accumulated in float64. */
  sumSquares(x: number, n: number): number;
  /** One query per group against the first `Tk` of `cap` cached keys: `p: [G, Tk]`, `y: [G, hd]` (see `fused-math.ts`). */
  decodeAttention(q: number, kT: number, v: number, bias: number, G: number, H: number, hd: number, Tk: number, cap: number, p: number, y: number): void;
}

/**
 * The backend's heap as a `WebAssembly.Memory`: exported by the single-threaded builds (`asm.memory`),
 * created in JavaScript and imported by the threaded one (`wasmMemory`).
 */
function heapMemory(be: WasmBackendInternals): WebAssembly.Memory | undefined {
  const m = be.wasm?.asm?.memory ?? be.wasm?.wasmMemory;
  return m instanceof WebAssembly.Memory ? m : undefined;
}

/** The compiled variants (plain memory, shared memory), once each; null where compiling failed. */
const compiled: { plain?: WebAssembly.Module | null; shared?: WebAssembly.Module | null } = {};
type Variant = keyof typeof compiled;
const SOURCES: Record<Variant, string> = { plain: SIMD_MODULE_BASE64, shared: SIMD_MODULE_SHARED_BASE64 };
const instances = new WeakMap<WebAssembly.Memory, SimdKernels | null>();
let enabled = true;

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Compiles the variant a started wasm backend needs, asynchronously (once), so that
 * {@link simdKernels} need not compile it synchronously: browsers refuse synchronous compilation of
 * modules over 4 KiB on the main thread. `useBackend('wasm')` calls it; where it was not called, the
 * first kernel compiles synchronously (fine in Node and in workers) or, where that is refused, runs the
 * TypeScript math.
 */
export async function prepareSimdKernels(be: WasmBackendInternals): Promise<void> {
  const memory = heapMemory(be);
  if (memory === undefined) return;
  const v = variantFor(memory);
  if (compiled[v] !== undefined) return;
  try {
    compiled[v] = await WebAssembly.compile(decodeBase64(SOURCES[v]));
  } catch {
    compiled[v] = null; // never fails the backend: the kernels then run their TypeScript math
  }
}

/** The compiled variant, or null where this engine cannot compile it (compiled once). */
function simdModule(v: Variant): WebAssembly.Module | null {
  if (compiled[v] === undefined) {
    try {
      compiled[v] = new WebAssembly.Module(decodeBase64(SOURCES[v]));
    } catch {
      compiled[v] = null;
    }
  }
  return compiled[v] ?? null;
}

/** The variant whose memory import matches `memory` (shared or not). */
function variantFor(memory: WebAssembly.Memory): Variant {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer ? 'shared' : 'plain';
}

/** The kernels bound to `memory`, or null where they cannot run on it. */
export function simdKernelsFor(memory: WebAssembly.Memory): SimdKernels | null {
  let k = instances.get(memory);
  if (k !== undefined) return k;
  k = null;
  const mod = simdModule(variantFor(memory));
  if (mod !== null) {
    try {
      const e = new WebAssembly.Instance(mod, { env: { __linear_memory: memory } }).exports as Record<string, (...a: number[]) => void>;
      k = {
        geluForward: e.gelu_forward as SimdKernels['geluForward'],
        geluBackward: e.gelu_backward as SimdKernels['geluBackward'],
        adamw: e.adamw as SimdKernels['adamw'],
        layerNormForward: e.layernorm_forward as SimdKernels['layerNormForward'],
        layerNormBackward: e.layernorm_backward as SimdKernels['layerNormBackward'],
        rowMaxSumExp: e.row_max_sumexp as SimdKernels['rowMaxSumExp'],
        negScaledSoftmax: e.neg_scaled_softmax as SimdKernels['negScaledSoftmax'],
        columnSums: e.column_sums as SimdKernels['columnSums'],
        sumSquares: e.sum_squares as unknown as SimdKernels['sumSquares'],
        decodeAttention: e.decode_attention as SimdKernels['decodeAttention'],
      };
    } catch {
      k = null;
    }
  }
  instances.set(memory, k);
  return k;
}

/** The kernels on a wasm backend's heap, or null (disabled, or they cannot run there). */
export function simdKernels(be: WasmBackendInternals): SimdKernels | null {
  const memory = heapMemory(be);
  if (!enabled || memory === undefined) return null;
  return simdKernelsFor(memory);
}

/**
 * Turns the SIMD kernels off (`false`: the fused kernels use their TypeScript math) or back on
 * (`true`, the default). For tests that compare the two.
 */
export function setSimdKernels(on: boolean): void {
  enabled = on;
}
