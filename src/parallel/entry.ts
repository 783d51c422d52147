/**
 * Where the worker entry lives in Node. The package ships it as `dist/worker.js` next to
 * `dist/index.js` / `dist/index.cjs` (a separate tsup entry, ./worker-entry, bundled on its own; every
 * kind of worker runs it). When the library runs from its TypeScript sources (vitest, tsx), the worker
 * still runs the built entry: Node cannot load tfjs-core's deep ESM imports from source, so build first
 * (`npm run build`; the test suite's global setup does).
 * @internal
 * @module
 */
import { RlhfError } from '../errors';

/** File name of the bundled worker entry. */
export const WORKER_ENTRY = 'worker.js';

/** URL of this module (CommonJS build: from `__filename`; ESM build and sources: `import.meta.url`). */
async function thisModuleUrl(): Promise<string> {
  if (typeof __filename === 'string') {
    const { pathToFileURL } = await import('node:url');
    return pathToFileURL(__filename).href;
  }
  return import.meta.url;
}

/** The worker entry's URL; throws {@link RlhfError} naming the path when it is missing. */
export async function workerEntryUrl(entry: string = WORKER_ENTRY): Promise<URL> {
  const here = await thisModuleUrl();
  const fromSource = /\.[cm]?ts$/.test(new URL(here).pathname);
  const name = entry; // through a variable, so browser bundlers do not try to bundle it
  const url = new URL(fromSource ? `../../dist/${name}` : `./${name}`, here);
  const { existsSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  if (!existsSync(fileURLToPath(url))) {
    throw new RlhfError(`the worker entry ${fileURLToPath(url)} is missing${fromSource ? ': run `npm run build` first (workers run the built bundle)' : ''}`);
  }
  return url;
}
