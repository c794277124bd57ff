/**
 * An OCI image layout directory (image-spec 1.1 "image-layout.md") as an ArtifactTarget:
 *
 *   <dir>/oci-layout          {"imageLayoutVersion":"1.0.0"}
 *   <dir>/index.json          image index; tags = `org.opencontainers.image.ref.name` annotations
 *   <dir>/blobs/<alg>/<hex>   content-addressed blobs
 *
 * Guarantees:
 * - Writes are atomic: blobs are written to a temp file next to their final place, verified against their digest
 *   and size, then renamed; index.json is rewritten the same way. A crash never leaves a half-written blob or index.
 * - Durability: index.json and blobs pushed without `{ durable: false }` are fsync'd before they are renamed into
 *   place. Blobs that can be made again from the image store (generated config, layers, manifests: pushBlob
 *   `{ durable: false }`) and sidecars (caches) are not: a crash may leave such a file empty or missing, which the
 *   next reader sees (digest/size check, or a sidecar read as empty) and generate makes again. Skipping those
 *   fsyncs matters: on ext4 an fsync also waits for other dirty data (a layer just written), ~5-8 ms each.
 * - index.json read-modify-write cycles run under `index.json.lock` (O_EXCL lock file holding the owner's pid), so
 *   concurrent processes never lose each other's entries. A lock whose owner process is gone is broken.
 * - Every read verifies the digest (and size) of what it returns.
 * - Referrers are found the OCI-layout way: by scanning the manifests listed in index.json for a `subject`
 *   that matches; pushReferrer adds the referrer manifest to index.json (untagged).
 * - Blobs are written before the index entries that reference them; with `blobsRequired` (our local store)
 *   pushManifest checks it under the index lock (MANIFEST_BLOB_UNKNOWN otherwise, as a registry answers): the index
 *   never points at missing content (after a crash at most at regenerable content, see above, which its reader finds
 *   missing). Blobs are deleted only under the same lock (src/docker/prune.ts), so a prune cannot slip between that
 *   check and the index write.
 *
 * Sidecar JSON files (e.g. the layer cache of src/docker) can be kept in the layout directory with
 * readSidecar/updateSidecar, which use the same locking and atomic-rename scheme.
 */
import { createWriteStream, rmSync, promises as fsp, constants as fsc } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join, resolve, dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { DockerSignError, InputError, EXIT } from '../errors.js';
import { DigestVerifyingStream, DigestMismatchError, SizeMismatchError, isDigest, parseDigest, verifyBytes, type Digest } from './digest.js';
import { validateDescriptor, coreDescriptor, type Descriptor, MAX_MANIFEST_BYTES } from './descriptor.js';
import { MediaType, isManifestMediaType, isIndexMediaType } from './mediaTypes.js';
import { parseJsonObject, encodeJson, type ImageIndex } from './manifest.js';
import type { ArtifactTarget, FetchedManifest } from './target.js';
import { mkdirs } from '../config/mkdir.js';
import { LockTimeoutError, pidAlive, withFileLock as lockFile } from '../config/files.js';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
const LAYOUT_FILE = 'oci-layout';
const INDEX_FILE = 'index.json';
const LAYOUT_VERSION = '1.0.0';

export class LayoutError extends DockerSignError {
  constructor(code: string, message: string, opts: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(code, message, { exitCode: EXIT.USAGE, ...opts });
  }
}

export interface OpenOptions {
  /** Create the directory and its layout files when missing (default false). */
  create?: boolean;
  /** How long to wait for the index lock before failing (default 30 s). */
  lockTimeoutMs?: number;
  /**
   * pushManifest lists a manifest only when its config and layers are in the layout (our local store, whose blobs
   * `docker sign store prune` deletes). Off for other layouts: the image-layout spec lets a layout miss blobs that
   * an external blob store supplies.
   */
  blobsRequired?: boolean;
}

/** Whether `p` exists; "cannot tell" (ENOTDIR: a file where a directory should be; EACCES) is an error. */
async function existsOrThrow(p: string): Promise<boolean> {
  try {
    await fsp.access(p, fsc.F_OK);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Whether `p` exists, any failure to tell counting as no. */
const exists = (p: string): Promise<boolean> => existsOrThrow(p).catch(() => false);

function tmpName(dir: string, base: string): string {
  return join(dir, `.${base}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Temp blob files being written by this process. Interrupted by Ctrl-C or SIGTERM (a push that is compressing a
 * big layer), the process removes them before it goes, instead of leaving up to a layer's size behind for
 * `store prune` to find ten minutes later. The handlers are there only while such files exist; when nothing
 * else handles the signal, it is raised again so the process ends as the signal ends it (exit 130 / 143).
 */
const liveTemps = new Set<string>();

function onTempSignal(signal: NodeJS.Signals): void {
  for (const t of liveTemps) {
    try {
      rmSync(t, { force: true });
    } catch { /* the signal still ends the process */ }
  }
  liveTemps.clear();
  process.removeListener('SIGINT', onTempSignal);
  process.removeListener('SIGTERM', onTempSignal);
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function trackTemp(path: string): void {
  liveTemps.add(path);
  if (liveTemps.size === 1) {
    process.on('SIGINT', onTempSignal);
    process.on('SIGTERM', onTempSignal);
  }
}

function untrackTemp(path: string): void {
  if (liveTemps.delete(path) && liveTemps.size === 0) {
    process.removeListener('SIGINT', onTempSignal);
    process.removeListener('SIGTERM', onTempSignal);
  }
}

/** Writes `data` to `file` atomically (temp file in the same directory, fsync unless `sync: false`, rename). */
export async function writeFileAtomic(file: string, data: Buffer | string, opts: { sync?: boolean } = {}): Promise<void> {
  const tmp = tmpName(dirname(file), 'w');
  const fh = await fsp.open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    if (opts.sync !== false) await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

export { pidAlive };

/**
 * Runs `fn` while holding `<file>.lock` (src/config/files.ts: O_EXCL lock file with our pid, stale locks broken).
 * A timeout is STORE_LOCKED.
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  try {
    return await lockFile(file, fn, timeoutMs);
  } catch (e) {
    if (e instanceof LockTimeoutError) {
      throw new LayoutError('STORE_LOCKED', e.message, {
        hint: 'another docker-sign process is updating the store; if none is running, remove the lock file',
        exitCode: EXIT.UNAVAILABLE,
      });
    }
    throw e;
  }
}

function emptyIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [] };
}

/** A writer for a blob whose digest is not known up front (e.g. a layer being compressed). */
export interface BlobWriter {
  write(chunk: Buffer): Promise<void>;
  /** Digest and size of what was written so far (does not finish the writer). */
  current(): { digest: Digest; size: number };
  /** Finishes the blob: verifies (if expected) and moves it into place; returns its descriptor. */
  commit(mediaType: string, expected?: Pick<Descriptor, 'digest' | 'size'>): Promise<Descriptor>;
  /** Discards the temp file. Safe to call after commit or twice. */
  abort(): Promise<void>;
}

export class OciLayout implements ArtifactTarget {
  readonly location: string;
  private readonly lockTimeoutMs: number;
  private readonly blobsRequired: boolean;

  private constructor(readonly dir: string, opts: OpenOptions) {
    this.location = `oci-layout:${dir}`;
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 30_000;
    this.blobsRequired = opts.blobsRequired === true;
  }

  /** Opens (and with `create`, initialises) the layout at `dir`; validates the oci-layout file. */
  static async open(dir: string, opts: OpenOptions = {}): Promise<OciLayout> {
    const root = resolve(dir);
    const layoutFile = join(root, LAYOUT_FILE);
    if (!(await existsOrThrow(layoutFile))) {
      if (!opts.create) {
        throw new LayoutError('LAYOUT_NOT_FOUND', `${root} is not an OCI image layout (no ${LAYOUT_FILE} file)`, {
          hint: 'run `docker generate manifest IMAGE` first, or point to a directory holding an OCI image layout',
        });
      }
      await mkdirs(join(root, 'blobs', 'sha256'));
      await withFileLock(join(root, INDEX_FILE), async () => {
        if (!(await exists(join(root, INDEX_FILE)))) await writeFileAtomic(join(root, INDEX_FILE), encodeJson(emptyIndex()));
        if (!(await exists(layoutFile))) await writeFileAtomic(layoutFile, encodeJson({ imageLayoutVersion: LAYOUT_VERSION }));
      }, opts.lockTimeoutMs);
    }
    let meta: Record<string, unknown>;
    try {
      meta = parseJsonObject(await fsp.readFile(layoutFile), LAYOUT_FILE);
    } catch (e) {
      throw new LayoutError('LAYOUT_INVALID', `${layoutFile} is not valid: ${(e as Error).message}`, { cause: e });
    }
    if (meta.imageLayoutVersion !== LAYOUT_VERSION) {
      throw new LayoutError('LAYOUT_INVALID', `${layoutFile}: unsupported imageLayoutVersion ${JSON.stringify(meta.imageLayoutVersion)}`);
    }
    return new OciLayout(root, opts);
  }

  // ---------------------------------------------------------------- blobs

  blobPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.dir, 'blobs', algorithm, hex);
  }

  /** True if the blob file exists with the descriptor's size (content is verified on every read). */
  async hasBlob(desc: Pick<Descriptor, 'digest' | 'size'>): Promise<boolean> {
    try {
      const st = await fsp.stat(this.blobPath(desc.digest));
      return st.isFile() && st.size === desc.size;
    } catch {
      return false;
    }
  }

  async fetchBlob(desc: Descriptor, maxBytes = MAX_MANIFEST_BYTES): Promise<Buffer> {
    if (desc.size > maxBytes) {
      throw new InputError('BLOB_TOO_LARGE', `blob ${desc.digest} is ${desc.size} bytes, more than the ${maxBytes} allowed here`);
    }
    let data: Buffer;
    try {
      data = await fsp.readFile(this.blobPath(desc.digest));
    } catch (e) {
      throw this.notFoundOr(`blob ${desc.digest}`, e);
    }
    verifyBytes(data, desc.digest, desc.size, `blob ${desc.digest}`, this.damagedHint());
    return data;
  }

  /** What to do about a blob file whose content is not what its name says. */
  private damagedHint(): string {
    return this.blobsRequired
      ? 'the local store\'s copy is damaged: `docker sign store prune` removes damaged blobs (and the signatures that need them); `docker generate manifest --force IMAGE` makes an image\'s blobs again'
      : `the file in ${join(this.dir, 'blobs')} is damaged or was modified; do not trust it`;
  }

  async fetchBlobStream(desc: Descriptor): Promise<Readable> {
    const path = this.blobPath(desc.digest);
    let fh;
    try {
      fh = await fsp.open(path, 'r');
    } catch (e) {
      throw this.notFoundOr(`blob ${desc.digest}`, e);
    }
    const src = fh.createReadStream({ highWaterMark: 1 << 20 });
    const verify = new DigestVerifyingStream(desc.digest, desc.size, `blob ${desc.digest}`, this.damagedHint());
    src.on('error', (e) => verify.destroy(e));
    return src.pipe(verify);
  }

  /** Stores a blob; verifies content against `desc` before it becomes visible. No-op if already present. */
  /**
   * Stores a blob (verified against desc). `durable: false` for blobs that can be made again (see the module
   * comment): no fsync. A streamed blob is never fsync'd (they are layers).
   */
  async pushBlob(desc: Descriptor, content: Buffer | (() => Readable), opts: { knownAbsent?: boolean; durable?: boolean } = {}): Promise<void> {
    if (await this.hasBlob(desc)) return;
    if (Buffer.isBuffer(content)) {
      verifyBytes(content, desc.digest, desc.size, `blob ${desc.digest}`);
      const final = this.blobPath(desc.digest);
      await mkdirs(dirname(final));
      await writeFileAtomic(final, content, { sync: opts.durable !== false });
      return;
    }
    const final = this.blobPath(desc.digest);
    await mkdirs(dirname(final));
    const tmp = tmpName(dirname(final), 'blob');
    try {
      const { pipeline } = await import('node:stream/promises');
      await pipeline(content(), new DigestVerifyingStream(desc.digest, desc.size, `blob ${desc.digest}`), createWriteStream(tmp, { flags: 'wx' }));
      await fsp.rename(tmp, final);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
  }

  /**
   * Opens a writer for a blob whose digest is computed while writing (sha256). Nothing is visible in the store
   * until commit(), which renames the verified temp file into blobs/sha256/<hex>.
   */
  async openBlobWriter(): Promise<BlobWriter> {
    const dir = join(this.dir, 'blobs', 'sha256');
    await mkdirs(dir);
    const tmp = tmpName(dir, 'ingest');
    trackTemp(tmp);
    let fh: Awaited<ReturnType<typeof fsp.open>>;
    try {
      fh = await fsp.open(tmp, 'wx', 0o644);
    } catch (e) {
      untrackTemp(tmp);
      throw e;
    }
    const hash = createHash('sha256');
    let size = 0;
    let closed = false;
    const close = async () => {
      if (!closed) {
        closed = true;
        await fh.close();
      }
    };
    return {
      write: async (chunk: Buffer) => {
        hash.update(chunk);
        size += chunk.length;
        let off = 0;
        while (off < chunk.length) {
          const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
          off += bytesWritten;
        }
      },
      current: () => ({ digest: `sha256:${hash.copy().digest('hex')}` as Digest, size }),
      commit: async (mediaType: string, expected?: Pick<Descriptor, 'digest' | 'size'>) => {
        const digest = `sha256:${hash.digest('hex')}` as Digest;
        try {
          if (expected && expected.size !== size) throw new SizeMismatchError(expected.size, size);
          if (expected && expected.digest !== digest) throw new DigestMismatchError(expected.digest, digest);
          await close();
          await fsp.rename(tmp, join(dir, digest.slice('sha256:'.length)));
          untrackTemp(tmp);
        } catch (e) {
          await close().catch(() => undefined);
          await fsp.rm(tmp, { force: true });
          untrackTemp(tmp);
          throw e;
        }
        return { mediaType, digest, size };
      },
      abort: async () => {
        await close().catch(() => undefined);
        await fsp.rm(tmp, { force: true });
        untrackTemp(tmp);
      },
    };
  }

  /**
   * Every file under blobs/: the blobs (named by a valid digest) with size and modification time, and the temp
   * files writers leave while they work (`.<kind>.<pid>.<random>.tmp`; a crashed writer's stay behind).
   */
  async listBlobFiles(): Promise<{ blobs: StoredBlobFile[]; temps: { path: string; pid?: number; size: number; mtimeMs: number }[] }> {
    const blobs: StoredBlobFile[] = [];
    const temps: { path: string; pid?: number; size: number; mtimeMs: number }[] = [];
    let algs: string[];
    try {
      algs = await fsp.readdir(join(this.dir, 'blobs'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { blobs, temps };
      throw e;
    }
    for (const alg of algs) {
      const dir = join(this.dir, 'blobs', alg);
      let names: string[];
      try {
        names = await fsp.readdir(dir);
      } catch {
        continue; // not a directory
      }
      for (const name of names) {
        const path = join(dir, name);
        const st = await fsp.lstat(path).catch(() => undefined);
        if (!st?.isFile()) continue;
        const tmp = /^\.[a-z-]+\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name);
        if (tmp) temps.push({ path, pid: Number(tmp[1]), size: st.size, mtimeMs: st.mtimeMs });
        else if (isDigest(`${alg}:${name}`)) blobs.push({ digest: `${alg}:${name}` as Digest, size: st.size, mtimeMs: st.mtimeMs });
      }
    }
    return { blobs, temps };
  }

  /** Removes a blob file (gone already: fine). The caller makes sure nothing listed in the index needs it. */
  async deleteBlob(digest: Digest): Promise<void> {
    await fsp.rm(this.blobPath(digest), { force: true });
  }

  // ---------------------------------------------------------------- index

  /** Reads and validates index.json. */
  async readIndex(): Promise<ImageIndex> {
    let raw: Buffer;
    try {
      raw = await fsp.readFile(join(this.dir, INDEX_FILE));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyIndex();
      throw e;
    }
    const file = join(this.dir, INDEX_FILE);
    try {
      const v = parseJsonObject(raw, file);
      if (v.schemaVersion !== 2 || !Array.isArray(v.manifests)) throw new Error(`${file} is not an OCI image index`);
      v.manifests.forEach((d, i) => validateDescriptor(d, `${INDEX_FILE} manifests[${i}]`));
      return v as unknown as ImageIndex;
    } catch (e) {
      // not a damaged manifest (callers may skip those): nothing in this layout can be found without its index
      throw new LayoutError('LAYOUT_INVALID', `${this.blobsRequired ? 'the local store' : 'the OCI layout'}'s index is damaged: ${(e as Error).message}`, {
        cause: e,
        hint: this.blobsRequired
          ? `index.json lists what the local store holds; restore it, or move ${this.dir} aside to start a new store (signatures kept only there must then be made again)`
          : 'index.json must be an OCI image index (image-layout specification)',
      });
    }
  }

  /** Read-modify-write of index.json under the lock; `fn` mutates (or replaces) the index. */
  async updateIndex(fn: (index: ImageIndex) => ImageIndex | void | Promise<ImageIndex | void>): Promise<ImageIndex> {
    return this.withIndexLock(async (idx, write) => {
      const next = (await fn(idx)) ?? idx;
      await write(next);
      return next;
    });
  }

  /**
   * Runs `fn` holding the index lock, with the current index and a writer for index.json (atomic, fsync'd). No
   * other process changes index.json meanwhile (every update takes the same lock): what `fn` decides from the
   * index stays true until it returns.
   */
  async withIndexLock<T>(fn: (index: ImageIndex, write: (next: ImageIndex) => Promise<void>) => Promise<T>): Promise<T> {
    const file = join(this.dir, INDEX_FILE);
    return withFileLock(file, async () => fn(await this.readIndex(), (next) => writeFileAtomic(file, encodeJson(next))), this.lockTimeoutMs);
  }

  /** Tags (ref.name annotations) in index.json with their descriptors. */
  async tags(): Promise<{ name: string; descriptor: Descriptor }[]> {
    const idx = await this.readIndex();
    return idx.manifests
      .filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== undefined)
      .map((d) => ({ name: d.annotations![REF_NAME_ANNOTATION], descriptor: d }));
  }

  async resolve(reference: string): Promise<Descriptor> {
    const idx = await this.readIndex();
    if (isDigest(reference)) {
      const hit = idx.manifests.find((d) => d.digest === reference);
      if (hit) return coreDescriptor(hit);
      // A manifest blob present in the store but not listed: derive its media type from the content.
      let bytes: Buffer;
      try {
        bytes = await fsp.readFile(this.blobPath(reference));
      } catch (e) {
        throw this.notFoundOr(`manifest ${reference}`, e);
      }
      verifyBytes(bytes, reference, undefined, `manifest ${reference}`);
      const m = parseJsonObject(bytes, 'manifest');
      const mt = typeof m.mediaType === 'string' ? m.mediaType : Array.isArray(m.manifests) ? MediaType.OCI_INDEX : MediaType.OCI_MANIFEST;
      return { mediaType: mt, digest: reference, size: bytes.length };
    }
    const hits = idx.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === reference);
    if (hits.length === 0) throw this.notFound(`reference ${reference}`);
    // Readers disagree on a tag given to several manifests (oras-go, which notation uses, takes the last entry;
    // skopeo the first): name none of them rather than pick one.
    const digests = [...new Set(hits.map((d) => d.digest))];
    if (digests.length > 1) {
      throw new InputError('AMBIGUOUS_REFERENCE', `${this.location}: the tag ${reference} names ${digests.length} different manifests in index.json (${digests.join(', ')})`, {
        hint: 'use the digest of the one you mean, or fix the layout so that each tag names one manifest',
      });
    }
    return coreDescriptor(hits[0]!);
  }

  async fetchManifest(ref: Descriptor | string): Promise<FetchedManifest> {
    const descriptor = typeof ref === 'string' ? await this.resolve(ref) : ref;
    const bytes = await this.fetchBlob(descriptor, MAX_MANIFEST_BYTES);
    return { descriptor, bytes };
  }

  /**
   * Stores a manifest blob (`durable` as for pushBlob) and lists it in index.json. With a tag `reference` (anything that is not a digest) the
   * entry carries it as `org.opencontainers.image.ref.name`, and the tag is moved off any other entry.
   */
  async pushManifest(desc: Descriptor, bytes: Buffer, reference?: string, opts: { durable?: boolean } = {}): Promise<void> {
    verifyBytes(bytes, desc.digest, desc.size, `manifest ${desc.digest}`);
    if (reference !== undefined && isDigest(reference) && reference !== desc.digest) {
      throw new InputError('DIGEST_MISMATCH', `manifest digest ${desc.digest} does not match the reference ${reference}`);
    }
    await this.pushBlob(desc, bytes, opts);
    const tag = reference !== undefined && !isDigest(reference) ? reference : undefined;
    const m = parseOrUndefined(bytes);
    const artifactType = typeof m?.artifactType === 'string' ? m.artifactType : undefined;
    // the manifest's own blob first: a prune may also have taken that one since pushBlob found or wrote it
    const needed = this.blobsRequired ? [desc, ...(m ? referencedBlobsOf(m) : [])] : [];
    await this.updateIndex(async (idx) => {
      // Under the lock, so a prune (which deletes blobs holding it) cannot slip in between: the index never lists a
      // manifest whose config or layers are missing (blobs found in the store earlier may have been pruned since).
      const missing = (await Promise.all(needed.map(async (d) => ((await this.hasBlob(d)) ? undefined : d.digest)))).filter((d) => d !== undefined);
      if (missing.length > 0) {
        throw new LayoutError('MANIFEST_BLOB_UNKNOWN', `${this.location}: manifest ${desc.digest} needs ${missing[0] === desc.digest ? 'its own blob' : `blob ${missing[0]}`}, which is not in the layout`, {
          hint: 'blobs are stored before the manifest that needs them; if `docker sign store prune` ran meanwhile, run the command again',
          exitCode: EXIT.UNAVAILABLE,
        });
      }
      const entry: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
      if (artifactType) entry.artifactType = artifactType;
      if (tag !== undefined) {
        idx.manifests = idx.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== tag);
        entry.annotations = { [REF_NAME_ANNOTATION]: tag };
        // An untagged entry for the same digest is now redundant.
        idx.manifests = idx.manifests.filter((d) => !(d.digest === desc.digest && d.annotations?.[REF_NAME_ANNOTATION] === undefined));
        idx.manifests.push(entry);
      } else if (!idx.manifests.some((d) => d.digest === desc.digest)) {
        idx.manifests.push(entry);
      }
    });
  }

  /** Removes a tag from index.json (the manifest stays in the store if other entries reference it). */
  async untag(tag: string): Promise<boolean> {
    let removed = false;
    await this.updateIndex((idx) => {
      const before = idx.manifests.length;
      idx.manifests = idx.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== tag);
      removed = idx.manifests.length !== before;
    });
    return removed;
  }

  /** Referrers of `subject`: manifests listed in index.json whose `subject.digest` equals subject.digest. */
  async referrers(subject: Descriptor, artifactType?: string, limit = Infinity): Promise<Descriptor[]> {
    const idx = await this.readIndex();
    const out: Descriptor[] = [];
    const seen = new Set<string>();
    for (const d of idx.manifests) {
      if (out.length >= limit) break;
      if (seen.has(d.digest) || d.digest === subject.digest) continue;
      if (!isManifestMediaType(d.mediaType) && !isIndexMediaType(d.mediaType)) continue;
      seen.add(d.digest);
      let m: Record<string, unknown>;
      try {
        m = parseJsonObject(await this.fetchBlob(coreDescriptor(d)), 'manifest');
      } catch (e) {
        if (e instanceof DockerSignError && e.code === 'NOT_FOUND') continue;
        throw e;
      }
      const s = m.subject as { digest?: unknown } | undefined;
      if (!s || s.digest !== subject.digest) continue;
      const at = typeof m.artifactType === 'string' ? m.artifactType
        : typeof (m.config as { mediaType?: unknown } | undefined)?.mediaType === 'string' ? (m.config as { mediaType: string }).mediaType : undefined;
      if (artifactType !== undefined && at !== artifactType) continue;
      const r: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
      if (at) r.artifactType = at;
      if (m.annotations && typeof m.annotations === 'object') r.annotations = m.annotations as Record<string, string>;
      out.push(r);
    }
    return out;
  }

  async pushReferrer(manifestDesc: Descriptor, manifestBytes: Buffer, subject: Descriptor): Promise<void> {
    verifyBytes(manifestBytes, manifestDesc.digest, manifestDesc.size, `manifest ${manifestDesc.digest}`);
    const m = parseJsonObject(manifestBytes, 'referrer manifest');
    const s = m.subject as { digest?: unknown } | undefined;
    if (!s || s.digest !== subject.digest) {
      throw new InputError('INVALID_REFERRER', `manifest ${manifestDesc.digest} does not have subject ${subject.digest}`);
    }
    await this.pushManifest(manifestDesc, manifestBytes);
  }

  // ---------------------------------------------------------------- sidecar JSON files

  private sidecarPath(name: string): string {
    if (!/^[a-z0-9][a-z0-9._-]*\.json$/.test(name) || name === INDEX_FILE) {
      throw new InputError('INVALID_NAME', `invalid sidecar file name ${name}`);
    }
    return join(this.dir, name);
  }

  /** Reads a JSON sidecar file in the layout directory; `undefined` when absent. */
  async readSidecar<T>(name: string): Promise<T | undefined> {
    try {
      return JSON.parse(await fsp.readFile(this.sidecarPath(name), 'utf8')) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (e instanceof SyntaxError) return undefined; // a damaged cache file is treated as empty
      throw e;
    }
  }

  /** Read-modify-write of a JSON sidecar file under its own lock, written atomically (a cache: not fsync'd). */
  async updateSidecar<T>(name: string, fn: (cur: T | undefined) => T | Promise<T>): Promise<T> {
    const file = this.sidecarPath(name);
    return withFileLock(file, async () => {
      const next = await fn(await this.readSidecar<T>(name));
      await writeFileAtomic(file, JSON.stringify(next), { sync: false });
      return next;
    }, this.lockTimeoutMs);
  }

  private notFoundOr(what: string, e: unknown): unknown {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? this.notFound(what, e) : e;
  }

  private notFound(what: string, cause?: unknown): DockerSignError {
    return new DockerSignError('NOT_FOUND', `${what} not found in ${this.location}`, { exitCode: EXIT.USAGE, cause });
  }
}

/** The JSON object in `bytes`, or undefined when it is none (the caller has checked the bytes' digest only). */
function parseOrUndefined(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A blob file in the layout (listBlobFiles). */
export interface StoredBlobFile {
  digest: Digest;
  size: number;
  mtimeMs: number;
}

/**
 * The blobs an image manifest needs beside itself (config and layers with their sizes, except non-distributable
 * layers that name URLs); none for other documents (an index lists manifests, checked when they are stored).
 */
export function referencedBlobs(bytes: Buffer): Pick<Descriptor, 'digest' | 'size'>[] {
  const m = parseOrUndefined(bytes);
  return m ? referencedBlobsOf(m) : [];
}

/** referencedBlobs of an already parsed manifest. */
export function referencedBlobsOf(m: Record<string, unknown>): Pick<Descriptor, 'digest' | 'size'>[] {
  const out: Pick<Descriptor, 'digest' | 'size'>[] = [];
  const add = (d: unknown) => {
    const v = d as { digest?: unknown; size?: unknown; urls?: unknown } | undefined;
    if (Array.isArray(v?.urls) && v.urls.length > 0) return; // a non-distributable layer lives at its URLs, not here
    if (v && typeof v.digest === 'string' && isDigest(v.digest) && typeof v.size === 'number') out.push({ digest: v.digest as Digest, size: v.size });
  };
  if (m.config !== undefined) add(m.config);
  if (Array.isArray(m.layers)) m.layers.forEach(add);
  return out;
}
