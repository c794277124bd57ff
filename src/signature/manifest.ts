import { createHash, type X509Certificate } from 'node:crypto';
import { sha256Digest } from '../oci/digest.js';
import { coreDescriptor, type Descriptor } from '../oci/descriptor.js';
import { MediaType } from '../oci/mediaTypes.js';
import { goJson, rfc3339Seconds } from './encoding.js';
import type { EnvelopeMediaType } from './types.js';

export const ANNOTATION_THUMBPRINT = 'io.cncf.notary.x509chain.thumbprint#S256';
export const ANNOTATION_CREATED = 'org.opencontainers.image.created';
export const SIGNATURE_ARTIFACT_TYPE = MediaType.NOTARY_SIGNATURE;
export const EMPTY_CONFIG_BYTES = Buffer.from('{}');

/** Hex SHA-256 of a DER certificate (one entry of notation's thumbprint annotation). */
export function certificateThumbprint(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

/** JSON array string of the hex SHA-256 of each DER certificate, leaf first (notation's thumbprint annotation). */
export function chainThumbprints(chain: X509Certificate[]): string {
  return JSON.stringify(chain.map(certificateThumbprint));
}

export interface BuiltSignatureManifest {
  /** Exact manifest bytes to push. */
  manifest: Buffer;
  /** Descriptor of the manifest as it appears in a referrers index (annotations + artifactType). */
  descriptor: Descriptor;
  config: { descriptor: Descriptor; bytes: Buffer };
  envelopeDescriptor: Descriptor;
}

/**
 * The signature manifest notation 1.3.2 writes: an OCI image manifest with config.mediaType
 * application/vnd.cncf.notary.signature (blob `{}`), one layer (the envelope), `subject`, and the thumbprint +
 * created annotations; compact JSON in this field order.
 */
/** The config descriptor of every Notary Project signature manifest (the `{}` blob). */
export function signatureConfigDescriptor(): Descriptor {
  return { mediaType: MediaType.NOTARY_SIGNATURE, digest: sha256Digest(EMPTY_CONFIG_BYTES), size: EMPTY_CONFIG_BYTES.length };
}

export function buildSignatureManifest(
  subject: Descriptor,
  envelope: { bytes: Buffer; mediaType: EnvelopeMediaType | string },
  chain: X509Certificate[],
  created: Date = new Date(),
): BuiltSignatureManifest {
  const configDesc = signatureConfigDescriptor();
  const envelopeDescriptor: Descriptor = { mediaType: envelope.mediaType, digest: sha256Digest(envelope.bytes), size: envelope.bytes.length };
  const annotations = { [ANNOTATION_THUMBPRINT]: chainThumbprints(chain), [ANNOTATION_CREATED]: rfc3339Seconds(created) };
  const manifestObj = {
    schemaVersion: 2,
    mediaType: MediaType.OCI_MANIFEST,
    config: configDesc,
    layers: [envelopeDescriptor],
    subject: coreDescriptor(subject),
    annotations,
  };
  const manifest = Buffer.from(goJson(manifestObj, false), 'utf8');
  const descriptor: Descriptor = {
    mediaType: MediaType.OCI_MANIFEST,
    digest: sha256Digest(manifest),
    size: manifest.length,
    annotations: { ...annotations },
    artifactType: SIGNATURE_ARTIFACT_TYPE,
  };
  return { manifest, descriptor, config: { descriptor: configDesc, bytes: Buffer.from(EMPTY_CONFIG_BYTES) }, envelopeDescriptor };
}
