// Accounts: the caller's account or one below it (#/accounts/<id>), with
// its token policy and admin e-mails and, given accounts:modify, a form to
// change them; and the accounts directly below it.
import { ApiError, api, type Account, type TokenPolicy } from '../api';
import { daysLabel, instant, MAX_EXPIRY_DAYS } from '../dates';
import { clearErrors, field, focusFirstError, h, setFieldError } from '../dom';
import type { Ctx } from '../main';
import { dl, errorPanel, formError, heading, Pager, showError, table } from '../ui';

const pager = new Pager();

/** "90 days by default, at most 1 year; tokens must expire". */
export function policyText(p: TokenPolicy): string {
  const def = p.default_expiry_days === null ? 'never expire by default' : `${daysLabel(p.default_expiry_days)} by default`;
  return `${def}, at most ${daysLabel(p.max_expiry_days)}; ${p.allow_never_expires ? 'tokens may never expire' : 'tokens must expire'}`;
}

function samePolicy(a: TokenPolicy, b: TokenPolicy): boolean {
  return a.default_expiry_days === b.default_expiry_days && a.max_expiry_days === b.max_expiry_days && a.allow_never_expires === b.allow_never_expires;
}

export async function accountsView(ctx: Ctx, id?: string): Promise<void> {
  const target = id ?? ctx.me.account;
  const own = h('section', { class: 'panel', 'aria-labelledby': 'own-account' },
    h('h2', { id: 'own-account' }, target === ctx.me.account ? 'Your account' : `Account ${target}`), h('p', {}, 'Loading…'));
  const children = h('section', { class: 'panel', 'aria-labelledby': 'sub-accounts' }, h('h2', { id: 'sub-accounts' }, 'Sub-accounts'), h('p', {}, 'Loading…'));
  ctx.render(heading('Accounts'), own, children);
  const [acct, page] = await Promise.allSettled([
    api.getAccount(target),
    api.listAccounts({ limit: 20, cursor: pager.cursor, parent: id }),
  ]);
  if (!ctx.current()) return;
  if (acct.status === 'fulfilled') {
    const a = acct.value;
    const effective = policyText(a.effective_token_policy);
    own.replaceChildren(own.firstChild!, dl([
      ['ID', h('code', {}, a.id)],
      ['Name', a.name],
      ['Parent', a.parent ? h('a', { href: `#/accounts/${encodeURIComponent(a.parent)}` }, a.parent) : '— (root account)'],
      ['Path', a.path.join(' › ')],
      ['Token policy', h('span', { id: 'account-policy' }, effective)],
      ...(samePolicy(a.token_policy, a.effective_token_policy) ? [] : [
        ['Policy as set', h('span', { id: 'account-policy-set' }, `${policyText(a.token_policy)} (an account above is stricter)`)] as [string, Node],
      ]),
      ['Admin e-mails', h('span', { id: 'account-emails' }, a.admin_emails.length ? a.admin_emails.join(', ') : 'None')],
      ['Created', instant(a.created_at)],
    ]), ctx.can('accounts:modify') ? accountForm(ctx, a) : h('p', { class: 'hint' }, 'Changing the account needs accounts:modify.'));
  } else {
    own.replaceChildren(own.firstChild!, errorPanel(acct.reason));
  }
  if (page.status === 'rejected') {
    children.replaceChildren(children.firstChild!, errorPanel(page.reason));
    return;
  }
  children.replaceChildren(children.firstChild!,
    page.value.items.length === 0
      ? h('p', { class: 'empty' }, 'No sub-accounts.')
      : table<Account>('Sub-accounts', [
        { label: 'ID', cell: (a) => h('a', { href: `#/accounts/${encodeURIComponent(a.id)}` }, h('code', {}, a.id)) },
        { label: 'Name', cell: (a) => a.name },
        { label: 'Token policy', cell: (a) => policyText(a.effective_token_policy) },
        { label: 'Admin e-mails', cell: (a) => String(a.admin_emails.length) },
        { label: 'Created', cell: (a) => instant(a.created_at) },
      ], page.value.items, { id: 'accounts-table' }),
    pager.controls('Sub-account', page.value.next_cursor, () => ctx.refresh()));
}

/** splitEmails reads addresses separated by commas, semicolons, spaces or line breaks. */
export function splitEmails(s: string): string[] {
  return s.split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean);
}

function accountForm(ctx: Ctx, a: Account): HTMLElement {
  const p = a.token_policy;
  const name = field('Name', h('input', { type: 'text', id: 'account-name', value: a.name, maxlength: 100, required: true }), { name: 'name' });
  const defaultDays = field('Default expiry (days)', h('input', {
    type: 'number', id: 'account-default-days', min: 1, max: MAX_EXPIRY_DAYS, step: 1,
    value: p.default_expiry_days === null ? '' : String(p.default_expiry_days),
  }), { name: 'token_policy.default_expiry_days', hint: 'How long a token lasts when its creator names no day.' });
  const neverDefault = h('input', { type: 'checkbox', id: 'account-default-never', checked: p.default_expiry_days === null });
  const maxDays = field('Longest expiry (days)', h('input', {
    type: 'number', id: 'account-max-days', min: 1, max: MAX_EXPIRY_DAYS, step: 1, value: String(p.max_expiry_days),
  }), { name: 'token_policy.max_expiry_days', hint: `1 to ${MAX_EXPIRY_DAYS} (one year); at most the parent account's.` });
  const allowNever = h('input', { type: 'checkbox', id: 'account-allow-never', checked: p.allow_never_expires });
  const emails = field('Admin e-mails', h('textarea', { id: 'account-emails-input', rows: 3, spellcheck: 'false', autocapitalize: 'off', value: a.admin_emails.join('\n') }), {
    name: 'admin_emails', hint: 'Told about the account\'s tokens: one address per line, at most 20. Leave it empty for none.',
  });
  const syncDefault = () => {
    defaultDays.control.disabled = neverDefault.checked;
  };
  neverDefault.addEventListener('change', syncDefault);
  syncDefault();
  const submit = h('button', { type: 'submit', id: 'account-submit' }, 'Save account');
  const form = h('form', { class: 'form', id: 'account-form', novalidate: true, 'aria-labelledby': 'account-form-title' },
    h('h3', { id: 'account-form-title' }, 'Change the account'),
    formError(),
    name.wrap,
    h('fieldset', { class: 'field', 'data-field': 'token_policy' },
      h('legend', {}, 'Token policy'),
      h('p', { class: 'hint' }, 'Only as strict as the parent account\'s policy or stricter. Tightening it applies to tokens created, extended or rotated from now on, here and below; existing tokens keep their day.'),
      defaultDays.wrap,
      h('div', { class: 'choice' }, neverDefault, h('label', { for: neverDefault.id }, 'Tokens made without a day never expire')),
      maxDays.wrap,
      h('div', { class: 'choice', 'data-field': 'token_policy.allow_never_expires' }, allowNever,
        h('label', { for: allowNever.id }, 'Allow tokens that never expire'),
        h('p', { class: 'field-error', 'data-error-for': 'token_policy.allow_never_expires', hidden: true })),
      h('p', { class: 'field-error', 'data-error-for': 'token_policy', hidden: true })),
    emails.wrap,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const body: Record<string, unknown> = {};
    const n = name.control.value.trim();
    if (n !== a.name) body.name = n;
    const policy: Record<string, unknown> = {};
    const whole = (s: string) => (/^\d+$/.test(s) ? Number(s) : NaN);
    if (neverDefault.checked) {
      if (p.default_expiry_days !== null) policy.default_expiry_days = null;
    } else {
      const d = whole(defaultDays.control.value.trim());
      if (!(d >= 1 && d <= MAX_EXPIRY_DAYS)) {
        setFieldError(form, 'token_policy.default_expiry_days', `Give a whole number of days from 1 to ${MAX_EXPIRY_DAYS}.`);
      } else if (d !== p.default_expiry_days) {
        policy.default_expiry_days = d;
      }
    }
    const m = whole(maxDays.control.value.trim());
    if (!(m >= 1 && m <= MAX_EXPIRY_DAYS)) {
      setFieldError(form, 'token_policy.max_expiry_days', `Give a whole number of days from 1 to ${MAX_EXPIRY_DAYS}.`);
    } else if (m !== p.max_expiry_days) {
      policy.max_expiry_days = m;
    }
    if (allowNever.checked !== p.allow_never_expires) policy.allow_never_expires = allowNever.checked;
    if (form.querySelector('[aria-invalid="true"]')) {
      focusFirstError(form);
      return;
    }
    if (Object.keys(policy).length) body.token_policy = policy;
    const list = splitEmails(emails.control.value);
    if (list.join('\n') !== a.admin_emails.join('\n')) body.admin_emails = list;
    if (Object.keys(body).length === 0) {
      showError(form, new ApiError(0, 'invalid_request', 'Nothing to save: change a field first.'));
      return;
    }
    submit.disabled = true;
    try {
      await api.updateAccount(a.id, body);
      ctx.announce('Account saved.');
      // The caller's own account's policy rides on whoami, which the
      // create form reads: fetch it again.
      if (a.id === ctx.me.account) ctx.reloadMe();
      ctx.refresh();
    } catch (err) {
      showError(form, err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
