/**
 * The live feedback page served by `TamerPage`: one self-contained HTML document (inline CSS and JS,
 * both allowed only through a per-response nonce in the Content-Security-Policy). It receives the
 * samples as Server-Sent Events (`GET /api/stream`), reveals each response progressively, and POSTs
 * every +1 / -1 press at once (`POST /api/feedback`). Model text is put into the page with
 * `textContent` only, so a response that contains markup shows as text and never runs; control and
 * format characters (bidi overrides ...) show as marked code points (`showText`).
 * @module
 */
import { BASE_STYLE, SHOW_TEXT_SCRIPT } from '../page-common';

const STYLE = `${BASE_STYLE}#response { border: 2px solid rgba(127,127,127,.4); border-radius: .5rem; padding: .75rem; min-height: 4rem; transition: border-color .15s; }
body.up #response { border-color: #16a34a; }
body.down #response { border-color: #dc2626; }
progress { width: 100%; }
.actions { display: flex; gap: 1rem; margin: .75rem 0; }
button { font-size: 1.25rem; padding: .5rem 1.5rem; }
.help { font-size: .9rem; opacity: .85; }
kbd { border: 1px solid rgba(127,127,127,.6); border-radius: .25rem; padding: 0 .3rem; }
#error { color: #dc2626; min-height: 1.2em; }
`;

const BODY = `
<header><h1>Live feedback</h1><span id="status" role="status" aria-live="polite">Connecting&hellip;</span></header>
<p class="help">Samples stream by one after another. Press <kbd>&uarr;</kbd> or <kbd>+</kbd> (or the
button) when you like what you see, <kbd>&darr;</kbd> or <kbd>-</kbd> when you do not; press as often as
you want. A press counts for what was on screen a moment before it.</p>
<p id="waiting">Waiting for the next sample&hellip;</p>
<main id="main" hidden>
  <p id="position"></p>
  <h2>Prompt</h2>
  <pre id="prompt"></pre>
  <h2>Response</h2>
  <pre id="response"></pre>
  <progress id="time" max="1" value="0"></progress>
</main>
<div class="actions"><button id="plus" type="button">+1 (&uarr;)</button>
<button id="minus" type="button">&minus;1 (&darr;)</button></div>
<p id="sent"></p>
<p id="error" role="alert"></p>
`;

/* The page script. Plain ES2018, no template literals (this file embeds it in one). */
const SCRIPT = `
'use strict';
(function () {
${SHOW_TEXT_SCRIPT}
  var token = new URLSearchParams(location.search).get('token') || '';
  var $ = function (id) { return document.getElementById(id); };
  var sample = null, shownAt = 0, chars = [], shownChars = 0, timer = 0, flash = 0, sent = 0;

  function tick() {
    if (!sample) return;
    var elapsed = performance.now() - shownAt;
    var revealMs = sample.displayMs / 2;
    var n = revealMs > 0 ? Math.ceil(chars.length * Math.min(1, elapsed / revealMs)) : chars.length;
    if (shownChars !== n) { showText($('response'), chars.slice(0, n).join('')); shownChars = n; }
    if (n >= chars.length) document.body.dataset.revealed = '1';
    $('time').value = Math.min(1, elapsed / sample.displayMs);
  }

  function show(s) {
    sample = s;
    shownAt = performance.now() - s.elapsedMs;
    chars = Array.from(s.response);
    showText($('prompt'), s.prompt);
    $('response').textContent = '';
    shownChars = 0;
    $('position').textContent = 'Sample ' + (s.index + 1) + ' of ' + s.count;
    document.body.dataset.revealed = '0';
    document.body.dataset.index = String(s.index);
    document.body.dataset.seq = String(s.seq);
    $('waiting').hidden = true;
    $('main').hidden = false;
    if (!timer) timer = setInterval(tick, 30);
    tick();
  }

  function idle() {
    sample = null;
    if (timer) { clearInterval(timer); timer = 0; }
    delete document.body.dataset.index;
    $('main').hidden = true;
    $('waiting').hidden = false;
  }

  function send(value) {
    document.body.classList.remove('up', 'down');
    document.body.classList.add(value > 0 ? 'up' : 'down');
    clearTimeout(flash);
    flash = setTimeout(function () { document.body.classList.remove('up', 'down'); }, 250);
    fetch('/api/feedback', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Label-Token': token }, body: JSON.stringify({ value: value }) })
      .then(function (res) {
        if (res.ok) { sent++; $('sent').textContent = sent + ' press' + (sent === 1 ? '' : 'es') + ' recorded'; $('error').textContent = ''; return; }
        return res.json().catch(function () { return {}; }).then(function (body) { $('error').textContent = 'Not recorded: ' + (body.error || ('HTTP ' + res.status)); });
      })
      .catch(function (e) { $('error').textContent = 'Not recorded (is the training session still running?): ' + e.message; });
  }

  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    if (e.key === 'ArrowUp' || e.key === '+') send(1);
    else if (e.key === 'ArrowDown' || e.key === '-') send(-1);
    else return;
    e.preventDefault();
  });
  $('plus').addEventListener('click', function () { send(1); });
  $('minus').addEventListener('click', function () { send(-1); });

  var events = new EventSource('/api/stream?token=' + encodeURIComponent(token));
  events.addEventListener('open', function () { $('status').textContent = 'Connected'; });
  events.addEventListener('sample', function (e) { show(JSON.parse(e.data)); });
  events.addEventListener('idle', function () { idle(); });
  events.addEventListener('error', function () {
    $('status').textContent = 'Disconnected; retrying (is the training session still running?)';
  });
})();
`;

/**
 * The live feedback page.
 * @param nonce - The Content-Security-Policy nonce of this response (letters and digits only); the
 *   inline style and script carry it.
 * @returns The HTML document.
 * @internal
 */
export function tamerPageHtml(nonce: string): string {
  if (!/^[A-Za-z0-9]+$/.test(nonce)) throw new Error('nonce must be alphanumeric');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Live feedback</title><style nonce="${nonce}">${STYLE}</style></head>
<body>${BODY}<script nonce="${nonce}">${SCRIPT}</script></body></html>
`;
}
