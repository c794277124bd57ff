/** A small in-memory ArtifactTarget for verifier tests: content-addressed bytes + a referrers list per subject. */
import { Readable } from 'node:stream';
import type { ArtifactTarget, FetchedManifest } from '../../src/oci/target.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { digestOf, verifyBytes, type Digest } from '../../src/oci/digest.js';
import { InputError } from '../../src/errors.js';

export class MemoryTarget implements ArtifactTarget {
  readonly location = 'memory:test';
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, { mediaType: string; bytes: Buffer }>();
  readonly tags = new Map<string, string>();
  readonly referrerLists = new Map<string, Descriptor[]>();
  /** Calls made, for asserting what the verifier touched. */
  readonly calls: string[] = [];

  addBlob(bytes: Buffer): Digest {
    const d = digestOf(bytes);
    this.blobs.set(d, bytes);
    return d;
  }
  addManifest(mediaType: string, bytes: Buffer, tag?: string): Descriptor {
    const d = digestOf(bytes);
    this.manifests.set(d, { mediaType, bytes });
    if (tag) this.tags.set(tag, d);
    return { mediaType, digest: d, size: bytes.length };
  }
  addReferrer(subject: string, desc: Descriptor): void {
    const l = this.referrerLists.get(subject) ?? [];
    l.push(desc);
    this.referrerLists.set(subject, l);
  }

  async resolve(reference: string): Promise<Descriptor> {
    this.calls.push(`resolve ${reference}`);
    const d = this.tags.get(reference) ?? reference;
    const m = this.manifests.get(d);
    if (!m) throw new InputError('MANIFEST_UNKNOWN', `manifest ${reference} not found`);
    return { mediaType: m.mediaType, digest: d as Digest, size: m.bytes.length };
  }
  async fetchManifest(ref: Descriptor | string): Promise<FetchedManifest> {
    const desc = typeof ref === 'string' ? await this.resolve(ref) : ref;
    this.calls.push(`manifest ${desc.digest}`);
    // Stored under the digest, but possibly with other bytes (a corrupting registry): verify.
    const m = this.manifests.get(desc.digest);
    if (!m) throw new InputError('MANIFEST_UNKNOWN', `manifest ${desc.digest} not found`);
    verifyBytes(m.bytes, desc.digest, desc.size, `manifest ${desc.digest}`);
    return { descriptor: desc, bytes: m.bytes };
  }
  async fetchBlob(desc: Descriptor, maxBytes = 4 << 20): Promise<Buffer> {
    this.calls.push(`blob ${desc.digest}`);
    const b = this.blobs.get(desc.digest);
    if (!b) throw new InputError('BLOB_UNKNOWN', `blob ${desc.digest} not found`);
    if (b.length > maxBytes) throw new InputError('TOO_LARGE', 'too large');
    verifyBytes(b, desc.digest, desc.size, `blob ${desc.digest}`);
    return b;
  }
  async fetchBlobStream(desc: Descriptor): Promise<Readable> {
    return Readable.from([await this.fetchBlob(desc)]);
  }
  async hasBlob(desc: Descriptor): Promise<boolean> {
    return this.blobs.has(desc.digest);
  }
  async pushBlob(_desc: Descriptor, content: Buffer | (() => Readable)): Promise<void> {
    if (Buffer.isBuffer(content)) this.addBlob(content);
  }
  async pushManifest(desc: Descriptor, bytes: Buffer, reference?: string): Promise<void> {
    this.addManifest(desc.mediaType, bytes, reference);
  }
  async referrers(subject: Descriptor, artifactType?: string, limit = Infinity): Promise<Descriptor[]> {
    this.calls.push(`referrers ${subject.digest}`);
    return (this.referrerLists.get(subject.digest) ?? []).filter((d) => !artifactType || d.artifactType === artifactType).slice(0, limit);
  }
  async pushReferrer(manifestDesc: Descriptor, manifestBytes: Buffer, subject: Descriptor): Promise<void> {
    this.addManifest(manifestDesc.mediaType, manifestBytes);
    this.addReferrer(subject.digest, manifestDesc);
  }
}
