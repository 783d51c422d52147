/**
 * The one home for reaching into tfjs-backend-wasm 4.22's memory from TypeScript kernels: the
 * internals they use, output allocation, and typed-array views onto the wasm heap (no copies).
 *
 * Views die when the heap grows (every allocation may grow it), so a kernel allocates all its outputs
 * first ({@link allocate}) and only then takes views ({@link f32}, {@link i32}).
 * @internal
 * @module
 */
import { tf } from '../tf';

/** What the kernels use of tfjs-backend-wasm's `BackendWasm`. */
export interface WasmBackendInternals {
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined; delete(dataId: object): boolean };
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: ArrayLike<number>): tf.TensorInfo;
  readSync(dataId: object): ArrayLike<number>;
  wasm: {
    HEAPU8: Uint8Array;
    /** The instance's exports; `memory` is the heap's `WebAssembly.Memory` (absent in some builds). */
    asm?: { memory?: unknown };
    /** The heap's `WebAssembly.Memory` in the threaded build (which imports it instead of exporting it). */
    wasmMemory?: unknown;
    cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
    tfjs: { disposeData(id: number): void };
  };
}

/** The kernel's backend, typed as the internals it uses. */
export function internals(backend: unknown): WasmBackendInternals {
  return backend as WasmBackendInternals;
}

/** Allocates float32 outputs of the given shapes (before any view is taken). */
export function allocate(be: WasmBackendInternals, ...shapes: number[][]): tf.TensorInfo[] {
  return shapes.map((s) => be.makeOutput(s, 'float32'));
}

function offset(be: WasmBackendInternals, t: tf.TensorInfo): number {
  return (be.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset;
}

function size(t: tf.TensorInfo): number {
  return t.shape.reduce((a, d) => a * d, 1);
}

/** A float32 view of a tensor's data on the wasm heap (valid until the next allocation). */
export function f32(be: WasmBackendInternals, t: tf.TensorInfo): Float32Array {
  return new Float32Array(be.wasm.HEAPU8.buffer, offset(be, t), size(t));
}

/** An int32 view of a tensor's data on the wasm heap (valid until the next allocation). */
export function i32(be: WasmBackendInternals, t: tf.TensorInfo): Int32Array {
  return new Int32Array(be.wasm.HEAPU8.buffer, offset(be, t), size(t));
}

/** The byte offset of a tensor's data on the wasm heap. */
export function heapOffset(be: WasmBackendInternals, t: tf.TensorInfo): number {
  return offset(be, t);
}
