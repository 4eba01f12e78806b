// One token: its properties; edit (name, description, active, expiry
// extension, more allowed IPs or none at all), rotate with an optional grace
// period, and revoke after a confirmation. Expired and revoked tokens open
// read-only; a change the signed-in token may not make is shown disabled,
// with the reason.
import { ApiError, api, type Token } from '../api';
import { type Change, mayChange, type Verdict } from '../authority';
import { daysLabel, expiryBounds, expiryDay, instant } from '../dates';
import { type Child, clearErrors, field, focusFirstError, h } from '../dom';
import type { Ctx } from '../main';
import { dl, errorPanel, formError, heading, showError, statusBadge } from '../ui';
import { metaChanges, metaEditor } from '../meta';
import { confirmDialog, ipInput, showSecret } from '../widgets';
import { lastUsed } from './tokens';

// Where each ?focus= of the list's row actions lands: the form's first
// control, or the note that says why the form is disabled.
const focusTargets: Record<string, [Change, string]> = { edit: ['update', 'edit-name'], rotate: ['rotate', 'rotate-grace'] };

export async function detailView(ctx: Ctx, id: string, params: URLSearchParams): Promise<void> {
  ctx.render(heading('API token'), h('p', { 'aria-busy': 'true' }, 'Loading…'));
  let t: Token;
  try {
    t = await api.getToken(id);
  } catch (err) {
    if (ctx.current()) ctx.render(heading('API token'), errorPanel(err));
    return;
  }
  if (!ctx.current()) return;
  const modifiable = t.status === 'active' || t.status === 'inactive';
  const sections: Node[] = [properties(t)];
  if (modifiable) {
    const verdict = (c: Change) => mayChange(ctx.me.permissions, t, c);
    sections.push(editForm(ctx, t, verdict('update')), rotateForm(ctx, t, verdict('rotate')), revokeSection(ctx, t, verdict('revoke')));
  } else {
    sections.push(h('p', { class: 'notice read-only', id: 'read-only-notice', role: 'note' },
      t.status === 'expired'
        ? 'This token has expired. Expired tokens cannot be changed; create a new one.'
        : 'This token is revoked. Revoked tokens cannot be changed; create a new one.'));
  }
  ctx.render(
    heading(t.name, statusBadge(t.status)),
    ...sections,
    h('p', {}, h('a', { href: `#/events?token_id=${encodeURIComponent(t.id)}`, id: 'token-events' }, 'Event history of this token')),
  );
  const target = focusTargets[params.get('focus') ?? ''];
  if (target && ctx.current()) (document.getElementById(`${target[0]}-refused`) ?? document.getElementById(target[1]))?.focus();
}

/**
 * guarded holds a form's controls. When the API would refuse the change,
 * they are disabled and a note above them says why; the form stays on the
 * page so the token's settings can still be read.
 */
function guarded(v: Verdict, change: Change, ...controls: Child[]): Node[] {
  const noteId = `${change}-refused`;
  return [
    ...(v.allowed ? [] : [h('p', { class: 'notice refused', id: noteId, role: 'note', tabindex: -1 }, v.reason)]),
    h('fieldset', { class: 'form-controls', disabled: !v.allowed, 'aria-describedby': v.allowed ? null : noteId, title: v.reason || null }, ...controls),
  ];
}

function properties(t: Token): HTMLElement {
  return h('section', { class: 'panel', 'aria-labelledby': 'props-title' },
    h('h2', { id: 'props-title' }, 'Details'),
    dl([
      ['Token ID', h('code', { id: 'token-id' }, t.id)],
      ['Status', statusBadge(t.status)],
      ['Description', t.description || '—'],
      ['Type', t.type],
      ['Kind', t.kind === 'public_key' ? 'Public key' : 'Secret'],
      ['Account', t.account],
      ['Expires', t.expires_at ? `${expiryDay(t.expires_at)} 23:59:59 UTC` : 'Never'],
      ['Permissions', h('ul', { class: 'inline-list' }, t.permissions.map((p) => h('li', {}, h('code', {}, p))))],
      ['Groups', t.groups.length ? t.groups.join(', ') : '—'],
      ['Allowed IPs', t.allowed_ips.length
        ? h('ul', { class: 'inline-list', id: 'token-allowed-ips' }, t.allowed_ips.map((ip) => h('li', {}, h('code', {}, ip))))
        : 'Any address'],
      ['Contact e-mail', t.contact_email || '—'],
      ['Metadata', Object.keys(t.meta ?? {}).length
        ? h('dl', { class: 'meta-list', id: 'token-meta' }, Object.entries(t.meta ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, v]) => [h('dt', {}, h('code', {}, k)), h('dd', {}, typeof v === 'string' ? v : h('code', {}, String(v)))]))
        : '—'],
      ['Last used', lastUsed(t)],
      ['Created', `${instant(t.created_at)} by ${t.created_by}`],
      ['Updated', instant(t.updated_at)],
      ...(t.previous_valid_until ? [['Previous secret valid until', instant(t.previous_valid_until)] as [string, string]] : []),
      ...(t.public_key ? [['Public key', h('pre', { class: 'mono' }, t.public_key)] as [string, Node]] : []),
    ]));
}

function editForm(ctx: Ctx, t: Token, v: Verdict): HTMLElement {
  const name = field('Name', h('input', { type: 'text', id: 'edit-name', value: t.name, maxlength: 100, required: true }), { name: 'name' });
  const description = field('Description', h('textarea', { id: 'edit-description', rows: 2, maxlength: 1000, value: t.description }), { name: 'description' });
  const active = h('input', { type: 'checkbox', id: 'edit-active', checked: t.status === 'active' });
  // The caller's account's policy; a token of a sub-account may be held
  // to a stricter one, which the API then names in its error.
  const policy = ctx.me.account_policy;
  const b = expiryBounds(policy.max_expiry_days);
  const limit = `${daysLabel(policy.max_expiry_days)} from today, the account's limit`;
  const expires = field('Extend expiry to', h('input', { type: 'date', id: 'edit-expires', min: b.min, max: b.max }), {
    name: 'expires_at', hint: `Optional. A day from ${b.min} to ${b.max} (${limit}).`,
  });
  const allowNever = policy.allow_never_expires && t.expires_at !== null;
  const never = h('input', { type: 'checkbox', id: 'edit-never' });
  const ips = ipInput('add_allowed_ips', 'Add allowed IPs', 'edit-add-ips', 'Leave it blank to keep the list as it is.');
  // Opening the token to every address is its own choice, never what a
  // blank list means.
  const clearIPs = h('input', { type: 'checkbox', id: 'edit-clear-ips' });
  const contact = field('Contact e-mail', h('input', { type: 'email', id: 'edit-contact', maxlength: 254, autocomplete: 'off', value: t.contact_email ?? '' }), {
    name: 'contact_email', hint: 'Who gets this token\'s notices. Clear the field for none.',
  });
  const meta = metaEditor('meta', 'edit-meta', t.meta ?? {});
  const status = h('p', { role: 'status', class: 'status', id: 'edit-status' });
  const submit = h('button', { type: 'submit', id: 'edit-submit' }, 'Save changes');
  const form = h('form', { class: 'panel form', id: 'edit-form', novalidate: true, 'aria-labelledby': 'edit-title' },
    h('h2', { id: 'edit-title' }, 'Edit'),
    formError(),
    ...guarded(v, 'update',
      name.wrap, description.wrap,
      h('div', { class: 'field choice', 'data-field': 'active' }, active, h('label', { for: active.id }, 'Active (an inactive token is refused until it is activated again)'),
        h('p', { class: 'field-error', 'data-error-for': 'active', hidden: true })),
      expires.wrap,
      allowNever ? h('div', { class: 'field choice', 'data-field': 'never_expires' }, never, h('label', { for: never.id }, 'Never expires'),
        h('p', { class: 'field-error', 'data-error-for': 'never_expires', hidden: true })) : null,
      ips.wrap,
      t.allowed_ips.length ? h('div', { class: 'field choice', 'data-field': 'allowed_ips' }, clearIPs,
        h('label', { for: clearIPs.id }, 'Remove every allowed IP, so that any address may use this token'),
        h('p', { class: 'field-error', 'data-error-for': 'allowed_ips', hidden: true })) : null,
      contact.wrap, meta.wrap,
      status,
      h('div', { class: 'actions' }, submit)),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    status.textContent = '';
    const body: Record<string, unknown> = {};
    const n = name.control.value.trim();
    if (n !== t.name) body.name = n;
    const d = description.control.value.trim();
    if (d !== t.description) body.description = d;
    if (active.checked !== (t.status === 'active')) body.active = active.checked;
    const day = expires.control.value;
    if (day) {
      if (day < b.min || day > b.max) {
        showError(form, new ApiError(0, 'invalid_request', `Choose a day from ${b.min} (tomorrow) to ${b.max} (${limit}).`, 'expires_at'));
        return;
      }
      body.expires_at = day;
    }
    if (allowNever && never.checked) {
      if (day) {
        showError(form, new ApiError(0, 'invalid_request', 'Give either an expiry date or Never expires, not both.', 'never_expires'));
        return;
      }
      body.never_expires = true;
    }
    const more = ips.value();
    if (!more) {
      focusFirstError(form);
      return;
    }
    if (clearIPs.checked) {
      if (more.length) {
        showError(form, new ApiError(0, 'invalid_request', 'Either remove every allowed IP or add new ones, not both.', 'add_allowed_ips'));
        return;
      }
      body.allowed_ips = [];
    } else if (more.length) {
      body.add_allowed_ips = more;
    }
    const c = contact.control.value.trim();
    if (c !== (t.contact_email ?? '')) body.contact_email = c;
    const m = meta.value();
    if (!m) {
      focusFirstError(form);
      return;
    }
    // Only what changed, so a key set elsewhere meanwhile is kept.
    const changes = metaChanges(t.meta ?? {}, m);
    if (Object.keys(changes).length > 0) body.merge_meta = changes;
    if (Object.keys(body).length === 0) {
      status.textContent = 'Nothing to change.';
      return;
    }
    submit.disabled = true;
    try {
      await api.updateToken(t.id, body);
      ctx.announce('Changes saved.');
      ctx.refresh();
    } catch (err) {
      // The metadata editor answers to meta.<key> whichever way it sent it.
      if (err instanceof ApiError && err.field?.startsWith('merge_meta')) {
        err = new ApiError(err.status, err.code, err.description, 'meta' + err.field.slice('merge_meta'.length), err.missing);
      }
      showError(form, err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function rotateForm(ctx: Ctx, t: Token, v: Verdict): HTMLElement {
  const grace = field('Keep the old secret valid for', h('select', { id: 'rotate-grace' },
    h('option', { value: '0', selected: true }, 'No grace period — the old secret stops working now'),
    h('option', { value: '3600' }, '1 hour'),
    h('option', { value: '86400' }, '1 day'),
    h('option', { value: '604800' }, '7 days (the most)')), {
    name: 'grace_seconds', hint: 'A grace period lets integrations switch to the new secret without downtime.',
  });
  const key = t.kind === 'public_key'
    ? field('New public key (PEM)', h('textarea', { id: 'rotate-public-key', rows: 5, class: 'mono', spellcheck: 'false' }), {
      name: 'public_key', hint: 'The EC P-256 public key that replaces the current one. The BEGIN/END lines are optional.',
    })
    : null;
  const submit = h('button', { type: 'submit', id: 'rotate-submit' }, t.kind === 'public_key' ? 'Replace key' : 'Rotate secret');
  const form = h('form', { class: 'panel form', id: 'rotate-form', novalidate: true, 'aria-labelledby': 'rotate-title' },
    h('h2', { id: 'rotate-title' }, t.kind === 'public_key' ? 'Rotate key' : 'Rotate secret'),
    h('p', { class: 'hint' }, t.kind === 'public_key'
      ? 'Replaces the public key; the token ID stays the same.'
      : 'Issues a new secret for the same token ID. The new secret is shown once.'),
    formError(),
    ...guarded(v, 'rotate', grace.wrap, key?.wrap ?? null, h('div', { class: 'actions' }, submit)));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const body: Record<string, unknown> = {};
    const g = Number(grace.control.value);
    if (g > 0) body.grace_seconds = g;
    if (key) body.public_key = key.control.value.trim();
    submit.disabled = true;
    try {
      const file = await api.rotateToken(t.id, body);
      showSecret(file, t.kind === 'public_key' ? `Key of “${t.name}” replaced` : `New secret for “${t.name}”`, () => ctx.refresh());
    } catch (err) {
      showError(form, err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function revokeSection(ctx: Ctx, t: Token, v: Verdict): HTMLElement {
  const error = formError();
  const button = h('button', { type: 'button', class: 'danger', id: 'revoke' }, 'Revoke token');
  const section = h('section', { class: 'panel danger-zone', 'aria-labelledby': 'revoke-title' },
    h('h2', { id: 'revoke-title' }, 'Revoke'),
    h('p', {}, 'A revoked token stops working (within the authorizer cache time) and can never be used again.'),
    error, ...guarded(v, 'revoke', button));
  button.addEventListener('click', async () => {
    const yes = await confirmDialog(`Revoke “${t.name}”?`, 'Every integration using this token stops working. This cannot be undone.', 'Revoke');
    if (!yes) {
      button.focus();
      return;
    }
    try {
      await api.revokeToken(t.id);
      ctx.announce(`Token “${t.name}” revoked.`);
      ctx.refresh();
    } catch (err) {
      showError(section, err);
    }
  });
  return section;
}
