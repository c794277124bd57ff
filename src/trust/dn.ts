/**
 * Distinguished names for `trustedIdentities` ("x509.subject: C=US, ST=WA, O=…"), following the trust policy
 * spec's "Trusted Identities Constraints" and the way notation evaluates them:
 *
 * - The value is an RFC 4514 string: RDNs separated by "," (";" accepted as in RFC 1779), attribute type "=" value,
 *   escapes "\," "\;" "\+" "\\" "\"" "\<" "\>" "\=" "\#" "\ " and "\HH" hex pairs; spaces around types and
 *   (unescaped) around values are insignificant.
 * - Multi-valued RDNs ("+") are not supported; an attribute type may appear only once.
 * - C, ST and O are mandatory. Attribute types are compared as written (case-sensitive), values exactly.
 * - A certificate subject matches an identity when every attribute of the identity has the same value in the
 *   subject (subset match). Two identities of one statement overlap — an invalid policy — when one is a subset
 *   of the other.
 */
export type DnMap = Map<string, string>;

export class DnError extends Error {}

export const MANDATORY_DN_ATTRIBUTES = ['C', 'ST', 'O'] as const;

interface RawAttr {
  type: string;
  value: string;
}

/** Splits an RFC 4514 DN into RDNs of attributes; throws DnError on syntax errors. */
export function parseDnSyntax(s: string): RawAttr[][] {
  const rdns: RawAttr[][] = [];
  let rdn: RawAttr[] = [];
  let type: string | undefined;
  let buf = '';
  // Length of `buf` that must not be trimmed at the end (ends in an escaped char).
  let protectedLen = 0;
  let sawAny = false;
  const finishAttr = (atEnd: boolean) => {
    if (type === undefined) {
      if (buf.trim().length === 0 && atEnd && rdns.length === 0 && rdn.length === 0 && !sawAny) return false;
      throw new DnError(`attribute "${buf.trim()}" has no "=" and no value`);
    }
    let v = buf;
    // trim unescaped leading/trailing spaces
    let end = v.length;
    while (end > protectedLen && v[end - 1] === ' ') end--;
    v = v.slice(0, end);
    if (v.startsWith('#') && leadingHash) v = decodeHexValue(v);
    rdn.push({ type: type.trim(), value: v });
    type = undefined;
    buf = '';
    protectedLen = 0;
    leadingHash = false;
    return true;
  };
  let leadingHash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      if (type === undefined) throw new DnError('escape character in an attribute type');
      const n = s[i + 1];
      if (n === undefined) throw new DnError('DN ends with an incomplete escape');
      if (/[0-9a-fA-F]/.test(n)) {
        const h = s.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new DnError(`invalid hex escape "\\${h}"`);
        // collect a run of hex escapes so multi-byte UTF-8 decodes
        const bytes: number[] = [parseInt(h, 16)];
        i += 2;
        while (s[i + 1] === '\\' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
          bytes.push(parseInt(s.slice(i + 2, i + 4), 16));
          i += 3;
        }
        buf += Buffer.from(bytes).toString('utf8');
      } else if (' "#+,;<=>\\'.includes(n)) {
        buf += n;
        i += 1;
      } else {
        throw new DnError(`invalid escape "\\${n}"`);
      }
      protectedLen = buf.length;
      continue;
    }
    if (type === undefined) {
      if (c === '=') {
        type = buf.trim();
        if (type.length === 0) throw new DnError('empty attribute type');
        if (!/^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)*)$/.test(type)) throw new DnError(`invalid attribute type "${type}"`);
        buf = '';
        protectedLen = 0;
        leadingHash = false;
        sawAny = true;
        continue;
      }
      if (c === ',' || c === ';' || c === '+') throw new DnError(`attribute "${buf.trim()}" has no "=" and no value`);
      buf += c;
      continue;
    }
    if (c === ' ' && buf.length === 0) continue; // insignificant leading space
    if (c === '#' && buf.length === 0) {
      leadingHash = true;
      buf += c;
      continue;
    }
    if (c === ',' || c === ';') {
      finishAttr(false);
      rdns.push(rdn);
      rdn = [];
      continue;
    }
    if (c === '+') {
      finishAttr(false);
      continue;
    }
    buf += c;
  }
  if (type !== undefined || buf.trim().length > 0) finishAttr(true);
  if (rdn.length > 0) rdns.push(rdn);
  else if (rdns.length > 0) throw new DnError('DN ends with a separator');
  return rdns;
}

function decodeHexValue(v: string): string {
  const hex = v.slice(1);
  if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw new DnError(`invalid hex value "${v}"`);
  // A BER-encoded string value; keep the raw form when it is not a simple string type.
  const b = Buffer.from(hex, 'hex');
  if (b.length >= 2 && [0x0c, 0x13, 0x16, 0x14].includes(b[0]!) && b[1]! < 0x80 && b[1] === b.length - 2) {
    return b.subarray(2).toString(b[0] === 0x0c ? 'utf8' : 'latin1');
  }
  return v;
}

/**
 * Parses a DN with the Notary Project rules (single-valued RDNs, unique types, C/ST/O present).
 * Throws DnError whose message says which rule was broken.
 */
export function parseDistinguishedName(s: string): DnMap {
  let rdns: RawAttr[][];
  try {
    rdns = parseDnSyntax(s);
  } catch (e) {
    throw new DnError(
      `distinguished name (DN) "${s}" is not valid (${(e as Error).message}), it must contain 'C', 'ST', and 'O' RDN attributes at a minimum, and follow RFC 4514 standard`,
    );
  }
  const map: DnMap = new Map();
  for (const rdn of rdns) {
    if (rdn.length > 1) {
      throw new DnError(`distinguished name (DN) "${s}" has multi-valued RDN attributes, remove multi-valued RDN attributes as they are not supported`);
    }
    for (const a of rdn) {
      if (map.has(a.type) && map.get(a.type) !== '') {
        throw new DnError(`distinguished name (DN) "${s}" has duplicate RDN attribute for "${a.type}", DN can only have unique RDN attributes`);
      }
      map.set(a.type, a.value);
    }
  }
  for (const f of MANDATORY_DN_ATTRIBUTES) {
    if (!map.get(f)) {
      throw new DnError(`distinguished name (DN) "${s}" has no mandatory RDN attribute for "${f}", it must contain 'C', 'ST', and 'O' RDN attributes at a minimum`);
    }
  }
  return map;
}

/** True when every attribute of `sub` has the same value in `sup`. */
export function isSubsetDn(sub: DnMap, sup: DnMap): boolean {
  for (const [k, v] of sub) if (sup.get(k) !== v) return false;
  return true;
}

/** Escapes a value for an RFC 4514 string. */
export function escapeDnValue(v: string): string {
  let out = v.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`);
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

export function formatDn(m: DnMap): string {
  return [...m].map(([k, v]) => `${k}=${escapeDnValue(v)}`).join(', ');
}
