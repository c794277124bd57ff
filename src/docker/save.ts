/**
 * Reads a `docker save` stream (tar) with bounded memory, in one pass:
 *
 * - Legacy layout (dockerd <= 24): `<v1id>/layer.tar` (uncompressed), `<config hex>.json`, `manifest.json`,
 *   `repositories`. Entries come in lexical order, so layers arrive BEFORE manifest.json says which is which.
 * - OCI layout (dockerd >= 25, containerd image store): `blobs/sha256/<hex>` (layers uncompressed — their digest is
 *   then the diff ID — or gzip-compressed with the containerd store), `index.json`, `oci-layout`, and usually a
 *   compatibility `manifest.json` whose paths point into blobs/. Legacy `<v1id>/layer.tar` entries may be symlinks
 *   into blobs/.
 *
 * Every large entry is classified by sniffing its first bytes: a tar stream is hashed (sha256 = its diff ID) and
 * compressed with ParallelGzip into a temp blob in the store while it streams by; a gzip stream is stored as is and
 * gunzipped only to hash it. Small entries (JSON, tiny layers) are buffered. Only after the whole stream was read
 * do we know which entries are the image's layers; the caller then commits those blobs and aborts the rest.
 *
 * Safety: entry names must be relative and stay inside the archive (`..`, absolute paths → SAVE_ENTRY_ESCAPES);
 * symlinks / hard links are only followed when their target stays inside the archive; other entry types (devices,
 * fifos) are refused. A corrupt or truncated tar → SAVE_CORRUPT.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import type * as Zlib from 'node:zlib';
import { DockerSignError, EXIT } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { OciLayout, BlobWriter } from '../oci/layout.js';
import { ParallelGzip, SMALL_INPUT_MAX, type PgzipOptions } from './pgzip.js';
// node:zlib is taken when this module is first evaluated, not hoisted as a static import: the one-file fast-path
// bundle of `sign` (dist/fast/sign.cjs) holds this module, which remote and layout signing never use.
const zlib = process.getBuiltinModule('node:zlib') as typeof Zlib;

export class SaveError extends DockerSignError {
  constructor(code: string, message: string, opts: { hint?: string; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, { exitCode: EXIT.USAGE, ...opts });
  }
}

/** Entries at most this big are buffered in memory (and compressed later if they turn out to be layers). */
const SMALL_ENTRY = 256 * 1024;
/** Largest non-layer entry we accept (JSON files). */
const MAX_META_ENTRY = 8 * 1024 * 1024;
/** Upper bound on all buffered entries together. */
const MAX_BUFFERED_TOTAL = 256 * 1024 * 1024;

export interface StreamedLayer {
  /** sha256 of the uncompressed tar (= diff ID when this is a layer). */
  diffId: Digest;
  /** 'pgzip': we compressed it; 'asis': the entry was already gzip and is stored unchanged; 'hashed': not stored (cached). */
  mode: 'pgzip' | 'asis' | 'hashed';
  writer?: BlobWriter;
  uncompressedSize: number;
}

export interface SaveEntry {
  path: string;
  size: number;
  /** Full content for small / metadata entries. */
  data?: Buffer;
  /** sha256 of the raw entry bytes (always computed). */
  digest: Digest;
  layer?: StreamedLayer;
}

export interface SaveProgress {
  layerStart?(id: string, size: number): void;
  layerProgress?(id: string, done: number): void;
  layerDone?(id: string): void;
}

/**
 * Optional second destination for a layer's compressed bytes while they are produced (push uses it to upload the
 * layer to the registry during compression). Failures must be handled inside (they never fail the generation).
 */
export interface CompressedTee {
  write(chunk: Buffer): Promise<void>;
  /** The layer is complete: digest/size of the compressed bytes. Not awaited by the reader. */
  finish(blob: { digest: Digest; size: number }): Promise<void>;
  abort(): void;
}

export interface ReadSaveOptions {
  /**
   * Called for each layer that is being compressed (`nameDigest` as for skipCompression); may return a tee for its
   * compressed bytes.
   */
  tee?: (nameDigest: Digest | undefined) => Promise<CompressedTee | undefined>;
  store: OciLayout;
  gzip?: PgzipOptions;
  progress?: SaveProgress;
  /**
   * Called for a large tar entry before it is compressed; return true to only hash it (its compressed form is
   * already cached). `nameDigest` is the digest implied by an OCI `blobs/<alg>/<hex>` name, if any.
   */
  skipCompression?(nameDigest: Digest | undefined): boolean;
  /** Called for each small entry (buffered whole) as soon as it has been read, before the rest of the stream. */
  onSmallEntry?(entry: SaveEntry): void;
  /**
   * Called, instead of `tee`, for a layer about to be compressed whose tar is at most SMALL_INPUT_MAX (pgzip hands
   * out its compressed bytes only at the end, so streaming them would gain nothing): true = keep the compressed
   * bytes in memory and pass them to onCompressedLayer once the layer is done. Layers are read one at a time.
   */
  keepCompressed?(nameDigest: Digest | undefined, size: number): boolean;
  onCompressedLayer?(blob: { digest: Digest; size: number }, bytes: Buffer): void;
}

export interface SaveContents {
  entries: Map<string, SaveEntry>;
  /** Link entries: archive path → target archive path. */
  links: Map<string, string>;
  /** Looks an entry up by path, following links (bounded). */
  get(path: string): SaveEntry | undefined;
  /** Aborts every un-committed blob writer. */
  abortAll(): Promise<void>;
}

/** Normalizes a tar entry name, refusing anything that could leave the archive root. */
export function safeEntryPath(name: string): string {
  if (name.includes('\0') || name.includes('\\')) throw escapes(name);
  if (name.startsWith('/')) throw escapes(name);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw escapes(name);
  if (parts.length === 0) return '';
  return parts.join('/');
}

function escapes(name: string): SaveError {
  return new SaveError('SAVE_ENTRY_ESCAPES', `the image archive contains an entry outside its folder: ${JSON.stringify(name)}`, {
    hint: 'the docker save stream is malformed or malicious; nothing was written',
  });
}

function corrupt(msg: string, cause?: unknown): SaveError {
  return new SaveError('SAVE_CORRUPT', `the docker save stream is corrupt: ${msg}`, {
    hint: 'retry; if it persists the image in the engine may be damaged (docker image inspect / docker save to check)',
    cause,
  });
}

/** Resolves a link target relative to the link's folder; refuses targets outside the archive. */
function linkTarget(entryPath: string, target: string, hard: boolean): string {
  if (target.startsWith('/')) throw escapes(`${entryPath} -> ${target}`);
  const joined = hard ? target : posix.join(posix.dirname(entryPath), target);
  const norm = posix.normalize(joined);
  if (norm === '..' || norm.startsWith('../') || norm.startsWith('/')) throw escapes(`${entryPath} -> ${target}`);
  return safeEntryPath(norm);
}

function isTarHeader(b: Buffer): boolean {
  if (b.length < 512) return false;
  if (b.subarray(0, 512).every((x) => x === 0)) return true; // end-of-archive blocks: an empty layer
  if (b.toString('latin1', 257, 262) !== 'ustar') {
    // v7 tar: verify the header checksum
    const stored = Number.parseInt(b.toString('latin1', 148, 156).replace(/\0.*$/, '').trim(), 8);
    if (!Number.isFinite(stored)) return false;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i];
    return sum === stored;
  }
  return true;
}

const isGzip = (b: Buffer) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
const isZstd = (b: Buffer) => b.length >= 4 && b.readUInt32LE(0) === 0xfd2fb528;

function nameDigest(path: string): Digest | undefined {
  const m = /^blobs\/(sha256)\/([a-f0-9]{64})$/.exec(path);
  return m ? (`${m[1]}:${m[2]}` as Digest) : undefined;
}

/**
 * Consumes the whole save stream. On error every temp blob is removed before the error is thrown.
 */
export async function readSaveStream(stream: Readable, opts: ReadSaveOptions): Promise<SaveContents> {
  const mod = await import('tar-stream');
  const tar = ((mod as unknown as { default?: typeof mod }).default ?? mod) as typeof mod;
  const extract = tar.extract();
  const entries = new Map<string, SaveEntry>();
  const links = new Map<string, string>();
  const writers: BlobWriter[] = [];
  let buffered = 0;

  const contents: SaveContents = {
    entries,
    links,
    get(path: string) {
      let p = path;
      for (let i = 0; i < 16; i++) {
        const e = entries.get(p);
        if (e) return e;
        const t = links.get(p);
        if (t === undefined) return undefined;
        p = t;
      }
      return undefined;
    },
    async abortAll() {
      await Promise.allSettled(writers.map((w) => w.abort()));
    },
  };

  let streamErr: unknown;
  stream.on('error', (e) => {
    streamErr = e;
    extract.destroy(e);
  });
  stream.pipe(extract);

  try {
    for await (const entry of extract) {
      const h = entry.header;
      const path = safeEntryPath(h.name);
      switch (h.type) {
        case 'directory':
          entry.resume();
          continue;
        case 'symlink':
        case 'link':
          links.set(path, linkTarget(path, h.linkname ?? '', h.type === 'link'));
          entry.resume();
          continue;
        case 'file':
        case 'contiguous-file':
          break;
        default:
          throw new SaveError('SAVE_UNEXPECTED_ENTRY', `the image archive contains an unexpected ${h.type} entry ${JSON.stringify(h.name)}`);
      }
      const size = h.size ?? 0;
      if (size <= SMALL_ENTRY) {
        const data = await readAll(entry as unknown as AsyncIterable<Buffer>, size);
        buffered += data.length;
        if (buffered > MAX_BUFFERED_TOTAL) throw new SaveError('SAVE_TOO_MANY_SMALL_ENTRIES', 'the image archive has too much small content to buffer');
        const small: SaveEntry = { path, size, data, digest: sha256(data) };
        entries.set(path, small);
        opts.onSmallEntry?.(small);
        continue;
      }
      entries.set(path, await streamLargeEntry(entry as unknown as AsyncIterable<Buffer>, path, size, opts, writers, (n) => { buffered += n; }));
      if (buffered > MAX_BUFFERED_TOTAL) throw new SaveError('SAVE_TOO_MANY_SMALL_ENTRIES', 'the image archive has too much small content to buffer');
    }
    if (streamErr) throw streamErr;
  } catch (e) {
    // stop reading from the engine (the daemon would otherwise keep producing the archive into a dead socket)
    stream.unpipe(extract);
    stream.destroy();
    extract.destroy();
    await contents.abortAll();
    if (e instanceof DockerSignError) throw e;
    const msg = (e as Error)?.message ?? String(e);
    if (streamErr !== undefined && e === streamErr) throw corrupt(`reading from the engine failed: ${msg}`, e);
    throw corrupt(msg, e);
  }
  return contents;
}

function sha256(b: Buffer): Digest {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

async function readAll(entry: AsyncIterable<Buffer>, size: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of entry) {
    n += c.length;
    if (n > size) throw corrupt('entry longer than its header says');
    parts.push(c);
  }
  if (n !== size) throw corrupt(`entry is ${n} bytes, header says ${size}`);
  return Buffer.concat(parts, n);
}

async function streamLargeEntry(entry: AsyncIterable<Buffer>, path: string, size: number, opts: ReadSaveOptions, writers: BlobWriter[],
  addBuffered: (n: number) => void): Promise<SaveEntry> {
  const it = entry[Symbol.asyncIterator]();
  // Sniff the first 512 bytes.
  const head: Buffer[] = [];
  let headLen = 0;
  let done = false;
  while (headLen < 512) {
    const r = await it.next();
    if (r.done) { done = true; break; }
    head.push(r.value);
    headLen += r.value.length;
  }
  const first = Buffer.concat(head);
  const rest: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => (done ? { done: true as const, value: undefined } : it.next()),
    }),
  };
  const rawHash = createHash('sha256');
  let rawSeen = 0;
  const id = path;

  if (isZstd(first)) {
    throw new SaveError('SAVE_UNSUPPORTED_COMPRESSION', `layer ${path} in the image archive is zstd-compressed, which is not supported`);
  }
  if (isGzip(first)) {
    // Already compressed (containerd image store): store as is, gunzip only to compute the diff ID.
    const writer = await opts.store.openBlobWriter();
    writers.push(writer);
    const diffHash = createHash('sha256');
    let uncompressed = 0;
    const gunzip = zlib.createGunzip();
    gunzip.on('data', (c: Buffer) => { diffHash.update(c); uncompressed += c.length; });
    const gunzipDone = new Promise<void>((res, rej) => { gunzip.on('end', res); gunzip.on('error', rej); });
    gunzipDone.catch(() => undefined);
    opts.progress?.layerStart?.(id, size);
    const feed = async (c: Buffer) => {
      rawHash.update(c);
      rawSeen += c.length;
      await writer.write(c);
      if (!gunzip.write(c)) await Promise.race([once(gunzip, 'drain'), gunzipDone]);
      opts.progress?.layerProgress?.(id, rawSeen);
    };
    await feed(first);
    for await (const c of rest) await feed(c);
    gunzip.end();
    try {
      await gunzipDone;
    } catch (e) {
      throw corrupt(`layer ${path} is not valid gzip: ${(e as Error).message}`, e);
    }
    if (rawSeen !== size) throw corrupt(`entry ${path} is ${rawSeen} bytes, header says ${size}`);
    opts.progress?.layerDone?.(id);
    return {
      path, size, digest: `sha256:${rawHash.digest('hex')}`,
      layer: { diffId: `sha256:${diffHash.digest('hex')}`, mode: 'asis', writer, uncompressedSize: uncompressed },
    };
  }
  if (!isTarHeader(first)) {
    // Not a layer: must be (large) metadata.
    if (size > MAX_META_ENTRY) {
      throw new SaveError('SAVE_UNEXPECTED_ENTRY', `the image archive entry ${path} (${size} bytes) is neither a tar layer nor gzip`);
    }
    const parts: Buffer[] = [first];
    for await (const c of rest) parts.push(c);
    const data = Buffer.concat(parts);
    if (data.length !== size) throw corrupt(`entry ${path} is ${data.length} bytes, header says ${size}`);
    addBuffered(data.length);
    return { path, size, data, digest: sha256(data) };
  }

  // An uncompressed layer tar: hash it (diff ID) and, unless cached, compress it while it streams by.
  const nd = nameDigest(path);
  const skip = opts.skipCompression?.(nd) ?? false;
  const diffHash = createHash('sha256');
  let writer: BlobWriter | undefined;
  let gz: ParallelGzip | undefined;
  let tee: CompressedTee | undefined;
  let kept: Buffer[] | undefined;
  if (!skip) {
    writer = await opts.store.openBlobWriter();
    writers.push(writer);
    const w = writer;
    if (size <= SMALL_INPUT_MAX && opts.keepCompressed?.(nd, size)) kept = [];
    else tee = opts.tee ? await opts.tee(nd) : undefined;
    const t = tee;
    const k = kept;
    gz = new ParallelGzip(
      t ? async (c) => { await Promise.all([w.write(c), t.write(c)]); } : k ? (c) => { k.push(c); return w.write(c); } : (c) => w.write(c),
      { ...opts.gzip, inputSize: size },
    );
  }
  opts.progress?.layerStart?.(id, size);
  try {
    const feed = async (c: Buffer) => {
      diffHash.update(c);
      rawSeen += c.length;
      if (gz) await gz.write(c);
      opts.progress?.layerProgress?.(id, rawSeen);
    };
    await feed(first);
    for await (const c of rest) await feed(c);
    if (gz) await gz.end();
  } catch (e) {
    await gz?.abort();
    tee?.abort();
    throw e;
  }
  if (tee && writer) void tee.finish(writer.current()).catch(() => undefined);
  if (rawSeen !== size) throw corrupt(`entry ${path} is ${rawSeen} bytes, header says ${size}`);
  if (kept && writer) opts.onCompressedLayer?.(writer.current(), Buffer.concat(kept));
  opts.progress?.layerDone?.(id);
  const digest = `sha256:${diffHash.digest('hex')}` as Digest;
  return { path, size, digest, layer: { diffId: digest, mode: skip ? 'hashed' : 'pgzip', writer, uncompressedSize: rawSeen } };
}
