// The roles the caller's account can use: named permission sets a token can
// be created from, its own and those of the accounts above it (inherited),
// each with the account that defines it.
import { api, type Role } from '../api';
import { instant } from '../dates';
import { h } from '../dom';
import type { Ctx } from '../main';
import { errorPanel, heading, Pager, table } from '../ui';

const pager = new Pager();

export async function rolesView(ctx: Ctx): Promise<void> {
  const body = h('div', { class: 'view-body', 'aria-busy': 'true' }, h('p', {}, 'Loading…'));
  ctx.render(heading('Roles'), body);
  try {
    const page = await api.listRoles({ limit: 20, cursor: pager.cursor });
    if (!ctx.current()) return;
    body.removeAttribute('aria-busy');
    body.replaceChildren(
      page.items.length === 0
        ? h('p', { class: 'empty' }, 'No roles yet. Create them with POST /v1/roles.')
        : table<Role>('Roles', [
          { label: 'Name', cell: (r) => h('code', {}, r.name) },
          { label: 'Description', cell: (r) => r.description || '—' },
          { label: 'Permissions', cell: (r) => h('ul', { class: 'inline-list' }, r.permissions.map((p) => h('li', {}, h('code', {}, p)))) },
          { label: 'Defined by', cell: (r) => definedBy(ctx, r) },
          { label: 'Created', cell: (r) => instant(r.created_at) },
        ], page.items, { id: 'roles-table' }),
      pager.controls('Role', page.next_cursor, () => ctx.refresh()),
    );
  } catch (err) {
    body.removeAttribute('aria-busy');
    body.replaceChildren(errorPanel(err));
  }
}

function definedBy(ctx: Ctx, r: Role): HTMLElement {
  // An API that does not say is read by the account: a role defined
  // elsewhere than the caller's account comes from above it.
  const inherited = r.inherited ?? r.account !== ctx.me.account;
  return h('span', { class: 'defined-by', 'data-inherited': String(inherited) },
    h('code', {}, r.account),
    inherited ? [' ', h('span', { class: 'badge inherited', title: `Defined by ${r.account}, an account above yours` }, 'Inherited')] : null);
}
