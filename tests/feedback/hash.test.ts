// The one hash home (src/ops/hash.ts) replaces three copies: the collector's promptId, the
// pipeline's held-out split and the judge's per-item shuffle seed. Stored ids must not change.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fnv1a32, fnv1a64Hex, unitHash } from '../../src/ops/hash';
import { promptId } from '../../src/feedback/collect/collector';

/** The published FNV-1a test vectors, and values stored by earlier releases (pinned). */
const pinned: [string, string, number][] = [
  ['', 'cbf29ce484222325', 0.9576734252420561],
  ['a', 'af63dc4c8601ec8c', 0.010753497314070604],
  ['foobar', '85944171f73967e8', 0.2511850529620022],
  ['Tell me a joke', '38663c22617226ce', 0.17417809235991333],
  ['héllo 🙂', '7f6dbdcbd1cdc6ea', 0.10088173714831128],
];

describe('ops/hash', () => {
  it('keeps the stored outputs: FNV-1a 64 prompt ids and the held-out position', () => {
    for (const [s, id, unit] of pinned) {
      expect(fnv1a64Hex(s)).toBe(id);
      expect(promptId(s)).toBe(id);
      expect(unitHash(s)).toBe(unit);
    }
  });

  it('FNV-1a 32 matches the published vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('unitHash lies in [0, 1) and fnv1a64Hex is 16 hex digits, for any string (property)', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => {
      const u = unitHash(s);
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      expect(fnv1a64Hex(s)).toMatch(/^[0-9a-f]{16}$/);
      expect(Number.isInteger(fnv1a32(s)) && fnv1a32(s) >= 0 && fnv1a32(s) < 2 ** 32).toBe(true);
    }));
  });

  it('unitHash spreads prompts evenly: a 0.2 hold-out takes about a fifth', () => {
    let held = 0;
    for (let i = 0; i < 5000; i++) if (unitHash(`prompt ${i}`) < 0.2) held++;
    expect(held / 5000).toBeGreaterThan(0.18);
    expect(held / 5000).toBeLessThan(0.22);
  });
});
