/**
 * Distinguished names for `trustedIdentities` ("x509.subject: C=US, ST=WA, O=…"), following the trust policy
 * spec's "Trusted Identities Constraints" and the way notation v1.3 evaluates them (notation-go
 * internal/pkix ParseDistinguishedName over go-ldap's ParseDN):
 *
 * - The value is an RFC 4514 string: RDNs separated by "," (";" accepted as in RFC 1779), attribute type "=" value,
 *   escapes "\," "\;" "\+" "\\" "\"" "\<" "\>" "\=" "\#" "\ " and "\HH" hex pairs, in types as in values. White
 *   space (Go's strings.TrimSpace set: spaces, tabs, line breaks, NBSP, …) around types and unescaped around values
 *   is insignificant. Any non-empty attribute type is accepted, as go-ldap does.
 * - A DN containing "=#" (a hex-encoded BER value) is refused, as notation refuses it.
 * - Multi-valued RDNs ("+") are not supported; an attribute type may appear only once. "S" is an alias of "ST"
 *   (notation >= 1.2), so "S=WA" and "ST=WA" are the same attribute and may not both appear.
 * - C, ST and O are mandatory. Attribute types are compared as written (case-sensitive), values exactly.
 * - A certificate subject matches an identity when every attribute of the identity has the same value in the
 *   subject, an absent attribute counting as the empty value (subset match). Two identities of one statement
 *   overlap — an invalid policy — when one is a subset of the other.
 *
 * The signing certificate's subject is read the way notation reads it: Go's pkix.Name.String() prints it, and that
 * string goes through the same parser (see leafSubjectDn).
 */
import { readTlv } from '../pki/der.js';
import { decodeDirectoryString } from './x509.js';
export type DnMap = Map<string, string>;

export class DnError extends Error {}

export const MANDATORY_DN_ATTRIBUTES = ['C', 'ST', 'O'] as const;

/** Attribute type aliases notation resolves before comparing (notation-go PR #432: "S" is stateOrProvinceName). */
const TYPE_ALIASES: Readonly<Record<string, string>> = { S: 'ST' };

interface RawAttr {
  type: string;
  value: string;
}

/** Go's unicode.IsSpace, which strings.TrimSpace (and so go-ldap) trims with. */
function isGoSpace(c: string): boolean {
  return /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/.test(c);
}

/** Splits an RFC 4514 DN into RDNs of attributes; throws DnError on syntax errors. */
export function parseDnSyntax(s: string): RawAttr[][] {
  const rdns: RawAttr[][] = [];
  let rdn: RawAttr[] = [];
  let type: string | undefined;
  let buf = '';
  // Length of `buf` that must not be trimmed at the end (it ends in an escaped character).
  let protectedLen = 0;
  // True right after "=": a value is hex-encoded BER only when "#" immediately follows the "=" (as in go-ldap).
  let afterEquals = false;
  let hexValue = false;
  let sawAny = false;
  const trimmedBuf = (): string => {
    let end = buf.length;
    while (end > protectedLen && isGoSpace(buf[end - 1]!)) end--;
    return buf.slice(0, end);
  };
  const finishAttr = (atEnd: boolean): void => {
    if (type === undefined) {
      if (trimmedBuf().length === 0 && atEnd && rdns.length === 0 && rdn.length === 0 && !sawAny) return;
      throw new DnError(`attribute "${trimmedBuf()}" has no "=" and no value`);
    }
    let v = trimmedBuf();
    if (hexValue) v = decodeHexValue(v);
    rdn.push({ type, value: v });
    type = undefined;
    buf = '';
    protectedLen = 0;
    hexValue = false;
    afterEquals = false;
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const first = afterEquals;
    afterEquals = false;
    if (c === '\\') {
      const n = s[i + 1];
      if (n === undefined) throw new DnError('DN ends with an incomplete escape');
      if (/[0-9a-fA-F]/.test(n)) {
        const h = s.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new DnError(`invalid hex escape "\\${h}"`);
        // A run of hex escapes is collected so that multi-byte UTF-8 decodes.
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
    if (isGoSpace(c) && buf.length === 0) continue; // insignificant leading white space
    if (type === undefined) {
      if (c === '=') {
        type = trimmedBuf();
        if (type.length === 0) throw new DnError('empty attribute type');
        buf = '';
        protectedLen = 0;
        afterEquals = true;
        sawAny = true;
        continue;
      }
      if (c === ',' || c === ';' || c === '+') throw new DnError(`attribute "${trimmedBuf()}" has no "=" and no value`);
      buf += c;
      continue;
    }
    if (c === '#' && first) {
      hexValue = true;
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
  if (type !== undefined || trimmedBuf().length > 0) finishAttr(true);
  if (rdn.length > 0) rdns.push(rdn);
  else if (rdns.length > 0) throw new DnError('DN ends with a separator');
  return rdns;
}

function decodeHexValue(v: string): string {
  const hex = v.slice(1);
  if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw new DnError(`invalid hex value "${v}"`);
  // A BER-encoded string value; the raw form is kept when it is not a simple string type.
  const b = Buffer.from(hex, 'hex');
  if (b.length >= 2 && [0x0c, 0x13, 0x16, 0x14].includes(b[0]!) && b[1]! < 0x80 && b[1] === b.length - 2) {
    return b.subarray(2).toString(b[0] === 0x0c ? 'utf8' : 'latin1');
  }
  return v;
}

/**
 * Parses a DN with the Notary Project rules (no "=#", single-valued RDNs, unique types, C/ST/O present).
 * Throws DnError whose message says which rule was broken.
 */
export function parseDistinguishedName(s: string): DnMap {
  if (s.includes('=#')) {
    // notation refuses these before parsing (go-asn1-ber memory issue, notation-go #276); so do we, so that an
    // identity notation rejects is not one we accept.
    throw new DnError(
      `unsupported distinguished name (DN) "${s}": notation does not support x509.subject identities containing "=#" (write the value as a string; a value that starts with "#" is written "\\#…")`,
    );
  }
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
      const type = TYPE_ALIASES[a.type] ?? a.type;
      if (map.get(type)) {
        throw new DnError(`distinguished name (DN) "${s}" has duplicate RDN attribute for "${type}", DN can only have unique RDN attributes`);
      }
      map.set(type, a.value);
    }
  }
  for (const f of MANDATORY_DN_ATTRIBUTES) {
    if (!map.get(f)) {
      throw new DnError(`distinguished name (DN) "${s}" has no mandatory RDN attribute for "${f}", it must contain 'C', 'ST', and 'O' RDN attributes at a minimum`);
    }
  }
  return map;
}

/** True when every attribute of `sub` has the same value in `sup` (an absent attribute is the empty value, as in Go). */
export function isSubsetDn(sub: DnMap, sup: DnMap): boolean {
  for (const [k, v] of sub) if ((sup.get(k) ?? '') !== v) return false;
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

/* ------------------------------------------------------------------------------------------------------------- */
/* The signing certificate's subject, as notation sees it                                                          */
/* ------------------------------------------------------------------------------------------------------------- */

/** An attribute of a certificate subject as src/trust/x509.ts reads it: a short name, or a dotted OID with "#" + DER hex. */
export interface SubjectAttr {
  type: string;
  value: string;
}

/**
 * The attribute types Go's crypto/x509/pkix prints by short name (its attributeTypeNames), in the order its
 * Name.ToRDNSequence emits them. Every other type prints as "OID=#hex", which notation cannot parse.
 */
const GO_NAMED_TYPES: readonly { oid: string; name: string; single?: boolean }[] = [
  { oid: '2.5.4.6', name: 'C' },
  { oid: '2.5.4.8', name: 'ST' },
  { oid: '2.5.4.7', name: 'L' },
  { oid: '2.5.4.9', name: 'STREET' },
  { oid: '2.5.4.17', name: 'POSTALCODE' },
  { oid: '2.5.4.10', name: 'O' },
  { oid: '2.5.4.11', name: 'OU' },
  // Go keeps one CommonName and one SerialNumber: the last one in the certificate wins, and an empty one is not printed.
  { oid: '2.5.4.3', name: 'CN', single: true },
  { oid: '2.5.4.5', name: 'SERIALNUMBER', single: true },
];

/** Names of attribute types often found in subjects that Go prints as OID=#hex, for messages. */
const OTHER_TYPE_NAMES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.9.1': 'emailAddress',
  '0.9.2342.19200300.100.1.25': 'DC (domainComponent)',
  '0.9.2342.19200300.100.1.1': 'UID',
  '2.5.4.4': 'surname',
  '2.5.4.12': 'title',
  '2.5.4.13': 'description',
  '2.5.4.15': 'businessCategory',
  '2.5.4.42': 'givenName',
  '2.5.4.43': 'initials',
  '2.5.4.44': 'generationQualifier',
  '2.5.4.46': 'dnQualifier',
  '2.5.4.65': 'pseudonym',
  '2.5.4.97': 'organizationIdentifier',
  '1.3.6.1.4.1.311.60.2.1.1': 'jurisdictionLocalityName',
  '1.3.6.1.4.1.311.60.2.1.2': 'jurisdictionStateOrProvinceName',
  '1.3.6.1.4.1.311.60.2.1.3': 'jurisdictionCountryName',
};

/**
 * Decodes "#" + DER hex of a string value the way Go's certificate parser does (parseASN1String: T61, Printable,
 * UTF8, BMP, IA5 and Numeric strings); undefined for any other ASN.1 type, which makes Go refuse the certificate.
 */
function goAsn1String(hexValue: string): string | undefined {
  if (!/^#([0-9a-fA-F]{2})+$/.test(hexValue)) return undefined;
  const b = Buffer.from(hexValue.slice(1), 'hex');
  try {
    const t = readTlv(b, 0);
    return t.end === b.length ? decodeDirectoryString(b, t) : undefined;
  } catch {
    return undefined;
  }
}

/** Escapes a value as Go's pkix.RDNSequence.String() does (note: "=" is not escaped). */
function goEscapeValue(v: string): string {
  const last = Buffer.byteLength(v) - 1;
  let out = '';
  let k = 0; // byte offset of the current character, as Go's range over a string
  for (const c of v) {
    let escape = ',+"\\<>;'.includes(c);
    if (c === ' ') escape = k === 0 || k === last;
    if (c === '#') escape = k === 0;
    out += escape ? `\\${c}` : c;
    k += Buffer.byteLength(c);
  }
  return out;
}

/**
 * The certificate subject as Go's pkix.Name.String() prints it for a parsed certificate: attributes of other types
 * first in the certificate's order (so last in the string) as "OID=#hex", then C, ST, L, STREET, POSTALCODE, O, OU
 * (each type's values together, as one multi-valued RDN), CN and SERIALNUMBER; RDNs in reverse order, comma-separated.
 * `otherTypes` lists the dotted OIDs printed as "OID=#hex".
 */
export function goSubjectString(rdns: readonly (readonly SubjectAttr[])[]): { printed: string; otherTypes: string[] } {
  const named = new Map<string, string[]>();
  const other: SubjectAttr[] = [];
  for (const rdn of rdns) {
    for (const a of rdn) {
      let t = GO_NAMED_TYPES.find((g) => g.name === a.type);
      let value = a.value;
      if (!t) {
        t = GO_NAMED_TYPES.find((g) => g.oid === a.type);
        if (t) {
          // A named type whose value src/trust/x509.ts left as DER (e.g. a NumericString): Go reads it as a string.
          const decoded = goAsn1String(a.value);
          if (decoded === undefined) {
            throw new DnError(`the subject attribute ${t.name} has a value of an ASN.1 type Go's crypto/x509 cannot parse (${a.value}), so notation cannot read this certificate`);
          }
          value = decoded;
        }
      }
      if (!t) {
        other.push(a);
        continue;
      }
      const list = named.get(t.name) ?? [];
      if (t.single) list.splice(0, list.length, value);
      else list.push(value);
      named.set(t.name, list);
    }
  }
  const seq: SubjectAttr[][] = other.map((a) => [a]);
  for (const g of GO_NAMED_TYPES) {
    const values = named.get(g.name);
    if (!values || values.length === 0 || (g.single && values[0] === '')) continue;
    seq.push(values.map((value) => ({ type: g.name, value })));
  }
  const printed = [...seq]
    .reverse()
    .map((rdn) => rdn.map((a) => (GO_NAMED_TYPES.some((g) => g.name === a.type) ? `${a.type}=${goEscapeValue(a.value)}` : `${a.type}=${a.value}`)).join('+'))
    .join(',');
  return { printed, otherTypes: other.map((a) => a.type) };
}

/**
 * The signing certificate's subject as notation's trusted-identity check reads it: Go prints it
 * (goSubjectString), and ParseDistinguishedName parses that string. Throws DnError with the reason when notation
 * cannot parse it: an attribute Go prints as "OID=#hex" (emailAddress, DC, …; the "=#" is refused), a type with
 * more than one value (Go prints them as one multi-valued RDN), or C, ST or O missing.
 */
export function leafSubjectDn(rdns: readonly (readonly SubjectAttr[])[]): DnMap {
  const { printed, otherTypes } = goSubjectString(rdns);
  if (otherTypes.length > 0) {
    const oid = otherTypes[0]!;
    const label = OTHER_TYPE_NAMES[oid] ? `${OTHER_TYPE_NAMES[oid]} (${oid})` : oid;
    throw new DnError(
      `the subject "${printed}" has the attribute ${label}, which Go prints as "${oid}=#<hex>"; notation does not parse a subject containing "=#", so no x509.subject trusted identity can match this signing certificate (only C, ST, L, O, OU, CN, SERIALNUMBER, STREET and POSTALCODE are supported; trust it with the identity "*" or use a certificate without that attribute)`,
    );
  }
  return parseDistinguishedName(printed);
}
