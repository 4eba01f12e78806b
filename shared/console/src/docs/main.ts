// The interactive API documentation: Swagger UI over this deployment's own
// /openapi.json, served from the same origin (no CDN). "Try it out" sends
// the token entered above (kept, like the console's, in sessionStorage
// only) as Authorization: Bearer, through a request interceptor.
import 'swagger-ui-dist/swagger-ui.css';
import './docs.css';
import bundleURL from 'swagger-ui-dist/swagger-ui-bundle.js?url';
import { clearToken, getToken, setToken } from '../console/session';

interface SwaggerRequest {
  url: string;
  headers: Record<string, string>;
}

interface SwaggerUIBundleFn {
  (options: Record<string, unknown>): unknown;
}

declare global {
  interface Window {
    SwaggerUIBundle?: SwaggerUIBundleFn;
  }
}

const form = document.getElementById('docs-auth') as HTMLFormElement;
const input = document.getElementById('docs-token') as HTMLInputElement;
const status = document.getElementById('docs-auth-status') as HTMLElement;
const forget = document.getElementById('docs-forget') as HTMLButtonElement;

function showStatus(): void {
  status.textContent = getToken() ? 'A token is set: “Try it out” sends it.' : 'No token: protected routes answer 401.';
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const t = input.value.trim();
  if (t) setToken(t);
  input.value = '';
  showStatus();
});
forget.addEventListener('click', () => {
  clearToken();
  input.value = '';
  showStatus();
});
showStatus();

// The base of this deployment: the directory /docs sits in (a stage such
// as /prod, or a custom domain's base path).
const base = new URL('.', location.href);

function sameOrigin(url: string): boolean {
  try {
    return new URL(url, base).origin === location.origin;
  } catch {
    return false;
  }
}

function addBearer(req: SwaggerRequest): SwaggerRequest {
  const token = getToken();
  const hasAuth = Object.keys(req.headers ?? {}).some((k) => k.toLowerCase() === 'authorization');
  // Only to this API: the token never leaves for another origin.
  if (token && !hasAuth && sameOrigin(req.url)) {
    req.headers = { ...req.headers, Authorization: `Bearer ${token}` };
  }
  return req;
}

function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(s);
  });
}

async function start(): Promise<void> {
  const mount = document.getElementById('swagger-ui') as HTMLElement;
  try {
    const [spec] = await Promise.all([
      fetch(new URL('openapi.json', base), { credentials: 'omit' }).then((r) => {
        if (!r.ok) throw new Error(`openapi.json answered ${r.status}`);
        return r.json() as Promise<Record<string, unknown>>;
      }),
      loadScript(bundleURL),
    ]);
    // The document's server is "/"; here it is wherever this page is served.
    spec.servers = [{ url: base.href.replace(/\/$/, ''), description: 'This deployment' }];
    mount.replaceChildren();
    window.SwaggerUIBundle!({
      spec,
      domNode: mount,
      deepLinking: true,
      persistAuthorization: false, // it would use localStorage
      validatorUrl: null, // no calls to validator.swagger.io
      tryItOutEnabled: false,
      displayRequestDuration: true,
      requestInterceptor: addBearer,
    });
  } catch (err) {
    mount.textContent = `The API documentation could not be loaded: ${err instanceof Error ? err.message : String(err)}`;
  }
}

void start();
