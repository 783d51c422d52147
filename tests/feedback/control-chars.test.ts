// Control and format characters (\p{Cc}\p{Cf}) in model text: the terminal shows every one as a
// visible escape, the pages as a marked code point (issue 10 section 2: bidi overrides shown raw,
// U+061C, U+E0000-E007F, U+FFF9-FFFB, U+180E let through).
import { describe, expect, it } from 'vitest';
import { runInNewContext } from 'node:vm';
import { escapeForTerminal } from '../../src/feedback/labelers/terminal-labeler';
import { labelPage } from '../../src/feedback/labelers/web-page';
import { tamerPageHtml } from '../../src/feedback/tamer/tamer-page-html';
import { SHOW_TEXT_SCRIPT } from '../../src/feedback/page-common';

const INVISIBLE = /[\p{Cc}\p{Cf}]/u;

/** Every code point in \p{Cc} or \p{Cf}. */
function controlAndFormat(): number[] {
  const out: number[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (INVISIBLE.test(String.fromCodePoint(cp))) out.push(cp);
  }
  return out;
}

describe('escapeForTerminal', () => {
  it('turns every \\p{Cc} and \\p{Cf} code point except newline and tab into a visible escape', () => {
    const all = controlAndFormat();
    expect(all.length).toBeGreaterThan(200);
    for (const cp of all) {
      const c = String.fromCodePoint(cp);
      const out = escapeForTerminal(`a${c}b`);
      if (c === '\n' || c === '\t') {
        expect(out).toBe(`a${c}b`);
        continue;
      }
      expect(INVISIBLE.test(out), cp.toString(16)).toBe(false);
      expect(out).toMatch(/^a\\(x[0-9a-f]{2}|u[0-9a-f]{4}|u\{[0-9a-f]{5,6}\})b$/);
    }
  });

  it('escapes the characters the red-team pass found let through', () => {
    expect(escapeForTerminal('\u061c\u180e\ufff9\ufffa\ufffb')).toBe('\\u061c\\u180e\\ufff9\\ufffa\\ufffb');
    expect(escapeForTerminal('\u{e0001}\u{e0041}\u{e007f}')).toBe('\\u{e0001}\\u{e0041}\\u{e007f}');
    expect(escapeForTerminal('evil\u202etxt.exe\u2066')).toBe('evil\\u202etxt.exe\\u2066');
    expect(escapeForTerminal('\x1b[2J\r\u0085\ud800')).toBe('\\x1b[2J\\x0d\\x85\\ud800');
    expect(escapeForTerminal('héllo – 世界 🙂')).toBe('héllo – 世界 🙂');
  });
});

/** A minimal DOM: enough for showText (text nodes and spans), recording what was put where. */
function fakeDom() {
  interface Node { kind: 'text' | 'span'; text: string; className?: string }
  const make = () => ({
    children: [] as Node[],
    set textContent(v: string) { this.children = v === '' ? [] : [{ kind: 'text', text: v }]; },
    appendChild(n: { kind: 'text' | 'span'; text?: string; className?: string; textContent?: string }) {
      this.children.push({ kind: n.kind, text: n.kind === 'span' ? (n.textContent as string) : (n.text as string), className: n.className });
    },
  });
  const document = {
    createTextNode: (text: string) => ({ kind: 'text', text }),
    createElement: () => ({ kind: 'span', className: '', title: '', textContent: '' }),
  };
  const context: Record<string, unknown> = { document };
  runInNewContext(`${SHOW_TEXT_SCRIPT}; this.showText = showText;`, context);
  return { node: make(), showText: context.showText as (node: unknown, text: string) => void };
}

describe('the pages: showText', () => {
  it('shows bidi overrides and every other control or format character as a marked code point', () => {
    const { node, showText } = fakeDom();
    showText(node, 'abc\u202Efdp.exe\n\tx\u061Cy\u{E0041}<b>z</b>\r');
    expect(node.children).toEqual([
      { kind: 'text', text: 'abc' }, { kind: 'span', text: 'U+202E', className: 'cp' },
      { kind: 'text', text: 'fdp.exe\n\tx' }, { kind: 'span', text: 'U+061C', className: 'cp' },
      { kind: 'text', text: 'y' }, { kind: 'span', text: 'U+E0041', className: 'cp' },
      { kind: 'text', text: '<b>z</b>' }, { kind: 'span', text: 'U+000D', className: 'cp' },
    ]);
    for (const cp of controlAndFormat()) {
      const c = String.fromCodePoint(cp);
      showText(node, c);
      if (c === '\n' || c === '\t') expect(node.children).toEqual([{ kind: 'text', text: c }]);
      else expect(node.children.map((n) => n.kind), cp.toString(16)).toEqual(['span']);
    }
  });

  it('both pages put model text on screen through showText only', () => {
    const label = labelPage('n0nce');
    const tamer = tamerPageHtml('n0nce');
    for (const html of [label, tamer]) {
      expect(html).toContain('function showText(node, text)');
      expect(html).not.toMatch(/textContent = (it|s)\.prompt/);
      const script = /<script nonce="n0nce">([\s\S]*)<\/script>/.exec(html)?.[1] as string;
      expect(() => new Function(script)).not.toThrow(); // the embedded script parses
    }
    expect(label).toContain("showText($('prompt'), it.prompt)");
    expect(label).toContain('showText(body, text)');
    expect(tamer).toContain("showText($('prompt'), s.prompt)");
    expect(tamer).toContain("showText($('response'), chars.slice(0, n).join(''))");
  });
});
