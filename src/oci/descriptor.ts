import { InputError } from '../errors.js';
import { isDigest, type Digest } from './digest.js';
import { isValidMediaType } from './mediaTypes.js';

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

/** OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  data?: string;
  platform?: Platform;
  artifactType?: string;
}

/** Upper bound for anything we hold in memory as a manifest (the distribution spec suggests registries accept 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

function fail(msg: string, where: string): never {
  throw new InputError('INVALID_DESCRIPTOR', `${where}: ${msg}`);
}

/** Validates a descriptor object (as found in manifests, indexes, payloads); returns it typed. */
export function validateDescriptor(v: unknown, where = 'descriptor'): Descriptor {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('must be a JSON object', where);
  const d = v as Record<string, unknown>;
  if (!isValidMediaType(d.mediaType)) fail(`invalid mediaType ${JSON.stringify(d.mediaType)}`, where);
  if (!isDigest(d.digest)) fail(`invalid digest ${JSON.stringify(d.digest)}`, where);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    fail(`invalid size ${JSON.stringify(d.size)}`, where);
  }
  if (d.annotations !== undefined) {
    if (typeof d.annotations !== 'object' || d.annotations === null || Array.isArray(d.annotations)) {
      fail('annotations must be an object of strings', where);
    }
    for (const [k, val] of Object.entries(d.annotations)) {
      if (typeof val !== 'string') fail(`annotation ${k} must be a string`, where);
    }
  }
  if (d.urls !== undefined && (!Array.isArray(d.urls) || d.urls.some((u) => typeof u !== 'string'))) {
    fail('urls must be an array of strings', where);
  }
  if (d.artifactType !== undefined && !isValidMediaType(d.artifactType)) {
    fail(`invalid artifactType ${JSON.stringify(d.artifactType)}`, where);
  }
  if (d.data !== undefined && typeof d.data !== 'string') fail('data must be a base64 string', where);
  return d as unknown as Descriptor;
}

/** The three fields that identify content; the Notary payload compares exactly these. */
export function sameContent(a: Pick<Descriptor, 'mediaType' | 'digest' | 'size'>, b: Pick<Descriptor, 'mediaType' | 'digest' | 'size'>): boolean {
  return a.mediaType === b.mediaType && a.digest === b.digest && a.size === b.size;
}

/** A descriptor with only the core fields (drops annotations etc.). */
export function coreDescriptor(d: Descriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}
