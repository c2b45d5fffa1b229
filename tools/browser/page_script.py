"""JavaScript the driver runs inside a page: find, index and describe interactive elements.

Kept apart from the driver so the driver reads as Python. The scripts are pure functions
of the page apart from one side effect: each interactive element gets an attribute
(``args.attr``, random per browser session, so a page cannot predict it) holding its
index, taken from a per-document counter (``window[args.counter]``). An element keeps
its index while the document lives; a freshly loaded page numbers its elements in
document order from 1, so the same page shows the same indices.

`element_from` turns one described element (a plain dict from the page) into an `Element`.

Which elements count: the semantic ones (links, buttons, fields, ARIA widget roles), and
the ones that are only made clickable: an ``onclick`` attribute, ``tabindex`` >= 0, or a
``cursor: pointer`` (counted where the pointer begins: the style inherits, so the
element whose parent has another cursor stands for its whole subtree). Such a plain
clickable element is left out when a clickable element inside it, or a kept one around
it, already stands for it, so wrappers do not flood the list. An inline one (a ``<span>``
in running text) is shown as a link, any other as a button.

Names follow the accessible-name rules closely enough for a model: aria-label,
aria-labelledby, <label>, a button's text or value, then placeholder, title; a field with
none of these is named by the text next to it that no other element claims (an unlinked
``<label>``, a text node: before it, or after a checkbox or radio), then its name attribute.
"""

from __future__ import annotations

from typing import Any

from tools.base import ToolFailure
from tools.browser.base import Element

_COMMON = r"""
const SEL = [
  'a[href]', 'button', 'input:not([type=hidden])', 'select', 'textarea', 'summary',
  '[contenteditable=""]', '[contenteditable=true]', '[onclick]',
  '[tabindex]:not([tabindex="-1"])',
  ...['button', 'link', 'checkbox', 'radio', 'tab', 'menuitem', 'menuitemcheckbox',
      'menuitemradio', 'option', 'switch', 'textbox', 'combobox', 'searchbox', 'slider',
      'spinbutton', 'treeitem'].map(r => `[role=${r}]`),
].join(',');
// Matched by these, an element says what it is; matched otherwise, it is only clickable.
const SEMANTIC = 'a[href],button,input,select,textarea,summary,[contenteditable=""],' +
  '[contenteditable=true],[role]';
const FIELDS = new Set(['textbox', 'searchbox', 'combobox', 'listbox', 'checkbox', 'radio',
  'slider', 'spinbutton', 'switch', 'file']);
const INPUT_ROLES = {checkbox: 'checkbox', radio: 'radio', submit: 'button', button: 'button',
  reset: 'button', image: 'button', range: 'slider', number: 'spinbutton',
  search: 'searchbox', file: 'file', color: 'button'};
const clean = (s, n = 80) => {
  const t = String(s || '').replace(/\s+/g, ' ').trim();
  return t.length > n ? t.slice(0, n - 1) + '\u2026' : t;
};
function roleOf(el) {
  const explicit = (el.getAttribute('role') || '').trim().split(/\s+/)[0];
  if (explicit) return explicit;
  const tag = el.tagName.toLowerCase();
  if (tag === 'a') return 'link';
  if (tag === 'button' || tag === 'summary') return 'button';
  if (tag === 'select') return el.multiple || el.size > 1 ? 'listbox' : 'combobox';
  if (tag === 'textarea' || el.isContentEditable) return 'textbox';
  if (tag === 'input') return INPUT_ROLES[(el.type || 'text').toLowerCase()] || 'textbox';
  return getComputedStyle(el).display === 'inline' ? 'link' : 'button';
}
function pointerStart(el) {
  // cursor inherits: only the element where the pointer begins is counted.
  if (el === document.body || el === document.documentElement) return false;
  if (getComputedStyle(el).cursor !== 'pointer') return false;
  const up = el.parentElement || (el.getRootNode() && el.getRootNode().host);
  return !up || getComputedStyle(up).cursor !== 'pointer';
}
function claimed(node) {
  return node.nodeType === 1 && (node.matches(SEL) || !!node.querySelector(SEL));
}
function textOf(node) {
  // Text of a sibling node; a label of another field is not this one's.
  if (node.nodeType === 3) return clean(node.textContent, 40);
  if (node.nodeType !== 1 || (node.tagName === 'LABEL' && node.control)) return '';
  return clean(node.innerText, 40);
}
function nearbyText(el) {
  // An unlinked label: the nearest text before the field (after a checkbox or radio
  // first) within the wrappers that hold nothing else interactive.
  const type = (el.type || '').toLowerCase();
  if (type === 'checkbox' || type === 'radio') {
    for (let s = el.nextSibling; s; s = s.nextSibling) {
      if (claimed(s)) break;
      const t = textOf(s);
      if (t) return t;
    }
  }
  let node = el;
  for (let depth = 0; node && depth < 4; depth++) {
    for (let s = node.previousSibling; s; s = s.previousSibling) {
      if (claimed(s)) return '';
      const t = textOf(s);
      if (t) return t;
    }
    const up = node.parentElement;
    if (!up || up === document.body || up.querySelectorAll(SEL).length > 1) return '';
    node = up;
  }
  return '';
}
function byIds(el, ids) {
  const root = el.getRootNode();
  return ids.split(/\s+/).map(id => {
    const n = (root.getElementById ? root.getElementById(id) : null) || document.getElementById(id);
    return n ? (n.innerText || n.textContent || '') : '';
  }).join(' ');
}
function nameOf(el) {
  const tag = el.tagName.toLowerCase();
  const type = (el.type || '').toLowerCase();
  const candidates = [
    () => el.getAttribute('aria-label'),
    () => el.getAttribute('aria-labelledby') && byIds(el, el.getAttribute('aria-labelledby')),
    () => el.labels && Array.from(el.labels).map(l => l.innerText).join(' '),
    () => tag === 'input' && ['submit', 'button', 'reset'].includes(type) && (el.value || type),
    () => tag === 'input' && type === 'image' && el.alt,
    () => !['input', 'textarea', 'select'].includes(tag) && !el.isContentEditable && el.innerText,
    () => { const img = el.querySelector && el.querySelector('img[alt]'); return img && img.alt; },
    () => el.getAttribute('placeholder'),
    () => el.getAttribute('title'),
    () => ['input', 'textarea', 'select'].includes(tag) && nearbyText(el),
    () => el.getAttribute('name'),
  ];
  for (const c of candidates) { const t = clean(c()); if (t) return t; }
  return '';
}
function activeDeep() {
  let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  return a;
}
function describe(el, attr) {
  const role = roleOf(el);
  const tag = el.tagName.toLowerCase();
  const type = tag === 'input' ? (el.type || 'text').toLowerCase() : '';
  const states = [];
  let value = '';
  let options = [];
  let optionCount = 0;
  const checkable = ['checkbox', 'radio', 'switch', 'menuitemcheckbox', 'menuitemradio'];
  if (checkable.includes(role)) {
    const aria = el.getAttribute('aria-checked');
    const on = type === 'checkbox' || type === 'radio' ? el.checked : aria === 'true';
    states.push(on ? 'checked' : 'not checked');
  } else if (tag === 'select') {
    const chosen = Array.from(el.selectedOptions || []).map(o => clean(o.label || o.text, 40));
    value = chosen.join(', ');
    options = Array.from(el.options).slice(0, 8).map(o => clean(o.label || o.text, 40));
    optionCount = el.options.length;
  } else if (type === 'password') {
    if (el.value) states.push('filled');
  } else if (tag === 'input' || tag === 'textarea') {
    value = clean(el.value, 60);
  } else if (el.isContentEditable) {
    value = clean(el.innerText, 60);
  }
  if (el.disabled || el.getAttribute('aria-disabled') === 'true') states.push('disabled');
  if (el.required || el.getAttribute('aria-required') === 'true') states.push('required');
  if (el.readOnly && (tag === 'input' || tag === 'textarea')) states.push('readonly');
  const expanded = el.getAttribute('aria-expanded');
  if (expanded === 'true') states.push('expanded');
  if (expanded === 'false') states.push('collapsed');
  if (el.getAttribute('aria-selected') === 'true') states.push('selected');
  if (el === activeDeep()) states.push('focused');
  const r = el.getBoundingClientRect();
  const inView = r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
  const kind = ['', 'text', 'submit', 'button', 'reset', 'checkbox', 'radio', 'image',
    'search', 'range', 'number'].includes(type) ? '' : type;
  return {
    index: Number(el.getAttribute(attr) || 0), role, name: nameOf(el), kind, value, states,
    options, optionCount, inView, href: tag === 'a' ? clean(el.getAttribute('href'), 60) : '',
  };
}
function visible(el) {
  if (el.checkVisibility && !el.checkVisibility({visibilityProperty: true, checkVisibilityCSS: true})) {
    return false;
  }
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0;
}
"""

#: page.evaluate(SNAPSHOT, {attr, counter, maxElements, maxText}) -> {title, elements, text}
SNAPSHOT = (
    "(args) => {"
    + _COMMON
    + r"""
  const found = [];
  const visit = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.matches(SEL) || pointerStart(el)) found.push(el);
      if (el.shadowRoot) visit(el.shadowRoot);
    }
  };
  visit(document);
  const representedBy = (el, kept) => {
    // A plain clickable wrapper is represented by a clickable inside it or a kept one around it.
    if (Array.from(el.querySelectorAll(SEL)).some(visible)) return true;
    for (let up = el.parentElement; up; up = up.parentElement) if (kept.has(up)) return true;
    return false;
  };
  if (typeof window[args.counter] !== 'number') window[args.counter] = 0;
  const kept = new Set();
  const elements = [];
  for (const el of found) {
    if (elements.length >= args.maxElements) break;
    if (!visible(el)) continue;
    const outer = el.parentElement && el.parentElement.closest('a[href],button');
    if (outer && kept.has(outer) && !FIELDS.has(roleOf(el))) continue;
    if (!el.matches(SEMANTIC) && representedBy(el, kept)) continue;
    kept.add(el);
    if (!el.getAttribute(args.attr)) el.setAttribute(args.attr, String(++window[args.counter]));
    elements.push(describe(el, args.attr));
  }
  const text = document.body ? document.body.innerText : '';
  return {title: document.title, elements,
          text: text.replace(/[ \t\u00a0]+/g, ' ').replace(/\s*\n\s*/g, '\n').trim().slice(0, args.maxText)};
}"""
)

#: locator.evaluate(DESCRIBE, {attr}) -> one element's description
DESCRIBE = "(el, args) => {" + _COMMON + "return describe(el, args.attr); }"

#: locator.evaluate(TEXT) / page.evaluate(TEXT) -> visible text of an element or the page
TEXT = "(el) => ((el || document.body || {}).innerText || '').replace(/[ \\t\\u00a0]+/g, ' ').replace(/\\s*\\n\\s*/g, '\\n').trim()"

#: frame.evaluate(SHOWN) -> the frame's text and the values of its fields (a password
#: field's only when the page made it show its value as text)
SHOWN = (
    "() => [(document.body || {}).innerText || '', document.title, ...Array.from("
    "document.querySelectorAll('input, textarea, select, [contenteditable]'), el =>"
    " el.type === 'password' ? '' : (el.value !== undefined ? String(el.value) : el.innerText))]"
    ".join('\\n')"
)

#: locator.evaluate(OPTIONS) -> [[value, label], ...] of a <select>, or null
OPTIONS = "el => el.options ? Array.from(el.options).map(o => [o.value, o.label || o.text]) : null"

#: page.evaluate(SCROLL_PAGE, +1 | -1): most of a screen down or up
SCROLL_PAGE = "d => window.scrollBy(0, d * innerHeight * 0.8)"

#: locator.evaluate(SCROLL_ELEMENT, +1 | -1): scroll inside it, or bring it into view
SCROLL_ELEMENT = (
    "(el, d) => el.scrollHeight > el.clientHeight + 1"
    " ? el.scrollBy(0, d * el.clientHeight * 0.8) : el.scrollIntoView({block: 'center'})"
)


def pick_option(pairs: list[list[str]], wanted: str) -> tuple[str, str]:
    """The (value, label) of the option whose label or value is `wanted` (case and
    spacing aside), or `ToolFailure` ``no_such_option`` listing the labels."""
    key = " ".join(wanted.split()).casefold()
    for value, label in pairs:
        if key in (" ".join(label.split()).casefold(), value.casefold()):
            return value, label
    shown = ", ".join(label for _, label in pairs[:12])
    raise ToolFailure("no_such_option", f"no option {wanted!r}; the options are: {shown}")


def element_from(raw: dict[str, Any]) -> Element:
    """An `Element` from what DESCRIBE returned; a long option list ends in "... N more"."""
    options = tuple(str(o) for o in raw.get("options", []))
    more = int(raw.get("optionCount", 0)) - len(options)
    if more > 0:
        options += (f"... {more} more",)
    return Element(
        index=int(raw.get("index", 0)),
        role=str(raw.get("role", "")),
        name=str(raw.get("name", "")),
        kind=str(raw.get("kind", "")),
        value=str(raw.get("value", "")),
        states=tuple(str(s) for s in raw.get("states", [])),
        options=options,
        in_view=bool(raw.get("inView", True)),
        href=str(raw.get("href", "")),
    )
