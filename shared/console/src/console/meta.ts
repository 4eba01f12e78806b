// Token metadata as key/value rows: the create form sends the rows as
// `meta`, the token's page sends only what changed as `merge_meta` (null
// for a removed key), so a key someone else changed meanwhile is kept.
// The rules are the API's; the form checks what it can before sending, and
// the API's errors land on the row of the key they name.
import { type MetaValue } from './api';
import { h, setFieldError, uid } from './dom';

export const META_KEY = /^[a-z0-9_.-]{1,64}$/;
export const MAX_META_KEYS = 32;
export const MAX_META_STRING_BYTES = 256;

type Kind = 'text' | 'number' | 'boolean';

interface Row {
  el: HTMLElement;
  key: HTMLInputElement;
  kind: HTMLSelectElement;
  value: HTMLInputElement;
  flag: HTMLSelectElement;
  error: HTMLElement;
  /** The value the row was loaded with, sent back as it is while the row reads the same. */
  initial?: { key: string; kind: Kind; text: string; value: MetaValue };
}

export interface MetaEditor {
  wrap: HTMLElement;
  /** The rows as metadata, or null (with the errors shown) when one is invalid. */
  value(): Record<string, MetaValue> | null;
}

function kindOf(v: MetaValue): Kind {
  return typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'text';
}

/**
 * metaEditor edits metadata as rows of key, kind (text, number, yes/no) and
 * value. name is the request field errors come back under (meta).
 */
export function metaEditor(name: string, id: string, initial: Record<string, MetaValue> = {}): MetaEditor {
  const rows: Row[] = [];
  const list = h('div', { class: 'meta-rows', id: `${id}-rows` });
  const hintId = `${id}-hint`;
  const fieldError = h('p', { class: 'field-error', 'data-error-for': name, hidden: true, id: `${id}-error` });
  const add = h('button', { type: 'button', class: 'secondary small', id: `${id}-add` }, 'Add a key');
  const wrap = h('fieldset', { class: 'field meta', 'data-field': name, id, 'aria-describedby': `${hintId} ${fieldError.id}` },
    h('legend', {}, 'Metadata'),
    h('p', { class: 'hint', id: hintId },
      'Facts a backend receives with every request of this token, such as an owner or a ticket number. ' +
      'Keys: a–z, 0–9, "_", "." and "-", at most 64 characters; at most 32 keys. Text values at most 256 bytes.'),
    list, add, fieldError);

  const newRow = (key = '', v: MetaValue = '', loaded = false): Row => {
    const rowId = uid(`${id}-row`);
    const k = h('input', { type: 'text', id: `${rowId}-key`, class: 'meta-key', value: key, spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off', maxlength: 64, 'aria-label': 'Key', placeholder: 'owner' });
    const kind = h('select', { id: `${rowId}-kind`, class: 'meta-kind', 'aria-label': 'Kind of value' },
      h('option', { value: 'text' }, 'Text'), h('option', { value: 'number' }, 'Number'), h('option', { value: 'boolean' }, 'Yes/No'));
    kind.value = kindOf(v);
    const value = h('input', { type: 'text', id: `${rowId}-value`, class: 'meta-value', value: typeof v === 'boolean' ? '' : String(v), autocomplete: 'off', 'aria-label': 'Value' });
    const flag = h('select', { id: `${rowId}-flag`, class: 'meta-flag', 'aria-label': 'Value' },
      h('option', { value: 'true' }, 'true'), h('option', { value: 'false' }, 'false'));
    flag.value = v === false ? 'false' : 'true';
    const error = h('p', { class: 'field-error', id: `${rowId}-error`, hidden: true });
    for (const c of [k, value, flag]) c.setAttribute('aria-describedby', error.id);
    const el = h('div', { class: 'meta-row', 'data-field': '' }, k, kind, value, flag,
      h('button', { type: 'button', class: 'link', 'aria-label': 'Remove this key', onclick: () => remove(row) }, 'Remove'),
      error);
    const row: Row = { el, key: k, kind, value, flag, error };
    if (loaded) row.initial = { key, kind: kindOf(v), text: value.value, value: v };
    const sync = () => {
      value.hidden = kind.value === 'boolean';
      flag.hidden = kind.value !== 'boolean';
      // The API names a key's errors meta.<key>: the row answers to it.
      el.setAttribute('data-field', `${name}.${k.value.trim()}`);
      error.setAttribute('data-error-for', `${name}.${k.value.trim()}`);
    };
    kind.addEventListener('change', sync);
    k.addEventListener('input', sync);
    sync();
    return row;
  };
  const remove = (row: Row) => {
    rows.splice(rows.indexOf(row), 1);
    row.el.remove();
    add.focus();
  };
  add.addEventListener('click', () => {
    const row = newRow();
    rows.push(row);
    list.append(row.el);
    row.key.focus();
  });
  for (const [k, v] of Object.entries(initial)) {
    const row = newRow(k, v, true);
    rows.push(row);
    list.append(row.el);
  }

  return {
    wrap,
    value() {
      const out: Record<string, MetaValue> = {};
      let ok = true;
      const bad = (row: Row, msg: string, control: HTMLElement) => {
        row.error.textContent = msg;
        row.error.hidden = false;
        control.setAttribute('aria-invalid', 'true');
        ok = false;
      };
      for (const row of rows) {
        const key = row.key.value.trim();
        const raw = row.value.value;
        if (!key && row.kind.value !== 'boolean' && raw === '') continue; // an empty row
        if (!META_KEY.test(key)) {
          bad(row, 'A key is 1 to 64 of a–z, 0–9, "_", "." and "-".', row.key);
          continue;
        }
        if (key in out) {
          bad(row, `The key “${key}” is given twice.`, row.key);
          continue;
        }
        const i = row.initial;
        if (i && i.key === key && i.kind === row.kind.value && i.kind !== 'boolean' && i.text === raw) {
          // Untouched: keep what was loaded, even a number JavaScript
          // cannot write back exactly.
          out[key] = i.value;
          continue;
        }
        switch (row.kind.value) {
          case 'boolean':
            out[key] = row.flag.value === 'true';
            break;
          case 'number': {
            const n = Number(raw.trim());
            if (raw.trim() === '' || !Number.isFinite(n)) {
              bad(row, 'Enter a number, such as 3 or 0.5.', row.value);
            } else if (Number.isInteger(n) && !Number.isSafeInteger(n)) {
              bad(row, 'This number has more digits than the console can send exactly; keep it as text, or set it with the API or the latchkey command.', row.value);
            } else {
              out[key] = n;
            }
            break;
          }
          default:
            if (new TextEncoder().encode(raw).length > MAX_META_STRING_BYTES) {
              bad(row, `A text value is at most ${MAX_META_STRING_BYTES} bytes.`, row.value);
            } else {
              out[key] = raw;
            }
        }
      }
      if (ok && Object.keys(out).length > MAX_META_KEYS) {
        setFieldError(wrap, name, `At most ${MAX_META_KEYS} keys; remove ${Object.keys(out).length - MAX_META_KEYS}.`);
        ok = false;
      }
      return ok ? out : null;
    },
  };
}

/**
 * metaChanges is the merge_meta that turns before into after: changed and
 * new keys with their values, removed keys with null; empty when nothing
 * changed.
 */
export function metaChanges(before: Record<string, MetaValue>, after: Record<string, MetaValue>): Record<string, MetaValue | null> {
  const out: Record<string, MetaValue | null> = {};
  for (const [k, v] of Object.entries(after)) {
    if (!(k in before) || before[k] !== v) out[k] = v;
  }
  for (const k of Object.keys(before)) {
    if (!(k in after)) out[k] = null;
  }
  return out;
}
