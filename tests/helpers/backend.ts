import { useBackend, type BackendName } from '../../src/backends/use-backend';

/** Backend for the test run: TFJS_BACKEND env var, default wasm (the embedded default). */
export async function setupBackend(): Promise<string> {
  const name = (process.env.TFJS_BACKEND ?? 'wasm') as BackendName;
  return useBackend(name);
}
