// The management API client. Every URL is relative to the page, so the
// console works under any API Gateway stage or custom-domain base path:
// the page is <base>/console and the API is <base>/v1/….
import { getToken } from './session';

/** A metadata value: text, a number or a boolean. */
export type MetaValue = string | number | boolean;

export interface Token {
  id: string;
  name: string;
  description: string;
  type: 'general' | 'embedded' | 'browser';
  kind: 'secret' | 'public_key';
  account: string;
  public_key?: string;
  permissions: string[];
  groups: string[];
  allowed_ips: string[];
  /** Older APIs leave it out. */
  meta?: Record<string, MetaValue>;
  contact_email?: string | null;
  status: 'active' | 'inactive' | 'revoked' | 'expired';
  expires_at: string | null;
  created_at: string;
  created_by: string;
  updated_at: string;
  last_used_at: string | null;
  last_used_ip: string | null;
  previous_valid_until?: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface LatchkeyEvent {
  id: string;
  type: string;
  message: string;
  account: string;
  token_id: string | null;
  actor: string;
  at: string;
  detail: Record<string, string>;
}

/** What an account allows its tokens. */
export interface TokenPolicy {
  /** Days a token made without an expiry lasts; null: it never expires. */
  default_expiry_days: number | null;
  /** The furthest expiry, in days from today (365: one year to the day). */
  max_expiry_days: number;
  allow_never_expires: boolean;
}

export interface Account {
  id: string;
  name: string;
  parent: string | null;
  path: string[];
  /** The account's own policy, as set. */
  token_policy: TokenPolicy;
  /** What its tokens follow: each limit the strictest along the path. */
  effective_token_policy: TokenPolicy;
  admin_emails: string[];
  created_at: string;
  created_by: string;
}

export interface Role {
  name: string;
  /** The account that defines the role. */
  account: string;
  /** Set when the role is defined by an account above the caller's; older APIs leave it out. */
  inherited?: boolean;
  description: string;
  permissions: string[];
  created_at: string;
  created_by: string;
}

export interface Whoami {
  principal: string;
  account: string;
  credential_id: string;
  permissions: string[];
  groups: string[];
  kind: string;
  auth: string;
  meta?: Record<string, MetaValue>;
  /** The signed-in token's contact, the default of the tokens it creates. */
  contact_email?: string | null;
  /** The effective token policy of the caller's account. */
  account_policy: TokenPolicy;
}

/** An API error in the API's one shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string,
    readonly field?: string,
    /** The permissions a 403 found lacking (missing_permissions). */
    readonly missing: string[] = [],
  ) {
    super(description);
  }
}

/** A downloaded .token file, exactly as the API answered it. */
export interface TokenFileResponse {
  content: string;
  fileName: string;
}

type Query = Record<string, string | number | undefined | null>;

let onUnauthorized: (err: ApiError) => void = () => {};

/** Sets what happens when the API refuses the session's token. */
export function setUnauthorizedHandler(fn: (err: ApiError) => void): void {
  onUnauthorized = fn;
}

export function apiURL(path: string, query?: Query): string {
  const u = new URL(path.replace(/^\/+/, ''), document.baseURI);
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
  }
  return u.toString();
}

interface Options {
  query?: Query;
  body?: unknown;
  /** token overrides the session's (used to check a token before keeping it). */
  token?: string;
}

async function send(method: string, path: string, opts: Options): Promise<Response> {
  const token = opts.token ?? getToken();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let resp: Response;
  try {
    resp = await fetch(apiURL(path, opts.query), {
      method, headers, body,
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new ApiError(0, 'network_error', 'The API could not be reached. Check your connection and try again.');
  }
  if (!resp.ok) {
    const err = await toError(resp);
    if (resp.status === 401 && opts.token === undefined) onUnauthorized(err);
    throw err;
  }
  return resp;
}

async function toError(resp: Response): Promise<ApiError> {
  try {
    const e = (await resp.json()) as { error?: string; error_description?: string; field?: string; missing_permissions?: unknown };
    if (e && typeof e.error === 'string') {
      const missing = Array.isArray(e.missing_permissions) ? e.missing_permissions.filter((p): p is string => typeof p === 'string') : [];
      return new ApiError(resp.status, e.error, e.error_description ?? e.error, e.field || undefined, missing);
    }
  } catch {
    // Not the API's JSON (a proxy's page, say): fall through.
  }
  return new ApiError(resp.status, 'http_error', `The API answered ${resp.status} ${resp.statusText}`.trim());
}

export async function getJSON<T>(path: string, query?: Query, token?: string): Promise<T> {
  const resp = await send('GET', path, { query, token });
  return (await resp.json()) as T;
}

export async function sendJSON<T>(method: string, path: string, body?: unknown): Promise<T | null> {
  const resp = await send(method, path, { body });
  if (resp.status === 204) return null;
  return (await resp.json()) as T;
}

/** Posts and asks for the answer as a .token file (?format=file). */
export async function postForFile(path: string, body: unknown): Promise<TokenFileResponse> {
  const resp = await send('POST', path, { body, query: { format: 'file' } });
  return { content: await resp.text(), fileName: fileName(resp.headers.get('Content-Disposition')) };
}

function fileName(disposition: string | null): string {
  const m = /filename="([^"]+)"/.exec(disposition ?? '');
  return m ? m[1] : 'latchkey.token';
}

export const api = {
  whoami: (token?: string) => getJSON<Whoami>('v1/whoami', undefined, token),
  listTokens: (q: Query) => getJSON<Page<Token>>('v1/tokens', q),
  getToken: (id: string) => getJSON<Token>(`v1/tokens/${encodeURIComponent(id)}`),
  createToken: (body: unknown) => postForFile('v1/tokens', body),
  updateToken: (id: string, body: unknown) => sendJSON<Token>('PATCH', `v1/tokens/${encodeURIComponent(id)}`, body),
  rotateToken: (id: string, body: unknown) => postForFile(`v1/tokens/${encodeURIComponent(id)}/rotate`, body),
  revokeToken: (id: string) => sendJSON<null>('DELETE', `v1/tokens/${encodeURIComponent(id)}`),
  listEvents: (q: Query) => getJSON<Page<LatchkeyEvent>>('v1/events', q),
  listRoles: (q: Query) => getJSON<Page<Role>>('v1/roles', q),
  getAccount: (id: string) => getJSON<Account>(`v1/accounts/${encodeURIComponent(id)}`),
  updateAccount: (id: string, body: unknown) => sendJSON<Account>('PATCH', `v1/accounts/${encodeURIComponent(id)}`, body),
  listAccounts: (q: Query) => getJSON<Page<Account>>('v1/accounts', q),
};
