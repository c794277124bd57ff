/**
 * Trust policy (`trustpolicy.json`, version 1.0) as defined by the Notary Project "Trust Store and Trust Policy"
 * specification, validated the way notation v1.3 validates it, plus selection of the statement for an artifact.
 *
 * Files: `<config>/trustpolicy.oci.json` is read when present (notation >= 1.2 layout), else `<config>/trustpolicy.json`.
 * The JSON is read the way notation's Go encoding/json decoder reads it (see decodeDocument): keys match the field
 * names case-insensitively, `null` is the same as an absent field, fields the 1.0 schema does not define are ignored
 * and data after the JSON document is ignored. Ignored fields and trailing data are reported as warnings (so that
 * a typo like "trustedIdentites" is visible), not as errors. One deliberate difference: a field given twice in one
 * object (e.g. "level" and "Level") is an error, where Go would merge or overwrite the values in document order.
 */
import { promises as fsp } from 'node:fs';
import type { ConfigPaths } from '../config/dir.js';
import { PolicyError } from './errors.js';
import { DnError, isSubsetDn, parseDistinguishedName, type DnMap } from './dn.js';
import { dockerHubName } from '../oci/reference.js';

export const SUPPORTED_POLICY_VERSIONS = ['1.0'] as const;
export const WILDCARD = '*';
export const X509_SUBJECT_PREFIX = 'x509.subject';

export type VerificationLevelName = 'strict' | 'permissive' | 'audit' | 'skip';
export type ValidationType = 'integrity' | 'authenticity' | 'authenticTimestamp' | 'expiry' | 'revocation';
export type ValidationAction = 'enforce' | 'log' | 'skip';
export type TrustStoreType = 'ca' | 'signingAuthority' | 'tsa';
export type VerifyTimestampOption = 'always' | 'afterCertExpiry';

export const VALIDATION_TYPES: readonly ValidationType[] = ['integrity', 'authenticity', 'authenticTimestamp', 'expiry', 'revocation'];
export const VALIDATION_ACTIONS: readonly ValidationAction[] = ['enforce', 'log', 'skip'];
export const TRUST_STORE_TYPES: readonly TrustStoreType[] = ['ca', 'signingAuthority', 'tsa'];
export const VERIFICATION_LEVELS: readonly VerificationLevelName[] = ['strict', 'permissive', 'audit', 'skip'];

/** The spec's table: the action of each validation at each level. */
export const LEVEL_ENFORCEMENT: Readonly<Record<VerificationLevelName, Readonly<Record<ValidationType, ValidationAction>>>> = {
  strict: { integrity: 'enforce', authenticity: 'enforce', authenticTimestamp: 'enforce', expiry: 'enforce', revocation: 'enforce' },
  permissive: { integrity: 'enforce', authenticity: 'enforce', authenticTimestamp: 'log', expiry: 'log', revocation: 'log' },
  audit: { integrity: 'enforce', authenticity: 'log', authenticTimestamp: 'log', expiry: 'log', revocation: 'log' },
  skip: { integrity: 'skip', authenticity: 'skip', authenticTimestamp: 'skip', expiry: 'skip', revocation: 'skip' },
};

export interface SignatureVerification {
  level: VerificationLevelName;
  override?: Partial<Record<ValidationType, ValidationAction>>;
  verifyTimestamp?: VerifyTimestampOption;
}

export interface TrustPolicyStatement {
  name: string;
  registryScopes: string[];
  signatureVerification: SignatureVerification;
  trustStores?: string[];
  trustedIdentities?: string[];
}

export interface TrustPolicyDocument {
  version: '1.0';
  trustPolicies: TrustPolicyStatement[];
}

/** A validated policy document and where it came from. */
export interface TrustPolicy {
  document: TrustPolicyDocument;
  /** File it was read from, if any. */
  source?: string;
  /**
   * Non-fatal remarks: fields notation ignores (unknown or misspelled ones), data after the JSON document, a `skip`
   * statement with the global scope (which the spec discourages).
   */
  warnings: string[];
}

export interface TrustStoreRef {
  type: TrustStoreType;
  name: string;
}

/** The statement chosen for an artifact, with everything the verifier needs already resolved. */
export interface EffectiveStatement {
  statement: TrustPolicyStatement;
  level: VerificationLevelName;
  /** "custom" when an override is present (as notation names it), else the level name. */
  levelLabel: VerificationLevelName | 'custom';
  enforcement: Record<ValidationType, ValidationAction>;
  trustStores: TrustStoreRef[];
  /** x509.subject identities, parsed; empty with `wildcardIdentity`. */
  x509Identities: { raw: string; dn: DnMap }[];
  wildcardIdentity: boolean;
  verifyTimestamp: VerifyTimestampOption;
}

const STORE_NAME_RE = /^[a-zA-Z0-9_.-]+$/;

/**
 * A trust store name: notation's [a-zA-Z0-9_.-]+, but not "." or "..", which match it and name the type folder
 * or the folder of all stores (truststore/x509/ca/.. is truststore/x509).
 */
export function isValidStoreName(name: string): boolean {
  return STORE_NAME_RE.test(name) && name !== '.' && name !== '..';
}

// Registry scope grammar notation applies (distribution's domain and repository path rules).
const DOMAIN_RE = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))+)?(?::[0-9]+)?$/;
const REPO_RE = /^[a-z0-9]+(?:(?:(?:[._]|__|[-]*)[a-z0-9]+)+)?(?:(?:\/[a-z0-9]+(?:(?:(?:[._]|__|[-]*)[a-z0-9]+)+)?)+)?$/;

function invalid(message: string, statement?: string): never {
  throw new PolicyError('POLICY_INVALID', message, {
    statement,
    hint: 'see https://github.com/notaryproject/specifications/blob/main/specs/trust-store-trust-policy.md',
  });
}

function malformed(message: string, statement?: string): never {
  throw new PolicyError('POLICY_MALFORMED', `malformed trust policy: ${message}`, { statement });
}

/* ------------------------------------------------------------------------------------------------------------- */
/* JSON as notation reads it (Go's encoding/json)                                                                  */
/* ------------------------------------------------------------------------------------------------------------- */

/** A JSON object read from a policy file, with its members in document order and duplicates kept. */
class JsonObject {
  constructor(readonly members: [string, unknown][]) {}
}

class JsonSyntaxError extends Error {}

const JSON_WHITESPACE = ' \t\n\r';
const JSON_NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const JSON_ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
/** Deeper nesting is refused (Go allows 10000; no policy comes near either). */
const MAX_JSON_DEPTH = 1000;

/** "line L, column C" of an offset in `text`, for messages. */
function textPosition(text: string, offset: number): string {
  const before = text.slice(0, offset);
  return `line ${before.split('\n').length}, column ${offset - before.lastIndexOf('\n')}`;
}

/** The text of the first JSON document in `text` (what notation reads of a policy file), or undefined if malformed. */
export function firstJsonDocument(text: string): string | undefined {
  try {
    return text.slice(0, readJsonValue(text).end);
  } catch (e) {
    if (e instanceof JsonSyntaxError) return undefined;
    throw e;
  }
}

/**
 * Reads the first JSON value of `text` (RFC 8259 syntax, as Go's json.Decoder does). Objects become JsonObject so
 * that repeated members stay visible; a lone surrogate escape becomes U+FFFD as in Go. Returns the value and the
 * offset just after it: what follows is not read, as Go's Decoder.Decode does not read it.
 */
function readJsonValue(text: string): { value: unknown; end: number } {
  let i = 0;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at ${textPosition(text, i)}`);
  };
  const found = (): string => (i >= text.length ? 'unexpected end of JSON input' : `invalid character ${JSON.stringify(text[i])}`);
  const skipSpace = (): void => {
    while (i < text.length && JSON_WHITESPACE.includes(text[i]!)) i++;
  };
  const hex4 = (at: number): number => (/^[0-9a-fA-F]{4}$/.test(text.slice(at, at + 4)) ? parseInt(text.slice(at, at + 4), 16) : -1);
  const readString = (): string => {
    i++; // the opening quote
    let out = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) return fail('unexpected end of JSON input in a string');
      if (c === '"') {
        i++;
        return out;
      }
      if (c < ' ') fail(`invalid control character ${JSON.stringify(c)} in a string`);
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1];
      if (e !== undefined && JSON_ESCAPES[e] !== undefined) {
        out += JSON_ESCAPES[e];
        i += 2;
        continue;
      }
      if (e !== 'u') {
        i++;
        fail(`${found()} in string escape code`);
      }
      const u = hex4(i + 2);
      if (u < 0) {
        i += 2;
        fail('invalid \\u escape in a string');
      }
      i += 6;
      if (u >= 0xd800 && u <= 0xdbff && text[i] === '\\' && text[i + 1] === 'u') {
        const low = hex4(i + 2);
        if (low >= 0xdc00 && low <= 0xdfff) {
          out += String.fromCharCode(u, low);
          i += 6;
          continue;
        }
      }
      out += u >= 0xd800 && u <= 0xdfff ? '\ufffd' : String.fromCharCode(u);
    }
  };
  const readValue = (depth: number): unknown => {
    if (depth > MAX_JSON_DEPTH) fail(`exceeded max depth ${MAX_JSON_DEPTH}`);
    skipSpace();
    const c = text[i];
    if (c === '{') {
      i++;
      const members: [string, unknown][] = [];
      skipSpace();
      if (text[i] === '}') {
        i++;
        return new JsonObject(members);
      }
      for (;;) {
        skipSpace();
        if (text[i] !== '"') fail(`${found()} looking for beginning of object key string`);
        const key = readString();
        skipSpace();
        if (text[i] !== ':') fail(`${found()} after object key`);
        i++;
        members.push([key, readValue(depth + 1)]);
        skipSpace();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return new JsonObject(members);
        }
        fail(`${found()} after object key:value pair`);
      }
    }
    if (c === '[') {
      i++;
      const items: unknown[] = [];
      skipSpace();
      if (text[i] === ']') {
        i++;
        return items;
      }
      for (;;) {
        items.push(readValue(depth + 1));
        skipSpace();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return items;
        }
        fail(`${found()} after array element`);
      }
    }
    if (c === '"') return readString();
    for (const [literal, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return value;
      }
    }
    JSON_NUMBER.lastIndex = i;
    const m = c === '-' || (c !== undefined && c >= '0' && c <= '9') ? JSON_NUMBER.exec(text) : null;
    if (m) {
      i += m[0].length;
      return Number(m[0]);
    }
    if (c === 't' || c === 'f' || c === 'n') fail(`invalid literal starting with ${JSON.stringify(c)} (expecting true, false or null)`);
    if (c === '\ufeff') fail('invalid character U+FEFF (a byte order mark, which notation does not accept either) looking for beginning of value');
    return fail(`${found()} looking for beginning of value`);
  };
  const value = readValue(0);
  return { value, end: i };
}

/** The members of a JSON object, either read by readJsonValue or a plain JavaScript object; undefined otherwise. */
function membersOf(v: unknown): [string, unknown][] | undefined {
  if (v instanceof JsonObject) return v.members;
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return Object.entries(v);
  return undefined;
}

/**
 * Key comparison of Go's encoding/json (bytes.EqualFold): ASCII letters ignoring case, plus the two non-ASCII
 * letters that fold into ASCII ones ("ſ" is s, the Kelvin sign is k).
 */
function foldKey(k: string): string {
  return k.replace(/[A-Z]/g, (c) => c.toLowerCase()).replace(/\u017f/g, 's').replace(/\u212a/g, 'k');
}

/** Go types of the policy's fields: string, []string, a struct, map[string]string, []struct. */
type FieldKind = 'string' | 'strings' | 'struct' | 'stringMap' | 'structs';

/**
 * Decodes one JSON object into the fields of a Go struct as encoding/json does: a member goes to the field whose
 * name equals its key, else equals it ignoring case; `null` leaves the field absent; a member no field takes is
 * ignored (reported in `warnings`); a JSON type that does not fit the field is malformed (Go's UnmarshalTypeError).
 * A field set by two members (e.g. "level" and "Level") is refused: Go would overwrite or merge them in order, and
 * other readers of the file may take the first.
 */
function decodeStruct(v: unknown, fields: Readonly<Record<string, FieldKind>>, where: string, statement: string | undefined, warnings: string[]): Record<string, unknown> {
  const names = Object.keys(fields);
  const out: Record<string, unknown> = {};
  const seen = new Map<string, string>();
  for (const [key, value] of membersOf(v) ?? []) {
    // A JavaScript caller's undefined is an absent member (JSON.stringify would drop it).
    if (value === undefined) continue;
    const field = names.find((f) => f === key) ?? names.find((f) => foldKey(f) === foldKey(key));
    if (field === undefined) {
      warnings.push(`${where} has unknown field "${key}", which is ignored as notation ignores it (known fields: ${names.join(', ')}); check its spelling`);
      continue;
    }
    const prev = seen.get(field);
    if (prev !== undefined) {
      malformed(`${where} sets the field "${field}" more than once (${prev === key ? `"${key}" twice` : `as "${prev}" and as "${key}"`}), keep only one`, statement);
    }
    seen.set(field, key);
    if (value === null) continue;
    const kind = fields[field]!;
    const what = `"${field}" of ${where}`;
    switch (kind) {
      case 'string':
        if (typeof value !== 'string') malformed(`${what} must be a string`, statement);
        out[field] = value;
        break;
      case 'strings':
        // A null element is Go's zero value, the empty string (which validation then refuses with its own reason).
        if (!Array.isArray(value) || value.some((x) => typeof x !== 'string' && x !== null)) malformed(`${what} must be an array of strings`, statement);
        out[field] = (value as (string | null)[]).map((x) => x ?? '');
        break;
      case 'struct':
        if (membersOf(value) === undefined) malformed(`${what} must be an object`, statement);
        out[field] = value;
        break;
      case 'structs':
        if (!Array.isArray(value) || value.some((x) => x !== null && membersOf(x) === undefined)) malformed(`${what} must be an array of objects`, statement);
        out[field] = value;
        break;
      case 'stringMap': {
        const members = membersOf(value);
        if (members === undefined) return malformed(`${what} must be an object`, statement);
        // A null-prototype object: keys are data (validation refuses any key but a validation type).
        const map: Record<string, string> = Object.create(null) as Record<string, string>;
        for (const [k, x] of members) {
          if (typeof x !== 'string' && x !== null) malformed(`${what} must map names to strings, but "${k}" is ${JSON.stringify(x)}`, statement);
          if (Object.prototype.hasOwnProperty.call(map, k)) malformed(`${what} sets "${k}" more than once, keep only one`, statement);
          map[k] = x ?? '';
        }
        out[field] = map;
        break;
      }
    }
  }
  return out;
}

/** One statement as decoded from JSON, before validation. */
interface DecodedStatement {
  name: string;
  registryScopes?: string[];
  trustStores?: string[];
  trustedIdentities?: string[];
  level: string;
  override?: Record<string, string>;
  verifyTimestamp: string;
}

/** Decodes the document into notation's Go structs (OCIDocument, OCITrustPolicy, SignatureVerification). */
function decodeDocument(v: unknown, warnings: string[]): { version: string; trustPolicies: DecodedStatement[] } {
  // A top-level null decodes into nothing, leaving an empty document (which validation then refuses).
  if (v !== null && membersOf(v) === undefined) malformed('the document must be a JSON object');
  const doc = decodeStruct(v, { version: 'string', trustPolicies: 'structs' }, 'trust policy document', undefined, warnings);
  const list = (doc.trustPolicies ?? []) as unknown[];
  const trustPolicies = list.map((raw, idx): DecodedStatement => {
    const nameMember = (membersOf(raw) ?? []).find(([k, x]) => foldKey(k) === 'name' && typeof x === 'string' && x !== '');
    const label = nameMember ? (nameMember[1] as string) : `#${idx + 1}`;
    const st = decodeStruct(
      raw,
      { name: 'string', registryScopes: 'strings', signatureVerification: 'struct', trustStores: 'strings', trustedIdentities: 'strings' },
      `trust policy statement "${label}"`,
      label,
      warnings,
    );
    const sv = decodeStruct(
      st.signatureVerification,
      { level: 'string', override: 'stringMap', verifyTimestamp: 'string' },
      `signatureVerification of trust policy statement "${label}"`,
      label,
      warnings,
    );
    const out: DecodedStatement = { name: (st.name ?? '') as string, level: (sv.level ?? '') as string, verifyTimestamp: (sv.verifyTimestamp ?? '') as string };
    if (st.registryScopes !== undefined) out.registryScopes = st.registryScopes as string[];
    if (st.trustStores !== undefined) out.trustStores = st.trustStores as string[];
    if (st.trustedIdentities !== undefined) out.trustedIdentities = st.trustedIdentities as string[];
    if (sv.override !== undefined) out.override = sv.override as Record<string, string>;
    return out;
  });
  return { version: (doc.version ?? '') as string, trustPolicies };
}

/** Checks a registry scope's format (not "*"); returns an error message or undefined. */
export function registryScopeError(scope: string): string | undefined {
  const ensure =
    'make sure it is a fully qualified repository without the scheme, protocol or tag. For example domain.com/my/repository or a local scope like local/myOCILayout';
  if (scope.length > 1 && scope.includes('*')) return `registry scope "${scope}" with wild card(s) is not valid, ${ensure}`;
  const slash = scope.indexOf('/');
  if (slash < 0) return `registry scope "${scope}" is not valid, ${ensure}`;
  const domain = scope.slice(0, slash);
  const repo = scope.slice(slash + 1);
  if (!domain || !repo || !DOMAIN_RE.test(domain) || !REPO_RE.test(repo)) return `registry scope "${scope}" is not valid, ${ensure}`;
  return undefined;
}

/** Parses "type:name". */
export function parseTrustStoreRef(v: string, statement = ''): TrustStoreRef {
  const i = v.indexOf(':');
  if (i < 0) {
    invalid(`trust policy statement "${statement}" has malformed trust store value "${v}". The required format is <TrustStoreType>:<TrustStoreName>`, statement);
  }
  const type = v.slice(0, i);
  const name = v.slice(i + 1);
  if (!(TRUST_STORE_TYPES as readonly string[]).includes(type)) {
    invalid(
      `trust policy statement "${statement}" uses an unsupported trust store type "${type}" in trust store value "${v}" (supported: ${TRUST_STORE_TYPES.join(', ')})`,
      statement,
    );
  }
  if (!isValidStoreName(name)) {
    invalid(
      `trust policy statement "${statement}" uses an unsupported trust store name "${name}" in trust store value "${v}". Named store name needs to follow [a-zA-Z0-9_.-]+ format (and not be "." or "..")`,
      statement,
    );
  }
  return { type: type as TrustStoreType, name };
}

/** Resolves level + overrides into an action per validation; throws POLICY_INVALID naming the statement. */
export function resolveEnforcement(sv: SignatureVerification, statement: string): { level: VerificationLevelName; label: VerificationLevelName | 'custom'; enforcement: Record<ValidationType, ValidationAction> } {
  const prefix = `trust policy statement "${statement}" has invalid signatureVerification:`;
  if (sv.level === undefined || (sv.level as string) === '') invalid(`${prefix} signature verification level is empty or missing in the trust policy statement`, statement);
  if (!(VERIFICATION_LEVELS as readonly string[]).includes(sv.level)) {
    invalid(`${prefix} invalid signature verification level "${sv.level}" (supported: ${VERIFICATION_LEVELS.join(', ')})`, statement);
  }
  const enforcement = { ...LEVEL_ENFORCEMENT[sv.level] };
  const entries = Object.entries(sv.override ?? {});
  if (entries.length === 0) return { level: sv.level, label: sv.level, enforcement };
  if (sv.level === 'skip') invalid(`${prefix} signature verification level "skip" can't be used to customize signature verification`, statement);
  for (const [key, value] of entries) {
    if (!(VALIDATION_TYPES as readonly string[]).includes(key)) {
      invalid(`${prefix} verification type "${key}" in custom signature verification is not supported, supported values are ${VALIDATION_TYPES.map((t) => `"${t}"`).join(' ')}`, statement);
    }
    if (typeof value !== 'string' || !(VALIDATION_ACTIONS as readonly string[]).includes(value)) {
      invalid(`${prefix} verification action ${JSON.stringify(value)} in custom signature verification is not supported, supported values are "enforce" "log" "skip"`, statement);
    }
    if (key === 'integrity') invalid(`${prefix} "integrity" verification can not be overridden in custom signature verification`, statement);
    if (key !== 'revocation' && value === 'skip') invalid(`${prefix} "${key}" verification can not be skipped in custom signature verification`, statement);
    enforcement[key as ValidationType] = value as ValidationAction;
  }
  return { level: sv.level, label: 'custom', enforcement };
}

function parseIdentities(name: string, tis: string[]): { raw: string; dn: DnMap }[] {
  if (tis.length > 1 && tis.includes(WILDCARD)) {
    invalid(`trust policy statement "${name}" uses a wildcard trusted identity '*', a wildcard identity cannot be used in conjunction with other values`, name);
  }
  const parsed: { raw: string; dn: DnMap }[] = [];
  for (const identity of tis) {
    if (identity === '') invalid(`trust policy statement "${name}" has an empty trusted identity`, name);
    if (identity === WILDCARD) continue;
    const i = identity.indexOf(':');
    if (i < 0) invalid(`trust policy statement "${name}" has trusted identity "${identity}" missing separator`, name);
    const prefix = identity.slice(0, i);
    const value = identity.slice(i + 1);
    if (prefix !== X509_SUBJECT_PREFIX) continue; // other identity types are for plug-ins; they never match here
    if (value === '') invalid(`trust policy statement "${name}" has trusted identity "${identity}" without an identity value`, name);
    try {
      parsed.push({ raw: identity, dn: parseDistinguishedName(value) });
    } catch (e) {
      if (e instanceof DnError) invalid(`trust policy statement "${name}" has trusted identity "${identity}" with invalid identity value: ${e.message}`, name);
      throw e;
    }
  }
  for (let a = 0; a < parsed.length; a++) {
    for (let b = 0; b < parsed.length; b++) {
      if (a !== b && isSubsetDn(parsed[a]!.dn, parsed[b]!.dn)) {
        invalid(`trust policy statement "${name}" has overlapping x509 trustedIdentities, "${parsed[a]!.raw}" overlaps with "${parsed[b]!.raw}"`, name);
      }
    }
  }
  return parsed;
}

/**
 * Validates a parsed JSON value as a trust policy document (version 1.0). Throws PolicyError with the first
 * problem, naming the statement; rule order follows notation's so the first message is the same problem. The value
 * is decoded as notation decodes the file (decodeDocument); what notation ignores is reported in `warnings`.
 */
export function validateTrustPolicy(v: unknown, source?: string): TrustPolicy {
  return validateDocument(v, source, []);
}

function validateDocument(v: unknown, source: string | undefined, warnings: string[]): TrustPolicy {
  const decoded = decodeDocument(v, warnings);
  if (decoded.version === '') {
    throw new PolicyError('POLICY_VERSION', 'trust policy document is missing or has empty version, it must be specified', { hint: 'set "version": "1.0"' });
  }
  if (!(SUPPORTED_POLICY_VERSIONS as readonly string[]).includes(decoded.version)) {
    throw new PolicyError('POLICY_VERSION', `trust policy document uses unsupported version ${JSON.stringify(decoded.version)}`, { hint: 'the supported version is "1.0"' });
  }
  if (decoded.trustPolicies.length === 0) invalid('trust policy document can not have zero trust policy statements');
  const names = new Set<string>();
  const statements: TrustPolicyStatement[] = [];
  for (const d of decoded.trustPolicies) {
    const { name, trustStores, trustedIdentities } = d;
    const registryScopes = d.registryScopes ?? [];
    if (names.has(name)) invalid(`multiple trust policy statements use the same name "${name}", statement names must be unique`, name);
    if (name === '') invalid('a trust policy statement is missing a name, every statement requires a name');
    names.add(name);
    // An empty verifyTimestamp is Go's zero value: the default, "always".
    if (d.verifyTimestamp !== '' && d.verifyTimestamp !== 'always' && d.verifyTimestamp !== 'afterCertExpiry') {
      invalid(`trust policy statement "${name}" has invalid signatureVerification: verifyTimestamp ${JSON.stringify(d.verifyTimestamp)} is not supported, supported values are "always" and "afterCertExpiry"`, name);
    }
    const sv: SignatureVerification = { level: d.level as VerificationLevelName };
    if (d.override) sv.override = d.override as Partial<Record<ValidationType, ValidationAction>>;
    const { level } = resolveEnforcement(sv, name);
    if (level === 'skip') {
      if ((trustStores?.length ?? 0) > 0 || (trustedIdentities?.length ?? 0) > 0) {
        invalid(`trust policy statement "${name}" is set to skip signature verification but configured with trust stores and/or trusted identities, remove them if signature verification needs to be skipped`, name);
      }
      if (registryScopes.includes(WILDCARD)) {
        warnings.push(`trust policy statement "${name}" skips verification for every artifact (level "skip" with the global scope "*"); the specification says skip must name fully qualified repositories`);
      }
    } else {
      if (!trustStores?.length || !trustedIdentities?.length) {
        invalid(`trust policy statement "${name}" is either missing trust stores or trusted identities, both must be specified`, name);
      }
      for (const ts of trustStores) parseTrustStoreRef(ts, name);
      parseIdentities(name, trustedIdentities);
    }
    const st: TrustPolicyStatement = { name, registryScopes, signatureVerification: { level } };
    if (sv.override && Object.keys(sv.override).length > 0) st.signatureVerification.override = { ...sv.override };
    if (d.verifyTimestamp !== '') st.signatureVerification.verifyTimestamp = d.verifyTimestamp as VerifyTimestampOption;
    if (trustStores) st.trustStores = [...trustStores];
    if (trustedIdentities) st.trustedIdentities = [...trustedIdentities];
    statements.push(st);
  }
  // registry scopes, across statements
  const owner = new Map<string, string>();
  const canonicalOwner = new Map<string, { name: string; scope: string }>();
  for (const st of statements) {
    if (st.registryScopes.length === 0) {
      invalid(`trust policy statement "${st.name}" has zero registry scopes, it must specify registry scopes with at least one value`, st.name);
    }
    if (st.registryScopes.length > 1 && st.registryScopes.includes(WILDCARD)) {
      invalid(`trust policy statement "${st.name}" uses wildcard registry scope '*', a wildcard scope cannot be used in conjunction with other scope values`, st.name);
    }
    for (const scope of st.registryScopes) {
      if (scope !== WILDCARD) {
        const err = registryScopeError(scope);
        if (err) invalid(`trust policy statement "${st.name}": ${err}`, st.name);
      }
      const prev = owner.get(scope);
      if (prev !== undefined) {
        invalid(
          prev === st.name
            ? `trust policy statement "${st.name}" lists registry scope "${scope}" twice`
            : `registry scope "${scope}" is present in multiple trust policy statements ("${prev}" and "${st.name}"), one registry scope value can only be associated with one statement`,
          st.name,
        );
      }
      owner.set(scope, st.name);
      // Two spellings of one Docker Hub repository in two statements: whichever applied would depend on how the
      // image is named, so the policy is ambiguous (see canonicalScope).
      const canonical = canonicalScope(scope);
      const other = canonicalOwner.get(canonical);
      if (other !== undefined && other.name !== st.name) {
        invalid(
          `registry scopes "${other.scope}" (statement "${other.name}") and "${scope}" (statement "${st.name}") name the same repository ${canonical}, one repository can only be associated with one statement`,
          st.name,
        );
      }
      canonicalOwner.set(canonical, { name: st.name, scope });
    }
  }
  const policy: TrustPolicy = { document: { version: '1.0', trustPolicies: statements }, warnings };
  if (source !== undefined) policy.source = source;
  return policy;
}

/**
 * Parses bytes/text of a trustpolicy.json as notation reads the file: the first JSON value is the document and
 * anything after it is ignored (reported in `warnings`), as Go's json.Decoder does.
 */
export function parseTrustPolicy(input: string | Uint8Array, source?: string): TrustPolicy {
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  let read: { value: unknown; end: number };
  try {
    read = readJsonValue(text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    throw new PolicyError('POLICY_MALFORMED', `malformed trust policy${source ? ` ${source}` : ''}: ${e.message}`, {
      hint: 'the trust policy must be a JSON document',
    });
  }
  const warnings: string[] = [];
  let at = read.end;
  while (at < text.length && JSON_WHITESPACE.includes(text[at]!)) at++;
  if (at < text.length) {
    warnings.push(`the data after the JSON document (from ${textPosition(text, at)}) is ignored, as notation ignores it; remove it`);
  }
  return validateDocument(read.value, source, warnings);
}

/** Which file holds the policy: trustpolicy.oci.json when it exists, else trustpolicy.json (notation's order). */
export async function locateTrustPolicy(paths: Pick<ConfigPaths, 'trustPolicy' | 'trustPolicyOci'>): Promise<string | undefined> {
  for (const p of [paths.trustPolicyOci, paths.trustPolicy]) {
    try {
      await fsp.lstat(p);
      return p;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return p;
    }
  }
  return undefined;
}

/** Loads and validates the policy from the config dir. */
export async function loadTrustPolicy(paths: Pick<ConfigPaths, 'trustPolicy' | 'trustPolicyOci'>): Promise<TrustPolicy> {
  const file = await locateTrustPolicy(paths);
  if (!file) {
    throw new PolicyError('NO_POLICY', `trust policy is not present (looked for ${paths.trustPolicyOci} and ${paths.trustPolicy})`, {
      hint: 'create one with `docker sign policy init` or `docker sign policy import FILE`',
    });
  }
  const st = await fsp.lstat(file);
  if (!st.isFile()) {
    throw new PolicyError('POLICY_UNREADABLE', `trust policy ${file} is not a regular file (symlinks are not supported)`);
  }
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file);
  } catch (e) {
    throw new PolicyError('POLICY_UNREADABLE', `unable to read trust policy ${file}: ${(e as Error).message}`, { cause: e });
  }
  return parseTrustPolicy(bytes, file);
}

/**
 * A registry scope as the repository name docker-sign matches it against: Docker Hub names the way docker
 * normalizes them ("index.docker.io/x" → "docker.io/x", "docker.io/alpine" → "docker.io/library/alpine"), every
 * other scope as written. notation compares scopes with the name as typed, so a notation policy may name a Hub
 * repository either way; references are normalized here (`docker sign verify alpine` is docker.io/library/alpine),
 * so both spellings must select their statement, or a strict statement would silently give way to a weaker
 * global one.
 */
export function canonicalScope(scope: string): string {
  const slash = scope.indexOf('/');
  if (slash < 0) return scope;
  const { registry, path } = dockerHubName(scope.slice(0, slash), scope.slice(slash + 1));
  return `${registry}/${path}`;
}

/**
 * Picks the statement for a fully qualified repository name ("host[:port]/path"): a statement listing the
 * repository (canonicalScope) wins, else the global ("*") statement, else NO_APPLICABLE_POLICY.
 */
export function selectStatement(policy: TrustPolicy, repository: string): EffectiveStatement {
  let exact: TrustPolicyStatement | undefined;
  let global: TrustPolicyStatement | undefined;
  for (const st of policy.document.trustPolicies) {
    if (st.registryScopes.includes(WILDCARD)) global = st;
    else if (st.registryScopes.some((scope) => scope === repository || canonicalScope(scope) === repository)) exact = st;
  }
  const st = exact ?? global;
  if (!st) {
    throw new PolicyError('NO_APPLICABLE_POLICY', `artifact "${repository}" has no applicable trust policy statement: no registryScopes entry matches it and there is no global ("*") statement`, {
      hint: `add "${repository}" to the registryScopes of a statement (or add a statement with "registryScopes": ["*"])`,
      details: { repository },
    });
  }
  return effectiveStatement(st);
}

export function effectiveStatement(st: TrustPolicyStatement): EffectiveStatement {
  const { level, label, enforcement } = resolveEnforcement(st.signatureVerification, st.name);
  const ids = st.trustedIdentities ?? [];
  return {
    statement: st,
    level,
    levelLabel: label,
    enforcement,
    trustStores: (st.trustStores ?? []).map((t) => parseTrustStoreRef(t, st.name)),
    x509Identities: level === 'skip' ? [] : parseIdentities(st.name, ids),
    wildcardIdentity: ids.includes(WILDCARD),
    verifyTimestamp: st.signatureVerification.verifyTimestamp ?? 'always',
  };
}

/** A starter policy (what `policy init` writes). */
export function defaultPolicyDocument(opts: { name?: string; scopes?: string[]; level?: VerificationLevelName; stores: string[]; identities: string[] }): TrustPolicyDocument {
  return {
    version: '1.0',
    trustPolicies: [
      {
        name: opts.name ?? 'default',
        registryScopes: opts.scopes ?? [WILDCARD],
        signatureVerification: { level: opts.level ?? 'strict' },
        trustStores: opts.stores,
        trustedIdentities: opts.identities,
      },
    ],
  };
}
