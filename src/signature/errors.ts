import { DockerSignError, EXIT, type ErrorOptions } from '../errors.js';

/**
 * Stable codes for signature problems. Verification code (src/trust) switches on these.
 *  - ENVELOPE_INVALID       the envelope is malformed or breaks a rule of the envelope spec (reason in the message)
 *  - UNSUPPORTED_ALGORITHM  alg is not one of PS256/384/512, ES256/384/512, or the key type/size is not allowed
 *  - ALGORITHM_KEY_MISMATCH the envelope's alg is not the one the spec assigns to the leaf certificate's key
 *  - INTEGRITY              the signature value does not verify over the signed bytes
 *  - PAYLOAD_INVALID        the payload is not a valid application/vnd.cncf.notary.payload.v1+json document
 *  - UNSUPPORTED_MEDIA_TYPE the envelope media type is neither application/jose+json nor application/cose
 *  - CERTIFICATE_INVALID    a certificate in the chain does not meet the signing requirements (signing time)
 *  - SIGNING_FAILED         the signer did not produce a usable signature
 */
export type SignatureErrorCode =
  | 'ENVELOPE_INVALID'
  | 'UNSUPPORTED_ALGORITHM'
  | 'ALGORITHM_KEY_MISMATCH'
  | 'INTEGRITY'
  | 'PAYLOAD_INVALID'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'CERTIFICATE_INVALID'
  | 'SIGNING_FAILED';

export class SignatureError extends DockerSignError {
  /** Short machine-readable reason (e.g. "crit-missing-signingScheme"); the message says it in words. */
  readonly reason?: string;
  constructor(code: SignatureErrorCode, message: string, opts: ErrorOptions & { reason?: string } = {}) {
    super(code, message, { exitCode: EXIT.VERIFICATION_FAILED, ...opts });
    this.reason = opts.reason;
  }
}

export function envelopeInvalid(message: string, reason?: string): never {
  throw new SignatureError('ENVELOPE_INVALID', `invalid signature envelope: ${message}`, { reason });
}
