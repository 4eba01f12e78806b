// A few helpers to build the DOM from data safely: text always goes in as
// text (never innerHTML), and no element gets a style attribute, so the
// page runs under a Content-Security-Policy without 'unsafe-inline'.

export type Child = Node | string | number | null | undefined | false | Child[];
type Listener = (ev: Event) => void;
export type Attrs = Record<string, string | number | boolean | null | undefined | Listener>;

// Properties set as DOM properties rather than attributes, so they reflect
// live state (a checkbox's checked, an input's value).
const props = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'required', 'readOnly', 'multiple']);

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false && !props.has(k)) continue;
    if (typeof v === 'function') {
      el.addEventListener(k.replace(/^on/, ''), v);
    } else if (k === 'class') {
      el.className = String(v);
    } else if (props.has(k)) {
      (el as unknown as Record<string, unknown>)[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function clear(el: Element): void {
  el.replaceChildren();
}

let ids = 0;
/** uid returns a document-unique id for wiring labels and descriptions. */
export function uid(prefix: string): string {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** A label + control + hint + error slot, wired with for/aria-describedby. */
export interface Field {
  wrap: HTMLElement;
  control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;
  error: HTMLElement;
}

export function field(label: string, control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, opts: { hint?: string; name: string; extra?: Child } ): Field {
  if (!control.id) control.id = uid(opts.name);
  const hintId = opts.hint ? `${control.id}-hint` : '';
  const errId = `${control.id}-error`;
  control.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
  const error = h('p', { class: 'field-error', id: errId, 'data-error-for': opts.name, hidden: true });
  const wrap = h('div', { class: 'field', 'data-field': opts.name },
    h('label', { for: control.id }, label),
    opts.hint ? h('p', { class: 'hint', id: hintId }, opts.hint) : null,
    control,
    opts.extra ?? null,
    error,
  );
  return { wrap, control, error };
}

/** Shows msg in the error slot of the field named name inside root. */
export function setFieldError(root: ParentNode, name: string, msg: string): boolean {
  const slot = root.querySelector<HTMLElement>(`[data-error-for="${CSS.escape(name)}"]`);
  if (!slot) return false;
  slot.textContent = msg;
  slot.hidden = false;
  const wrap = slot.closest('[data-field]');
  const control = wrap?.querySelector<HTMLElement>('input, textarea, select');
  control?.setAttribute('aria-invalid', 'true');
  return true;
}

export function clearErrors(root: ParentNode): void {
  root.querySelectorAll<HTMLElement>('[data-error-for]').forEach((e) => {
    e.textContent = '';
    e.hidden = true;
  });
  root.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
  root.querySelectorAll<HTMLElement>('.form-error').forEach((e) => {
    e.textContent = '';
    e.hidden = true;
  });
}

/** Focuses the first control marked invalid, or the form-level error. */
export function focusFirstError(root: ParentNode): void {
  const bad = root.querySelector<HTMLElement>('[aria-invalid="true"]') ?? root.querySelector<HTMLElement>('.form-error:not([hidden])');
  bad?.focus();
}
