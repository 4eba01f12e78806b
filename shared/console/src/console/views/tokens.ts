// The token list: status labels, expiry, last use; a status filter; paging;
// on each row the changes the signed-in token may make to it (Edit and Rotate
// open the token's page at that form, Revoke asks first), the others
// disabled with the reason.
import { api, type Token } from '../api';
import { mayChange } from '../authority';
import { instant, expiryDay } from '../dates';
import { field, h } from '../dom';
import { actionButton, errorPanel, errorText, formError, heading, Pager, statusBadge, statusLabel, table } from '../ui';
import type { Ctx } from '../main';
import { confirmDialog } from '../widgets';

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
  const error = formError();
  error.id = 'tokens-error';
  ctx.render(head, h('div', { class: 'filters' }, field('Status', filter, { name: 'status' }).wrap), error, body);

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
          { label: 'Actions', cell: (t) => rowActions(ctx, t, error) },
        ], page.items, { id: 'tokens-table' }),
      );
    }
    body.append(pager.controls('Token', page.next_cursor, () => ctx.refresh()));
  } catch (err) {
    body.removeAttribute('aria-busy');
    body.replaceChildren(errorPanel(err));
  }
}

function rowActions(ctx: Ctx, t: Token, error: HTMLElement): HTMLElement {
  if (t.status === 'revoked' || t.status === 'expired') return h('span', { class: 'empty', 'data-actions-for': t.id }, 'Read-only');
  const perms = ctx.me.permissions;
  const revoke = async () => {
    error.hidden = true;
    if (!await confirmDialog(`Revoke “${t.name}”?`, 'Every integration using this token stops working. This cannot be undone.', 'Revoke')) return;
    try {
      await api.revokeToken(t.id);
      ctx.announce(`Token “${t.name}” revoked.`);
      ctx.refresh();
    } catch (err) {
      if (!ctx.current()) return;
      error.textContent = `${t.name}: ${errorText(err)}`;
      error.hidden = false;
      error.focus();
    }
  };
  const at = (focus: string) => () => ctx.go(`#/tokens/${encodeURIComponent(t.id)}?focus=${focus}`);
  return h('div', { class: 'row-actions', 'data-actions-for': t.id },
    actionButton('Edit', mayChange(perms, t, 'update'), { 'data-action': 'edit', 'aria-label': `Edit ${t.name}` }, at('edit')),
    actionButton('Rotate', mayChange(perms, t, 'rotate'), { 'data-action': 'rotate', 'aria-label': `Rotate ${t.name}` }, at('rotate')),
    actionButton('Revoke', mayChange(perms, t, 'revoke'), { 'data-action': 'revoke', 'aria-label': `Revoke ${t.name}` }, () => void revoke()),
  );
}

export function lastUsed(t: Token): string {
  if (!t.last_used_at) return 'Never';
  return t.last_used_ip ? `${instant(t.last_used_at)} from ${t.last_used_ip}` : instant(t.last_used_at);
}
