/**
 * What the two local pages (`WebLabeler`'s labelling page, `TamerPage`'s live feedback page) share:
 * the base CSS, the Content-Security-Policy, and the script function that puts model text on the page.
 * @internal
 * @module
 */

/** CSS both local pages start from (layout, the prompt box, model text as wrapped monospace, marked code points). */
export const BASE_STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0 auto; max-width: 60rem; padding: 1rem; }
header { display: flex; justify-content: space-between; align-items: baseline; gap: 1rem; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; font-family: ui-monospace, monospace; margin: .25rem 0; }
#prompt { background: rgba(127,127,127,.12); padding: .75rem; border-radius: .4rem; }
.cp { font-size: .75em; border: 1px dashed #dc2626; border-radius: .2rem; padding: 0 .15rem; margin: 0 .05rem; color: #dc2626; }
`;

/**
 * Page script (plain ES2018) defining `showText(node, text)`: sets `node`'s content to `text` with
 * `textContent` only (markup shows as text), except that every control or format character
 * (`\p{Cc}`, `\p{Cf}`: bidi overrides such as U+202E, zero-width characters, U+061C, U+180E,
 * U+FFF9-FFFB, tags U+E0000-E007F ...) and the line/paragraph separators become a visible marked
 * code point `<span class="cp">U+202E</span>`, so model text can neither reorder nor hide what the
 * person reads. Newline and tab stay as they are.
 */
export const SHOW_TEXT_SCRIPT = `
  var INVISIBLE = /[\\p{Cc}\\p{Cf}\\u2028\\u2029]/u;
  function showText(node, text) {
    node.textContent = '';
    var run = '';
    for (var ch of String(text)) {
      if (ch !== '\\n' && ch !== '\\t' && INVISIBLE.test(ch)) {
        if (run) { node.appendChild(document.createTextNode(run)); run = ''; }
        var mark = document.createElement('span');
        mark.className = 'cp';
        mark.title = 'invisible or control character';
        mark.textContent = 'U+' + ch.codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
        node.appendChild(mark);
      } else {
        run += ch;
      }
    }
    if (run) node.appendChild(document.createTextNode(run));
  }
`;

/**
 * The Content-Security-Policy sent with a page: nothing loads or runs except the page's own
 * nonce-tagged style and script, and `fetch` to the same origin.
 * @param nonce - The nonce of this response.
 * @returns The header value.
 */
export function pageCsp(nonce: string): string {
  return [
    "default-src 'none'", `script-src 'nonce-${nonce}'`, `style-src 'nonce-${nonce}'`, "connect-src 'self'",
    "img-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  ].join('; ');
}
