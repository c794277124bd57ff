import { InputError } from '../errors.js';
import { validateDescriptor, type Descriptor, type Platform, MAX_MANIFEST_BYTES } from './descriptor.js';
import { MediaType, isValidMediaType } from './mediaTypes.js';
import { findNonIntegerMember } from './jsonstrict.js';

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: (Descriptor & { platform?: Platform })[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

function bad(msg: string): never {
  throw new InputError('INVALID_MANIFEST', msg);
}

export function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) bad(`${what} is larger than ${MAX_MANIFEST_BYTES} bytes`);
  let v: unknown;
  const text = Buffer.from(bytes).toString('utf8');
  try {
    v = JSON.parse(text);
  } catch (e) {
    bad(`${what} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(`${what} must be a JSON object`);
  // descriptor sizes are Go int64s for notation/oras-go: 12.0 or 1e3 does not decode there
  const size = findNonIntegerMember(text, 'size');
  if (size !== undefined) bad(`${what} has a size written as ${size}, not as an integer`);
  return v as Record<string, unknown>;
}

/** Parses and validates an OCI image manifest or Docker v2 schema 2 manifest. */
export function parseImageManifest(bytes: Uint8Array, expectedMediaType?: string): ImageManifest {
  const m = parseJsonObject(bytes, 'manifest');
  if (m.schemaVersion !== 2) bad(`manifest schemaVersion must be 2, got ${JSON.stringify(m.schemaVersion)}`);
  if (m.mediaType !== undefined && !isValidMediaType(m.mediaType)) bad('manifest mediaType is invalid');
  const mt = (m.mediaType as string | undefined) ?? expectedMediaType;
  if (mt !== undefined && mt !== MediaType.OCI_MANIFEST && mt !== MediaType.DOCKER_MANIFEST) {
    bad(`not an image manifest (mediaType ${mt})`);
  }
  if (expectedMediaType !== undefined && m.mediaType !== undefined && m.mediaType !== expectedMediaType) {
    bad(`manifest mediaType ${String(m.mediaType)} does not match the descriptor's ${expectedMediaType}`);
  }
  validateDescriptor(m.config, 'manifest config');
  if (!Array.isArray(m.layers)) bad('manifest layers must be an array');
  m.layers.forEach((l, i) => validateDescriptor(l, `manifest layer ${i}`));
  if (m.subject !== undefined) validateDescriptor(m.subject, 'manifest subject');
  if (m.artifactType !== undefined && !isValidMediaType(m.artifactType)) bad('manifest artifactType is invalid');
  return m as unknown as ImageManifest;
}

/** Parses and validates an OCI image index or Docker manifest list. */
export function parseImageIndex(bytes: Uint8Array, expectedMediaType?: string): ImageIndex {
  const m = parseJsonObject(bytes, 'index');
  if (m.schemaVersion !== 2) bad(`index schemaVersion must be 2, got ${JSON.stringify(m.schemaVersion)}`);
  const mt = (m.mediaType as string | undefined) ?? expectedMediaType;
  if (mt !== undefined && mt !== MediaType.OCI_INDEX && mt !== MediaType.DOCKER_MANIFEST_LIST) {
    bad(`not an image index (mediaType ${mt})`);
  }
  if (!Array.isArray(m.manifests)) bad('index manifests must be an array');
  m.manifests.forEach((d, i) => validateDescriptor(d, `index manifest ${i}`));
  if (m.subject !== undefined) validateDescriptor(m.subject, 'index subject');
  return m as unknown as ImageIndex;
}

/** Canonical bytes we write for a manifest/index we create (compact JSON, insertion order). */
export function encodeJson(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v), 'utf8');
}
