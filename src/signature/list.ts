/** Listing and inspecting the signatures attached to an artifact in any ArtifactTarget. */
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import { parseImageManifest } from '../oci/manifest.js';
import type { ArtifactTarget } from '../oci/target.js';
import type { RegistryOptions } from '../registry/client.js';
import type { ConfigPaths } from '../config/dir.js';
import { InputError } from '../errors.js';
import { MAX_ENVELOPE_BYTES, parseEnvelope, verifyIntegrity } from './envelope.js';
import { ANNOTATION_CREATED, ANNOTATION_THUMBPRINT, SIGNATURE_ARTIFACT_TYPE } from './manifest.js';
import { SignatureError } from './errors.js';
import { certificateSummary } from '../pki/summary.js';

export interface SignatureEntry {
  digest: Digest;
  mediaType: string;
  size: number;
  artifactType: string;
  envelopeMediaType?: string;
  created?: string;
  thumbprints?: string[];
  /** Set when the signature manifest could not be read or is malformed. */
  problem?: string;
}

export interface OpenedTarget {
  target: ArtifactTarget;
  /** Tag or digest to resolve in the target. */
  selector: string;
  /** Human-readable name of the subject. */
  display: string;
}

/** Opens where `ref` lives: an OCI layout (`ociLayout`), our local store (`local`), or the registry (default). */
export async function openTarget(ref: string, opts: { ociLayout?: string; local?: boolean; configPaths: ConfigPaths; registryOptions?: RegistryOptions }): Promise<OpenedTarget> {
  if (opts.ociLayout) {
    const { OciLayout } = await import('../oci/layout.js');
    const layout = await OciLayout.open(opts.ociLayout);
    return { target: layout, selector: ref, display: `${layout.location}:${ref}` };
  }
  if (opts.local) {
    const { OciLayout } = await import('../oci/layout.js');
    const { storeTagFor } = await import('../docker/generate.js');
    const store = await OciLayout.open(opts.configPaths.store, { create: true, blobsRequired: true });
    const i = ref.lastIndexOf('@');
    const selector = i > 0 && ref.slice(i + 1).startsWith('sha256:') ? ref.slice(i + 1) : storeTagFor(ref) ?? ref;
    return { target: store, selector, display: `local:${ref}` };
  }
  const { parseReference, formatReference } = await import('../oci/reference.js');
  const { openRepository } = await import('../registry/index.js');
  const r = parseReference(ref);
  return { target: openRepository(r, opts.registryOptions ?? {}), selector: r.digest ?? r.tag ?? 'latest', display: formatReference(r) };
}

/** Signature manifests (artifactType application/vnd.cncf.notary.signature) whose subject is `subject`. */
export async function listSignatures(target: ArtifactTarget, subject: Descriptor): Promise<SignatureEntry[]> {
  const refs = await target.referrers(subject, SIGNATURE_ARTIFACT_TYPE);
  const out: SignatureEntry[] = [];
  for (const d of refs) {
    if (d.artifactType !== undefined && d.artifactType !== SIGNATURE_ARTIFACT_TYPE) continue;
    const e: SignatureEntry = { digest: d.digest, mediaType: d.mediaType, size: d.size, artifactType: SIGNATURE_ARTIFACT_TYPE };
    try {
      const m = await target.fetchManifest({ mediaType: d.mediaType, digest: d.digest, size: d.size });
      const man = parseImageManifest(m.bytes, d.mediaType);
      if (man.config.mediaType !== SIGNATURE_ARTIFACT_TYPE && man.artifactType !== SIGNATURE_ARTIFACT_TYPE) continue;
      if (man.subject?.digest !== subject.digest) throw new InputError('INVALID_REFERRER', `its subject is ${man.subject?.digest ?? 'missing'}`);
      e.envelopeMediaType = man.layers.length === 1 ? man.layers[0]!.mediaType : undefined;
      if (man.layers.length !== 1) e.problem = `has ${man.layers.length} layers (a signature manifest has exactly one)`;
      e.created = man.annotations?.[ANNOTATION_CREATED];
      const tp = man.annotations?.[ANNOTATION_THUMBPRINT];
      if (tp) {
        try {
          const list = JSON.parse(tp);
          if (Array.isArray(list)) e.thumbprints = list.map(String);
        } catch {
          /* informational only */
        }
      }
    } catch (err) {
      e.problem = (err as Error).message;
    }
    out.push(e);
  }
  return out;
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  sha256Fingerprint: string;
  notBefore: string;
  notAfter: string;
  serialNumber: string;
}

export interface SignatureDetails extends SignatureEntry {
  envelope?: {
    mediaType: string;
    digest: string;
    size: number;
    signatureAlgorithm: string;
    signingScheme: string;
    signingTime?: string;
    authenticSigningTime?: string;
    expiry?: string;
    expired?: boolean;
    signingAgent?: string;
    timestamped: boolean;
    targetArtifact: Descriptor;
    /** User metadata (-a key=value at signing), i.e. targetArtifact.annotations. */
    userMetadata: Record<string, string>;
    certificateChain: CertificateInfo[];
    /** Result of the envelope integrity check (signature over the signed bytes with the leaf key). Not trust. */
    integrity: 'ok' | string;
    /** Whether the signed targetArtifact is the subject (mediaType, digest, size). */
    matchesSubject: boolean;
  };
}

const iso = (d?: Date) => (d ? d.toISOString().replace('.000Z', 'Z') : undefined);

/** Everything `docker sign inspect` shows, per signature. Envelopes are parsed strictly; problems are reported. */
export async function inspectSignatures(target: ArtifactTarget, subject: Descriptor, now = new Date()): Promise<SignatureDetails[]> {
  const entries = await listSignatures(target, subject);
  const out: SignatureDetails[] = [];
  for (const e of entries) {
    const d: SignatureDetails = { ...e };
    if (!e.problem) {
      try {
        const m = await target.fetchManifest({ mediaType: e.mediaType, digest: e.digest, size: e.size });
        const layer = parseImageManifest(m.bytes, e.mediaType).layers[0]!;
        if (layer.size > MAX_ENVELOPE_BYTES) throw new SignatureError('ENVELOPE_INVALID', `envelope is ${layer.size} bytes (limit ${MAX_ENVELOPE_BYTES})`);
        const bytes = await target.fetchBlob(layer, MAX_ENVELOPE_BYTES);
        const env = parseEnvelope(bytes, layer.mediaType);
        let integrity = 'ok';
        try {
          verifyIntegrity(env);
        } catch (err) {
          integrity = (err as Error).message;
        }
        const t = env.payload.targetArtifact;
        d.envelope = {
          mediaType: env.mediaType,
          digest: layer.digest,
          size: layer.size,
          signatureAlgorithm: env.signatureAlgorithm,
          signingScheme: env.signedAttributes.signingScheme,
          signingTime: iso(env.signedAttributes.signingTime),
          authenticSigningTime: iso(env.signedAttributes.authenticSigningTime),
          expiry: iso(env.signedAttributes.expiry),
          ...(env.signedAttributes.expiry ? { expired: env.signedAttributes.expiry.getTime() <= now.getTime() } : {}),
          signingAgent: env.unsignedAttributes.signingAgent,
          timestamped: env.unsignedAttributes.timestampSignature !== undefined,
          targetArtifact: t,
          userMetadata: t.annotations ?? {},
          certificateChain: env.certificateChain.map((c) => ({ ...certificateSummary(c), serialNumber: c.serialNumber })),
          integrity,
          matchesSubject: t.mediaType === subject.mediaType && t.digest === subject.digest && t.size === subject.size,
        };
      } catch (err) {
        d.problem = (err as Error).message;
      }
    }
    out.push(d);
  }
  return out;
}
