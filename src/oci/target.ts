import type { Readable } from 'node:stream';
import type { Descriptor } from './descriptor.js';

/**
 * "Where artifacts live": a remote repository, an OCI image layout on disk, or our local content store all
 * implement this, so sign / verify / push never branch on where content comes from (notation-go's
 * Repository idea). Every fetch is checked against the descriptor's digest and size before it is returned.
 */
export interface FetchedManifest {
  descriptor: Descriptor;
  bytes: Buffer;
}

export interface ArtifactTarget {
  /** Human-readable location, e.g. "127.0.0.1:5000/app" or "oci-layout:/path". */
  readonly location: string;

  /** Resolves a tag or digest to the manifest's descriptor (mediaType, digest, size). */
  resolve(reference: string): Promise<Descriptor>;

  /** Fetches a manifest by descriptor (or tag/digest); bytes verified against the digest. */
  fetchManifest(ref: Descriptor | string): Promise<FetchedManifest>;

  /** Fetches a (small) blob fully into memory, verified; refuses blobs over `maxBytes`. */
  fetchBlob(desc: Descriptor, maxBytes?: number): Promise<Buffer>;

  /** Streams a blob; the stream errors if the digest or size does not match at the end. */
  fetchBlobStream(desc: Descriptor): Promise<Readable>;

  /** True if the blob exists. */
  hasBlob(desc: Descriptor): Promise<boolean>;

  /**
   * Uploads a blob (no-op if present). `opts.knownAbsent`: the caller has just checked (or the blob is new by
   * construction, e.g. a fresh signature envelope), so a registry is not asked again first (one round trip less).
   * `opts.durable: false`: the blob can be made again, a local store need not fsync it (src/oci/layout.ts).
   */
  pushBlob(desc: Descriptor, content: Buffer | (() => Readable), opts?: { knownAbsent?: boolean; durable?: boolean }): Promise<void>;

  /** Uploads a manifest; `reference` is a tag or its digest (default: the digest). */
  pushManifest(desc: Descriptor, bytes: Buffer, reference?: string): Promise<void>;

  /**
   * Lists referrers of `subject` (descriptors of manifests whose `subject` is it), optionally filtered by
   * artifactType. Uses the Referrers API when available, else the referrers tag schema. At most `limit` entries
   * (the first ones; default: an implementation's cap), read no further than needed for them.
   */
  referrers(subject: Descriptor, artifactType?: string, limit?: number): Promise<Descriptor[]>;

  /**
   * Pushes a manifest that has `subject` set, then makes it discoverable (Referrers API registries index it
   * themselves; otherwise the tag-schema index is merged without losing concurrent writers' entries).
   */
  pushReferrer(manifestDesc: Descriptor, manifestBytes: Buffer, subject: Descriptor): Promise<void>;
}
