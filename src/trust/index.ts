/**
 * Verification entry points for commands and the guard. Loading configuration (policy file, trust store on disk)
 * happens here; the Verifier itself stays pure. The registry client is imported lazily (only when no target is
 * given), so `--oci-layout` verification never loads it.
 */
import type { ConfigPaths } from '../config/dir.js';
import type { ArtifactTarget } from '../oci/target.js';
import { coreDescriptor, type Descriptor } from '../oci/descriptor.js';
import { parseReference, repositoryName, type Reference } from '../oci/reference.js';
import { InputError } from '../errors.js';
import { MediaType } from '../oci/mediaTypes.js';
import { VerificationError } from './errors.js';
import { loadTrustPolicy, selectStatement, type TrustPolicy } from './policy.js';
import { FileTrustStore, type TrustStore } from './truststore.js';
import { Verifier, LruContentCache, DEFAULT_MAX_SIGNATURES, type VerificationReport, type TimestampVerifier, type ContentCache } from './verifier.js';
import type { RevocationChecker } from './revocation.js';

export { Verifier, validateSigningChain, DEFAULT_MAX_SIGNATURES, LruContentCache } from './verifier.js';
export type { VerificationReport, SignatureOutcome, CheckResult, CheckStatus, VerifierOptions, VerifyTarget, TimestampVerifier, ContentCache } from './verifier.js';
export { PolicyError, VerificationError, type PolicyErrorCode, type VerificationErrorCode } from './errors.js';
export {
  parseTrustPolicy,
  validateTrustPolicy,
  loadTrustPolicy,
  locateTrustPolicy,
  selectStatement,
  effectiveStatement,
  defaultPolicyDocument,
  LEVEL_ENFORCEMENT,
  type TrustPolicy,
  type TrustPolicyDocument,
  type TrustPolicyStatement,
  type EffectiveStatement,
  type VerificationLevelName,
  type ValidationType,
  type ValidationAction,
  type TrustStoreType,
} from './policy.js';
export { rfc3161TimestampVerifier, parseTimestampToken } from './timestamp.js';
export { FileTrustStore, MemoryTrustStore, type TrustStore, type StoreListing } from './truststore.js';
export {
  offlineRevocationChecker,
  networkRevocationChecker,
  defaultRevocationChecker,
  revocationFinalResult,
  type NetworkRevocationOptions,
  type RevocationChecker,
  type CertRevocationResult,
  type RevocationStatus,
  type RevocationCheckOptions,
} from './revocation.js';

/** Registry options as the registry client takes them (kept structural so this module does not import it). */
export interface RegistryOptionsLike {
  insecure?: string[];
  credentials?: unknown;
  dockerConfigDir?: string;
  userAgent?: string;
  maxConcurrency?: number;
  timeoutMs?: number;
}

export interface VerifyOptions {
  configPaths: ConfigPaths;
  registryOptions?: RegistryOptionsLike;
  /** Where the artifact and its signatures live (e.g. an OciLayout for --oci-layout); default: the registry of the reference. */
  target?: ArtifactTarget;
  signal?: AbortSignal;
  now?: Date;
  /** Use this policy instead of the config dir's. */
  policy?: TrustPolicy;
  /** Use this trust store instead of `<config>/truststore`. */
  trustStore?: TrustStore;
  revocation?: RevocationChecker;
  timestamp?: TimestampVerifier;
  maxSignatures?: number;
  /** key=value pairs the verifying signature must carry (notation verify --user-metadata). */
  userMetadata?: Record<string, string>;
  /** Cache of digest-verified signature manifests/envelopes; default: a process-wide LRU; `null` disables it. */
  cache?: ContentCache | null;
  /** registryScopes name to match instead of the reference's repository (e.g. "local/app" for an OCI layout). */
  scope?: string;
}

/**
 * The scope name for a reference: its fully-qualified repository, except that with an explicit target (OCI layout)
 * a reference written "local/NAME[:tag|@digest]" keeps the notation-style local scope "local/NAME" as typed.
 */
export function scopeFor(reference: string, ref: Reference, withTarget: boolean): string {
  if (withTarget && reference.startsWith('local/')) {
    const at = reference.indexOf('@');
    let name = at >= 0 ? reference.slice(0, at) : reference;
    const colon = name.indexOf(':', name.lastIndexOf('/') + 1);
    if (colon >= 0) name = name.slice(0, colon);
    return name;
  }
  return repositoryName(ref);
}

const processCache = new LruContentCache();

function makeVerifier(policy: TrustPolicy, opts: VerifyOptions): Verifier {
  const cache = opts.cache === undefined ? processCache : opts.cache;
  return new Verifier({
    policy,
    ...(cache ? { cache } : {}),
    trustStore: opts.trustStore ?? new FileTrustStore(opts.configPaths.trustStore),
    ...(opts.revocation ? { revocation: opts.revocation } : {}),
    ...(opts.timestamp ? { timestamp: opts.timestamp } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.maxSignatures ? { maxSignatures: opts.maxSignatures } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.userMetadata ? { userMetadata: opts.userMetadata } : {}),
  });
}

async function openTarget(ref: Reference, opts: VerifyOptions): Promise<ArtifactTarget> {
  if (opts.target) return opts.target;
  const { openRepository } = await import('../registry/index.js');
  return openRepository(ref, (opts.registryOptions ?? {}) as never);
}

/** Starts reading the trust stores the applicable statement names (errors surface later, in the authenticity check). */
/** Starts reading the trust stores the statement for `scope` names; returns that statement's level (undefined: none applies). */
function prefetchStores(policy: TrustPolicy, store: TrustStore, scope: string): string | undefined {
  let eff;
  try {
    eff = selectStatement(policy, scope);
  } catch {
    return undefined;
  }
  for (const r of eff.trustStores) store.getCertificates(r.type, r.name).catch(() => undefined);
  return eff.level;
}

/**
 * Resolves `reference` (tag or digest) to its manifest descriptor — digest computed from the fetched bytes — and
 * verifies it against the trust policy. The report's `digest` is what was verified: pull by it, never by the tag.
 */
export async function verifyReference(reference: string, opts: VerifyOptions): Promise<VerificationReport> {
  const ref = parseReference(reference);
  // The first request (resolving the tag) goes out before the policy file and trust store are read, so they load
  // while it is in flight. A policy error still wins: it is awaited first.
  const selector = ref.digest ?? ref.tag ?? 'latest';
  const targetP = openTarget(ref, opts);
  const resolved = targetP.then(async (target) => {
    opts.signal?.throwIfAborted();
    try {
      return (await target.fetchManifest(selector)).descriptor;
    } catch (e) {
      // an OCI layout may tag with the full reference name
      if (opts.target && !ref.digest) return (await target.fetchManifest(reference)).descriptor;
      throw e;
    }
  });
  resolved.catch(() => undefined); // awaited below, after the policy
  const policy = opts.policy ?? (await loadTrustPolicy(opts.configPaths));
  const trustStore = opts.trustStore ?? new FileTrustStore(opts.configPaths.trustStore);
  const level = prefetchStores(policy, trustStore, opts.scope ?? scopeFor(reference, ref, opts.target !== undefined));
  opts = { ...opts, trustStore };
  // Pinned by digest: the signatures can be listed while the manifest is fetched (the listing needs only the
  // digest; the manifest still has to hash to it below). Not when the policy skips verification: then nothing
  // about signatures is fetched at all.
  const digest = ref.digest;
  const referrers = digest && level !== undefined && level !== 'skip'
    ? targetP.then((t) => t.referrers({ mediaType: MediaType.OCI_MANIFEST, digest, size: 0 }, MediaType.NOTARY_SIGNATURE, (opts.maxSignatures || DEFAULT_MAX_SIGNATURES) + 1))
    : undefined;
  referrers?.catch(() => undefined); // awaited by the verifier, or dropped with the error below
  const target = await targetP;
  const descriptor: Descriptor = await resolved;
  if (ref.digest && descriptor.digest !== ref.digest) {
    throw new InputError('DIGEST_MISMATCH', `${reference}: resolved to ${descriptor.digest}, not the requested digest`);
  }
  const report = await makeVerifier(policy, opts).verify({
    target, descriptor, repository: opts.scope ?? scopeFor(reference, ref, opts.target !== undefined), ...(referrers ? { referrers } : {}),
  });
  return report;
}

/**
 * Verifies an artifact whose descriptor the caller already has (the guard resolves images through the engine).
 * `repository` is the fully-qualified repository name used for registryScopes ("host[:port]/path").
 */
export async function verifyDescriptor(
  target: ArtifactTarget,
  descriptor: Descriptor,
  repository: string,
  opts: Omit<VerifyOptions, 'target' | 'registryOptions'>,
): Promise<VerificationReport> {
  const policy = opts.policy ?? (await loadTrustPolicy(opts.configPaths));
  return makeVerifier(policy, opts).verify({ target, descriptor: coreDescriptor(descriptor), repository });
}

/**
 * Throws a VerificationError (exit 1) unless the report is verified; the message names the failing check the way
 * the CLI prints it, the code is the report's code, details carry the report.
 */
export function assertVerified(report: VerificationReport): void {
  if (report.verified) return;
  const failed = report.signatures.find((s) => !s.verified);
  const reason = report.reason ?? 'no signature satisfied the trust policy';
  throw new VerificationError(report.code ?? 'VERIFICATION_FAILED', reason.startsWith('signature verification failed') ? reason : `signature verification failed: ${reason}`, {
    ...(failed?.failedCheck ? { check: failed.failedCheck } : {}),
    hint: `run \`docker sign policy explain ${report.reference}\` to see every check`,
    details: { reference: report.reference, digest: report.digest, policy: report.policy, level: report.level },
  });
}
