/**
 * Where the wasm backend's binaries come from, remembered so that a browser's workers fetch the same
 * files as the page: the `wasmPaths` given to `useBackend`, or by default the page's folder (where
 * tfjs-backend-wasm looks when no path is set). Each is made absolute against the page, because a
 * worker resolves relative URLs against its own script.
 * @internal
 * @module
 */

/** tfjs-backend-wasm's `setWasmPaths` argument: a URL prefix, or a URL per binary. */
export type WasmPathsOption = string | Readonly<Record<string, string>>;

let configured: WasmPathsOption | undefined;

/** Records the paths handed to `setWasmPaths` on this thread. */
export function rememberWasmPaths(paths: WasmPathsOption): void {
  configured = paths;
}

/** The paths a worker should use: absolute URLs in a browser; in Node, `undefined` (the package's files). */
export function wasmPathsForWorkers(): WasmPathsOption | undefined {
  const page = (globalThis as { location?: { href?: unknown } }).location?.href;
  if (typeof page !== 'string') return undefined;
  if (configured === undefined) return new URL('./', page).href;
  if (typeof configured === 'string') return new URL(configured, page).href;
  return Object.fromEntries(Object.entries(configured).map(([file, url]) => [file, new URL(url, page).href]));
}
