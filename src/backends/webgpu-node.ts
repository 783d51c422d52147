/**
 * WebGPU in Node through Dawn: the `webgpu` npm package ships Dawn's prebuilt `dawn.node` (Vulkan on
 * Linux, Metal on macOS, D3D12 on Windows; nothing is downloaded at install), and
 * `@tensorflow/tfjs-backend-webgpu` runs on it. Both are optional peers, imported lazily.
 *
 * What this module works around (tfjs-backend-webgpu 4.22, webgpu 0.6):
 * - the backend registers itself only if `navigator.gpu` exists when it is imported, and asks for an
 *   adapter without `featureLevel`, which a GL adapter needs (`'compatibility'`). So we choose the
 *   adapter ourselves and register a backend factory that uses it;
 * - Dawn's OpenGL ES backend needs `EGL_PLATFORM=surfaceless` on a machine without a display;
 * - `dataSync()` needs `OffscreenCanvas` on this backend, which Node lacks: the library reads with `await data()`.
 * @module
 */
import { tf } from '../tf';

/** Options for the WebGPU backend in Node (`useBackend('webgpu', { webgpu })`). */
export interface WebGpuOptions {
  /**
   * Dawn instance flags for `webgpu`'s `create()`, tried as one set: e.g. `['backend=vulkan']`,
   * `['backend=opengles']`, `['adapter=NVIDIA']` to pick one of several GPUs by name. Default: Dawn's
   * platform default (Vulkan / Metal / D3D12), then on Linux OpenGL ES and OpenGL.
   */
  dawnFlags?: readonly string[];
  /**
   * Accept a software adapter (llvmpipe, lavapipe, SwiftShader, WARP): correct but slower than wasm.
   * Default `true` for `useBackend('webgpu')`; `'auto'` never takes one.
   */
  allowSoftware?: boolean;
  /** Adapter power preference. Default `'high-performance'`. */
  powerPreference?: 'high-performance' | 'low-power';
}

/** The adapter the WebGPU backend runs on. */
export interface WebGpuAdapterSummary {
  /** Vendor string Dawn reports (may be empty for GL adapters). */
  vendor: string;
  /** Architecture string Dawn reports (may be empty). */
  architecture: string;
  /** Device name, e.g. `'NVIDIA H200'` or `'llvmpipe-llvm-15-0-6-256-bits-'`. */
  device: string;
  /** Driver description, e.g. `'OpenGL version OpenGL ES 3.2 Mesa 22.3.6'`. */
  description: string;
  /** The Dawn flags that found it. */
  dawnFlags: string[];
  /** True for a software rasteriser (llvmpipe, lavapipe, SwiftShader, WARP). */
  software: boolean;
}

interface AdapterInfoLike { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean }
interface AdapterLike { info?: AdapterInfoLike; features: Set<string>; limits: Record<string, number>; requestDevice(d: unknown): Promise<unknown> }
interface GpuLike { requestAdapter(o?: Record<string, unknown>): Promise<AdapterLike | null> }
interface DawnModule { create(flags: string[]): GpuLike; globals: Record<string, unknown> }
type BackendCtor = new (device: unknown, info?: unknown) => tf.KernelBackend;

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|software|microsoft basic render|warp/i;
const VULKAN_ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

/** The live Dawn instance (kept referenced: a collected instance loses its devices) and what it found. */
let state: { gpu: GpuLike; adapterOptions: Record<string, unknown>; summary: WebGpuAdapterSummary; installedNavigator: boolean } | undefined;

/** The adapter `useBackend('webgpu')` chose in Node, or `undefined` when none was set up. */
export function webgpuAdapter(): WebGpuAdapterSummary | undefined {
  return state === undefined ? undefined : { ...state.summary, dawnFlags: [...state.summary.dawnFlags] };
}

function isSoftware(info: AdapterInfoLike): boolean {
  return info.isFallbackAdapter === true || SOFTWARE.test(`${info.device ?? ''} ${info.description ?? ''}`);
}

/** Dawn flag sets to try, in order. */
async function flagSets(options: WebGpuOptions, hardwareOnly: boolean): Promise<string[][]> {
  if (options.dawnFlags !== undefined) return [[...options.dawnFlags]];
  if (process.platform !== 'linux') return [[]];
  // Without a Vulkan driver manifest the loader finds nothing: skip the probe (it only prints a warning).
  const { existsSync } = await import('node:fs');
  const vulkan = process.env.VK_ICD_FILENAMES !== undefined || process.env.VK_DRIVER_FILES !== undefined
    || VULKAN_ICD_DIRS.some((d) => existsSync(d));
  const sets = vulkan ? [[]] : [];
  // GL adapters on a headless Linux machine are llvmpipe in practice; 'auto' wants hardware only.
  return hardwareOnly ? sets : [...sets, ['backend=opengles'], ['backend=opengl']];
}

async function findAdapter(dawn: DawnModule, options: WebGpuOptions, hardwareOnly: boolean) {
  const allowSoftware = !hardwareOnly && (options.allowSoftware ?? true);
  const powerPreference = options.powerPreference ?? 'high-performance';
  if (process.platform === 'linux') process.env.EGL_PLATFORM ??= 'surfaceless';
  for (const flags of await flagSets(options, hardwareOnly)) {
    const gpu = dawn.create(flags);
    for (const adapterOptions of [{ powerPreference }, { powerPreference, featureLevel: 'compatibility' }]) {
      const adapter = await gpu.requestAdapter(adapterOptions);
      if (adapter === null) continue;
      const info = adapter.info ?? {};
      const summary: WebGpuAdapterSummary = {
        vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '',
        description: info.description ?? '', dawnFlags: flags, software: isSoftware(info),
      };
      if (summary.software && !allowSoftware) break;
      return { gpu, adapterOptions, summary };
    }
  }
  return undefined;
}

/** The device tfjs-backend-webgpu's own factory would request, on our adapter. */
async function requestDevice(adapter: AdapterLike): Promise<unknown> {
  const requiredFeatures = ['timestamp-query'].filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  return adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    },
  });
}

/**
 * Finds a Dawn adapter, makes `navigator.gpu` available and registers the `'webgpu'` backend on it.
 * Returns the adapter, or `undefined` when `webgpu` / `@tensorflow/tfjs-backend-webgpu` are not
 * installed or no acceptable adapter exists (`hardwareOnly` rejects software adapters).
 */
export async function setupNodeWebGpu(options: WebGpuOptions, hardwareOnly: boolean): Promise<WebGpuAdapterSummary | undefined> {
  if (state !== undefined && (!hardwareOnly || !state.summary.software)) return webgpuAdapter();
  let dawn: DawnModule;
  try {
    dawn = (await import(/* @vite-ignore */ 'webgpu')) as unknown as DawnModule;
  } catch {
    return undefined;
  }
  const found = await findAdapter(dawn, options, hardwareOnly);
  if (found === undefined) return undefined;
  const g = globalThis as { navigator?: { gpu?: unknown } };
  // tfjs-backend-webgpu uses the GPUBufferUsage / GPUMapMode / ... constants as globals.
  for (const [k, v] of Object.entries(dawn.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  const wrapped = { requestAdapter: () => found.gpu.requestAdapter(found.adapterOptions), getPreferredCanvasFormat: () => 'rgba8unorm' };
  let installedNavigator = false;
  if (g.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: wrapped }, configurable: true, writable: true });
    installedNavigator = true;
  } else if (g.navigator.gpu === undefined) {
    g.navigator.gpu = wrapped;
    installedNavigator = true;
  }
  let ctor: BackendCtor;
  try {
    ctor = ((await import(/* @vite-ignore */ '@tensorflow/tfjs-backend-webgpu')) as unknown as { WebGPUBackend: BackendCtor }).WebGPUBackend;
  } catch {
    if (installedNavigator) delete g.navigator;
    return undefined;
  }
  // Our factory replaces the one the package registers (it asks for an adapter without featureLevel).
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', async () => {
    const adapter = await found.gpu.requestAdapter(found.adapterOptions);
    if (adapter === null) throw new Error('the WebGPU adapter went away');
    return new ctor(await requestDevice(adapter), adapter.info);
  }, 3);
  state = { gpu: found.gpu, adapterOptions: found.adapterOptions, summary: found.summary, installedNavigator };
  return webgpuAdapter();
}

/**
 * Releases the Node WebGPU backend: removes the `'webgpu'` backend from tfjs (disposing its device
 * buffers) and the `navigator.gpu` this module installed, and drops the Dawn instance. Switch to
 * another backend first if `'webgpu'` is active. Safe to call when WebGPU was never set up.
 */
export function releaseWebGpu(): void {
  if (state === undefined) return;
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (state.installedNavigator && g.navigator !== undefined) {
    if (Object.keys(g.navigator).length === 1) delete g.navigator;
    else delete g.navigator.gpu;
  }
  state = undefined;
}
