/**
 * Notary Project signatures (notaryproject/specifications): envelope parsing/verification (used by src/trust),
 * envelope creation and the signature manifest (used by signing). Keep this module's imports light: node:crypto
 * and our own code only — it is on the path of every sign and verify.
 */
export type {
  EnvelopeMediaType,
  NotaryPayload,
  ParsedEnvelope,
  SignatureAlgorithm,
  SignedAttributes,
  Signer,
  SigningScheme,
  UnsignedAttributes,
} from './types.js';
export { SignatureError, type SignatureErrorCode } from './errors.js';
export {
  parseEnvelope,
  verifyIntegrity,
  createEnvelope,
  sigStructure,
  jwsProtectedHeader,
  coseProtectedHeader,
  serializeJws,
  serializeCose,
  MAX_ENVELOPE_BYTES,
  H_SIGNING_SCHEME,
  H_SIGNING_TIME,
  H_AUTHENTIC_SIGNING_TIME,
  H_EXPIRY,
  H_SIGNING_AGENT,
  H_TIMESTAMP_SIGNATURE,
  type CreateEnvelopeOptions,
} from './envelope.js';
export { parsePayload, encodePayload, PAYLOAD_MEDIA_TYPE } from './payload.js';
export {
  buildSignatureManifest,
  chainThumbprints,
  ANNOTATION_THUMBPRINT,
  ANNOTATION_CREATED,
  SIGNATURE_ARTIFACT_TYPE,
  EMPTY_CONFIG_BYTES,
  type BuiltSignatureManifest,
} from './manifest.js';
export { algorithmForKey, keySpecOf, verifyRaw, signRaw, COSE_ALG, type KeySpec } from './algorithms.js';
