/**
 * RemoteRepository: one repository on an OCI distribution registry, implementing ArtifactTarget.
 * Distribution spec 1.1 endpoints: manifests (HEAD/GET/PUT/DELETE), blobs (HEAD/GET/DELETE), uploads
 * (monolithic POST+PUT, chunked POST+PATCH…+PUT, cross-repository mount), tags/list with pagination, and
 * referrers (API or tag-schema fallback).
 *
 * Integrity: everything fetched by digest is hashed while it streams and rejected on mismatch; a manifest
 * fetched by tag is hashed by us and must equal the registry's Docker-Content-Digest (if it sends one);
 * manifests are bounded by MAX_MANIFEST_BYTES and buffered blobs by a caller-given limit.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { InputError, isDockerSignError } from '../errors.js';
import { DigestVerifyingStream, digestOf, isDigest, parseDigest, type Digest } from '../oci/digest.js';
import { MAX_MANIFEST_BYTES, validateDescriptor, type Descriptor } from '../oci/descriptor.js';
import { encodeJson, parseJsonObject, type ImageIndex } from '../oci/manifest.js';
import { MANIFEST_ACCEPT, MediaType, isValidMediaType } from '../oci/mediaTypes.js';
import { isValidTag, type Reference } from '../oci/reference.js';
import type { ArtifactTarget, FetchedManifest } from '../oci/target.js';
import { repositoryScope } from './auth.js';
import { RegistryClient, discard, header, readBounded, type Body, type HttpRequest, type HttpResponse } from './client.js';
import { RegistryError, parseErrorBody, registryUrl } from './errors.js';

/** Default cap for fetchBlob (blobs we hold in memory: configs, signature envelopes). */
export const DEFAULT_MAX_BLOB_IN_MEMORY = 32 * 1024 * 1024;
/** Default chunk size for chunked uploads. */
export const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;
const MAX_TAG_PAGE_BYTES = 8 * 1024 * 1024;

export type BlobContent = Buffer | (() => Readable | Promise<Readable>);

export interface PushReferrerOptions {
  /** Attempts of read-merge-write-confirm on the tag-schema path (default 10). */
  maxAttempts?: number;
  /** Delete the superseded referrers index manifest when safe (default true). */
  deleteSuperseded?: boolean;
}

/** The referrers tag schema tag for a subject digest: "<alg>-<hex>", alg ≤ 32 and hex ≤ 64 characters. */
export function referrersTag(subject: Digest | string): string {
  const { algorithm, hex } = parseDigest(subject);
  return `${algorithm.slice(0, 32)}-${hex.slice(0, 64)}`;
}

function mediaTypeOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const mt = contentType.split(';')[0]!.trim();
  return mt || undefined;
}

/** The descriptor the referrers list carries for a referrer manifest (artifactType + annotations per spec). */
export function referrerDescriptor(desc: Descriptor, manifest: Record<string, unknown>): Descriptor {
  const out: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
  const config = manifest.config as { mediaType?: unknown } | undefined;
  const at = typeof manifest.artifactType === 'string' ? manifest.artifactType : typeof config?.mediaType === 'string' ? config.mediaType : undefined;
  // members in the order of Go's ocispec.Descriptor (annotations before artifactType): the index entry oras-go
  // (notation) writes for the same manifest has the same bytes
  const ann = manifest.annotations;
  if (ann && typeof ann === 'object' && !Array.isArray(ann) && Object.keys(ann).length > 0) {
    out.annotations = { ...(ann as Record<string, string>) };
  }
  if (at !== undefined) out.artifactType = at;
  return out;
}

interface RawManifest {
  bytes: Buffer;
  digest: Digest;
  mediaType: string;
  etag?: string;
}

/** Extra PUTs of a manifest the registry refused for an unknown blob (see putManifest). */
const MANIFEST_BLOB_RETRIES = 2;
/** Referrers read at most (ArtifactTarget.referrers' default limit), and pages of the Referrers API followed at most. */
export const MAX_REFERRERS = 10_000;
const MAX_REFERRERS_PAGES = 10_000;

function jitter(baseMs: number, attempt: number): number {
  const cap = Math.min(2000, baseMs * 2 ** attempt);
  return Math.floor(cap / 2 + Math.random() * (cap / 2));
}

export class RemoteRepository implements ArtifactTarget {
  readonly location: string;
  readonly registry: string;
  readonly repository: string;
  private readonly pullScope: string[];
  private readonly pushScope: string[];

  /**
   * `signal`: cancels every request this repository object sends when it aborts (see withSignal). `learnt`: what is
   * known about the registry's Referrers API, shared with the withSignal views of this repository.
   */
  constructor(ref: Reference, readonly client: RegistryClient, private readonly signal?: AbortSignal,
    private readonly learnt: { referrersApi?: boolean } = {}) {
    this.registry = ref.registry;
    this.repository = ref.repository;
    this.location = `${ref.registry}/${ref.repository}`;
    this.pullScope = [repositoryScope(this.repository, ['pull'])];
    this.pushScope = [repositoryScope(this.repository, ['pull', 'push'])];
  }

  /**
   * The same repository (same client: connections, tokens) whose requests are cancelled when `signal` aborts: a
   * caller with a deadline (the guard) stops its registry traffic at the deadline instead of leaving it running.
   */
  withSignal(signal: AbortSignal): RemoteRepository {
    return new RemoteRepository({ registry: this.registry, repository: this.repository }, this.client, signal, this.learnt);
  }

  private send(r: HttpRequest): Promise<HttpResponse> {
    return this.client.send(this.signal ? { ...r, signal: this.signal } : r);
  }

  private url(kind: 'manifests' | 'blobs' | 'referrers', ref: string): string {
    return `/v2/${this.repository}/${kind}/${ref}`;
  }

  private checkSelector(reference: string): void {
    if (!isDigest(reference) && !isValidTag(reference)) {
      throw new InputError('INVALID_REFERENCE', `"${reference}" is neither a tag nor a digest`, {
        hint: 'a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; a digest is sha256:<64 hex>',
      });
    }
  }

  private checkDigest(d: string, what: string): asserts d is Digest {
    if (!isDigest(d)) throw new InputError('INVALID_DIGEST', `${what}: invalid digest "${d}"`, { hint: 'a digest is sha256:<64 lowercase hex>' });
  }

  private accept(extra?: string): string {
    return [...new Set([...(extra ? [extra] : []), ...MANIFEST_ACCEPT])].join(', ');
  }

  // ---------------------------------------------------------------- manifests

  async resolve(reference: string): Promise<Descriptor> {
    this.checkSelector(reference);
    const what = `HEAD manifest ${this.location}:${reference}`;
    const res = await this.send({
      method: 'HEAD', url: this.url('manifests', reference), headers: { accept: this.accept() }, scopes: this.pullScope, what,
    });
    await res.body.dump().catch(() => undefined);
    if (res.status !== 200) {
      if (res.status === 404) throw new RegistryError('MANIFEST_UNKNOWN', `${what}: manifest unknown (HTTP 404)`, { status: 404, hint: 'check the tag or digest' });
      await this.client.fail(res, what, 'MANIFEST_UNKNOWN');
    }
    const digest = header(res.headers, 'docker-content-digest');
    const mediaType = mediaTypeOf(header(res.headers, 'content-type'));
    const len = Number(header(res.headers, 'content-length'));
    if (!isDigest(digest) || !mediaType || !isValidMediaType(mediaType) || !Number.isSafeInteger(len) || len <= 0) {
      // registry did not describe the manifest on HEAD: fetch (and hash) it instead
      return (await this.fetchManifest(reference)).descriptor;
    }
    if (isDigest(reference) && digest !== reference) {
      throw new RegistryError('DIGEST_MISMATCH', `${what}: registry answered with digest ${digest}`, { status: 200 });
    }
    this.rejectSchema1(mediaType, what);
    if (len > MAX_MANIFEST_BYTES) throw new RegistryError('TOO_LARGE', `${what}: manifest is ${len} bytes (limit ${MAX_MANIFEST_BYTES})`);
    return { mediaType, digest, size: len };
  }

  private rejectSchema1(mediaType: string, what: string): void {
    if (mediaType === MediaType.DOCKER_MANIFEST_V1_SIGNED || mediaType === 'application/vnd.docker.distribution.manifest.v1+json') {
      throw new RegistryError('UNSUPPORTED', `${what}: registry returned a Docker schema 1 manifest`, {
        hint: 'schema 1 manifests are not supported; push the image again with a current docker',
      });
    }
  }

  /** GET a manifest, bounded and hashed. undefined on 404 when `allowMissing`. */
  private async getManifestRaw(reference: string, acceptFirst?: string, allowMissing = false): Promise<RawManifest | undefined> {
    const what = `GET manifest ${this.location}${isDigest(reference) ? '@' : ':'}${reference}`;
    const res = await this.send({
      method: 'GET', url: this.url('manifests', reference), headers: { accept: this.accept(acceptFirst) }, scopes: this.pullScope, what,
    });
    if (res.status === 404 && allowMissing) {
      await res.body.dump().catch(() => undefined);
      return undefined;
    }
    if (res.status !== 200) await this.client.fail(res, what, 'MANIFEST_UNKNOWN');
    const len = Number(header(res.headers, 'content-length'));
    if (Number.isFinite(len) && len > MAX_MANIFEST_BYTES) {
      discard(res.body);
      throw new RegistryError('TOO_LARGE', `${what}: manifest is ${len} bytes (limit ${MAX_MANIFEST_BYTES})`);
    }
    const bytes = await readBounded(res.body, MAX_MANIFEST_BYTES, what);
    const claimed = header(res.headers, 'docker-content-digest');
    let digest: Digest;
    if (isDigest(reference)) {
      digest = digestOf(bytes, parseDigest(reference).algorithm);
      if (digest !== reference) throw new RegistryError('DIGEST_MISMATCH', `${what}: content hashes to ${digest}`, { details: { expected: reference, actual: digest } });
    } else {
      const alg = isDigest(claimed) ? parseDigest(claimed).algorithm : 'sha256';
      digest = digestOf(bytes, alg);
      if (claimed !== undefined && claimed !== digest) {
        throw new RegistryError('DIGEST_MISMATCH', `${what}: Docker-Content-Digest ${claimed} does not match the content (${digest})`, {
          details: { expected: claimed, actual: digest },
        });
      }
      if (alg !== 'sha256') digest = digestOf(bytes, 'sha256');
    }
    let body: Record<string, unknown>;
    try {
      body = parseJsonObject(bytes, 'manifest');
    } catch (e) {
      throw new RegistryError('MANIFEST_INVALID', `${what}: ${(e as Error).message}`);
    }
    const ct = mediaTypeOf(header(res.headers, 'content-type'));
    // A document without mediaType that is both a manifest and an index could be read as either by different
    // clients (CVE-2021-41190, the OCI rule since image-spec 1.0.2): signed as one, pulled as the other.
    if (body.mediaType === undefined && body.manifests !== undefined && (body.config !== undefined || body.layers !== undefined)) {
      throw new RegistryError('MANIFEST_INVALID', `${what}: the document has no mediaType and both "manifests" and "config"/"layers", so it is ambiguous`);
    }
    const mediaType = typeof body.mediaType === 'string' ? body.mediaType : ct;
    if (!mediaType || !isValidMediaType(mediaType)) throw new RegistryError('MANIFEST_INVALID', `${what}: manifest has no media type`);
    this.rejectSchema1(mediaType, what);
    const etag = header(res.headers, 'etag');
    return { bytes, digest, mediaType, ...(etag ? { etag } : {}) };
  }

  async fetchManifest(ref: Descriptor | string): Promise<FetchedManifest> {
    if (typeof ref === 'string') {
      this.checkSelector(ref);
      const raw = (await this.getManifestRaw(ref))!;
      return { descriptor: { mediaType: raw.mediaType, digest: raw.digest, size: raw.bytes.length }, bytes: raw.bytes };
    }
    const desc = validateDescriptor(ref);
    const what = `manifest ${this.location}@${desc.digest}`;
    if (desc.size > MAX_MANIFEST_BYTES) throw new RegistryError('TOO_LARGE', `${what}: ${desc.size} bytes exceeds ${MAX_MANIFEST_BYTES}`);
    const raw = (await this.getManifestRaw(desc.digest, desc.mediaType))!;
    if (raw.bytes.length !== desc.size) {
      throw new RegistryError('SIZE_INVALID', `${what}: got ${raw.bytes.length} bytes, descriptor says ${desc.size}`, { exitCode: 1 });
    }
    if (raw.mediaType !== desc.mediaType) {
      throw new RegistryError('MANIFEST_INVALID', `${what}: media type ${raw.mediaType} does not match the descriptor's ${desc.mediaType}`);
    }
    return { descriptor: desc, bytes: raw.bytes };
  }

  /** PUT a manifest; returns the response headers (OCI-Subject, Docker-Content-Digest, Location). */
  private async putManifest(desc: Descriptor, bytes: Buffer, reference: string, ifMatch?: string): Promise<HttpResponse['headers']> {
    const what = `PUT manifest ${this.location}${isDigest(reference) ? '@' : ':'}${reference}`;
    const headers: Record<string, string> = { 'content-type': desc.mediaType };
    if (ifMatch) headers['if-match'] = ifMatch;
    let res: HttpResponse;
    for (let attempt = 0; ; attempt++) {
      res = await this.send({ method: 'PUT', url: this.url('manifests', reference), headers, body: () => bytes, scopes: this.pushScope, what });
      if (res.status === 201 || res.status === 200 || res.status === 202) break;
      try {
        await this.client.fail(res, what, 'NAME_UNKNOWN');
      } catch (e) {
        // Distribution rewrites a blob's repository link in place (truncate, write) each time someone uploads that
        // blob; a manifest PUT checking the link at that moment reads it torn and answers MANIFEST_BLOB_UNKNOWN
        // (with DIGEST_INVALID) for a blob that is there. Eventually consistent storage does similar things right
        // after an upload. The PUT is idempotent: try it again, twice at most; a blob really missing still fails.
        const blobUnknown = e instanceof RegistryError && e.registryErrors.some((x) => x.code === 'MANIFEST_BLOB_UNKNOWN');
        if (!blobUnknown || attempt >= MANIFEST_BLOB_RETRIES) throw e;
      }
      await sleep(jitter(60, attempt));
    }
    await res.body.dump().catch(() => undefined);
    const got = header(res.headers, 'docker-content-digest');
    if (isDigest(got) && parseDigest(got).algorithm === parseDigest(desc.digest).algorithm && got !== desc.digest) {
      throw new RegistryError('DIGEST_MISMATCH', `${what}: registry stored digest ${got}, expected ${desc.digest}`);
    }
    return res.headers;
  }

  async pushManifest(desc: Descriptor, bytes: Buffer, reference?: string): Promise<void> {
    this.checkOwnBytes(desc, bytes, 'manifest');
    if (bytes.length > MAX_MANIFEST_BYTES) throw new RegistryError('TOO_LARGE', `manifest is ${bytes.length} bytes (limit ${MAX_MANIFEST_BYTES})`);
    const ref = reference ?? desc.digest;
    this.checkSelector(ref);
    if (isDigest(ref) && ref !== desc.digest) throw new InputError('INVALID_REFERENCE', `cannot push manifest ${desc.digest} under digest ${ref}`);
    await this.putManifest(desc, bytes, ref);
  }

  private checkOwnBytes(desc: Descriptor, bytes: Buffer, what: string): void {
    validateDescriptor(desc);
    if (bytes.length !== desc.size) throw new InputError('SIZE_MISMATCH', `${what} is ${bytes.length} bytes but its descriptor says ${desc.size}`);
    const actual = digestOf(bytes, parseDigest(desc.digest).algorithm);
    if (actual !== desc.digest) throw new InputError('DIGEST_MISMATCH', `${what} hashes to ${actual} but its descriptor says ${desc.digest}`);
  }

  async deleteManifest(digest: Digest | string): Promise<void> {
    this.checkDigest(digest, 'deleteManifest');
    await this.delete('manifests', digest, 'MANIFEST_UNKNOWN');
  }

  async deleteBlob(digest: Digest | string): Promise<void> {
    this.checkDigest(digest, 'deleteBlob');
    await this.delete('blobs', digest, 'BLOB_UNKNOWN');
  }

  private async delete(kind: 'manifests' | 'blobs', digest: string, notFound: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN'): Promise<void> {
    const what = `DELETE ${kind.slice(0, -1)} ${this.location}@${digest}`;
    const res = await this.send({ method: 'DELETE', url: this.url(kind, digest), scopes: [repositoryScope(this.repository, ['delete'])].concat(this.pushScope), what });
    if (res.status === 202 || res.status === 200 || res.status === 204) {
      await res.body.dump().catch(() => undefined);
      return;
    }
    await this.client.fail(res, what, notFound);
  }

  /**
   * All tags. Follows RFC 8288 Link pagination; with `pageSize`, asks for `n` per page and, when a registry
   * honours `n` but sends no Link (go-containerregistry), continues itself with `last=<last tag seen>` until a
   * short page or a page with nothing new.
   */
  async tags(opts: { pageSize?: number } = {}): Promise<string[]> {
    const n = opts.pageSize && opts.pageSize > 0 ? Math.floor(opts.pageSize) : undefined;
    const base = `/v2/${this.repository}/tags/list`;
    const seen = new Set<string>();
    let next: string | undefined = n ? `${base}?n=${n}` : base;
    for (let page = 0; next && page < 100_000; page++) {
      const what = `GET tags ${this.location}`;
      const res = await this.send({ method: 'GET', url: next, headers: { accept: 'application/json' }, scopes: this.pullScope, what });
      if (res.status !== 200) await this.client.fail(res, what, 'NAME_UNKNOWN');
      const bytes = await readBounded(res.body, MAX_TAG_PAGE_BYTES, what);
      let v: { tags?: unknown };
      try {
        v = JSON.parse(bytes.toString('utf8')) as { tags?: unknown };
      } catch {
        throw new RegistryError('PROTOCOL', `${what}: response is not JSON`);
      }
      if (v.tags !== null && v.tags !== undefined && (!Array.isArray(v.tags) || v.tags.some((t) => typeof t !== 'string'))) {
        throw new RegistryError('PROTOCOL', `${what}: "tags" is not a list of strings`);
      }
      const pageTags = (v.tags as string[] | null | undefined) ?? [];
      const before = seen.size;
      for (const t of pageTags) seen.add(t);
      next = nextLink(header(res.headers, 'link'), res.url, what);
      if (!next && n && pageTags.length >= n && seen.size > before) {
        next = `${base}?n=${n}&last=${encodeURIComponent(pageTags[pageTags.length - 1]!)}`;
      }
    }
    return [...seen];
  }

  // ---------------------------------------------------------------- blobs

  async hasBlob(desc: Descriptor): Promise<boolean> {
    this.checkDigest(desc.digest, 'hasBlob');
    const what = `HEAD blob ${this.location}@${desc.digest}`;
    const res = await this.send({ method: 'HEAD', url: this.url('blobs', desc.digest), scopes: this.pullScope, what, followRedirects: true });
    await res.body.dump().catch(() => undefined);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    return this.client.fail(res, what, 'BLOB_UNKNOWN');
  }

  async fetchBlobStream(desc: Descriptor): Promise<Readable> {
    validateDescriptor(desc);
    const what = `GET blob ${this.location}@${desc.digest}`;
    const res = await this.send({ method: 'GET', url: this.url('blobs', desc.digest), scopes: this.pullScope, what, followRedirects: true });
    if (res.status !== 200) await this.client.fail(res, what, 'BLOB_UNKNOWN');
    const len = header(res.headers, 'content-length');
    if (len !== undefined && Number(len) !== desc.size) {
      discard(res.body);
      throw new RegistryError('SIZE_INVALID', `${what}: registry sends ${len} bytes, descriptor says ${desc.size}`, { exitCode: 1 });
    }
    const verifier = new DigestVerifyingStream(desc.digest, desc.size, `blob ${desc.digest}`);
    res.body.on('error', (e) => verifier.destroy(e));
    verifier.on('close', () => {
      discard(res.body);
    });
    res.body.pipe(verifier);
    return verifier;
  }

  async fetchBlob(desc: Descriptor, maxBytes = DEFAULT_MAX_BLOB_IN_MEMORY): Promise<Buffer> {
    validateDescriptor(desc);
    if (desc.size > maxBytes) {
      throw new RegistryError('TOO_LARGE', `blob ${desc.digest} is ${desc.size} bytes; refusing to load more than ${maxBytes} into memory`);
    }
    const s = await this.fetchBlobStream(desc);
    try {
      return await readBounded(s, maxBytes, `blob ${desc.digest}`);
    } catch (e) {
      if (isDockerSignError(e) && (e.code === 'DIGEST_MISMATCH' || e.code === 'SIZE_MISMATCH')) {
        throw new RegistryError(e.code === 'DIGEST_MISMATCH' ? 'DIGEST_MISMATCH' : 'SIZE_INVALID', `${this.location}: ${e.message}`, {
          cause: e, exitCode: 1, hint: e.hint ?? 'the registry served corrupted content; do not trust it', details: e.details,
        });
      }
      throw e;
    }
  }

  private async startUpload(what: string, query = '', extraScopes: string[] = []): Promise<{ status: number; location?: URL; headers: HttpResponse['headers'] }> {
    const res = await this.send({
      method: 'POST', url: `/v2/${this.repository}/blobs/uploads/${query}`, headers: { 'content-length': '0' },
      scopes: [...this.pushScope, ...extraScopes], what,
    });
    if (res.status !== 202 && res.status !== 201) await this.client.fail(res, what, 'NAME_UNKNOWN');
    await res.body.dump().catch(() => undefined);
    const loc = header(res.headers, 'location');
    return { status: res.status, location: loc ? registryUrl(loc, res.url, what) : undefined, headers: res.headers };
  }

  private async finishUpload(location: URL, desc: Descriptor, body: (() => Body | Promise<Body>) | undefined, length: number, what: string): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', desc.digest);
    const res = await this.send({
      method: 'PUT', url: url.href, body,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(length) },
      scopes: this.pushScope, what,
    });
    if (res.status !== 201 && res.status !== 204) await this.client.fail(res, what, 'BLOB_UPLOAD_UNKNOWN');
    await res.body.dump().catch(() => undefined);
    const got = header(res.headers, 'docker-content-digest');
    if (isDigest(got) && got !== desc.digest && parseDigest(got).algorithm === parseDigest(desc.digest).algorithm) {
      throw new RegistryError('DIGEST_MISMATCH', `${what}: registry stored ${got}`);
    }
  }

  private bodyOf(desc: Descriptor, content: BlobContent): () => Body | Promise<Body> {
    if (Buffer.isBuffer(content)) {
      this.checkOwnBytes(desc, content, `blob ${desc.digest}`);
      return () => content;
    }
    return async () => (await content()) as Readable;
  }

  /** Monolithic upload (POST, then one streamed PUT ?digest=). No-op if the blob exists. */
  async pushBlob(desc: Descriptor, content: BlobContent, opts: { knownAbsent?: boolean } = {}): Promise<void> {
    validateDescriptor(desc);
    const body = this.bodyOf(desc, content);
    if (!opts.knownAbsent && (await this.hasBlob(desc))) return;
    const what = `upload blob ${this.location}@${desc.digest}`;
    const start = await this.startUpload(what);
    if (start.status === 201) return;
    if (!start.location) throw new RegistryError('PROTOCOL', `${what}: upload started without a Location`);
    await this.finishUpload(start.location, desc, body, desc.size, what);
  }

  /**
   * Opens an upload session now (POST) for a blob whose bytes are not known yet, so the POST overlaps the caller's
   * other work: `put()` completes it with one PUT ?digest= (or, if the session could not be opened, uploads the
   * blob the usual way, which reports the error if there is one); `cancel()` ends a session that will not be used
   * (DELETE, best effort). One put or cancel per session.
   */
  openUpload(): { put(desc: Descriptor, content: BlobContent): Promise<void>; cancel(): Promise<void> } {
    const what = `upload blob to ${this.location}`;
    const session = this.startUpload(what);
    session.catch(() => undefined); // handled in put() / cancel()
    let used = false;
    return {
      put: async (desc, content) => {
        used = true;
        validateDescriptor(desc);
        const body = this.bodyOf(desc, content);
        const s = await session.catch(() => undefined);
        if (!s?.location || s.status !== 202) return this.pushBlob(desc, content, { knownAbsent: true });
        await this.finishUpload(s.location, desc, body, desc.size, `upload blob ${this.location}@${desc.digest}`);
      },
      cancel: async () => {
        if (used) return;
        used = true;
        const s = await session.catch(() => undefined);
        if (!s?.location || s.status !== 202) return;
        try {
          const res = await this.send({ method: 'DELETE', url: s.location.href, scopes: this.pushScope, what: `cancel ${what}` });
          await res.body.dump().catch(() => undefined);
        } catch {
          // the registry expires abandoned sessions itself
        }
      },
    };
  }

  /**
   * Chunked upload: POST, PATCH each chunk with Content-Range (the registry's OCI-Chunk-Min-Length is
   * honoured), then PUT ?digest= without a body. Holds one chunk in memory at a time. No-op if present.
   */
  async pushBlobChunked(desc: Descriptor, content: BlobContent, chunkSize = DEFAULT_CHUNK_SIZE): Promise<void> {
    validateDescriptor(desc);
    const source = Buffer.isBuffer(content) ? (this.checkOwnBytes(desc, content, `blob ${desc.digest}`), content) : content;
    if (await this.hasBlob(desc)) return;
    const what = `chunked upload blob ${this.location}@${desc.digest}`;
    const start = await this.startUpload(what);
    if (!start.location) throw new RegistryError('PROTOCOL', `${what}: upload started without a Location`);
    const min = Number(header(start.headers, 'oci-chunk-min-length'));
    const size = Math.max(1, chunkSize, Number.isSafeInteger(min) ? min : 0);
    let location = start.location;
    let offset = 0;
    const patch = async (chunk: Buffer): Promise<void> => {
      const end = offset + chunk.length - 1;
      const res = await this.send({
        method: 'PATCH', url: location.href, body: () => chunk,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(chunk.length), 'content-range': `${offset}-${end}` },
        scopes: this.pushScope, what,
      });
      if (res.status !== 202) await this.client.fail(res, what, 'BLOB_UPLOAD_UNKNOWN');
      await res.body.dump().catch(() => undefined);
      const loc = header(res.headers, 'location');
      if (loc) location = registryUrl(loc, res.url, what);
      const range = header(res.headers, 'range');
      if (range && !new RegExp(`^(bytes=)?0-${end}$`).test(range)) {
        throw new RegistryError('BLOB_UPLOAD_INVALID', `${what}: registry acknowledged range ${range}, expected 0-${end}`);
      }
      offset = end + 1;
    };
    if (Buffer.isBuffer(source)) {
      for (let i = 0; i < source.length; i += size) await patch(source.subarray(i, Math.min(i + size, source.length)));
    } else {
      let pending: Buffer[] = [];
      let n = 0;
      for await (const c of await source()) {
        let buf = Buffer.from(c as Uint8Array);
        while (n + buf.length >= size) {
          const take = size - n;
          pending.push(buf.subarray(0, take));
          await patch(Buffer.concat(pending, size));
          buf = buf.subarray(take);
          pending = [];
          n = 0;
        }
        if (buf.length) {
          pending.push(buf);
          n += buf.length;
        }
      }
      if (n > 0) await patch(Buffer.concat(pending, n));
    }
    if (offset !== desc.size) throw new InputError('SIZE_MISMATCH', `${what}: source had ${offset} bytes, descriptor says ${desc.size}`);
    await this.finishUpload(location, desc, undefined, 0, what);
  }

  /**
   * Cross-repository mount from `fromRepo` on the same registry. If the registry declines (202: an upload
   * session instead), the blob is uploaded into that session from `content`, or streamed from `fromRepo`
   * (digest-verified) when no content is given. Returns what happened.
   */
  async mountBlob(desc: Descriptor, fromRepo: string, content?: BlobContent): Promise<'mounted' | 'uploaded'> {
    validateDescriptor(desc);
    const what = `mount blob ${desc.digest} from ${fromRepo} into ${this.location}`;
    const q = `?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(fromRepo)}`;
    const start = await this.startUpload(what, q, [repositoryScope(fromRepo, ['pull'])]);
    if (start.status === 201) return 'mounted';
    if (!start.location) throw new RegistryError('PROTOCOL', `${what}: upload started without a Location`);
    const body = content
      ? this.bodyOf(desc, content)
      : async () => new RemoteRepository({ registry: this.registry, repository: fromRepo }, this.client).fetchBlobStream(desc);
    await this.finishUpload(start.location, desc, body, desc.size, what);
    return 'uploaded';
  }

  // ---------------------------------------------------------------- referrers

  /** True when the registry answers the Referrers API for this repository (probed once, cached). */
  async supportsReferrersApi(): Promise<boolean> {
    if (this.learnt.referrersApi === undefined) {
      // any well-formed digest works: a conforming registry answers 200 with an (empty) index
      const probe = digestOf('docker-sign referrers probe');
      const page = await this.referrersPage(this.url('referrers', probe));
      if (page === 'unknown-repository') return false; // repository does not exist yet: ask again later
      this.learnt.referrersApi = page !== undefined;
    }
    return this.learnt.referrersApi;
  }

  /** One page of the Referrers API, or undefined when the registry does not support it (404 / not an index). */
  private async referrersPage(url: string): Promise<{ manifests: Descriptor[]; filtered: boolean; next?: string } | 'unknown-repository' | undefined> {
    const what = `GET referrers ${this.location}`;
    const res = await this.send({ method: 'GET', url, headers: { accept: MediaType.OCI_INDEX }, scopes: this.pullScope, what });
    if (res.status === 404) {
      // Distribution without the API: plain-text "404 page not found". A registry with the API answers an unknown
      // repository with a NAME_UNKNOWN error body: nothing to list, but not proof either way.
      const text = (await readBounded(res.body, 64 * 1024, what).catch(() => Buffer.alloc(0))).toString('utf8');
      return parseErrorBody(text).some((e) => e.code === 'NAME_UNKNOWN') ? 'unknown-repository' : undefined;
    }
    if (res.status !== 200) await this.client.fail(res, what);
    const bytes = await readBounded(res.body, MAX_MANIFEST_BYTES, what);
    const ct = mediaTypeOf(header(res.headers, 'content-type'));
    let v: Record<string, unknown>;
    try {
      v = parseJsonObject(bytes, 'referrers response');
    } catch {
      return undefined;
    }
    // some registries (go-containerregistry) label the index text/plain: judge by the body
    const isIndex = v.schemaVersion === 2 && Array.isArray(v.manifests) && (v.mediaType === MediaType.OCI_INDEX || ct === MediaType.OCI_INDEX);
    if (!isIndex) return undefined;
    const manifests = (v.manifests as unknown[]).map((d, i) => {
      try {
        return validateDescriptor(d, `referrers entry ${i}`);
      } catch (e) {
        throw new RegistryError('PROTOCOL', `${what}: ${(e as Error).message}`);
      }
    });
    const applied = (header(res.headers, 'oci-filters-applied') ?? '').split(',').map((s) => s.trim());
    return { manifests, filtered: applied.includes('artifactType'), next: nextLink(header(res.headers, 'link'), res.url, what) };
  }

  /**
   * Referrers of `subject` (optionally of one artifactType), found as oras-go (so notation) finds them: the Referrers
   * API's list (all pages; filtered here when the registry did not apply the filter) when the registry serves the
   * API, else the referrers tag-schema index. A tag index left next to a working API (say, from before the registry
   * gained it) is not read, as notation does not read it: what verifies here verifies there.
   * The entries are claims; callers that act on a referrer fetch it by digest and check its `subject`.
   */
  async referrers(subject: Descriptor, artifactType?: string, limit = MAX_REFERRERS): Promise<Descriptor[]> {
    this.checkDigest(subject.digest, 'referrers');
    const byType = (list: Descriptor[]) => (artifactType ? list.filter((d) => d.artifactType === artifactType) : list);
    let indexRead: ReturnType<RemoteRepository['readReferrersIndex']> | undefined;
    if (this.learnt.referrersApi !== false) {
      // Until the registry has shown whether it serves the API, the tag index is asked for at the same time: it is
      // the answer when the API turns out to be missing.
      if (this.learnt.referrersApi === undefined) {
        indexRead = this.readReferrersIndex(subject.digest);
        indexRead.catch(() => undefined); // used only without the API
      }
      // Pages are read until `limit` distinct entries are in hand (the verifier needs no more than it may evaluate,
      // plus one to know that there are more), so a registry serving endless pages costs bounded memory and time;
      // a next link seen before is a loop.
      const all = new Map<string, Descriptor>();
      let url: string | undefined = this.url('referrers', subject.digest) + (artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '');
      const visited = new Set<string>();
      let api = false;
      for (let page = 0; url && all.size < limit; page++) {
        if (page >= MAX_REFERRERS_PAGES) throw new RegistryError('PROTOCOL', `GET referrers ${this.location}: more than ${MAX_REFERRERS_PAGES} pages`);
        if (visited.has(url)) throw new RegistryError('PROTOCOL', `GET referrers ${this.location}: the pages link back to ${url}`);
        visited.add(url);
        const p = await this.referrersPage(url);
        if (p === 'unknown-repository') return [];
        if (!p) {
          if (page > 0) throw new RegistryError('PROTOCOL', `GET referrers ${this.location}: a later page was not an index`);
          this.learnt.referrersApi = false;
          break;
        }
        api = true;
        this.learnt.referrersApi = true;
        for (const d of p.filtered ? p.manifests : byType(p.manifests)) if (!all.has(d.digest)) all.set(d.digest, d);
        url = p.next;
      }
      if (api) return [...all.values()].slice(0, limit);
    }
    const idx = await (indexRead ?? this.readReferrersIndex(subject.digest));
    return dedupe(byType(idx?.index.manifests ?? [])).slice(0, limit);
  }

  private async readReferrersIndex(subject: Digest): Promise<{ raw: RawManifest; index: ImageIndex } | undefined> {
    const tag = referrersTag(subject);
    const raw = await this.getManifestRaw(tag, MediaType.OCI_INDEX, true);
    if (!raw) return undefined;
    let v: Record<string, unknown>;
    try {
      v = parseJsonObject(raw.bytes, 'referrers index');
    } catch (e) {
      throw new RegistryError('MANIFEST_INVALID', `${this.location}:${tag}: ${(e as Error).message}`);
    }
    if (raw.mediaType !== MediaType.OCI_INDEX || v.schemaVersion !== 2 || !Array.isArray(v.manifests)) {
      throw new RegistryError('MANIFEST_INVALID', `${this.location}:${tag} is not an OCI image index (${raw.mediaType})`, {
        hint: `the referrers tag ${tag} holds something else; remove or fix it`,
      });
    }
    const manifests = v.manifests.map((d, i) => validateDescriptor(d, `referrers index entry ${i}`));
    return { raw, index: { ...(v as unknown as ImageIndex), manifests } };
  }

  /**
   * Pushes a referrer manifest and makes it discoverable. If the registry acknowledges the subject with an
   * OCI-Subject header it indexes the referrer itself. Otherwise the referrers tag schema is maintained with
   * read → merge → write → settle → re-read, retried with jittered backoff until our entry is observed after a
   * settle delay (a concurrent writer that read before our write may overwrite it; re-reading after the delay
   * catches that, and we merge again on top of their result).
   */
  async pushReferrer(manifestDesc: Descriptor, manifestBytes: Buffer, subject: Descriptor, opts: PushReferrerOptions = {}): Promise<void> {
    this.checkOwnBytes(manifestDesc, manifestBytes, 'referrer manifest');
    this.checkDigest(subject.digest, 'pushReferrer subject');
    let m: Record<string, unknown>;
    try {
      m = parseJsonObject(manifestBytes, 'referrer manifest');
    } catch (e) {
      throw new InputError('INVALID_MANIFEST', (e as Error).message);
    }
    const subj = m.subject as { digest?: unknown } | undefined;
    if (!subj || subj.digest !== subject.digest) {
      throw new InputError('INVALID_MANIFEST', `referrer manifest's subject is ${JSON.stringify(subj?.digest)}, not ${subject.digest}`);
    }
    const headers = await this.putManifest(manifestDesc, manifestBytes, manifestDesc.digest);
    const ack = header(headers, 'oci-subject');
    if (ack === subject.digest) {
      this.learnt.referrersApi = true;
      return;
    }
    await this.addToReferrersIndex(subject.digest, referrerDescriptor(manifestDesc, m), opts);
  }

  private async addToReferrersIndex(subject: Digest, entry: Descriptor, opts: PushReferrerOptions): Promise<void> {
    const tag = referrersTag(subject);
    const maxAttempts = opts.maxAttempts ?? 10;
    const window = { ms: 0 };
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      try {
        if (await this.referrersIndexRound(subject, tag, entry, opts, attempt > 0, window)) return;
      } catch (e) {
        // a concurrent writer's cleanup can make the registry fail a read for a moment: try again
        if (!(e instanceof RegistryError && (e.code === 'UNAVAILABLE' || e.code === 'MANIFEST_UNKNOWN')) || attempt === maxAttempts - 1) throw e;
      }
      await sleep(jitter(50, attempt));
    }
    throw new RegistryError('CONFLICT', `${this.location}: could not add referrer ${entry.digest} to ${tag} after ${maxAttempts} attempts (concurrent writers)`, {
      hint: 'retry the operation',
    });
  }

  /**
   * One read-merge-write round, then the wait for a quiet index; true when our entry is in the tagged index and no
   * writer can still be about to drop it. `contended`: an earlier round lost a race, so the tag is checked again
   * right before the write. `window`: the longest read-to-write cycle measured so far (kept across rounds).
   *
   * Registries without conditional PUT let a writer that merged an index without our entry overwrite ours. Such a
   * writer read that index at most one read-to-write cycle before its write lands: after our write, once the tag has
   * held an index with our entry for a whole cycle without any write, every writer that read an index without it
   * has written already, and those that read since have read ours. So: settle one cycle (1-1.5x our own: the
   * other writers' cycles are not known, ours is the estimate; 5 ms .. 1 s), re-read; our entry missing: merge
   * again; there and the tag unchanged (still our index, or the index we found it in): done; there but the tag
   * moved (a writer merged on top during the settle, while others may still hold an older read without our entry,
   * as seen with 8 signers at once): settle again from that index. A writer slower than our cycle is caught only if
   * it re-reads itself, as docker-sign does.
   */
  private async referrersIndexRound(subject: Digest, tag: string, entry: Descriptor, opts: PushReferrerOptions,
    contended: boolean, window: { ms: number }): Promise<boolean> {
    // The read comes after the referrer manifest is written, right before our write, so the window in which a
    // concurrent write gets lost is this read-to-write cycle. (Reading while the manifest is written would save the
    // read's time but widen the window by the manifest write, which every settle then waits out.)
    const started = performance.now();
    const cur = await this.readReferrersIndex(subject);
    let cleanup: Promise<void> | undefined;
    let quiet = cur?.raw.digest;
    if (!cur?.index.manifests.some((d) => d.digest === entry.digest)) {
      const others = cur?.index.manifests ?? [];
      const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [...dedupe(others), entry] };
      const bytes = encodeJson(index);
      if (bytes.length > MAX_MANIFEST_BYTES) {
        // an index no reader would take (ours and others refuse manifests this big) must not replace a working one
        throw new RegistryError('TOO_LARGE', `${this.location}:${tag} would grow to ${bytes.length} bytes with this signature (limit ${MAX_MANIFEST_BYTES})`, {
          hint: 'the image has too many referrers for the referrers tag schema; use a registry with the Referrers API',
        });
      }
      const desc: Descriptor = { mediaType: MediaType.OCI_INDEX, digest: digestOf(bytes), size: bytes.length };
      // Under contention, narrow the lost-update window on registries without conditional PUT: the tag must still be
      // what we merged.
      if (contended && (await this.currentTagDigest(tag)) !== cur?.raw.digest) return false;
      try {
        await this.putManifest(desc, bytes, tag, cur?.raw.etag);
      } catch (e) {
        if (e instanceof RegistryError && e.code === 'PRECONDITION_FAILED') return false; // another writer changed the tag
        throw e;
      }
      quiet = desc.digest;
      // The index we replaced is garbage now (ours holds all its entries): drop it while we settle.
      if (cur && opts.deleteSuperseded !== false) cleanup = this.deleteReplacedIndex(tag, cur.raw.digest);
    }
    window.ms = Math.max(window.ms, performance.now() - started);
    const settle = () => sleep(Math.min(1000, Math.max(5, window.ms * (1 + Math.random() / 2))));
    await Promise.all([settle(), cleanup]);
    for (let check = 0; check < 10; check++) {
      const after = await this.readReferrersIndex(subject);
      if (!after?.index.manifests.some((d) => d.digest === entry.digest)) return false;
      if (after.raw.digest === quiet) return true;
      quiet = after.raw.digest;
      await settle();
    }
    return false; // never quiet: start a new round (its read finds our entry and waits for quiet again)
  }

  private async currentTagDigest(tag: string): Promise<Digest | undefined> {
    try {
      return (await this.resolve(tag)).digest;
    } catch (e) {
      if (e instanceof RegistryError && (e.code === 'MANIFEST_UNKNOWN' || e.code === 'NAME_UNKNOWN' || e.code === 'NOT_FOUND')) return undefined;
      throw e;
    }
  }

  /**
   * Deletes the index manifest `old` that our write just replaced (oras-go/notation do the same), but only when
   * safe. On Distribution, DELETE by digest removes the manifest AND every tag pointing at it, so deleting an index
   * the referrers tag points to would wipe the whole referrers list: a fresh resolve right before the DELETE must
   * show the tag elsewhere. Nothing becomes unreachable: the index we wrote holds every entry of `old`, and so does
   * whatever a later writer merged on top of it. Registries without DELETE (405 / UNSUPPORTED) are left alone;
   * cleanup failures never fail the push.
   */
  private async deleteReplacedIndex(tag: string, old: Digest): Promise<void> {
    try {
      if ((await this.currentTagDigest(tag)) === old) return;
      await this.deleteManifest(old);
    } catch {
      // best effort: 405/UNSUPPORTED (delete disabled), DENIED, already gone… the referrer is discoverable anyway
    }
  }
}

function dedupe(list: Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return list.filter((d) => (seen.has(d.digest) ? false : (seen.add(d.digest), true)));
}

/** The rel="next" target of an RFC 8288 Link header, resolved against the request URL. */
export function nextLink(link: string | undefined, base: URL, what = 'Link header'): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*(.*)$/.exec(part);
    if (m && /(^|;)\s*rel\s*=\s*"?next"?\s*(;|$)/i.test(m[2]!)) return registryUrl(m[1]!, base, what).href;
  }
  return undefined;
}
