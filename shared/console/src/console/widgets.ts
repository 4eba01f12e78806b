// Form widgets the create and detail views share: the allowed-IP list with
// its live preview, the expiry picker, the permission grid, and the
// shown-once secret dialog.
import type { TokenFileResponse, TokenPolicy } from './api';
import { type Bounds, daysAhead, daysLabel, expiryBounds, inBounds, MAX_EXPIRY_DAYS, today } from './dates';
import { field, h, setFieldError, uid } from './dom';
import { INVALID, parseList, split } from './ip';
import { ACTIONS, type Action, actionLabel, rows, selection } from './permissions';
import { parseTokenFile } from './tokenfile';

// ---- Allowed IPs -------------------------------------------------------

export interface IPInput {
  wrap: HTMLElement;
  textarea: HTMLTextAreaElement;
  /** The canonical entries, or null (with the error shown) when one is invalid. */
  value(): string[] | null;
}

/** ipInput is an IP list field. An empty field is an empty list; blank says, in the hint, what that means here. */
export function ipInput(name: string, label: string, id: string, blank: string): IPInput {
  const textarea = h('textarea', { id, rows: 3, spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off', placeholder: '10.0.0.0/24, 2001:db8::/32' });
  const list = h('ul', { class: 'ip-list', id: `${id}-list`, 'aria-label': `${label}: entries` });
  const summary = h('p', { class: 'hint', id: `${id}-summary`, 'aria-live': 'polite' });
  const f = field(label, textarea, {
    name,
    hint: `IPv4 or IPv6 addresses or CIDR blocks, separated by spaces, commas, semicolons or line breaks. Duplicates are dropped. ${blank}`,
    extra: [summary, list],
  });
  const render = () => {
    const parsed = parseList(textarea.value);
    list.replaceChildren(...parsed.entries.map((e) => h('li', { class: e.valid ? 'ip ok' : 'ip bad', 'data-valid': String(e.valid) },
      h('span', { class: 'ip-text' }, e.valid ? e.canonical! : e.raw),
      e.valid ? null : h('span', { class: 'ip-error' }, INVALID),
      h('button', {
        type: 'button', class: 'link', 'aria-label': `Remove ${e.raw}`,
        onclick: () => {
          textarea.value = split(textarea.value).filter((x) => x !== e.raw).join('\n');
          render();
          textarea.focus();
        },
      }, 'Remove'),
    )));
    const n = parsed.entries.length;
    const bad = parsed.entries.filter((e) => !e.valid).length;
    summary.textContent = n === 0 ? '' : [
      `${n} ${n === 1 ? 'entry' : 'entries'}`,
      parsed.duplicates ? `${parsed.duplicates} duplicate${parsed.duplicates === 1 ? '' : 's'} dropped` : '',
      bad ? `${bad} invalid` : '',
    ].filter(Boolean).join(', ');
    if (bad === 0) {
      f.error.hidden = true;
      f.error.textContent = '';
      textarea.removeAttribute('aria-invalid');
    }
    return parsed;
  };
  textarea.addEventListener('input', render);
  return {
    wrap: f.wrap,
    textarea,
    value() {
      const parsed = render();
      const bad = parsed.entries.filter((e) => !e.valid);
      if (bad.length > 0) {
        setFieldError(f.wrap, name, `${INVALID}: ${bad.map((e) => e.raw).join(', ')}. Remove ${bad.length === 1 ? 'it' : 'them'} to continue.`);
        return null;
      }
      return parsed.entries.map((e) => e.canonical!);
    },
  };
}

// ---- Expiry ------------------------------------------------------------

export interface ExpiryChoice {
  expires_at?: string;
  never_expires?: boolean;
}

export interface ExpiryInput {
  wrap: HTMLElement;
  /** The choice, or null (with the error shown) when the date is out of bounds. */
  value(): ExpiryChoice | null;
}

/** The usual lifetimes offered, in days; 365 is one year. */
const usual = [30, 60, 90, 180, MAX_EXPIRY_DAYS];

/**
 * presetDays are the lifetimes a policy allows to be offered: the usual
 * ones up to its max_expiry_days, its default and its longest, in order.
 */
export function presetDays(policy: TokenPolicy): number[] {
  const max = Math.min(policy.max_expiry_days, MAX_EXPIRY_DAYS);
  const days = usual.filter((d) => d <= max);
  if (policy.default_expiry_days !== null) days.push(Math.min(policy.default_expiry_days, max));
  days.push(max);
  return [...new Set(days)].sort((a, b) => a - b);
}

/**
 * expiryInput offers exactly what the account's effective token policy
 * allows: presets up to its max_expiry_days with its default chosen, a date
 * picker bounded from tomorrow to the limit, and "Never expires" where the
 * policy allows it (chosen when that is the default).
 */
export function expiryInput(policy: TokenPolicy, bounds: Bounds = expiryBounds(policy.max_expiry_days)): ExpiryInput {
  const t = today();
  const allowNever = policy.allow_never_expires;
  const presets = presetDays(policy);
  const neverDefault = allowNever && policy.default_expiry_days === null;
  const defaultDays = policy.default_expiry_days ?? presets[presets.length - 1];
  const group = uid('expiry');
  const date = h('input', { type: 'date', id: 'expiry-day', min: bounds.min, max: bounds.max, 'aria-describedby': 'expiry-day-hint expiry-error' });
  const radios: HTMLInputElement[] = [];
  const option = (value: string, label: string, detail: string, checked = false) => {
    const r = h('input', { type: 'radio', name: group, value, id: `expiry-${value}`, checked });
    radios.push(r);
    return h('div', { class: 'choice' }, r, h('label', { for: r.id }, label, detail ? h('span', { class: 'detail' }, ` (until ${detail})`) : null));
  };
  const error = h('p', { class: 'field-error', id: 'expiry-error', 'data-error-for': 'expires_at', hidden: true });
  const neverError = h('p', { class: 'field-error', 'data-error-for': 'never_expires', hidden: true });
  const wrap = h('fieldset', { class: 'field expiry', 'data-field': 'expires_at' },
    h('legend', {}, 'Expires'),
    h('p', { class: 'hint' }, 'A token is valid until 23:59:59 UTC on its expiry day.'),
    h('div', { class: 'choices' },
      presets.map((d, i) => option(`preset-${i}`, daysLabel(d) + (d === policy.default_expiry_days ? ' — the default' : ''),
        daysAhead(t, d), !neverDefault && d === defaultDays)),
      option('date', 'On a date', ''),
      h('div', { class: 'choice-detail' },
        h('label', { for: date.id }, 'Expiry date (UTC)'),
        h('p', { class: 'hint', id: 'expiry-day-hint' }, `From ${bounds.min} to ${bounds.max} (the account's limit).`),
        date),
      allowNever ? option('never', 'Never expires', '', neverDefault) : null,
    ),
    error, neverError,
  );
  date.addEventListener('input', () => {
    const r = radios.find((x) => x.value === 'date');
    if (r) r.checked = true;
  });
  return {
    wrap,
    value() {
      const chosen = radios.find((r) => r.checked)?.value;
      if (chosen === undefined) return {}; // the policy's default
      if (chosen === 'never') return { never_expires: true };
      if (chosen === 'date') {
        if (!inBounds(date.value, bounds)) {
          setFieldError(wrap, 'expires_at', `Choose a day from ${bounds.min} (tomorrow) to ${bounds.max} (the account's limit, ${daysLabel(policy.max_expiry_days)} ahead).`);
          date.setAttribute('aria-invalid', 'true');
          return null;
        }
        return { expires_at: date.value };
      }
      return { expires_at: daysAhead(t, presets[Number(chosen.slice('preset-'.length))]) };
    },
  };
}

// ---- Permission grid ---------------------------------------------------

export interface PermissionGrid {
  wrap: HTMLElement;
  value(): string[] | null;
}

/**
 * permissionGrid offers, per resource, the actions the caller holds; Manage
 * implies the other actions, so ticking it ticks them and locks them.
 */
export function permissionGrid(callerPerms: string[]): PermissionGrid {
  const boxes = new Map<string, Map<Action, HTMLInputElement>>();
  const sync = (resource: string) => {
    const row = boxes.get(resource)!;
    const manage = row.get('manage');
    for (const [a, box] of row) {
      if (a === 'manage') continue;
      if (manage?.checked) box.checked = true;
      box.disabled = !!manage?.checked;
    }
  };
  const grid = h('table', { class: 'perm-grid', id: 'permission-grid' },
    h('caption', { class: 'visually-hidden' }, 'Permissions of the new token'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Resource'), ACTIONS.map((a) => h('th', { scope: 'col' }, actionLabel[a])))),
    h('tbody', {}, rows(callerPerms).map((r) => {
      const row = new Map<Action, HTMLInputElement>();
      boxes.set(r.resource, row);
      return h('tr', {},
        h('th', { scope: 'row' }, r.resource),
        ACTIONS.map((a) => {
          if (!r.offered.includes(a)) {
            return h('td', { class: 'not-offered', 'data-label': actionLabel[a] },
              h('span', { 'aria-hidden': 'true' }, '—'), h('span', { class: 'visually-hidden' }, `${r.resource} ${a}: not yours to grant`));
          }
          const id = `perm-${r.resource}-${a}`;
          const box = h('input', { type: 'checkbox', id, checked: true, 'data-permission': `${r.resource}:${a}` });
          box.addEventListener('change', () => sync(r.resource));
          row.set(a, box);
          return h('td', { 'data-label': actionLabel[a] }, box, h('label', { for: id, class: 'visually-hidden' }, `${actionLabel[a]} ${r.resource}`));
        }),
      );
    })),
  );
  for (const r of boxes.keys()) sync(r);
  const setAll = (on: boolean) => {
    for (const [r, row] of boxes) {
      for (const box of row.values()) box.checked = on;
      sync(r);
    }
  };
  const error = h('p', { class: 'field-error', 'data-error-for': 'permissions', hidden: true });
  const wrap = h('fieldset', { class: 'field permissions', 'data-field': 'permissions' },
    h('legend', {}, 'Permissions'),
    h('p', { class: 'hint' }, 'A token can hold only permissions you hold, and they cannot be changed later. Manage includes every other action.'),
    h('div', { class: 'grid-actions' },
      h('button', { type: 'button', class: 'secondary', id: 'perm-select-all', onclick: () => setAll(true) }, 'Select all'),
      h('button', { type: 'button', class: 'secondary', id: 'perm-clear', onclick: () => setAll(false) }, 'Clear')),
    h('div', { class: 'table-wrap' }, grid),
    error,
  );
  return {
    wrap,
    value() {
      const ticked = new Map<string, Set<Action>>();
      for (const [r, row] of boxes) {
        const s = new Set<Action>();
        for (const [a, box] of row) if (box.checked) s.add(a);
        if (s.size) ticked.set(r, s);
      }
      const out = selection(ticked);
      if (out.length === 0) {
        setFieldError(wrap, 'permissions', 'Choose at least one permission.');
        return null;
      }
      return out;
    },
  };
}

// ---- The shown-once secret ---------------------------------------------

/**
 * showSecret opens the dialog that shows a new secret once: the token ID
 * and secret with Copy buttons, "Download .token" (the very file the API
 * answered with ?format=file) and the warning that it cannot be shown
 * again. Closing it drops the secret from the page.
 */
export function showSecret(file: TokenFileResponse, title: string, onClose: () => void): void {
  const parsed = parseTokenFile(file.content);
  const status = h('p', { class: 'copy-status', role: 'status', 'aria-live': 'polite', id: 'secret-copy-status' });
  const row = (label: string, value: string, id: string) => {
    const input = h('input', { type: 'text', readOnly: true, value, id, spellcheck: 'false', class: 'secret-value' });
    return h('div', { class: 'field secret-row' },
      h('label', { for: id }, label),
      h('div', { class: 'with-button' }, input,
        h('button', {
          type: 'button', class: 'secondary', 'data-copy': id, 'aria-label': `Copy ${label}`,
          onclick: () => void copy(input, label, status),
        }, 'Copy')));
  };
  const done = h('button', { type: 'button', id: 'secret-done' }, 'Done');
  const download = h('button', { type: 'button', id: 'secret-download', class: 'secondary' }, 'Download .token');
  const dialog = h('dialog', { class: 'secret-dialog', id: 'secret-dialog', 'aria-labelledby': 'secret-title' },
    h('h2', { id: 'secret-title' }, title),
    parsed.token
      ? h('p', { class: 'warning', id: 'secret-warning' },
        h('strong', {}, 'This secret cannot be shown again. '),
        'Latchkey keeps only its hash. Copy it or download the .token file now, and store it like a password.')
      : h('p', { class: 'notice', id: 'secret-warning' },
        'A public_key token has no secret: its client signs requests with the private key that matches the public key you gave.'),
    row('Token ID (client_id)', parsed.id, 'secret-id'),
    parsed.token ? row('Token (Authorization: Bearer)', parsed.token, 'secret-token') : null,
    parsed.clientSecret && parsed.token ? row('Client secret (OAuth client_secret)', parsed.clientSecret, 'secret-client-secret') : null,
    status,
    h('div', { class: 'actions' }, download, done),
  );
  download.addEventListener('click', () => {
    const url = URL.createObjectURL(new Blob([file.content], { type: 'text/plain' }));
    const a = h('a', { href: url, download: file.fileName, class: 'visually-hidden' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    status.textContent = `Downloaded ${file.fileName}.`;
  });
  done.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    dialog.querySelectorAll('input').forEach((i) => (i.value = ''));
    dialog.remove();
    onClose();
  });
  document.body.append(dialog);
  dialog.showModal();
  dialog.querySelector<HTMLButtonElement>('[data-copy]')?.focus();
}

async function copy(input: HTMLInputElement, label: string, status: HTMLElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    // No clipboard API (an insecure origin, say): fall back to selecting
    // the text so the user can copy it with the keyboard.
    input.select();
    status.textContent = `Press Ctrl+C (⌘C) to copy the ${label}.`;
    return;
  }
  status.textContent = `${label} copied.`;
}

// ---- Confirmation ------------------------------------------------------

/** confirmDialog asks a yes/no question in a modal dialog. */
export function confirmDialog(title: string, text: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    let answer = false;
    const yes = h('button', { type: 'button', class: 'danger', id: 'confirm-yes' }, confirmLabel);
    const no = h('button', { type: 'button', class: 'secondary', id: 'confirm-no' }, 'Cancel');
    const dialog = h('dialog', { class: 'confirm-dialog', id: 'confirm-dialog', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' },
      h('h2', { id: 'confirm-title' }, title),
      h('p', { id: 'confirm-text' }, text),
      h('div', { class: 'actions' }, no, yes));
    yes.addEventListener('click', () => { answer = true; dialog.close(); });
    no.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => { dialog.remove(); resolve(answer); });
    document.body.append(dialog);
    dialog.showModal();
    no.focus();
  });
}
