// The token list: status labels, expiry, last use; a status filter; paging.
import { api, type Token } from '../api';
import { instant, expiryDay } from '../dates';
import { field, h } from '../dom';
import { errorPanel, heading, Pager, statusBadge, statusLabel, table } from '../ui';
import type { Ctx } from '../main';

const pager = new Pager();
let lastStatus = '';

export async function tokensView(ctx: Ctx, params: URLSearchParams): Promise<void> {
  const status = params.get('status') ?? '';
  if (status !== lastStatus) {
    pager.reset();
    lastStatus = status;
  }
  const filter = h('select', { id: 'tokens-status' },
    h('option', { value: '', selected: status === '' }, 'All'),
    Object.entries(statusLabel).map(([v, label]) => h('option', { value: v, selected: status === v }, label)),
  );
  filter.addEventListener('change', () => ctx.go(filter.value ? `#/tokens?status=${filter.value}` : '#/tokens'));
  const canCreate = ctx.can('apikeys:modify');
  const head = heading('API tokens',
    ...(canCreate ? [h('a', { class: 'button', href: '#/tokens/new', id: 'new-token' }, 'Create token')] : []));
  const body = h('div', { class: 'view-body', 'aria-busy': 'true' }, h('p', {}, 'Loading…'));
  ctx.render(head, h('div', { class: 'filters' }, field('Status', filter, { name: 'status' }).wrap), body);

  try {
    const page = await api.listTokens({ status, limit: 20, cursor: pager.cursor });
    if (!ctx.current()) return;
    body.removeAttribute('aria-busy');
    if (page.items.length === 0) {
      body.replaceChildren(h('p', { class: 'empty' }, status ? `No ${statusLabel[status]?.toLowerCase()} tokens.` : 'No tokens yet.'));
    } else {
      body.replaceChildren(
        table<Token>('API tokens', [
          { label: 'Name', cell: (t) => h('a', { href: `#/tokens/${t.id}`, 'data-token-id': t.id }, t.name) },
          { label: 'Type', cell: (t) => t.type },
          { label: 'Kind', cell: (t) => (t.kind === 'public_key' ? 'Public key' : 'Secret') },
          { label: 'Status', cell: (t) => statusBadge(t.status) },
          { label: 'Expires', cell: (t) => expiryDay(t.expires_at) },
          { label: 'Last used', cell: (t) => lastUsed(t) },
        ], page.items, { id: 'tokens-table' }),
      );
    }
    body.append(pager.controls('Token', page.next_cursor, () => ctx.refresh()));
  } catch (err) {
    body.removeAttribute('aria-busy');
    body.replaceChildren(errorPanel(err));
  }
}

export function lastUsed(t: Token): string {
  if (!t.last_used_at) return 'Never';
  return t.last_used_ip ? `${instant(t.last_used_at)} from ${t.last_used_ip}` : instant(t.last_used_at);
}
