// Permissions are resource:action strings; "manage" on a resource implies
// every action on it (Go's shared/permission). A token may hold only
// permissions its creator holds, so the grid offers exactly those.

export const ACTIONS = ['view', 'modify', 'delete', 'manage'] as const;
export type Action = (typeof ACTIONS)[number];

/** The resources Latchkey's own API knows, shown first in this order. */
const CATALOGUE = ['apikeys', 'accounts', 'roles'];

/** allows reports whether set grants p, directly or through manage (Go's Set.Allows). */
export function allows(set: readonly string[], p: string): boolean {
  // Split at the first colon only, as Go's strings.Cut does.
  const colon = p.indexOf(':');
  if (colon < 0) return false;
  const resource = p.slice(0, colon);
  const action = p.slice(colon + 1);
  return set.includes(p) || (action !== 'manage' && set.includes(`${resource}:manage`));
}

/** missing lists the permissions of want that set does not grant, in want's order (Go's Set.Missing). */
export function missing(set: readonly string[], want: readonly string[]): string[] {
  return want.filter((p) => !allows(set, p));
}

export interface Row {
  resource: string;
  /** The actions the caller may grant on it. */
  offered: Action[];
}

/** rows lists every resource the caller holds something on. */
export function rows(callerPerms: readonly string[]): Row[] {
  const resources = new Set(callerPerms.map((p) => p.split(':')[0]));
  const ordered = [...CATALOGUE.filter((r) => resources.has(r)), ...[...resources].filter((r) => !CATALOGUE.includes(r)).sort()];
  return ordered.map((resource) => ({
    resource,
    offered: ACTIONS.filter((a) => allows(callerPerms, `${resource}:${a}`)),
  }));
}

/** selection turns ticked boxes into the smallest equivalent permission list. */
export function selection(ticked: ReadonlyMap<string, ReadonlySet<Action>>): string[] {
  const out: string[] = [];
  for (const [resource, actions] of ticked) {
    if (actions.has('manage')) {
      out.push(`${resource}:manage`);
      continue;
    }
    for (const a of ACTIONS) if (actions.has(a)) out.push(`${resource}:${a}`);
  }
  return out.sort();
}

export const actionLabel: Record<Action, string> = {
  view: 'View',
  modify: 'Modify',
  delete: 'Delete',
  manage: 'Manage',
};
