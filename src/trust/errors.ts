import { DockerSignError, EXIT, type ErrorOptions } from '../errors.js';

/**
 * Errors of the trust layer. Two classes, each with a string-union `code` callers switch on:
 *
 * PolicyError — the trust policy or trust store configuration is unusable (exit 2). Codes:
 *   NO_POLICY            no trustpolicy(.oci).json in the config dir
 *   POLICY_UNREADABLE    the file exists but cannot be read (permissions, symlink, directory)
 *   POLICY_MALFORMED     not JSON / wrong JSON types
 *   POLICY_VERSION       missing or unsupported "version"
 *   POLICY_UNKNOWN_FIELD (no longer raised: unknown fields are warnings, as notation ignores them; kept for callers)
 *   POLICY_INVALID       breaks a rule of the trust policy spec (message names the statement and the rule)
 *   NO_APPLICABLE_POLICY no statement's registryScopes covers the artifact
 *   TRUST_STORE_MISSING  a named store referenced by the policy does not exist
 *   TRUST_STORE_INVALID  a store exists but is unusable (symlink, sub-directory, non-certificate file, empty)
 *
 * VerificationError — verification ran and the artifact is not trusted (exit 1). Codes are listed in
 * VerificationErrorCode; `check` names the failing check when there is one.
 */
export type PolicyErrorCode =
  | 'NO_POLICY'
  | 'POLICY_UNREADABLE'
  | 'POLICY_MALFORMED'
  | 'POLICY_VERSION'
  | 'POLICY_UNKNOWN_FIELD'
  | 'POLICY_INVALID'
  | 'NO_APPLICABLE_POLICY'
  | 'TRUST_STORE_MISSING'
  | 'TRUST_STORE_INVALID';

export class PolicyError extends DockerSignError {
  declare readonly code: PolicyErrorCode;
  /** The statement the problem is in, when there is one. */
  readonly statement?: string;
  constructor(code: PolicyErrorCode, message: string, opts: ErrorOptions & { statement?: string } = {}) {
    super(code, message, {
      exitCode: code === 'NO_APPLICABLE_POLICY' ? EXIT.VERIFICATION_FAILED : EXIT.USAGE,
      ...opts,
      details: { ...(opts.statement !== undefined ? { statement: opts.statement } : {}), ...(opts.details ?? {}) },
    });
    this.statement = opts.statement;
  }
}

/**
 *   NO_SIGNATURE          no Notary Project signature is associated with the artifact
 *   SIGNATURE_RETRIEVAL   a signature manifest or envelope could not be fetched or has the wrong shape
 *   DIGEST_MISMATCH       fetched content does not match its descriptor (registry tampering/corruption)
 *   INTEGRITY             envelope unparsable, signature invalid, or payload does not describe the artifact
 *   CONTENT_MISMATCH      payload targetArtifact differs from the artifact being verified
 *   AUTHENTICITY          certificate chain invalid or not ending in a trusted certificate
 *   TRUSTED_IDENTITY      signing certificate subject matches no trustedIdentities entry
 *   EXPIRY                io.cncf.notary.expiry is in the past
 *   AUTHENTIC_TIMESTAMP   certificate chain not valid at the (authentic) signing time / now
 *   REVOCATION            a certificate is revoked or its status could not be determined
 *   MAX_SIGNATURES        too many signatures were evaluated without success
 *   NO_POLICY / NO_APPLICABLE_POLICY   (from the policy layer, when surfaced through verification)
 *   VERIFICATION_FAILED   generic: no signature satisfied the policy
 */
export type VerificationErrorCode =
  | 'NO_SIGNATURE'
  | 'SIGNATURE_RETRIEVAL'
  | 'DIGEST_MISMATCH'
  | 'INTEGRITY'
  | 'CONTENT_MISMATCH'
  | 'AUTHENTICITY'
  | 'TRUSTED_IDENTITY'
  | 'EXPIRY'
  | 'AUTHENTIC_TIMESTAMP'
  | 'REVOCATION'
  | 'MAX_SIGNATURES'
  | 'USER_METADATA'
  | 'NO_POLICY'
  | 'NO_APPLICABLE_POLICY'
  | 'VERIFICATION_FAILED';

export class VerificationError extends DockerSignError {
  declare readonly code: VerificationErrorCode;
  readonly check?: string;
  constructor(code: VerificationErrorCode, message: string, opts: ErrorOptions & { check?: string } = {}) {
    super(code, message, { exitCode: EXIT.VERIFICATION_FAILED, ...opts });
    this.check = opts.check;
  }
}
