// Headless Chromium for the browser tests: Debian's chromium (`apt-get install chromium`, which
// .ci/run does) driven by playwright-core. No browser is downloaded. The flags keep Chromium off the
// network (this machine's network is closed; without them it retries blocked connections).
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Debian installs Chromium; override with CHROMIUM_PATH. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** A launched browser and its cleanup. */
export interface LaunchedBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/**
 * Launches headless Chromium with a fresh profile. Throws (the test fails, it is not skipped) when
 * Chromium is missing, with the command that installs it.
 */
export async function launchChromium(): Promise<LaunchedBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` (as .ci/run does) or set CHROMIUM_PATH`);
  }
  // playwright gives every launch a fresh temporary profile of its own.
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: FLAGS });
  return { browser, close: () => browser.close() };
}
