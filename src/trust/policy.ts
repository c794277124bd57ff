/**
 * Trust policy (`trustpolicy.json`, version 1.0) as defined by the Notary Project "Trust Store and Trust Policy"
 * specification, validated the way notation validates it, plus selection of the statement for an artifact.
 *
 * Files: `<config>/trustpolicy.oci.json` is read when present (notation >= 1.2 layout), else `<config>/trustpolicy.json`.
 * Stricter than notation in one respect, on purpose: fields the 1.0 schema does not define are an error
 * (POLICY_UNKNOWN_FIELD) instead of being ignored, so a typo like "trustedIdentites" cannot silently widen trust.
 */
import { promises as fsp } from 'node:fs';
import type { ConfigPaths } from '../config/dir.js';
import { PolicyError } from './errors.js';
import { DnError, isSubsetDn, parseDistinguishedName, type DnMap } from './dn.js';

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
  /** Non-fatal remarks (e.g. a `skip` statement with the global scope, which the spec discourages). */
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

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rejectUnknown(o: Record<string, unknown>, allowed: readonly string[], where: string, statement?: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw new PolicyError('POLICY_UNKNOWN_FIELD', `${where} has unknown field "${k}" (allowed: ${allowed.join(', ')})`, {
        statement,
        hint: 'check the spelling; unknown fields are rejected so that a typo cannot change what is trusted',
      });
    }
  }
}

function stringArray(v: unknown, field: string, statement: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    malformed(`"${field}" of trust policy statement "${statement}" must be an array of strings`, statement);
  }
  return v as string[];
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
  if (!STORE_NAME_RE.test(name)) {
    invalid(
      `trust policy statement "${statement}" uses an unsupported trust store name "${name}" in trust store value "${v}". Named store name needs to follow [a-zA-Z0-9_.-]+ format`,
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
 * problem, naming the statement; rule order follows notation's so the first message is the same problem.
 */
export function validateTrustPolicy(v: unknown, source?: string): TrustPolicy {
  if (!isObject(v)) malformed('the document must be a JSON object');
  rejectUnknown(v, ['version', 'trustPolicies'], 'trust policy document');
  if (v.version === undefined || v.version === '') {
    throw new PolicyError('POLICY_VERSION', 'trust policy document is missing or has empty version, it must be specified', { hint: 'set "version": "1.0"' });
  }
  if (typeof v.version !== 'string' || !(SUPPORTED_POLICY_VERSIONS as readonly string[]).includes(v.version)) {
    throw new PolicyError('POLICY_VERSION', `trust policy document uses unsupported version ${JSON.stringify(v.version)}`, { hint: 'the supported version is "1.0"' });
  }
  if (v.trustPolicies !== undefined && !Array.isArray(v.trustPolicies)) malformed('"trustPolicies" must be an array');
  const list = (v.trustPolicies ?? []) as unknown[];
  if (list.length === 0) invalid('trust policy document can not have zero trust policy statements');
  const warnings: string[] = [];
  const names = new Set<string>();
  const statements: TrustPolicyStatement[] = [];
  list.forEach((raw, idx) => {
    if (!isObject(raw)) malformed(`trust policy statement #${idx + 1} must be a JSON object`);
    const label = typeof raw.name === 'string' && raw.name !== '' ? raw.name : `#${idx + 1}`;
    rejectUnknown(raw, ['name', 'registryScopes', 'signatureVerification', 'trustStores', 'trustedIdentities'], `trust policy statement "${label}"`, label);
    if (raw.name !== undefined && typeof raw.name !== 'string') malformed(`"name" of trust policy statement #${idx + 1} must be a string`);
    const name = (raw.name ?? '') as string;
    if (names.has(name)) invalid(`multiple trust policy statements use the same name "${name}", statement names must be unique`, name);
    if (name === '') invalid('a trust policy statement is missing a name, every statement requires a name');
    names.add(name);
    const registryScopes = stringArray(raw.registryScopes, 'registryScopes', name) ?? [];
    const trustStores = stringArray(raw.trustStores, 'trustStores', name);
    const trustedIdentities = stringArray(raw.trustedIdentities, 'trustedIdentities', name);
    if (raw.signatureVerification !== undefined && !isObject(raw.signatureVerification)) {
      malformed(`"signatureVerification" of trust policy statement "${name}" must be an object`, name);
    }
    const svRaw = (raw.signatureVerification ?? {}) as Record<string, unknown>;
    rejectUnknown(svRaw, ['level', 'override', 'verifyTimestamp'], `signatureVerification of trust policy statement "${name}"`, name);
    if (svRaw.level !== undefined && typeof svRaw.level !== 'string') malformed(`signatureVerification.level of "${name}" must be a string`, name);
    if (svRaw.override !== undefined && !isObject(svRaw.override)) malformed(`signatureVerification.override of "${name}" must be an object`, name);
    if (svRaw.verifyTimestamp !== undefined && svRaw.verifyTimestamp !== 'always' && svRaw.verifyTimestamp !== 'afterCertExpiry') {
      invalid(`trust policy statement "${name}" has invalid signatureVerification: verifyTimestamp ${JSON.stringify(svRaw.verifyTimestamp)} is not supported, supported values are "always" and "afterCertExpiry"`, name);
    }
    const sv = svRaw as unknown as SignatureVerification;
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
    const st: TrustPolicyStatement = { name, registryScopes, signatureVerification: { level: sv.level } };
    if (sv.override && Object.keys(sv.override).length > 0) st.signatureVerification.override = { ...sv.override };
    if (sv.verifyTimestamp) st.signatureVerification.verifyTimestamp = sv.verifyTimestamp;
    if (trustStores) st.trustStores = [...trustStores];
    if (trustedIdentities) st.trustedIdentities = [...trustedIdentities];
    statements.push(st);
  });
  // registry scopes, across statements
  const owner = new Map<string, string>();
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
    }
  }
  const policy: TrustPolicy = { document: { version: '1.0', trustPolicies: statements }, warnings };
  if (source !== undefined) policy.source = source;
  return policy;
}

/** Parses bytes/text of a trustpolicy.json. */
export function parseTrustPolicy(input: string | Uint8Array, source?: string): TrustPolicy {
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new PolicyError('POLICY_MALFORMED', `malformed trust policy${source ? ` ${source}` : ''}: ${(e as Error).message}`, {
      hint: 'the trust policy must be a JSON document',
    });
  }
  return validateTrustPolicy(v, source);
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
 * Picks the statement for a fully qualified repository name ("host[:port]/path"): a statement listing the exact
 * repository wins, else the global ("*") statement, else NO_APPLICABLE_POLICY.
 */
export function selectStatement(policy: TrustPolicy, repository: string): EffectiveStatement {
  let exact: TrustPolicyStatement | undefined;
  let global: TrustPolicyStatement | undefined;
  for (const st of policy.document.trustPolicies) {
    if (st.registryScopes.includes(WILDCARD)) global = st;
    else if (st.registryScopes.includes(repository)) exact = st;
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
