// Small DOM helpers. Text from the API is only ever set as text, never parsed as HTML.
import { t, fmtAsOf } from '/i18n.js';
import { ApiError } from '/api.js';

/**
 * h('p', { class: 'x', onclick: fn }, 'text', child) builds an element. Attributes: `class`, `for`,
 * `on<event>`, booleans (true → present, false/null → absent), anything else as an attribute.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value') el.value = v;
      else if (k === 'checked') el.checked = Boolean(v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

/** Replaces an element's children (skipping null and false, flattening arrays). */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes and children. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c) el.append(c instanceof Node ? c : String(c));
  return el;
}

const ICONS = {
  home: 'M4 11 12 4l8 7v9h-5v-6H9v6H4z',
  calendar: 'M5 6h14v14H5zM5 10h14M9 3v5M15 3v5',
  chart: 'M4 20h16M6 16l4-5 4 3 5-7',
  gear: 'M12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM12 2v3M12 19v3M2 12h3M19 12h3M4.9 4.9 7 7M17 17l2.1 2.1M4.9 19.1 7 17M17 7l2.1-2.1',
  check: 'M5 12l5 5 9-10',
  plus: 'M12 5v14M5 12h14',
  arrow: 'M15 5l-7 7 7 7',
  next: 'M9 5l7 7-7 7',
  phone: 'M6 3h4l2 5-3 2a11 11 0 0 0 5 5l2-3 5 2v4a2 2 0 0 1-2 2A17 17 0 0 1 4 5a2 2 0 0 1 2-2z',
  mail: 'M3 6h18v12H3zM3 6l9 7 9-7',
  pause: 'M8 5v14M16 5v14',
};

/** A decorative icon (hidden from screen readers). */
export function icon(name) {
  return s('svg', { class: 'icon', viewBox: '0 0 24 24', 'aria-hidden': 'true', focusable: 'false' },
    s('path', { d: ICONS[name] }));
}

/**
 * Tells screen readers about a change (politely) and shows it briefly on screen, unless `visual` is false
 * (when the screen already shows the message where it belongs).
 */
export function announce(message, { visual = true } = {}) {
  const region = document.getElementById('status');
  if (!region) return;
  region.textContent = '';
  region.classList.remove('show');
  // A fresh text node after a tick is read out even when the same message repeats.
  setTimeout(() => {
    region.textContent = message;
    if (visual) region.classList.add('show');
    clearTimeout(announce.timer);
    announce.timer = setTimeout(() => region.classList.remove('show'), 5000);
  }, 50);
}

/** Hides the last status message (a new screen starts quiet). */
export function clearStatus() {
  const region = document.getElementById('status');
  if (!region) return;
  clearTimeout(announce.timer);
  region.classList.remove('show');
  region.textContent = '';
}

/** The sentence to show a young person for a failed call. */
export function errorText(err) {
  if (!(err instanceof ApiError)) return t.errors.generic;
  // A change without a network is never kept to send later: say plainly that it was not saved.
  if (err.status === 0) return err.write ? t.errors.offlineWrite : t.errors.network;
  if (err.status === 404) return t.errors.notFound;
  if (err.status === 412) return t.errors.stale;
  if (err.status === 429) return t.errors.tooMany;
  if (err.status >= 500) return t.errors.server;
  return t.errors.generic;
}

/** A calm message box: role=alert so it is read out when it appears. */
export function errorBox(text, retry) {
  return h('div', { class: 'notice error', role: 'alert' },
    h('p', null, text),
    retry ? h('button', { type: 'button', class: 'btn secondary', onclick: retry }, t.tryAgain) : null);
}

/** The notice over a screen shown from the copy kept on the phone, fetched at `asOf`. */
export function offlineNotice(asOf, retry) {
  return h('div', { class: 'notice offline', role: 'status' },
    h('p', null, h('strong', null, t.offline.asOf(fmtAsOf(asOf)))),
    h('p', null, t.offline.text),
    retry ? h('button', { type: 'button', class: 'btn secondary small', onclick: retry }, t.tryAgain) : null);
}

/** Sets or clears a field's error: the message below it, aria-invalid and aria-describedby. */
export function fieldError(input, message) {
  const id = `${input.id}-error`;
  let box = document.getElementById(id);
  const described = (input.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== id);
  if (!message) {
    box?.remove();
    input.removeAttribute('aria-invalid');
    if (described.length) input.setAttribute('aria-describedby', described.join(' '));
    else input.removeAttribute('aria-describedby');
    return;
  }
  if (!box) {
    box = h('p', { id, class: 'field-error' });
    (input.closest('.field') || input.parentElement).append(box);
  }
  box.textContent = message;
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', [...described, id].join(' '));
}

let uid = 0;
/** A labelled form field with an optional hint. Answers `{ wrap, input }`. */
export function field({ label, type = 'text', name, id: fixedId, hint, optional, multiline, attrs = {} }) {
  const id = fixedId || `f${++uid}-${name}`;
  const hintId = hint ? `${id}-hint` : null;
  const common = { id, name, 'aria-describedby': hintId, ...attrs };
  const input = multiline ? h('textarea', { rows: 3, ...common }) : h('input', { type, ...common });
  const wrap = h('div', { class: 'field' },
    h('label', { for: id }, label, optional ? h('span', { class: 'muted' }, ` ${t.optional}`) : null),
    hint ? h('p', { id: hintId, class: 'hint' }, hint) : null,
    input);
  return { wrap, input };
}

/** Disables a button while `work` runs, showing `busyText`; always restores it. */
export async function busy(button, busyText, work) {
  const label = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  if (busyText) button.textContent = busyText;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = label;
  }
}

/** Offers a blob as a file download. */
export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, class: 'visually-hidden' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A progress bar with a visible text, labelled for screen readers. */
export function progressBar(value, labelText, visibleText) {
  const id = `p${++uid}`;
  return h('div', { class: 'progress' },
    h('progress', { max: 100, value, 'aria-labelledby': `${id}-l`, 'aria-describedby': `${id}-t` }),
    h('span', { id: `${id}-l`, class: 'visually-hidden' }, labelText),
    h('p', { id: `${id}-t`, class: 'progress-text' }, visibleText));
}

/**
 * A radio button or checkbox inside its label, so the whole box is the touch target; an optional
 * description below it is linked with aria-describedby. Answers `{ wrap, input }`.
 */
export function choice({ type = 'radio', name, id, value, checked, label, description, lang, onchange }) {
  const descId = description ? `${id}-d` : null;
  const input = h('input', { type, name, id, value, checked, 'aria-describedby': descId, onchange });
  const wrap = h('div', { class: description ? 'choice-wrap described' : 'choice-wrap' },
    h('label', { class: 'choice', lang }, input, h('span', null, label)),
    description ? h('p', { id: descId, class: 'hint' }, description) : null);
  return { wrap, input };
}
