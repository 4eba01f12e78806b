// Create a token: name, description, type, kind (a secret, or a public key
// in PEM), permissions, expiry and allowed IPs. The API answers with the
// .token file (?format=file), whose secret the dialog shows once.
import { api } from '../api';
import { clearErrors, field, focusFirstError, h } from '../dom';
import type { Ctx } from '../main';
import { formError, heading, showError } from '../ui';
import { metaEditor } from '../meta';
import { expiryInput, ipInput, permissionGrid, showSecret } from '../widgets';

export function createView(ctx: Ctx): void {
  const name = field('Name', h('input', { type: 'text', id: 'create-name', maxlength: 100, required: true, autocomplete: 'off' }), {
    name: 'name', hint: 'Name it after the integration that will use it.',
  });
  const description = field('Description', h('textarea', { id: 'create-description', rows: 2, maxlength: 1000 }), { name: 'description', hint: 'Optional.' });
  const type = field('Type', h('select', { id: 'create-type' },
    h('option', { value: 'general', selected: true }, 'General — server-to-server'),
    h('option', { value: 'embedded' }, 'Embedded — in a device or appliance'),
    h('option', { value: 'browser' }, 'Browser — in a web page')), { name: 'type' });

  const kindSecret = h('input', { type: 'radio', name: 'kind', id: 'kind-secret', value: 'secret', checked: true });
  const kindKey = h('input', { type: 'radio', name: 'kind', id: 'kind-public-key', value: 'public_key' });
  const publicKey = field('Public key (PEM)', h('textarea', { id: 'create-public-key', rows: 5, spellcheck: 'false', class: 'mono', placeholder: '-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----' }), {
    name: 'public_key',
    hint: 'An EC P-256 public key, e.g. from `openssl ec -in privateKey.pem -pubout`. The BEGIN/END lines are optional.',
  });
  const kind = h('fieldset', { class: 'field', 'data-field': 'kind' },
    h('legend', {}, 'Kind'),
    h('div', { class: 'choice' }, kindSecret, h('label', { for: kindSecret.id }, 'Secret — Latchkey generates a token ID and a secret')),
    h('div', { class: 'choice' }, kindKey, h('label', { for: kindKey.id }, 'Public key — the client signs with its own private key')),
    h('p', { class: 'field-error', 'data-error-for': 'kind', hidden: true }),
    publicKey.wrap);
  const syncKind = () => { publicKey.wrap.hidden = !kindKey.checked; };
  kindSecret.addEventListener('change', syncKind);
  kindKey.addEventListener('change', syncKind);
  syncKind();

  const perms = permissionGrid(ctx.me.permissions);
  const expiry = expiryInput(ctx.me.account_policy);
  const ips = ipInput('allowed_ips', 'Allowed IPs', 'create-ips', 'Leave it blank to allow any address.');
  const contact = field('Contact e-mail', h('input', { type: 'email', id: 'create-contact', maxlength: 254, autocomplete: 'off', value: ctx.me.contact_email ?? '' }), {
    name: 'contact_email',
    hint: 'Who gets this token\'s notices. Your token\'s contact is filled in; clear the field for none.',
  });
  const meta = metaEditor('meta', 'create-meta');
  const inactive = h('input', { type: 'checkbox', id: 'create-inactive' });
  const submit = h('button', { type: 'submit', id: 'create-submit' }, 'Create token');

  const form = h('form', { class: 'panel form', id: 'create-form', novalidate: true },
    formError(),
    name.wrap, description.wrap, type.wrap, kind, perms.wrap, expiry.wrap, ips.wrap, contact.wrap, meta.wrap,
    h('div', { class: 'field choice', 'data-field': 'active' }, inactive,
      h('label', { for: inactive.id }, 'Create it inactive (it authenticates nothing until it is activated on its page)'),
      h('p', { class: 'field-error', 'data-error-for': 'active', hidden: true })),
    h('div', { class: 'actions' }, submit, h('a', { href: '#/tokens', class: 'button secondary' }, 'Cancel')),
  );

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const body: Record<string, unknown> = {
      name: name.control.value.trim(),
      description: description.control.value.trim(),
      type: type.control.value,
      kind: kindKey.checked ? 'public_key' : 'secret',
    };
    let ok = true;
    if (!body.name) {
      name.error.textContent = 'Give the token a name.';
      name.error.hidden = false;
      name.control.setAttribute('aria-invalid', 'true');
      ok = false;
    }
    if (kindKey.checked) {
      body.public_key = publicKey.control.value.trim();
      if (!body.public_key) {
        publicKey.error.textContent = 'Paste the EC P-256 public key.';
        publicKey.error.hidden = false;
        publicKey.control.setAttribute('aria-invalid', 'true');
        ok = false;
      }
    }
    const p = perms.value();
    const e = expiry.value();
    const list = ips.value();
    const m = meta.value();
    if (!ok || !p || !e || !list || !m) {
      focusFirstError(form);
      return;
    }
    Object.assign(body, { permissions: p }, e);
    if (Object.keys(m).length > 0) body.meta = m;
    body.contact_email = contact.control.value.trim();
    if (inactive.checked) body.active = false;
    // Left out when blank: the token then allows any address.
    if (list.length > 0) body.allowed_ips = list;
    submit.disabled = true;
    try {
      const file = await api.createToken(body);
      const id = /LATCHKEY_TOKEN_ID=(\S+)/.exec(file.content)?.[1] ?? '';
      showSecret(file, `Token “${body.name}” created`, () => ctx.go(id ? `#/tokens/${id}` : '#/tokens'));
    } catch (err) {
      showError(form, err);
    } finally {
      submit.disabled = false;
    }
  });

  ctx.render(heading('Create an API token'), form);
}
