// After useBackend('wasm'), an uncaught error in the user's program is reported by Node as usual,
// not by the wasm glue's rethrowing handlers (which print the whole minified glue source).
import { expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

it('uncaught errors after useBackend("wasm") print a normal stack trace', () => {
  const dist = pathToFileURL(resolve(__dirname, '../../dist/index.js')).href;
  const dir = mkdtempSync(join(tmpdir(), 'rlhf-err-'));
  const file = join(dir, 'boom.mjs');
  writeFileSync(file, `import { useBackend } from '${dist}';\nawait useBackend('wasm');\nthrow new Error('boom from user code');\n`);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
  rmSync(dir, { recursive: true, force: true });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('Error: boom from user code');
  expect(r.stderr).not.toContain('WasmBackendModule');
  expect(r.stderr.length).toBeLessThan(2000);
});
