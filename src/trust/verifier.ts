/**
 * Signature verification (Notary Project trust-store-trust-policy.md "Signature Verification", in notation's
 * order). The Verifier is pure: policy, trust store, clock and revocation checker are passed in; artifacts come
 * through an ArtifactTarget (registry, OCI layout, local store). Outcomes are data — every check's status and the
 * action the policy assigns to it — so `verify -o json`, `policy explain` and the guard can say exactly why.
 *
 *   verify(target, artifact)
 *     selectStatement        registryScopes → statement; none → deny (NO_APPLICABLE_POLICY)
 *     skip level             → allowed without fetching anything
 *     findSignatures         target.referrers(artifact, application/vnd.cncf.notary.signature)
 *     per signature (referrers order, stop at the first that satisfies the policy; at most maxSignatures):
 *       fetchSignatureManifest   digest-checked; image manifest, notary config/artifactType, one envelope layer
 *       fetchEnvelope            digest-checked, size-bounded
 *       integrity                parse, signature value, alg ↔ key, chain well-formed (links, root, leaf usage),
 *                                signing time within chain validity, payload targetArtifact == artifact
 *       authenticity             chain contains a trust-store certificate; leaf subject ∈ trustedIdentities
 *       expiry                   io.cncf.notary.expiry
 *       authenticTimestamp       chain valid now (or at the trusted TSA time / authentic signing time)
 *       revocation               RevocationChecker
 *
 * A retrieval failure (missing/corrupted signature manifest or envelope) stops the whole verification with that
 * error, like notation: the registry served content that does not match its digest, so nothing from it counts.
 */
import type { X509Certificate } from 'node:crypto';
import type { ArtifactTarget } from '../oci/target.js';
import { coreDescriptor, sameContent, type Descriptor } from '../oci/descriptor.js';
import { MediaType } from '../oci/mediaTypes.js';
import { parseImageManifest, type ImageManifest } from '../oci/manifest.js';
import { isDockerSignError } from '../errors.js';
import { parseEnvelope, verifyIntegrity, MAX_ENVELOPE_BYTES } from '../signature/index.js';
import type { ParsedEnvelope } from '../signature/types.js';
import { PolicyError, type VerificationErrorCode } from './errors.js';
import {
  selectStatement,
  type EffectiveStatement,
  type TrustPolicy,
  type ValidationAction,
  type ValidationType,
  type VerificationLevelName,
  VALIDATION_TYPES,
} from './policy.js';
import { loadStores, type TrustStore } from './truststore.js';
import { certInfo, EKU, issuedBy, isSelfSigned, LEAF_FORBIDDEN_KEY_USAGE } from './x509.js';
import { DnError, isSubsetDn, leafSubjectDn, type DnMap } from './dn.js';
import { defaultRevocationChecker, revocationFinalResult, type RevocationChecker } from './revocation.js';
import { rfc3161TimestampVerifier } from './timestamp.js';

export type CheckStatus = 'pass' | 'fail' | 'skipped';

export interface CheckResult {
  name: ValidationType;
  status: CheckStatus;
  /** What the policy does with a failure of this check. */
  action: ValidationAction;
  reason?: string;
  code?: VerificationErrorCode;
}

export interface SignatureOutcome {
  /** Digest of the signature manifest. */
  digest: string;
  envelopeMediaType?: string;
  signingScheme?: string;
  signer?: { subject: string; chain: { subject: string; sha256: string }[] };
  signingTime?: string;
  expiry?: string;
  /** True when no enforced check failed. */
  verified: boolean;
  checks: CheckResult[];
  /** The first enforced failure (or the retrieval failure, or the user metadata asked for but not signed). */
  code?: VerificationErrorCode;
  failedCheck?: ValidationType | 'retrieval' | 'userMetadata';
  reason?: string;
  /** The user metadata the signature carries (its payload's targetArtifact annotations), once it parsed. */
  userMetadata?: Record<string, string>;
}

export interface VerificationReport {
  /** What was verified, pinned: "<registry>/<repository>@<digest>". */
  reference: string;
  repository: string;
  digest: string;
  descriptor: Descriptor;
  /** Name of the trust policy statement applied (null when none applied). */
  policy: string | null;
  level: VerificationLevelName | null;
  /** Effective actions per check (level + overrides). */
  enforcement?: Record<ValidationType, ValidationAction>;
  verified: boolean;
  signatures: SignatureOutcome[];
  /** Digest of the signature manifest that satisfied the policy. */
  verifiedBy?: string;
  /** The user metadata of that signature (`docker sign -a`; notation's -m), when it has any. */
  userMetadata?: Record<string, string>;
  code?: VerificationErrorCode;
  reason?: string;
  /** Logged failures and notices (notation's warnings). */
  warnings: string[];
}

/** Verifies an RFC 3161 countersignature over `signature`; returns the time range it attests. */
export interface TimestampVerifier {
  verify(token: Buffer, signature: Buffer, trustedTsaCerts: X509Certificate[], opts: { now: Date; signal?: AbortSignal }): Promise<{ lower: Date; upper: Date; tsaChain: X509Certificate[] }>;
}

/**
 * Cache of digest-verified immutable content (signature manifests, envelopes) by digest. Safe because content is
 * addressed by its digest and only stored after the fetch verified it; tags and referrers lists are never cached.
 */
export interface ContentCache {
  get(digest: string): Buffer | undefined;
  set(digest: string, bytes: Buffer): void;
}

/** A bounded LRU ContentCache (entries and total bytes). */
export class LruContentCache implements ContentCache {
  private readonly map = new Map<string, Buffer>();
  private bytes = 0;
  constructor(private readonly maxEntries = 512, private readonly maxBytes = 16 * 1024 * 1024) {}
  get(digest: string): Buffer | undefined {
    const b = this.map.get(digest);
    if (b) {
      this.map.delete(digest);
      this.map.set(digest, b);
    }
    return b;
  }
  set(digest: string, bytes: Buffer): void {
    if (bytes.length > this.maxBytes || this.map.has(digest)) return;
    this.map.set(digest, bytes);
    this.bytes += bytes.length;
    for (const [k, v] of this.map) {
      if (this.map.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= v.length;
    }
  }
}

export interface VerifierOptions {
  policy: TrustPolicy;
  /** Cache for signature manifests and envelopes (digest-verified, immutable). Default: none. */
  cache?: ContentCache;
  trustStore: TrustStore;
  revocation?: RevocationChecker;
  timestamp?: TimestampVerifier;
  /** Clock (default: real time). */
  now?: Date | (() => Date);
  /** Signatures evaluated at most (notation's --max-signatures default, 100). */
  maxSignatures?: number;
  /** key=value pairs a signature's payload must carry to count (notation verify --user-metadata). */
  userMetadata?: Record<string, string>;
  signal?: AbortSignal;
}

export interface VerifyTarget {
  target: ArtifactTarget;
  /** The artifact's manifest descriptor (digest, mediaType, size). */
  descriptor: Descriptor;
  /** Fully-qualified repository name used for registryScopes ("host[:port]/path"). */
  repository: string;
  /**
   * The signature listing (target.referrers of the descriptor's digest, notary signatures), when the caller asked
   * for it already (a reference pinned by digest can be listed while its manifest is fetched). Used only when the
   * policy's level fetches signatures at all.
   */
  referrers?: Promise<Descriptor[]>;
}

export const DEFAULT_MAX_SIGNATURES = 100;

class CheckFailure extends Error {
  constructor(readonly code: VerificationErrorCode, message: string) {
    super(message);
  }
}

class RetrievalFailure extends Error {
  constructor(readonly code: VerificationErrorCode, message: string) {
    super(message);
  }
}

const CHECK_CODE: Record<ValidationType, VerificationErrorCode> = {
  integrity: 'INTEGRITY',
  authenticity: 'AUTHENTICITY',
  authenticTimestamp: 'AUTHENTIC_TIMESTAMP',
  expiry: 'EXPIRY',
  revocation: 'REVOCATION',
};

function fmtTime(d: Date): string {
  return d.toISOString().replace('.000Z', 'Z');
}

function pinned(repository: string, digest: string): string {
  return `${repository}@${digest}`;
}

export class Verifier {
  private readonly revocation: RevocationChecker;
  private readonly timestamp: TimestampVerifier;
  private readonly maxSignatures: number;

  constructor(private readonly opts: VerifierOptions) {
    this.revocation = opts.revocation ?? defaultRevocationChecker();
    this.timestamp = opts.timestamp ?? rfc3161TimestampVerifier;
    this.maxSignatures = opts.maxSignatures ?? DEFAULT_MAX_SIGNATURES;
  }

  private now(): Date {
    const n = this.opts.now;
    return n === undefined ? new Date() : typeof n === 'function' ? n() : n;
  }

  /** Runs the verification of one artifact; never throws for a verdict (network/engine failures do throw). */
  async verify(v: VerifyTarget): Promise<VerificationReport> {
    const descriptor = coreDescriptor(v.descriptor);
    const report: VerificationReport = {
      reference: pinned(v.repository, descriptor.digest),
      repository: v.repository,
      digest: descriptor.digest,
      descriptor,
      policy: null,
      level: null,
      verified: false,
      signatures: [],
      warnings: [...this.opts.policy.warnings],
    };

    // 1. Identify the applicable trust policy statement.
    let eff: EffectiveStatement;
    try {
      eff = selectStatement(this.opts.policy, v.repository);
    } catch (e) {
      if (e instanceof PolicyError && e.code === 'NO_APPLICABLE_POLICY') {
        return { ...report, code: 'NO_APPLICABLE_POLICY', reason: e.message };
      }
      throw e;
    }
    report.policy = eff.statement.name;
    report.level = eff.level;
    report.enforcement = eff.enforcement;

    // 2. Skip level: no signatures are fetched at all.
    if (eff.level === 'skip') {
      return { ...report, verified: true, reason: `signature verification skipped: trust policy statement "${eff.statement.name}" has level "skip"` };
    }

    // 3. Find the signatures.
    this.opts.signal?.throwIfAborted();
    // one more than may be evaluated: enough to know that the limit stops the evaluation
    const sigs = await (v.referrers ?? v.target.referrers(descriptor, MediaType.NOTARY_SIGNATURE, this.maxSignatures + 1));
    const notarySigs = sigs.filter((d) => d.artifactType === undefined || d.artifactType === MediaType.NOTARY_SIGNATURE);
    if (notarySigs.length === 0) {
      return { ...report, code: 'NO_SIGNATURE', reason: `no signature is associated with "${report.reference}", make sure the artifact was signed successfully` };
    }

    // 4. Evaluate signatures until one satisfies the policy.
    for (const sigDesc of notarySigs) {
      if (report.signatures.length >= this.maxSignatures) {
        return {
          ...report,
          code: 'MAX_SIGNATURES',
          reason: `signature evaluation stopped. The configured limit of ${this.maxSignatures} is reached`,
        };
      }
      this.opts.signal?.throwIfAborted();
      const outcome: SignatureOutcome = { digest: sigDesc.digest, verified: false, checks: [] };
      report.signatures.push(outcome);
      let envelopeBytes: Buffer;
      let manifest: ImageManifest;
      try {
        manifest = await this.fetchSignatureManifest(v.target, sigDesc);
        envelopeBytes = await this.fetchEnvelope(v.target, manifest);
      } catch (e) {
        if (!(e instanceof RetrievalFailure)) throw e;
        outcome.code = e.code;
        outcome.failedCheck = 'retrieval';
        outcome.reason = e.message;
        return {
          ...report,
          code: e.code,
          reason: `unable to retrieve digital signature with digest "${sigDesc.digest}" associated with "${report.reference}" from the repository, error: ${e.message}`,
        };
      }
      await this.verifySignature(eff, descriptor, manifest, envelopeBytes, outcome, report.warnings);
      if (outcome.verified) {
        report.verified = true;
        report.verifiedBy = outcome.digest;
        if (outcome.userMetadata && Object.keys(outcome.userMetadata).length > 0) report.userMetadata = outcome.userMetadata;
        delete report.code;
        delete report.reason;
        return report;
      }
      report.warnings.push(`Signature ${outcome.digest} failed verification with error: ${outcome.reason}`);
    }
    const first = report.signatures.find((s) => !s.verified);
    // notation's wording when a signature satisfied the policy but lacked the user metadata asked for
    if (report.signatures.some((s) => s.code === 'USER_METADATA')) {
      return { ...report, code: 'USER_METADATA', reason: 'unable to find specified metadata in any signatures' };
    }
    return {
      ...report,
      code: first?.code ?? 'VERIFICATION_FAILED',
      reason: `signature verification failed for all the signatures associated with ${report.reference}${first ? ` (${first.failedCheck ?? 'verification'}: ${first.reason})` : ''}`,
    };
  }

  // ------------------------------------------------------------------------------------------ retrieval

  private async fetchSignatureManifest(target: ArtifactTarget, desc: Descriptor): Promise<ImageManifest> {
    if (desc.mediaType !== MediaType.OCI_MANIFEST) {
      throw new RetrievalFailure('SIGNATURE_RETRIEVAL', `signature manifest ${desc.digest} has media type ${desc.mediaType}, expected ${MediaType.OCI_MANIFEST}`);
    }
    let bytes = this.opts.cache?.get(desc.digest);
    if (!bytes) {
      try {
        ({ bytes } = await target.fetchManifest(coreDescriptor(desc)));
      } catch (e) {
        throw toRetrieval(e, `signature manifest ${desc.digest}`);
      }
      this.opts.cache?.set(desc.digest, bytes);
    }
    let m: ImageManifest;
    try {
      m = parseImageManifest(bytes, MediaType.OCI_MANIFEST);
    } catch (e) {
      throw new RetrievalFailure('SIGNATURE_RETRIEVAL', `signature manifest ${desc.digest} is invalid: ${(e as Error).message}`);
    }
    const isNotary = m.config.mediaType === MediaType.NOTARY_SIGNATURE || m.artifactType === MediaType.NOTARY_SIGNATURE;
    if (!isNotary) {
      throw new RetrievalFailure('SIGNATURE_RETRIEVAL', `manifest ${desc.digest} is not a Notary Project signature (config mediaType ${m.config.mediaType})`);
    }
    if (m.layers.length !== 1) {
      throw new RetrievalFailure('SIGNATURE_RETRIEVAL', `signature manifest requires exactly one signature envelope blob, got ${m.layers.length}`);
    }
    return m;
  }

  private async fetchEnvelope(target: ArtifactTarget, m: ImageManifest): Promise<Buffer> {
    const layer = m.layers[0]!;
    if (layer.size > MAX_ENVELOPE_BYTES) {
      throw new RetrievalFailure('SIGNATURE_RETRIEVAL', `signature envelope ${layer.digest} is ${layer.size} bytes, more than the ${MAX_ENVELOPE_BYTES} allowed`);
    }
    const hit = this.opts.cache?.get(layer.digest);
    if (hit && hit.length === layer.size) return hit;
    try {
      const bytes = await target.fetchBlob(coreDescriptor(layer), MAX_ENVELOPE_BYTES);
      this.opts.cache?.set(layer.digest, bytes);
      return bytes;
    } catch (e) {
      throw toRetrieval(e, `signature envelope ${layer.digest}`);
    }
  }

  // ------------------------------------------------------------------------------------------ checks

  private async verifySignature(
    eff: EffectiveStatement,
    artifact: Descriptor,
    manifest: ImageManifest,
    envelopeBytes: Buffer,
    out: SignatureOutcome,
    warnings: string[],
  ): Promise<void> {
    const now = this.now();
    const ctx: { env?: ParsedEnvelope } = {};
    const steps: [ValidationType, () => Promise<void> | void][] = [
      ['integrity', () => this.integrity(manifest, envelopeBytes, artifact, ctx, out)],
      ['authenticity', () => this.authenticity(eff, ctx.env!)],
      ['expiry', () => this.expiry(ctx.env!, now)],
      ['authenticTimestamp', () => this.authenticTimestamp(eff, ctx.env!, now)],
      ['revocation', () => this.checkRevocation(ctx.env!, now, warnings)],
    ];
    let stopped: ValidationType | undefined;
    for (const [name, run] of steps) {
      const action = eff.enforcement[name];
      if (stopped) {
        out.checks.push({ name, status: 'skipped', action, reason: `not evaluated: the enforced ${stopped} check failed` });
        continue;
      }
      if (action === 'skip') {
        out.checks.push({ name, status: 'skipped', action, reason: `${name} check is set to "skip" by the trust policy` });
        continue;
      }
      try {
        this.opts.signal?.throwIfAborted();
        await run();
        out.checks.push({ name, status: 'pass', action });
      } catch (e) {
        if (!(e instanceof CheckFailure)) throw e;
        out.checks.push({ name, status: 'fail', action, reason: e.message, code: e.code });
        if (action === 'enforce') {
          stopped = name;
          out.code = e.code;
          out.failedCheck = name;
          out.reason = e.message;
          warnings.push(`${name} validation failed. Failure reason: ${e.message}`);
        } else {
          warnings.push(`${name} validation failed with validation action set to "logged". Failure reason: ${e.message}`);
        }
        // integrity produced no envelope: nothing else can run
        if (name === 'integrity' && !ctx.env) stopped = name;
      }
    }
    // keep the spec's order of checks in the outcome
    out.checks.sort((a, b) => VALIDATION_TYPES.indexOf(a.name) - VALIDATION_TYPES.indexOf(b.name));
    out.verified = stopped === undefined;
    // User metadata the caller requires (notation verify -m): every key=value must be in the signed payload of a
    // signature that otherwise satisfies the policy; else this signature does not count and the next is tried.
    const wanted = this.opts.userMetadata ?? {};
    if (out.verified && Object.keys(wanted).length > 0) {
      const have = out.userMetadata ?? {};
      const missing = Object.entries(wanted).filter(([k, v]) => have[k] !== v);
      if (missing.length > 0) {
        out.verified = false;
        out.code = 'USER_METADATA';
        out.failedCheck = 'userMetadata';
        out.reason = `unable to find specified metadata in the signature (${missing.map(([k, v]) => `${k}=${v}`).join(', ')})`;
      }
    }
  }

  /** Integrity: envelope parses, signature verifies, chain is well-formed, payload describes this artifact. */
  private integrity(manifest: ImageManifest, bytes: Buffer, artifact: Descriptor, ctx: { env?: ParsedEnvelope }, out: SignatureOutcome): void {
    const layer = manifest.layers[0]!;
    out.envelopeMediaType = layer.mediaType;
    let env: ParsedEnvelope;
    try {
      env = parseEnvelope(bytes, layer.mediaType);
      verifyIntegrity(env);
    } catch (e) {
      if (isDockerSignError(e)) throw new CheckFailure('INTEGRITY', `signature is invalid: ${e.message}`);
      throw e;
    }
    out.signingScheme = env.signedAttributes.signingScheme;
    const chain = env.certificateChain;
    out.signer = { subject: certInfo(chain[0]!).subject, chain: chain.map((c) => ({ subject: certInfo(c).subject, sha256: certInfo(c).sha256 })) };
    const st = env.signedAttributes.signingTime ?? env.signedAttributes.authenticSigningTime;
    if (st) out.signingTime = fmtTime(st);
    if (env.signedAttributes.expiry) out.expiry = fmtTime(env.signedAttributes.expiry);
    // No signing-time check here: notation validates the chain without a time; certificate validity is the
    // authenticTimestamp check's business (at the verification time, or at the timestamp's time).
    validateSigningChain(chain);
    if (!manifest.subject || !sameContent(manifest.subject, artifact)) {
      throw new CheckFailure('CONTENT_MISMATCH', `signature manifest subject ${manifest.subject?.digest ?? '(none)'} is not the artifact ${artifact.digest}`);
    }
    const t = env.payload.targetArtifact;
    if (t.annotations && Object.keys(t.annotations).length > 0) out.userMetadata = { ...t.annotations };
    if (!sameContent(t, artifact)) {
      throw new CheckFailure(
        'CONTENT_MISMATCH',
        `content descriptor mismatch: the signature is for ${t.mediaType} ${t.digest} (size ${t.size}), not for ${artifact.mediaType} ${artifact.digest} (size ${artifact.size})`,
      );
    }
    ctx.env = env;
  }

  /** Authenticity: the chain reaches a trusted certificate of the statement's stores, and the signer is a trusted identity. */
  private async authenticity(eff: EffectiveStatement, env: ParsedEnvelope): Promise<void> {
    const scheme = env.signedAttributes.signingScheme;
    const storeType = scheme === 'notary.x509.signingAuthority' ? 'signingAuthority' : 'ca';
    let trusted: X509Certificate[];
    try {
      trusted = await loadStores(this.opts.trustStore, eff.trustStores, storeType);
    } catch (e) {
      if (e instanceof PolicyError) throw new CheckFailure('AUTHENTICITY', e.message);
      throw e;
    }
    if (trusted.length === 0) {
      throw new CheckFailure('AUTHENTICITY', `no trusted certificates are found to verify authenticity: trust policy statement "${eff.statement.name}" names no trust store of type "${storeType}" (signing scheme ${scheme})`);
    }
    const trustedDer = trusted.map((c) => c.raw);
    const anchored = env.certificateChain.some((c) => trustedDer.some((t) => t.equals(c.raw)));
    if (!anchored) throw new CheckFailure('AUTHENTICITY', "the signature's certificate chain does not contain any trusted certificate");
    if (eff.wildcardIdentity) return;
    if (eff.x509Identities.length === 0) {
      throw new CheckFailure('TRUSTED_IDENTITY', `no x509 trusted identities are configured in the trust policy "${eff.statement.name}"`);
    }
    const leaf = certInfo(env.certificateChain[0]!);
    const leafDn = leafSubjectMap(leaf.subjectRdns);
    if (typeof leafDn === 'string') throw new CheckFailure('TRUSTED_IDENTITY', `error while parsing the certificate subject from the digital signature: ${leafDn}`);
    if (eff.x509Identities.some((id) => isSubsetDn(id.dn, leafDn))) return;
    throw new CheckFailure(
      'TRUSTED_IDENTITY',
      `signing certificate from the digital signature ("${leaf.subject}") does not match the X.509 trusted identities [${eff.x509Identities.map((i) => JSON.stringify(i.raw)).join(', ')}] defined in the trust policy "${eff.statement.name}"`,
    );
  }

  private expiry(env: ParsedEnvelope, now: Date): void {
    const exp = env.signedAttributes.expiry;
    if (exp && now.getTime() >= exp.getTime()) throw new CheckFailure('EXPIRY', `digital signature has expired on "${fmtTime(exp)}"`);
  }

  private async authenticTimestamp(eff: EffectiveStatement, env: ParsedEnvelope, now: Date): Promise<void> {
    const chain = env.certificateChain.map(certInfo);
    if (env.signedAttributes.signingScheme === 'notary.x509.signingAuthority') {
      const ast = env.signedAttributes.authenticSigningTime;
      if (!ast) throw new CheckFailure('AUTHENTIC_TIMESTAMP', 'the authentic signing time is missing (required by signing scheme notary.x509.signingAuthority)');
      for (const c of chain) {
        if (ast < c.notBefore || ast > c.notAfter) {
          throw new CheckFailure('AUTHENTIC_TIMESTAMP', `certificate "${c.subject}" was not valid when the digital signature was produced at "${fmtTime(ast)}"`);
        }
      }
      return;
    }
    // notary.x509: a trusted TSA timestamp is used when the policy names a tsa store (and, with
    // verifyTimestamp=afterCertExpiry, only once a chain certificate has expired); otherwise the chain must be valid now.
    const tsaRefs = eff.trustStores.filter((s) => s.type === 'tsa');
    let useTimestamp = tsaRefs.length > 0;
    if (useTimestamp && eff.verifyTimestamp === 'afterCertExpiry') useTimestamp = chain.some((c) => now > c.notAfter);
    if (!useTimestamp) {
      for (const c of chain) {
        if (now < c.notBefore) throw new CheckFailure('AUTHENTIC_TIMESTAMP', `verification time is before certificate "${c.subject}" validity period, it will be valid from "${fmtTime(c.notBefore)}"`);
        if (now > c.notAfter) throw new CheckFailure('AUTHENTIC_TIMESTAMP', `verification time is after certificate "${c.subject}" validity period, it was expired at "${fmtTime(c.notAfter)}"`);
      }
      return;
    }
    const token = env.unsignedAttributes.timestampSignature;
    if (!token || token.length === 0) throw new CheckFailure('AUTHENTIC_TIMESTAMP', 'no timestamp countersignature was found in the signature envelope');
    let tsaCerts: X509Certificate[];
    try {
      tsaCerts = await loadStores(this.opts.trustStore, tsaRefs, 'tsa');
    } catch (e) {
      if (e instanceof PolicyError) throw new CheckFailure('AUTHENTIC_TIMESTAMP', `failed to load tsa trust store with error: ${e.message}`);
      throw e;
    }
    let range: { lower: Date; upper: Date; tsaChain: X509Certificate[] };
    try {
      range = await this.timestamp.verify(token, env.signature, tsaCerts, { now, signal: this.opts.signal });
    } catch (e) {
      throw new CheckFailure('AUTHENTIC_TIMESTAMP', `failed to verify the timestamp countersignature with error: ${(e as Error).message}`);
    }
    const st = env.signedAttributes.signingTime;
    if (st && range.lower < st) {
      throw new CheckFailure('AUTHENTIC_TIMESTAMP', `timestamp ${fmtTime(range.lower)} is not bounded after the signing time "${fmtTime(st)}"`);
    }
    for (const c of chain) {
      if (range.lower < c.notBefore) throw new CheckFailure('AUTHENTIC_TIMESTAMP', `timestamp can be before certificate "${c.subject}" validity period, it will be valid from "${fmtTime(c.notBefore)}"`);
      if (range.upper > c.notAfter) throw new CheckFailure('AUTHENTIC_TIMESTAMP', `timestamp can be after certificate "${c.subject}" validity period, it was expired at "${fmtTime(c.notAfter)}"`);
    }
    // the TSA chain's revocation status (same hook, timestamping purpose)
    if (range.tsaChain.length > 0) {
      let results;
      try {
        results = await this.revocation.check(range.tsaChain, { purpose: 'timestamping', now, signal: this.opts.signal });
      } catch (e) {
        throw new CheckFailure('AUTHENTIC_TIMESTAMP', `failed to check timestamping certificate chain revocation with error: ${(e as Error).message}`);
      }
      const r = revocationFinalResult(range.tsaChain, results);
      if (r.status === 'revoked') throw new CheckFailure('AUTHENTIC_TIMESTAMP', `timestamping certificate with subject "${r.subject}" is revoked`);
      if (r.status === 'unknown') throw new CheckFailure('AUTHENTIC_TIMESTAMP', `timestamping certificate with subject "${r.subject}" revocation status is unknown`);
    }
  }

  private async checkRevocation(env: ParsedEnvelope, now: Date, warnings: string[]): Promise<void> {
    const chain = env.certificateChain;
    let results;
    try {
      results = await this.revocation.check(chain, {
        purpose: 'codeSigning',
        now,
        signal: this.opts.signal,
        ...(env.signedAttributes.signingScheme === 'notary.x509.signingAuthority' && env.signedAttributes.authenticSigningTime
          ? { signingTime: env.signedAttributes.authenticSigningTime }
          : {}),
      });
    } catch (e) {
      throw new CheckFailure('REVOCATION', `unable to check revocation status, err: ${(e as Error).message}`);
    }
    const r = revocationFinalResult(chain, results);
    warnings.push(...r.warnings);
    if (r.status === 'revoked') throw new CheckFailure('REVOCATION', `signing certificate with subject "${r.subject}" is revoked${r.detail ? ` (${r.detail})` : ''}`);
    if (r.status === 'unknown') throw new CheckFailure('REVOCATION', `signing certificate with subject "${r.subject}" revocation status is unknown${r.detail ? ` (${r.detail})` : ''}`);
  }
}

function toRetrieval(e: unknown, what: string): unknown {
  if (isDockerSignError(e)) {
    if (e.code === 'DIGEST_MISMATCH' || e.code === 'SIZE_MISMATCH' || e.code === 'SIZE_INVALID') {
      return new RetrievalFailure('DIGEST_MISMATCH', `${what}: ${e.message}`);
    }
    // INVALID_MANIFEST / INVALID_DESCRIPTOR come from local layouts, MANIFEST_INVALID / PROTOCOL from registries
    if (['MANIFEST_UNKNOWN', 'BLOB_UNKNOWN', 'NOT_FOUND', 'TOO_LARGE', 'INVALID_MANIFEST', 'MANIFEST_INVALID', 'PROTOCOL', 'INVALID_DESCRIPTOR', 'LAYOUT_NOT_FOUND', 'BLOB_NOT_FOUND', 'MANIFEST_NOT_FOUND'].includes(e.code)) {
      return new RetrievalFailure('SIGNATURE_RETRIEVAL', `${what}: ${e.message}`);
    }
  }
  return e;
}

/**
 * The leaf subject as notation reads it: Go's pkix.Name.String() prints it and ParseDistinguishedName parses that
 * string (leafSubjectDn), so a subject notation cannot parse (an emailAddress or DC attribute printed as "OID=#hex",
 * two values of one type, C, ST or O missing) fails the identity check here too; otherwise the reason.
 */
function leafSubjectMap(rdns: { type: string; value: string }[][]): DnMap | string {
  try {
    return leafSubjectDn(rdns);
  } catch (e) {
    if (e instanceof DnError) return e.message;
    throw e;
  }
}

const FORBIDDEN_LEAF_EKU: Record<string, string> = {
  [EKU.serverAuth]: 'serverAuth',
  [EKU.clientAuth]: 'clientAuth',
  [EKU.emailProtection]: 'emailProtection',
  [EKU.timeStamping]: 'timeStamping',
  [EKU.ocspSigning]: 'OCSPSigning',
};

/**
 * The signing chain must be complete and well-formed, as notation-core-go's ValidateCodeSigningCertChain checks it
 * (signature-specification.md "Certificate Requirements"), with no time (validity belongs to authenticTimestamp):
 *
 *  - a single certificate must be self-issued and self-signed (its self-signature may use SHA-1: Go checks it with
 *    Certificate.CheckSignature) and meet the leaf rules;
 *  - otherwise leaf first, each certificate issued by the next (issuer Name = subject Name and the signature verifies
 *    with the next one's key, see issuedBy), no certificate but the last self-signed, the last a self-signed root,
 *    and no link signed with SHA-1 or MD5 (Go's CheckSignatureFrom refuses them);
 *  - the leaf: not a CA, keyUsage present, critical, with digitalSignature and none of the encipherment / agreement /
 *    certificate or CRL signing bits, no EKU of another purpose;
 *  - every other certificate: basicConstraints cA=true with a pathLenConstraint the chain respects, keyUsage present,
 *    critical, with keyCertSign.
 */
export function validateSigningChain(chain: X509Certificate[]): void {
  if (chain.length === 0) throw new CheckFailure('INTEGRITY', 'the signature has an empty certificate chain');
  const infos = chain.map(certInfo);
  const last = chain.length - 1;
  for (let i = 0; i < chain.length; i++) {
    const c = chain[i]!;
    const info = infos[i]!;
    const who = `certificate #${i + 1} with subject "${info.subject}"`;
    const weak = info.weakSignatureHash;
    if (chain.length === 1) {
      if (!isSelfSigned(c)) throw new CheckFailure('INTEGRITY', `invalid certificate chain: the only certificate, ${who}, is not self-signed`);
      if (weak && weak !== 'SHA-1') throw new CheckFailure('INTEGRITY', `invalid certificate chain: ${who} is signed with the insecure algorithm ${weak}`);
    } else if (i === last) {
      if (!isSelfSigned(c)) throw new CheckFailure('INTEGRITY', `invalid certificate chain: it must end with a self-signed root certificate, but the last is ${who}`);
      if (weak) throw new CheckFailure('INTEGRITY', `invalid certificate chain: root ${who} is self-signed with the insecure algorithm ${weak}`);
    } else {
      if (isSelfSigned(c)) {
        throw new CheckFailure('INTEGRITY', `invalid certificate chain: ${who} is self-signed; only the last certificate of the chain may be self-signed`);
      }
      if (!issuedBy(c, chain[i + 1]!)) throw new CheckFailure('INTEGRITY', `invalid certificate chain: ${who} is not issued by the next certificate "${infos[i + 1]!.subject}"`);
      if (weak) throw new CheckFailure('INTEGRITY', `invalid certificate chain: ${who} is signed with the insecure algorithm ${weak}`);
    }
    if (i === 0) {
      if (info.basicConstraints?.ca) throw new CheckFailure('INTEGRITY', `invalid signing certificate: ${who} is a CA certificate`);
      if (!info.keyUsage) throw new CheckFailure('INTEGRITY', `invalid signing certificate: ${who} has no keyUsage extension`);
      if (!info.keyUsageCritical) throw new CheckFailure('INTEGRITY', `invalid signing certificate: ${who} has a keyUsage extension that is not marked critical`);
      if (!info.keyUsage.has('digitalSignature')) {
        throw new CheckFailure('INTEGRITY', `invalid signing certificate: ${who} must have keyUsage "digitalSignature"`);
      }
      const extra = LEAF_FORBIDDEN_KEY_USAGE.filter(([k]) => info.keyUsage!.has(k)).map(([k]) => k);
      if (extra.length > 0) {
        throw new CheckFailure('INTEGRITY', `invalid signing certificate: ${who} has keyUsage ${extra.join(', ')}; the keyUsage must be "digitalSignature" only`);
      }
      for (const oid of info.extKeyUsage ?? []) {
        const bad = FORBIDDEN_LEAF_EKU[oid];
        if (bad) throw new CheckFailure('INTEGRITY', `invalid signing certificate: ${who} has extendedKeyUsage ${bad}, which is not allowed for code signing`);
      }
    } else {
      if (!info.basicConstraints?.ca) throw new CheckFailure('INTEGRITY', `invalid certificate chain: ${who} is not a CA certificate but issues #${i}`);
      const pl = info.basicConstraints.pathLen;
      if (pl !== undefined && pl < i - 1) throw new CheckFailure('INTEGRITY', `invalid certificate chain: ${who} has pathLenConstraint ${pl}, exceeded by the chain`);
      if (!info.keyUsage) throw new CheckFailure('INTEGRITY', `invalid certificate chain: ${who} has no keyUsage extension (a CA needs keyUsage keyCertSign)`);
      if (!info.keyUsageCritical) throw new CheckFailure('INTEGRITY', `invalid certificate chain: ${who} has a keyUsage extension that is not marked critical`);
      if (!info.keyUsage.has('keyCertSign')) throw new CheckFailure('INTEGRITY', `invalid certificate chain: ${who} lacks keyUsage keyCertSign`);
    }
  }
}

export { CHECK_CODE };
