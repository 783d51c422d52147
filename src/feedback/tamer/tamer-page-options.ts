/**
 * Options of `TamerPage` and their validation.
 * @module
 */
import { ConfigError } from '../../errors';
import type { Logger } from '../../logging/logger';
import { checkServerAddress, type ServerAddress } from '../../http/local-server';
import { systemClock, TamerFeedback, type TamerClock, type TamerRewardOptions } from './tamer';

/** Options of {@link TamerPage.start}. */
export interface TamerPageOptions {
  /** Receives the shown intervals and the presses, and computes the rewards. Required. */
  feedback: TamerFeedback;
  /** TCP port; `0` picks a free one (read it from {@link TamerPage.url}). Default `0`. */
  port?: number;
  /** Interface to bind. Default `'127.0.0.1'` (this machine only); other values expose the page (and log a warning). */
  host?: string;
  /** Host names accepted in the `Host` header besides the loopback ones and `host`; `['*']` accepts any. Default `[]`. */
  allowedHosts?: string[];
  /** Session token required by every request. Default: 32 random hex digits. */
  token?: string;
  /** How long each sample stays on screen, ms. Default `3000`. */
  displayMs?: number;
  /** Largest accepted POST body in bytes. Default `4096`. */
  maxBodyBytes?: number;
  /** Time source; must be the clock the `feedback` uses. Default {@link systemClock} (as `TamerFeedback`'s). */
  clock?: TamerClock;
  /** Receives server messages (start, waiting for a page, rejected requests, each sample and press at `debug`). Default: silent. */
  logger?: Logger;
}

/** Options of {@link TamerPage.rewardFunction}: those of {@link TamerFeedback.rewardFunction} but `present`, plus one. */
export interface TamerPageRewardOptions extends Omit<TamerRewardOptions, 'present' | 'timeoutMs'> {
  /**
   * Longest wait after the page has played the batch for the credit windows to close, ms.
   * Default: the feedback's `maxDelayMs` + 1000 (enough: the wait only starts once the batch has played).
   */
  timeoutMs?: number;
  /**
   * Longest wait for a page to be open before each sample, ms; when it passes, the batch's samples not
   * yet shown are dropped (they score `noFeedbackReward`). Default `Infinity`: wait for the person.
   */
  viewerTimeoutMs?: number;
}

/** Resolved options. @internal */
export type TamerPageSettings = Required<Omit<TamerPageOptions, 'logger' | 'feedback' | 'allowedHosts'>> & ServerAddress;

/** Validates the options once. @internal */
export function checkTamerPageOptions(o: TamerPageOptions): TamerPageSettings {
  if (!(o?.feedback instanceof TamerFeedback)) throw new ConfigError('feedback', o?.feedback, 'must be a TamerFeedback');
  const address = checkServerAddress(o);
  const displayMs = o.displayMs ?? 3000;
  if (typeof displayMs !== 'number' || !Number.isFinite(displayMs) || displayMs < 1) throw new ConfigError('displayMs', displayMs, 'must be a finite number >= 1');
  const maxBodyBytes = o.maxBodyBytes ?? 4096;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 64) throw new ConfigError('maxBodyBytes', maxBodyBytes, 'must be an integer >= 64');
  const clock = o.clock ?? systemClock;
  if (typeof clock?.now !== 'function' || typeof clock.sleep !== 'function') throw new ConfigError('clock', clock, 'must have now() and sleep(ms)');
  return { ...address, displayMs, maxBodyBytes, clock };
}
