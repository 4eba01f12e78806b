// Which changes the signed-in token may make to a token, decided as the API
// decides them: the route's permission (shared/route) and, for the token
// itself, credential.ChangeableBy — every permission the token holds must be
// granted by the caller's effective permissions (whoami's), manage implying
// the other actions. The account tree needs no check here: the API lists
// and shows only tokens of the caller's tree. The console hides or disables
// what this refuses; the API still decides, and its 403 is shown when it
// disagrees (say, a page left open while rights changed).
import { allows, missing } from './permissions';

export type Change = 'update' | 'rotate' | 'revoke';

/** The permission each change's route needs: PATCH and rotate, DELETE. */
export const routePermission: Record<Change, string> = {
  update: 'apikeys:modify',
  rotate: 'apikeys:modify',
  revoke: 'apikeys:delete',
};

export interface Verdict {
  allowed: boolean;
  /** Why not, in a sentence for a tooltip or a note; empty when allowed. */
  reason: string;
  /** The permissions the caller lacks for it. */
  missing: string[];
}

/**
 * mayChange decides whether a caller holding callerPerms may make change to
 * a token with the given permissions and status.
 */
export function mayChange(callerPerms: readonly string[], token: { permissions: readonly string[]; status: string }, change: Change): Verdict {
  if (token.status === 'revoked' || token.status === 'expired') {
    return { allowed: false, reason: `This token is ${token.status}; it cannot be changed.`, missing: [] };
  }
  const route = routePermission[change];
  if (!allows(callerPerms, route)) {
    return { allowed: false, reason: `Your token lacks ${route}.`, missing: [route] };
  }
  const lacking = missing(callerPerms, token.permissions);
  if (lacking.length > 0) {
    return { allowed: false, reason: `This token holds ${listed(lacking)}, which your token lacks.`, missing: lacking };
  }
  return { allowed: true, reason: '', missing: [] };
}

function listed(items: string[]): string {
  return items.length === 1 ? items[0] : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
