import type { X509Certificate } from 'node:crypto';
import type { Descriptor } from '../oci/descriptor.js';

/**
 * The Notary Project signature model shared by signing (src/signature) and verification (src/trust).
 * Names follow notaryproject/specifications signature-specification.md.
 */
export type EnvelopeMediaType = 'application/jose+json' | 'application/cose';
export type SigningScheme = 'notary.x509' | 'notary.x509.signingAuthority';
export type SignatureAlgorithm = 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';

/** `application/vnd.cncf.notary.payload.v1+json` */
export interface NotaryPayload {
  targetArtifact: Descriptor;
}

export interface SignedAttributes {
  contentType: 'application/vnd.cncf.notary.payload.v1+json';
  signingScheme: SigningScheme;
  /** io.cncf.notary.signingTime (notary.x509) */
  signingTime?: Date;
  /** io.cncf.notary.authenticSigningTime (notary.x509.signingAuthority) */
  authenticSigningTime?: Date;
  /** io.cncf.notary.expiry */
  expiry?: Date;
  /** Any other signed attributes, by name, with whether they were marked critical. */
  extended: { key: string; value: unknown; critical: boolean }[];
}

export interface UnsignedAttributes {
  signingAgent?: string;
  /** RFC 3161 timestamp token (DER) countersigning the signature value, if present. */
  timestampSignature?: Buffer;
}

/** A parsed (structurally valid) envelope. Parsing does not check the signature; `verifyIntegrity` does. */
export interface ParsedEnvelope {
  mediaType: EnvelopeMediaType;
  payload: NotaryPayload;
  /** The exact payload bytes that were signed. */
  payloadBytes: Buffer;
  signedAttributes: SignedAttributes;
  unsignedAttributes: UnsignedAttributes;
  /** Leaf first, then intermediates, then (optionally) the root, as carried in x5c / x5chain. */
  certificateChain: X509Certificate[];
  signatureAlgorithm: SignatureAlgorithm;
  /** The raw signature value (what a TSA timestamp countersigns). */
  signature: Buffer;
  /**
   * The exact bytes the signature covers: JWS = ASCII(BASE64URL(protected) '.' BASE64URL(payload));
   * COSE = the encoded Sig_structure ["Signature1", protected, h'', payload].
   */
  signingInput: Buffer;
  /** The raw envelope bytes as parsed. */
  raw: Buffer;
}

/** What signs an envelope: the leaf-first certificate chain and a function producing the raw signature value. */
export interface Signer {
  /** Leaf first, then intermediates (and optionally the root). */
  certificateChain: X509Certificate[];
  /** Must be the algorithm the spec assigns to the leaf key (RSA-3072 → PS384, P-256 → ES256, …). */
  algorithm: SignatureAlgorithm;
  /** Signs `data` (the JWS signing input / COSE Sig_structure); JWS/COSE signature encoding (PSS, ECDSA r||s). */
  sign(data: Buffer): Promise<Buffer>;
}
