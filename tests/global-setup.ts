// Builds dist/ once before any test file runs (the packed-tarball and example tests use the built
// package), so no test rebuilds it while another one is reading it. Skipped when dist is up to date.
// Also unpacks the npm-shipped Chromium once (when no system Chromium is used), so the browser test
// files running in parallel never unpack it at the same time.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromiumPath } from './helpers/chromium';

const root = resolve(__dirname, '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export default async function setup(): Promise<void> {
  await chromiumPath();
  buildDist();
}

function buildDist(): void {
  let built = 0;
  try {
    built = Math.min(statSync(join(root, 'dist/index.js')).mtimeMs, statSync(join(root, 'dist/index.d.ts')).mtimeMs);
  } catch {
    built = 0;
  }
  const inputs = Math.max(newestMtime(join(root, 'src')), statSync(join(root, 'package.json')).mtimeMs, statSync(join(root, 'tsup.config.ts')).mtimeMs);
  if (built > inputs) return;
  try {
    execFileSync('npx', ['tsup'], { cwd: root, stdio: 'pipe', timeout: 300_000 });
  } catch (e) {
    // The tests of the built package then fail on their own (dist/ is cleaned by tsup); the others
    // still run against src/. CI builds before testing, so a broken build fails CI there.
    const err = e as { stderr?: Buffer; message: string };
    process.stderr.write(`global-setup: \`tsup\` failed; tests of the built package will fail:\n${(err.stderr?.toString() ?? err.message).slice(0, 2000)}\n`);
  }
}
