// The Latchkey admin console: a single page over the management API. The
// route lives in the URL fragment (#/tokens, #/tokens/<id>, #/events…); the
// token never does.
import './style.css';
import { ApiError, api, setUnauthorizedHandler, type Whoami } from './api';
import { h } from './dom';
import { allows } from './permissions';
import { clearToken, getToken } from './session';
import { accountsView } from './views/accounts';
import { createView } from './views/create';
import { detailView } from './views/detail';
import { eventsView } from './views/events';
import { rolesView } from './views/roles';
import { signInView } from './views/signin';
import { tokensView } from './views/tokens';

export interface Ctx {
  me: Whoami;
  can(permission: string): boolean;
  /** render replaces the view's content and moves focus to its heading. */
  render(...nodes: Node[]): void;
  /** current reports whether this view is still the one on screen. */
  current(): boolean;
  go(hash: string): void;
  refresh(): void;
  /** reloadMe makes the next view ask whoami again (after the account's policy changed). */
  reloadMe(): void;
  announce(message: string): void;
}

const app = document.getElementById('app')!;
let me: Whoami | null = null;
let generation = 0;
// flash is a message for the next view, e.g. "Changes saved." after a
// save that re-renders the page.
let flash = '';

function signOut(notice = ''): void {
  clearToken();
  me = null;
  generation += 1;
  document.querySelectorAll('dialog').forEach((d) => d.remove());
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  signInView(app, notice, (who) => {
    me = who;
    void route();
  });
}

setUnauthorizedHandler((err: ApiError) => signOut(`You were signed out: ${err.description}`));

const nav: [string, string, string][] = [
  ['#/tokens', 'Tokens', 'nav-tokens'],
  ['#/events', 'Events', 'nav-events'],
  ['#/accounts', 'Accounts', 'nav-accounts'],
  ['#/roles', 'Roles', 'nav-roles'],
];

function layout(who: Whoami, section: string): { main: HTMLElement; live: HTMLElement } {
  const main = h('main', { id: 'main', class: 'main', tabindex: -1 });
  const live = h('p', { class: 'flash', role: 'status', 'aria-live': 'polite', id: 'flash', hidden: !flash }, flash);
  flash = '';
  const header = h('header', { class: 'top' },
    h('a', { class: 'brand', href: '#/tokens' }, 'Latchkey'),
    h('nav', { 'aria-label': 'Console' },
      h('ul', {}, nav.map(([href, label, id]) =>
        h('li', {}, h('a', { href, id, 'aria-current': section === href ? 'page' : null }, label))),
        h('li', {}, h('a', { href: 'docs', id: 'nav-docs' }, 'API docs')))),
    h('div', { class: 'who' },
      h('span', { class: 'who-text', id: 'who' }, `${who.account} · `, h('code', {}, who.credential_id)),
      h('button', { type: 'button', class: 'secondary', id: 'sign-out', onclick: () => signOut('You signed out.') }, 'Sign out')),
  );
  app.replaceChildren(header, live, main);
  return { main, live };
}

async function route(): Promise<void> {
  if (!getToken()) {
    signOut();
    return;
  }
  if (!me) {
    try {
      me = await api.whoami();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return; // signed out by the handler
      app.replaceChildren(h('main', { id: 'main', class: 'main narrow' },
        h('p', { class: 'panel error-panel', role: 'alert' }, `The API could not be reached: ${err instanceof Error ? err.message : String(err)}`)));
      return;
    }
  }
  const who = me;
  const mine = ++generation;
  const [path, query] = (location.hash.replace(/^#/, '') || '/tokens').split('?');
  const params = new URLSearchParams(query ?? '');
  const parts = path.split('/').filter(Boolean);
  const section = `#/${parts[0] ?? 'tokens'}`;
  const { main, live } = layout(who, section);
  // aria-busy until the view has its data; the generation tells one
  // rendering from the next (assistive technology and tests wait on both).
  main.dataset.generation = String(mine);
  main.setAttribute('aria-busy', 'true');
  const ctx: Ctx = {
    me: who,
    can: (p) => allows(who.permissions, p),
    render: (...nodes) => {
      if (mine !== generation) return;
      main.replaceChildren(...nodes);
      main.querySelector<HTMLElement>('h1')?.focus();
    },
    current: () => mine === generation,
    go: (hash) => { location.hash = hash; },
    refresh: () => void route(),
    reloadMe: () => { me = null; },
    announce: (m) => {
      flash = m;
      live.textContent = m;
      live.hidden = false;
    },
  };
  switch (parts[0] ?? 'tokens') {
    case 'tokens':
      if (parts[1] === 'new') createView(ctx);
      else if (parts[1]) await detailView(ctx, decodeURIComponent(parts[1]), params);
      else await tokensView(ctx, params);
      break;
    case 'events':
      await eventsView(ctx, params);
      break;
    case 'accounts':
      await accountsView(ctx, parts[1] ? decodeURIComponent(parts[1]) : undefined);
      break;
    case 'roles':
      await rolesView(ctx);
      break;
    default:
      ctx.go('#/tokens');
  }
  if (mine === generation) main.removeAttribute('aria-busy');
}

window.addEventListener('hashchange', () => void route());
void route();
