import { validateDescriptor, type Descriptor } from '../oci/descriptor.js';
import { MediaType } from '../oci/mediaTypes.js';
import { SignatureError } from './errors.js';
import { goJson } from './encoding.js';
import { findDuplicateKey, findNonIntegerMember } from '../oci/jsonstrict.js';
import type { NotaryPayload } from './types.js';

export const PAYLOAD_MEDIA_TYPE = MediaType.NOTARY_PAYLOAD;

function bad(msg: string): never {
  throw new SignatureError('PAYLOAD_INVALID', `invalid signature payload: ${msg}`);
}

/**
 * Parses and validates `application/vnd.cncf.notary.payload.v1+json`: an object whose only member is
 * `targetArtifact`, an OCI descriptor (mediaType, digest, size required; annotations strings).
 */
export function parsePayload(bytes: Buffer): NotaryPayload {
  let v: unknown;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    v = JSON.parse(text);
  } catch (e) {
    bad(`not valid UTF-8 JSON (${(e as Error).message})`);
  }
  const dup = findDuplicateKey(text);
  if (dup !== undefined) bad(`repeats member ${JSON.stringify(dup)}`);
  const size = findNonIntegerMember(text, 'size');
  if (size !== undefined) bad(`size ${size} is not an integer (written with a fraction or an exponent)`);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('must be a JSON object');
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => k !== 'targetArtifact');
  if (extra.length > 0) bad(`unknown member(s) ${extra.map((k) => JSON.stringify(k)).join(', ')}`);
  if (o.targetArtifact === undefined) bad('targetArtifact is missing');
  let desc: Descriptor;
  try {
    desc = validateDescriptor(o.targetArtifact, 'targetArtifact');
  } catch (e) {
    bad((e as Error).message);
  }
  return { targetArtifact: desc };
}

/**
 * The payload bytes notation produces for a descriptor. JWS: notation round-trips the payload through a Go map,
 * so keys are sorted; COSE: the Go struct order of an OCI descriptor (mediaType, digest, size, …, annotations).
 */
export function encodePayload(payload: NotaryPayload, format: 'jws' | 'cose'): Buffer {
  const t = payload.targetArtifact;
  validateDescriptor(t, 'targetArtifact');
  const ordered: Record<string, unknown> = {
    mediaType: t.mediaType,
    digest: t.digest,
    size: t.size,
    urls: t.urls,
    annotations: t.annotations && Object.keys(t.annotations).length > 0 ? sortObject(t.annotations) : undefined,
    data: t.data,
    platform: t.platform,
    artifactType: t.artifactType,
  };
  return Buffer.from(goJson({ targetArtifact: ordered }, format === 'jws'), 'utf8');
}

function sortObject(o: Record<string, string>): Record<string, string> {
  const r = Object.create(null) as Record<string, string>; // "__proto__" is a key like any other
  for (const k of Object.keys(o).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) r[k] = o[k]!;
  return r;
}
