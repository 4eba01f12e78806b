// The signed-in token lives in sessionStorage only: never localStorage (it
// would outlive the tab), never a cookie (it would ride along on requests
// and be readable by the server's logs), never the URL.
const KEY = 'latchkey.token';

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function clearToken(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // Storage disabled: there is nothing to clear.
  }
}
