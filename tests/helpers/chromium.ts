// Headless Chromium for the browser tests, driven by playwright-core (no browser download at run time).
// Which Chromium: CHROMIUM_PATH when set, else a system Chromium when one is installed, else the one the
// npm registry ships inside the `@sparticuz/chromium` dev dependency (a brotli-compressed binary that is
// unpacked once into node_modules/.cache). So `npm ci && npm test` needs nothing but Node and npm.
// The flags keep Chromium off the network (this machine's network is closed; without them it retries
// blocked connections).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

/** System Chromium locations tried in order when CHROMIUM_PATH is not set. */
export const SYSTEM_CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** Where the npm-shipped Chromium is unpacked (one folder, renamed into place when complete). */
export const NPM_CHROMIUM_DIR = fileURLToPath(new URL('../../node_modules/.cache/tfjs-rlhf-chromium', import.meta.url));

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/**
 * Unpacks `@sparticuz/chromium` into {@link NPM_CHROMIUM_DIR} unless it is there already. The package
 * unpacks into `os.tmpdir()`; pointing TMPDIR at a fresh folder and renaming that folder into place
 * makes the result all-or-nothing (a killed unpack leaves only an `unpack-*` folder, never a
 * half-written binary that a later run would trust).
 */
export async function unpackNpmChromium(): Promise<string> {
  const binary = join(NPM_CHROMIUM_DIR, 'chromium');
  if (existsSync(binary)) return binary;
  const cache = resolve(NPM_CHROMIUM_DIR, '..');
  await mkdir(cache, { recursive: true });
  const work = await mkdtemp(join(cache, 'unpack-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = work;
  try {
    const { default: npmChromium } = await import('@sparticuz/chromium');
    const unpacked = await npmChromium.executablePath();
    if (unpacked !== join(work, 'chromium')) throw new Error(`@sparticuz/chromium unpacked to ${unpacked}, expected ${work}`);
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  }
  try {
    await rename(work, NPM_CHROMIUM_DIR);
  } catch (e) {
    // Another process finished first: keep its copy.
    await rm(work, { recursive: true, force: true });
    if (!existsSync(binary)) throw e;
  }
  return binary;
}

/** The Chromium the tests use: CHROMIUM_PATH, a system Chromium, or the npm-shipped one. */
export async function chromiumPath(): Promise<string> {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`);
    return fromEnv;
  }
  const system = SYSTEM_CHROMIUM_PATHS.find((p) => existsSync(p));
  return system ?? unpackNpmChromium();
}

/** A launched browser and its cleanup. */
export interface LaunchedBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/** Launches headless Chromium with a fresh profile (playwright gives every launch its own). */
export async function launchChromium(): Promise<LaunchedBrowser> {
  const browser = await chromium.launch({ executablePath: await chromiumPath(), headless: true, args: FLAGS });
  return { browser, close: () => browser.close() };
}
