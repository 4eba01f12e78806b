// The caller's account and the accounts directly below it.
import { api, type Account } from '../api';
import { instant } from '../dates';
import { h } from '../dom';
import type { Ctx } from '../main';
import { dl, errorPanel, heading, Pager, table } from '../ui';

const pager = new Pager();

export async function accountsView(ctx: Ctx): Promise<void> {
  const own = h('section', { class: 'panel', 'aria-labelledby': 'own-account' }, h('h2', { id: 'own-account' }, 'Your account'), h('p', {}, 'Loading…'));
  const children = h('section', { class: 'panel', 'aria-labelledby': 'sub-accounts' }, h('h2', { id: 'sub-accounts' }, 'Sub-accounts'), h('p', {}, 'Loading…'));
  ctx.render(heading('Accounts'), own, children);
  const [mine, page] = await Promise.allSettled([
    api.getAccount(ctx.me.account),
    api.listAccounts({ limit: 20, cursor: pager.cursor }),
  ]);
  if (!ctx.current()) return;
  own.replaceChildren(own.firstChild!, mine.status === 'fulfilled'
    ? dl([
      ['ID', h('code', {}, mine.value.id)],
      ['Name', mine.value.name],
      ['Parent', mine.value.parent ?? '— (root account)'],
      ['Path', mine.value.path.join(' › ')],
      ['Tokens that never expire', mine.value.policy.allow_never_expires ? 'Allowed' : 'Not allowed'],
      ['Created', instant(mine.value.created_at)],
    ])
    : errorPanel(mine.reason));
  if (page.status === 'rejected') {
    children.replaceChildren(children.firstChild!, errorPanel(page.reason));
    return;
  }
  children.replaceChildren(children.firstChild!,
    page.value.items.length === 0
      ? h('p', { class: 'empty' }, 'No sub-accounts.')
      : table<Account>('Sub-accounts', [
        { label: 'ID', cell: (a) => h('code', {}, a.id) },
        { label: 'Name', cell: (a) => a.name },
        { label: 'Tokens that never expire', cell: (a) => (a.policy.allow_never_expires ? 'Allowed' : 'Not allowed') },
        { label: 'Created', cell: (a) => instant(a.created_at) },
      ], page.value.items, { id: 'accounts-table' }),
    pager.controls('Sub-account', page.value.next_cursor, () => ctx.refresh()));
}
