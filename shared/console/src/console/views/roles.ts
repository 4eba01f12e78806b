// The roles of the caller's account: named permission sets a token can be
// created from.
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
          { label: 'Account', cell: (r) => r.account },
          { label: 'Created', cell: (r) => instant(r.created_at) },
        ], page.items, { id: 'roles-table' }),
      pager.controls('Role', page.next_cursor, () => ctx.refresh()),
    );
  } catch (err) {
    body.removeAttribute('aria-busy');
    body.replaceChildren(errorPanel(err));
  }
}
