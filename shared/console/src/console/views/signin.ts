// Sign in: paste a token or open a .token file. The token is checked with
// GET /v1/whoami before it is kept (in sessionStorage only).
import { ApiError, api, type Whoami } from '../api';
import { clearErrors, field, h } from '../dom';
import { setToken } from '../session';
import { parseTokenFile, TokenFileError } from '../tokenfile';
import { formError, showError } from '../ui';

export function signInView(root: HTMLElement, notice: string, onSignedIn: (me: Whoami) => void): void {
  // No name attribute: even if a script failed and the form were submitted
  // the old-fashioned way, the token could not end up in a URL.
  const tokenInput = h('input', {
    type: 'password', id: 'signin-token', autocomplete: 'off', spellcheck: 'false',
    autocapitalize: 'off', placeholder: 'lk_…', required: true,
  });
  const tokenField = field('API token', tokenInput, {
    name: 'token',
    hint: 'Paste a token that may manage API keys, such as the one `latchkey bootstrap` or `latchkey dev` printed.',
  });
  const fileInput = h('input', { type: 'file', id: 'signin-file', accept: '.token,text/plain' });
  const fileField = field('Or open a .token file', fileInput, { name: 'file' });
  const submit = h('button', { type: 'submit', id: 'signin-submit' }, 'Sign in');
  const form = h('form', { class: 'panel signin', id: 'signin-form', novalidate: true, 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title', tabindex: -1 }, 'Sign in to the Latchkey console'),
    notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
    formError(),
    tokenField.wrap,
    fileField.wrap,
    h('div', { class: 'actions' }, submit),
    h('p', { class: 'hint' },
      'The token stays in this browser tab only (session storage) and is forgotten when you sign out or close the tab.'),
  );

  const signIn = async (token: string, source: 'token' | 'file') => {
    clearErrors(form);
    token = token.trim();
    // An API token (lk_…), or an access token from the OAuth token endpoint
    // (a JWT); the API decides whether it is valid.
    if (!token.startsWith('lk_') && !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) {
      showError(form, new ApiError(0, 'invalid_token', 'Paste a Latchkey API token (it starts with lk_) or an access token.', source));
      return;
    }
    submit.disabled = true;
    try {
      const me = await api.whoami(token);
      setToken(token);
      tokenInput.value = '';
      onSignedIn(me);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(0, 'client_error', String(err));
      const msg = e.status === 401 ? `The API refused this token: ${e.description}` : e.description;
      showError(form, new ApiError(e.status, e.code, msg, source));
    } finally {
      submit.disabled = false;
    }
  };

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void signIn(tokenInput.value, 'token');
  });
  fileInput.addEventListener('change', async () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    try {
      const parsed = parseTokenFile(await file.text());
      if (!parsed.token) {
        throw new TokenFileError('This file holds a public_key token, which signs its requests with a private key; sign in with a secret token.');
      }
      await signIn(parsed.token, 'file');
    } catch (err) {
      showError(form, new ApiError(0, 'invalid_file', err instanceof Error ? err.message : String(err), 'file'));
    } finally {
      fileInput.value = '';
    }
  });

  root.replaceChildren(h('main', { id: 'main', class: 'main narrow', tabindex: -1 }, form));
  tokenInput.focus();
}
