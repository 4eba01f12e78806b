// Pieces shared by the views: status labels, tables that read well on a
// phone, a pager over next_cursor, and error display.
import { ApiError } from './api';
import type { Verdict } from './authority';
import { type Attrs, clearErrors, focusFirstError, h, setFieldError, uid } from './dom';

export const statusLabel: Record<string, string> = {
  active: 'Active',
  inactive: 'Inactive',
  revoked: 'Revoked',
  expired: 'Expired',
};

export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `badge status-${status}`, 'data-status': status }, statusLabel[status] ?? status);
}

export interface Column<T> {
  label: string;
  cell: (row: T) => Node | string;
}

/** table renders rows; each cell carries its column's label for narrow screens. */
export function table<T>(caption: string, columns: Column<T>[], rows: T[], attrs: Attrs = {}): HTMLElement {
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'data', ...attrs },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.label)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => h('td', { 'data-label': c.label }, c.cell(r)))))),
    ),
  );
}

/**
 * Pager pages through a list with next_cursor. It keeps the cursors of the
 * pages seen so far, so Previous goes back without the API needing one.
 */
export class Pager {
  private cursors: (string | undefined)[] = [undefined];

  get cursor(): string | undefined {
    return this.cursors[this.cursors.length - 1];
  }

  get page(): number {
    return this.cursors.length;
  }

  reset(): void {
    this.cursors = [undefined];
  }

  controls(label: string, next: string | null, reload: () => void): HTMLElement {
    return h('nav', { class: 'pager', 'aria-label': `${label} pages` },
      h('button', {
        type: 'button', class: 'secondary', 'data-action': 'previous-page', disabled: this.cursors.length === 1,
        onclick: () => { this.cursors.pop(); reload(); },
      }, 'Previous page'),
      h('span', { class: 'page-number' }, `Page ${this.page}`),
      h('button', {
        type: 'button', class: 'secondary', 'data-action': 'next-page', disabled: !next,
        onclick: () => { if (next) { this.cursors.push(next); reload(); } },
      }, 'Next page'),
    );
  }
}

/**
 * showError puts an API error next to the field it names inside form, or
 * in the form's general error box, and moves focus to it.
 */
export function showError(form: HTMLElement, err: unknown, fieldAliases: Record<string, string> = {}): void {
  clearErrors(form);
  const e = err instanceof ApiError ? err : new ApiError(0, 'client_error', String(err));
  const name = e.field ? fieldAliases[e.field] ?? e.field : '';
  const text = errorText(e);
  if (!name || !setFieldError(form, name, text)) {
    const box = form.querySelector<HTMLElement>('.form-error');
    if (box) {
      box.textContent = e.field ? `${e.field}: ${text}` : text;
      box.hidden = false;
    }
  }
  focusFirstError(form);
}

/** errorText is the API's description, with the permissions it found lacking. */
export function errorText(err: unknown): string {
  const e = err instanceof ApiError ? err : new ApiError(0, 'client_error', String(err));
  if (!e.missing.length) return e.description;
  return `${e.description.replace(/[.!?]?$/, '.')} Missing permissions: ${e.missing.join(', ')}.`;
}

export function formError(): HTMLElement {
  return h('p', { class: 'form-error', role: 'alert', tabindex: -1, hidden: true });
}

/** errorPanel stands in for a view whose data could not be loaded. */
export function errorPanel(err: unknown): HTMLElement {
  const e = err instanceof ApiError ? err : new ApiError(0, 'client_error', String(err));
  return h('div', { class: 'panel error-panel', role: 'alert' },
    h('p', {}, e.status === 403 ? 'Your token may not see this: ' : 'Could not load this: ', errorText(e)));
}

/**
 * actionButton is a button for a change the API may refuse. A refused one
 * stays focusable, so its reason can be reached by keyboard and read by a
 * screen reader, but it is aria-disabled, says why in its tooltip and its
 * description, and does nothing when pressed.
 */
export function actionButton(label: string, verdict: Verdict, attrs: Attrs, onPress: () => void): HTMLElement {
  const button = h('button', { type: 'button', class: 'secondary small', ...attrs }, label);
  button.addEventListener('click', () => {
    if (button.getAttribute('aria-disabled') !== 'true') onPress();
  });
  if (verdict.allowed) return button;
  const reasonId = uid('reason');
  button.setAttribute('aria-disabled', 'true');
  button.setAttribute('aria-describedby', reasonId);
  button.title = verdict.reason;
  return h('span', { class: 'refused-action' }, button, h('span', { class: 'visually-hidden', id: reasonId }, verdict.reason));
}

export function heading(text: string, ...extra: Node[]): HTMLElement {
  return h('div', { class: 'view-head' }, h('h1', { tabindex: -1 }, text), ...extra);
}

export function dl(items: [string, Node | string][]): HTMLElement {
  return h('dl', { class: 'props' }, items.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}
