/**
 * The labelling page served by `WebLabeler`: one self-contained HTML document (inline CSS and JS,
 * both allowed only through a per-response nonce in the Content-Security-Policy). Model text is put
 * into the page with `textContent` only (`showText`, see `page-common.ts`), so a response that contains
 * markup shows as text and never runs, and control or format characters (bidi overrides ...) show as
 * marked code points. An item with `messages` shows the conversation turn by turn (each turn under
 * its role, user, assistant and system turns told apart by colour, label and indent) above the
 * candidate replies. The page keeps no state on the server beyond the queue: reloading shows the same item again.
 * @module
 */

import { BASE_STYLE, SHOW_TEXT_SCRIPT } from '../page-common';

const STYLE = `${BASE_STYLE}#cards { list-style: none; padding: 0; }
.card { border: 2px solid rgba(127,127,127,.4); border-radius: .5rem; padding: .5rem .75rem; margin: .5rem 0; cursor: grab; }
.card:focus { outline: 3px solid #3b82f6; outline-offset: 2px; }
.card.tied { border-top: 4px double #f59e0b; }
.card.flagged { border-color: #dc2626; }
.card.over { background: rgba(59,130,246,.12); }
.head { display: flex; gap: .75rem; align-items: center; flex-wrap: wrap; }
.rank { font-weight: 700; min-width: 5.5rem; }
.name { font-weight: 600; }
.ratings { display: flex; gap: 1rem; flex-wrap: wrap; font-size: .9rem; }
.help { font-size: .9rem; opacity: .85; }
kbd { border: 1px solid rgba(127,127,127,.6); border-radius: .25rem; padding: 0 .3rem; }
#error { color: #dc2626; min-height: 1.2em; }
textarea { width: 100%; min-height: 3rem; }
.actions { display: flex; gap: .75rem; margin: .5rem 0; }
button { font-size: 1rem; padding: .4rem .9rem; }
#conversation { list-style: none; padding: 0; margin: 0; }
.turn { border-left: 4px solid; border-radius: .3rem; padding: .35rem .75rem; margin: .4rem 0; }
.turn .role { font-weight: 700; font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; }
.turn.user { border-color: #3b82f6; background: rgba(59,130,246,.10); margin-right: 2rem; }
.turn.assistant { border-color: #16a34a; background: rgba(22,163,74,.10); margin-left: 2rem; }
.turn.system { border-color: #9ca3af; background: rgba(127,127,127,.12); font-style: italic; }
`;

const BODY = `
<header><h1>Rank the responses</h1><span id="status" role="status" aria-live="polite"></span></header>
<p id="waiting">Waiting for the next item&hellip;</p>
<main id="main" hidden>
  <h2 id="prompt-title">Prompt</h2>
  <pre id="prompt"></pre>
  <ol id="conversation" aria-label="Conversation so far" hidden></ol>
  <h2 id="replies-title" hidden>Candidate replies (the assistant's next turn)</h2>
  <p class="help">Order the responses best first: press their numbers in order of preference
  (<kbd>2</kbd> <kbd>1</kbd> <kbd>3</kbd>; <kbd>=</kbd> before a number ties it with the previous one),
  or drag the cards, or focus a card (<kbd>Tab</kbd>) and move it with <kbd>&uarr;</kbd>/<kbd>&darr;</kbd>.
  On a focused card <kbd>=</kbd> ties it with the card above and <kbd>f</kbd> flags it.
  <kbd>Backspace</kbd> starts over, <kbd>Enter</kbd> saves, <kbd>s</kbd> skips.</p>
  <ol id="cards"></ol>
  <label for="note">Note (optional)</label>
  <textarea id="note" maxlength="2000"></textarea>
  <div class="actions"><button id="submit" type="button">Save ranking (Enter)</button>
  <button id="skip" type="button">Skip (s)</button></div>
  <p id="error" role="alert"></p>
</main>
`;

/* The page script. Plain ES2018, no template literals (this file embeds it in one). */
const SCRIPT = `
'use strict';
(function () {
${SHOW_TEXT_SCRIPT}
  var token = new URLSearchParams(location.search).get('token') || '';
  var headers = { 'X-Label-Token': token };
  var $ = function (id) { return document.getElementById(id); };
  var item = null, order = [], tied = {}, picks = [], tieNext = false, touched = false, busy = false, saved = 0, cards = [];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function say(msg) { $('error').textContent = msg; }

  function ranks() {
    var r = new Array(order.length);
    order.forEach(function (idx, pos) { r[idx] = pos > 0 && tied[idx] ? r[order[pos - 1]] : pos; });
    return r;
  }

  function render(focusIdx) {
    var r = ranks(), list = $('cards');
    order.forEach(function (idx, pos) {
      var c = cards[idx];
      c.querySelector('.rank').textContent = touched ? (pos > 0 && tied[idx] ? 'tied #' : '#') + (r[idx] + 1) : 'unranked';
      c.classList.toggle('tied', pos > 0 && !!tied[idx]);
      list.appendChild(c);
    });
    if (focusIdx !== undefined) cards[focusIdx].focus();
  }

  function move(idx, to) {
    var from = order.indexOf(idx);
    if (to < 0 || to >= order.length || to === from) return;
    order.splice(from, 1);
    order.splice(to, 0, idx);
    delete tied[idx];
    touched = true;
    render(idx);
  }

  function pick(idx) {
    if (picks.indexOf(idx) >= 0) { say('Response ' + (idx + 1) + ' is already placed; Backspace starts over.'); return; }
    picks.push(idx);
    if (tieNext && picks.length > 1) tied[idx] = true; else delete tied[idx];
    tieNext = false;
    var rest = order.filter(function (i) { return picks.indexOf(i) < 0; });
    if (rest.length === 1) { picks.push(rest[0]); rest = []; }
    order = picks.concat(rest);
    touched = true;
    say('');
    render();
  }

  function reset() {
    order = item.responses.map(function (_, i) { return i; });
    tied = {}; picks = []; tieNext = false; touched = false;
    say('');
    render();
  }

  function card(text, idx) {
    var c = el('li', 'card');
    c.tabIndex = 0;
    c.draggable = true;
    c.dataset.index = String(idx);
    var head = el('div', 'head');
    head.appendChild(el('span', 'rank', 'unranked'));
    head.appendChild(el('span', 'name', 'Response ' + (idx + 1)));
    var flagLabel = el('label');
    var flag = el('input', 'flag');
    flag.type = 'checkbox';
    flag.addEventListener('change', function () { c.classList.toggle('flagged', flag.checked); });
    flagLabel.appendChild(flag);
    flagLabel.appendChild(document.createTextNode(' flag as unacceptable'));
    head.appendChild(flagLabel);
    c.appendChild(head);
    var body = el('pre', 'text');
    showText(body, text);
    c.appendChild(body);
    var ratings = el('div', 'ratings');
    item.criteria.forEach(function (name) {
      var l = el('label', '', name + ' ');
      var s = el('select');
      s.dataset.criterion = name;
      s.appendChild(el('option', '', '-'));
      for (var v = 1; v <= 7; v++) s.appendChild(el('option', '', String(v)));
      l.appendChild(s);
      ratings.appendChild(l);
    });
    c.appendChild(ratings);
    c.addEventListener('dragstart', function (e) { e.dataTransfer.setData('text/plain', String(idx)); e.dataTransfer.effectAllowed = 'move'; });
    c.addEventListener('dragover', function (e) { e.preventDefault(); c.classList.add('over'); });
    c.addEventListener('dragleave', function () { c.classList.remove('over'); });
    c.addEventListener('drop', function (e) {
      e.preventDefault();
      c.classList.remove('over');
      var from = Number(e.dataTransfer.getData('text/plain'));
      if (from >= 0 && from < order.length && from !== idx) move(from, order.indexOf(idx));
    });
    return c;
  }

  var ROLES = { system: 'System', user: 'User', assistant: 'Assistant' };
  function showConversation(messages) {
    var list = $('conversation');
    list.textContent = '';
    messages.forEach(function (m) {
      var role = Object.prototype.hasOwnProperty.call(ROLES, m.role) ? m.role : 'other';
      var turn = el('li', 'turn ' + role);
      turn.appendChild(el('div', 'role', ROLES[role] || 'Unknown role'));
      var body = el('pre', 'turn-text');
      showText(body, m.content);
      turn.appendChild(body);
      list.appendChild(turn);
    });
  }

  function show(it) {
    item = it;
    var chat = Array.isArray(it.messages) && it.messages.length > 0;
    $('prompt-title').textContent = chat ? 'Conversation' : 'Prompt';
    $('prompt').hidden = chat;
    $('conversation').hidden = !chat;
    $('replies-title').hidden = !chat;
    $('prompt').textContent = '';
    $('conversation').textContent = '';
    if (chat) showConversation(it.messages);
    else showText($('prompt'), it.prompt);
    $('note').value = '';
    cards = it.responses.map(card);
    $('cards').textContent = '';
    reset();
    $('waiting').hidden = true;
    $('main').hidden = false;
    $('status').textContent = saved + ' saved this session; ' + it.pending + ' waiting';
    busy = false;
  }

  function collectRatings() {
    var out = {};
    for (var k = 0; k < item.criteria.length; k++) {
      var name = item.criteria[k];
      var vals = cards.map(function (c) {
        var s = Array.prototype.find.call(c.querySelectorAll('select'), function (x) { return x.dataset.criterion === name; });
        return s.selectedIndex > 0 ? s.selectedIndex : null;
      });
      var given = vals.filter(function (v) { return v !== null; }).length;
      if (given > 0 && given < vals.length) throw new Error('Rate every response on "' + name + '", or none of them.');
      if (given > 0) out[name] = vals;
    }
    return out;
  }

  function submit(kind) {
    if (!item || busy) return;
    var j;
    if (kind === 'skipped') {
      j = { kind: 'skipped' };
      if ($('note').value) j.reason = $('note').value;
    } else {
      if (!touched) { say('Put the responses in order first (number keys, drag, or arrows).'); return; }
      var r = ranks();
      if (r.every(function (x) { return x === r[0]; })) { say('Everything is tied; skip this item instead.'); return; }
      j = { kind: 'ranked', ranking: r };
      try { var ratings = collectRatings(); } catch (e) { say(e.message); return; }
      if (Object.keys(ratings).length) j.ratings = ratings;
      var flagged = cards.map(function (c, i) { return c.querySelector('.flag').checked ? i : -1; }).filter(function (i) { return i >= 0; });
      if (flagged.length) j.flagged = flagged;
      if ($('note').value) j.note = $('note').value;
    }
    busy = true;
    fetch('/api/judgement', { method: 'POST', headers: Object.assign({ 'Content-Type': 'application/json' }, headers), body: JSON.stringify({ key: item.key, judgement: j }) })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (body) {
          if (res.ok) { saved++; done('Saved (' + saved + ' this session)'); return; }
          if (res.status === 409) { done('That item was withdrawn or already saved'); return; }
          busy = false;
          say('Not saved: ' + (body.error || ('HTTP ' + res.status)));
        });
      })
      .catch(function (e) { busy = false; say('Not saved (is the labelling session still running?): ' + e.message); });
  }

  function done(msg) {
    item = null;
    $('main').hidden = true;
    $('waiting').hidden = false;
    $('status').textContent = msg;
    next();
  }

  function next() {
    fetch('/api/next?wait=20000', { headers: headers })
      .then(function (res) {
        if (res.status === 403) { $('waiting').textContent = 'This link is not valid (wrong or missing token). Use the URL printed by the labelling session.'; return; }
        return res.json().then(function (body) { if (body.item) show(body.item); else next(); });
      })
      .catch(function () { $('status').textContent = 'Server not reachable; retrying'; setTimeout(next, 2000); });
  }

  document.addEventListener('keydown', function (e) {
    if (!item || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target, tag = t && t.tagName;
    if (tag === 'TEXTAREA' || tag === 'SELECT' || (tag === 'INPUT' && e.key !== 'Enter')) return;
    var focused = t && t.classList && t.classList.contains('card') ? Number(t.dataset.index) : -1;
    var k = e.key;
    if (/^[1-9]$/.test(k) && Number(k) <= order.length) pick(Number(k) - 1);
    else if (k === '=' && focused >= 0) { if (order.indexOf(focused) > 0) { if (tied[focused]) delete tied[focused]; else tied[focused] = true; touched = true; render(focused); } }
    else if (k === '=') tieNext = true;
    else if (k === 'ArrowUp' && focused >= 0) move(focused, order.indexOf(focused) - 1);
    else if (k === 'ArrowDown' && focused >= 0) move(focused, order.indexOf(focused) + 1);
    else if (k === 'f' && focused >= 0) { var f = cards[focused].querySelector('.flag'); f.checked = !f.checked; f.dispatchEvent(new Event('change')); }
    else if (k === 'Backspace') reset();
    else if (k === 'Enter' && tag !== 'BUTTON') submit('ranked');
    else if (k === 's') submit('skipped');
    else return;
    e.preventDefault();
  });
  $('submit').addEventListener('click', function () { submit('ranked'); });
  $('skip').addEventListener('click', function () { submit('skipped'); });
  next();
})();
`;

/**
 * The labelling page.
 * @param nonce - The Content-Security-Policy nonce of this response (letters and digits only); the
 *   inline style and script carry it.
 * @returns The HTML document.
 * @internal
 */
export function labelPage(nonce: string): string {
  if (!/^[A-Za-z0-9]+$/.test(nonce)) throw new Error('nonce must be alphanumeric');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rank responses</title><style nonce="${nonce}">${STYLE}</style></head>
<body>${BODY}<script nonce="${nonce}">${SCRIPT}</script></body></html>
`;
}
