/**
 * The library's one home for non-cryptographic string hashes: FNV-1a in its 32-bit and 64-bit forms,
 * and a stable position in [0, 1). Their outputs are stored (prompt ids in comparison files, held-out
 * splits, per-item shuffles), so they never change.
 * @module
 */

const MASK64 = 0xffffffffffffffffn;

/**
 * 32-bit FNV-1a of a string's UTF-16 code units (not its UTF-8 bytes), as an unsigned integer.
 * @param s - Any string.
 * @returns An integer in [0, 2^32).
 */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * 64-bit FNV-1a of a string's UTF-8 bytes, as 16 lower-case hex digits (the prompt id of the
 * preference files, `promptId`).
 * @param s - Any string.
 * @returns 16 hex digits.
 */
export function fnv1a64Hex(s: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(s)) h = ((h ^ BigInt(byte)) * 0x100000001b3n) & MASK64;
  return h.toString(16).padStart(16, '0');
}

/**
 * A string's stable position in [0, 1): {@link fnv1a64Hex} through the SplitMix64 finaliser (FNV's
 * high bits mix poorly), top 53 bits. Used to hold out a fixed fraction of prompts across rounds.
 * @param s - Any string.
 * @returns A number in [0, 1).
 */
export function unitHash(s: string): number {
  let z = BigInt(`0x${fnv1a64Hex(s)}`);
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  z ^= z >> 31n;
  return Number(z >> 11n) / 2 ** 53;
}
