// The event history, newest first, filtered by token and event type. The
// event types come from the API's own OpenAPI document, so the filter
// never drifts from the API.
import { api, apiURL, type LatchkeyEvent } from '../api';
import { instant } from '../dates';
import { clearErrors, field, h } from '../dom';
import type { Ctx } from '../main';
import { formError, heading, Pager, showError, table } from '../ui';

const pager = new Pager();
let lastFilter = '';
let eventTypes: string[] | null = null;

async function loadEventTypes(): Promise<string[]> {
  if (eventTypes) return eventTypes;
  try {
    const resp = await fetch(apiURL('openapi.json'), { credentials: 'omit' });
    const doc = (await resp.json()) as { components?: { schemas?: { EventType?: { enum?: string[] } } } };
    eventTypes = doc.components?.schemas?.EventType?.enum ?? [];
  } catch {
    eventTypes = [];
  }
  return eventTypes;
}

export async function eventsView(ctx: Ctx, params: URLSearchParams): Promise<void> {
  const tokenID = params.get('token_id') ?? '';
  const type = params.get('type') ?? '';
  const key = `${tokenID}|${type}`;
  if (key !== lastFilter) {
    pager.reset();
    lastFilter = key;
  }
  const types = await loadEventTypes();
  const tokenInput = field('Token ID', h('input', { type: 'text', id: 'events-token', value: tokenID, spellcheck: 'false', autocomplete: 'off' }), { name: 'token_id' });
  const typeSelect = field('Event type', h('select', { id: 'events-type' },
    h('option', { value: '' }, 'All'),
    types.map((t) => h('option', { value: t, selected: t === type }, t))), { name: 'type' });
  const form = h('form', { class: 'filters', id: 'events-filter', role: 'search' },
    formError(), tokenInput.wrap, typeSelect.wrap,
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'events-apply' }, 'Show events')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if (tokenInput.control.value.trim()) q.set('token_id', tokenInput.control.value.trim());
    if (typeSelect.control.value) q.set('type', typeSelect.control.value);
    const target = q.size ? `#/events?${q}` : '#/events';
    if (location.hash === target) ctx.refresh();
    else ctx.go(target);
  });
  const body = h('div', { class: 'view-body', 'aria-busy': 'true' }, h('p', {}, 'Loading…'));
  if (!ctx.current()) return;
  ctx.render(heading('Event history'), form, body);
  try {
    const page = await api.listEvents({ token_id: tokenID, type, limit: 25, cursor: pager.cursor });
    if (!ctx.current()) return;
    clearErrors(form);
    body.removeAttribute('aria-busy');
    body.replaceChildren(
      page.items.length === 0
        ? h('p', { class: 'empty' }, 'No events match.')
        : table<LatchkeyEvent>('Events', [
          { label: 'When', cell: (e) => instant(e.at) },
          { label: 'Event', cell: (e) => h('span', {}, e.message, h('br'), h('code', { class: 'event-type' }, e.type)) },
          { label: 'Token', cell: (e) => (e.token_id ? h('a', { href: `#/tokens/${e.token_id}` }, h('code', {}, e.token_id)) : '—') },
          { label: 'By', cell: (e) => e.actor },
          { label: 'Details', cell: (e) => details(e.detail) },
        ], page.items, { id: 'events-table' }),
      pager.controls('Event', page.next_cursor, () => ctx.refresh()),
    );
  } catch (err) {
    body.removeAttribute('aria-busy');
    body.replaceChildren();
    showError(form, err);
  }
}

function details(d: Record<string, string>): Node | string {
  const keys = Object.keys(d).sort();
  if (keys.length === 0) return '—';
  return h('ul', { class: 'kv' }, keys.map((k) => h('li', {}, h('span', { class: 'k' }, `${k}: `), d[k])));
}
