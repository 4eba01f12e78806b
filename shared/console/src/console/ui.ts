// Pieces shared by the views: status labels, tables that read well on a
// phone, a pager over next_cursor, and error display.
import { ApiError } from './api';
import { type Attrs, clearErrors, focusFirstError, h, setFieldError } from './dom';

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
  if (!name || !setFieldError(form, name, e.description)) {
    const box = form.querySelector<HTMLElement>('.form-error');
    if (box) {
      box.textContent = e.field ? `${e.field}: ${e.description}` : e.description;
      box.hidden = false;
    }
  }
  focusFirstError(form);
}

export function formError(): HTMLElement {
  return h('p', { class: 'form-error', role: 'alert', tabindex: -1, hidden: true });
}

/** errorPanel stands in for a view whose data could not be loaded. */
export function errorPanel(err: unknown): HTMLElement {
  const e = err instanceof ApiError ? err : new ApiError(0, 'client_error', String(err));
  return h('div', { class: 'panel error-panel', role: 'alert' },
    h('p', {}, e.status === 403 ? 'Your token may not see this: ' : 'Could not load this: ', e.description));
}

export function heading(text: string, ...extra: Node[]): HTMLElement {
  return h('div', { class: 'view-head' }, h('h1', { tabindex: -1 }, text), ...extra);
}

export function dl(items: [string, Node | string][]): HTMLElement {
  return h('dl', { class: 'props' }, items.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}
