// Allowed-IP lists as the API reads them (Go's shared/iplist): entries
// separated by spaces, commas, semicolons or line breaks; each an IPv4 or
// IPv6 address or CIDR block; CIDRs masked to their network, IPv4-mapped
// addresses and blocks (/96 and longer) unmapped; duplicates dropped. The console shows the list it
// will send before sending it, and the API checks it again.

export const INVALID = 'Invalid IP address';

export interface Entry {
  /** What the user typed. */
  raw: string;
  /** The canonical spelling, when valid. */
  canonical?: string;
  valid: boolean;
}

export interface Parsed {
  entries: Entry[];
  duplicates: number;
}

export function split(s: string): string[] {
  return s.split(/[ ,;\n\r\t]+/).filter((e) => e !== '');
}

export function parseList(s: string): Parsed {
  const seen = new Set<string>();
  const entries: Entry[] = [];
  let duplicates = 0;
  for (const raw of split(s)) {
    const canonical = canonicalEntry(raw);
    const key = canonical ?? `invalid:${raw}`;
    if (seen.has(key)) {
      duplicates += 1;
      continue;
    }
    seen.add(key);
    entries.push(canonical === null ? { raw, valid: false } : { raw, canonical, valid: true });
  }
  return { entries, duplicates };
}

/** canonicalEntry returns the entry's canonical spelling, or null. */
export function canonicalEntry(e: string): string | null {
  const slash = e.indexOf('/');
  if (slash < 0) {
    const a = parseAddr(e);
    if (!a) return null;
    return format(unmap(a));
  }
  let a = parseAddr(e.slice(0, slash));
  const bitsText = e.slice(slash + 1);
  if (!a || !/^(0|[1-9][0-9]{0,2})$/.test(bitsText)) return null;
  let bits = Number(bitsText);
  if (bits > a.length * 8) return null;
  if (bits >= 96 && unmap(a).length === 4) {
    // An IPv4-mapped block is the IPv4 block it stands for.
    a = unmap(a);
    bits -= 96;
  }
  const masked = a.map((byte, i) => {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    return byte & (0xff << (8 - keep)) & 0xff;
  });
  return `${format(masked)}/${bits}`;
}

function parseAddr(s: string): number[] | null {
  if (s.includes(':')) return parseIPv6(s);
  return parseIPv4(s);
}

function parseIPv4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

function parseIPv6(s: string): number[] | null {
  if (s.includes('%')) return null; // zones name an interface, not a network
  let tail: number[] = [];
  let text = s;
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    // An IPv4 address in the last 32 bits, e.g. ::ffff:192.0.2.1.
    const v4 = parseIPv4(last);
    if (!v4) return null;
    tail = [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]];
    text = s.slice(0, lastColon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const group = (g: string) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : NaN);
  const side = (x: string): number[] | null => {
    if (x === '') return [];
    const gs = x.split(':').map(group);
    return gs.some(Number.isNaN) ? null : gs;
  };
  const head = side(halves[0]);
  const rest = halves.length === 2 ? side(halves[1]) : [];
  if (!head || !rest) return null;
  const total = head.length + rest.length + tail.length;
  let groups: number[];
  if (halves.length === 2) {
    if (total > 7) return null; // "::" stands for at least one zero group
    groups = [...head, ...new Array<number>(8 - total).fill(0), ...rest, ...tail];
  } else {
    if (total !== 8) return null;
    groups = [...head, ...tail];
  }
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

function unmap(a: number[]): number[] {
  if (a.length === 16 && a.slice(0, 10).every((b) => b === 0) && a[10] === 0xff && a[11] === 0xff) return a.slice(12);
  return a;
}

function format(a: number[]): string {
  if (a.length === 4) return a.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((a[i] << 8) | a[i + 1]);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${a.slice(12).join('.')}`;
  }
  // RFC 5952: compress the longest run of two or more zero groups (the first on a tie).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
