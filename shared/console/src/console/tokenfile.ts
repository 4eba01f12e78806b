// Reads the .token file the API serves with ?format=file (see the Go package
// shared/tokenfile, whose Parse this mirrors): KEY=VALUE lines and comments;
// a file holding just a token string is accepted too.

export interface TokenFile {
  id: string;
  /** The whole lk_ token, for Authorization: Bearer; absent for public_key tokens. */
  token?: string;
  /** The OAuth client_secret; absent for public_key tokens. */
  clientSecret?: string;
}

const tokenPattern = /^lk_([A-Za-z0-9]+)_([A-Za-z0-9]+)$/;

export class TokenFileError extends Error {}

/** tokenID returns the public ID inside an lk_ token string, or null. */
export function tokenID(token: string): string | null {
  const m = tokenPattern.exec(token.trim());
  return m ? m[1] : null;
}

export function parseTokenFile(content: string): TokenFile {
  let id = '';
  let token = '';
  let clientSecret = '';
  for (const raw of content.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) {
      if (line.startsWith('lk_') && !token) token = line;
      continue;
    }
    const key = line.slice(0, eq).replace(/^export\s+/, '').trim();
    const value = line.slice(eq + 1).trim().replace(/^["']+|["']+$/g, '');
    if (key === 'LATCHKEY_TOKEN_ID') id = value;
    else if (key === 'LATCHKEY_CLIENT_SECRET') clientSecret = value;
    else if (key === 'LATCHKEY_TOKEN') token = value;
  }
  if (token) {
    const fromToken = tokenID(token);
    if (!fromToken) throw new TokenFileError('The file holds something that is not a Latchkey token.');
    if (id && id !== fromToken) throw new TokenFileError('LATCHKEY_TOKEN_ID does not match the token in the file.');
    return { id: fromToken, token, clientSecret: token.slice(`lk_${fromToken}_`.length) };
  }
  if (id) return { id, clientSecret: clientSecret || undefined };
  throw new TokenFileError('No Latchkey token in this file.');
}
