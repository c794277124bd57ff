/**
 * Builds the registry form of a local image — config blob, gzip layers, image manifest — from the Docker engine's
 * image store, and stores it in our OCI image layout, so the manifest digest (what gets signed) is known before
 * anything is pushed, and `push` uploads exactly these bytes.
 *
 * Steps: `docker image inspect` (Id, diff IDs) → if the store already holds the config (digest = image Id) and the
 * compressed form of every diff ID (layer cache), the manifest is rebuilt from those without reading the image
 * (`reused: true`, no compression). Otherwise the `docker save` stream is read once (src/docker/save.ts): layers
 * are hashed and compressed with deterministic parallel gzip while they stream by, then verified:
 *   - sha256(config bytes) == image Id,
 *   - config rootfs.diff_ids == the layers' sha256 (uncompressed), in order, and == inspect RootFS.Layers,
 * and only then are the blobs committed (renamed into blobs/), the layer cache updated, and the manifest written
 * and tagged. Any error before that removes every temp file: the store is unchanged.
 *
 * Compression: ParallelGzip (src/docker/pgzip.ts), level DEFAULT_GZIP_LEVEL unless DOCKER_SIGN_GZIP_LEVEL / the
 * `level` option says otherwise (1 = fastest; see DEFAULT_GZIP_LEVEL), blocks of 256 KiB (inputs up to 8 MiB) or 1 MiB. The output depends on (level, block-size rule, memLevel, node's zlib version);
 * the cache key includes all of them, so a changed setting yields a new (equally valid) digest.
 *
 * The manifest is compact JSON with fixed key order and no annotations/timestamps: same image + same settings →
 * same bytes → same digest.
 */
import { promises as fsp } from 'node:fs';
import { DockerSignError, InputError, EXIT } from '../errors.js';
import { sha256Digest, isDigest, type Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import { MediaType } from '../oci/mediaTypes.js';
import { encodeJson, parseJsonObject } from '../oci/manifest.js';
import type { OciLayout } from '../oci/layout.js';
import { storeTagFor } from './storetag.js';
import { inspectImage, saveImage, dropSave, usesContainerdImageStore, type ImageInspect } from './engine.js';
import { readSaveStream, SaveError, type SaveContents, type SaveEntry, type SaveProgress, type CompressedTee } from './save.js';
import { pgzipBuffer, pgzipProfile, type PgzipOptions } from './pgzip.js';
import type { Readable } from 'node:stream';

export { storeTagFor };

/**
 * Default zlib level: 1. Measured on this 2-core machine for the 1.3 GB bench image (bench/push.bench.ts):
 * - quiet machine: cold `docker sign push` level 1 20.5 s (median of 3: 20.6 s) / level 6 29.2 s, `docker push`
 *   34.1 s (median 38.5 s) → level 1 0.54-0.60×, level 6 0.86×;
 * - shared, loaded machine (load 7-9): level 1 25.8-35.5 s, level 3 39.8 s, level 6 47.2 s vs docker push 60-63 s.
 * - since pgzip hands zlib one output buffer per block (and 1 MiB blocks for big layers): level 1 17.5 s vs
 *   `docker push` 37.2 s → 0.47×.
 * Only level 1 meets the ≤ 0.6× goal; it costs ~1.5% more bytes on the bench data (3/8 random, 5/8 text), up to
 * ~8% on text-heavy layers.
 * Users who prefer smaller blobs set --compression-level / DOCKER_SIGN_GZIP_LEVEL (e.g. 6); the level is part of
 * the layer-cache key, so a changed level yields other (equally valid) blobs and digest.
 */
export const DEFAULT_GZIP_LEVEL = 1;
/** Generated blobs can be made again from the engine's image: stored without fsync (src/oci/layout.ts). */
const REGENERABLE = { durable: false } as const;
export const LAYER_CACHE_FILE = 'layer-cache.json';

export type ManifestFlavor = 'oci' | 'docker';

export interface GenerateOptions {
  /** "os/arch[/variant]": the image must be for this platform. */
  platform?: string;
  mediaType: ManifestFlavor;
  store: OciLayout;
  progress?: SaveProgress;
  /** gzip level 0-9 (default: $DOCKER_SIGN_GZIP_LEVEL or DEFAULT_GZIP_LEVEL). */
  level?: number;
  /** Ignore the store/cache and read + compress everything again. */
  force?: boolean;
  /** Environment for engine resolution (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Second destination for compressed layer bytes while they are produced (see save.ts CompressedTee). */
  tee?: () => Promise<CompressedTee | undefined>;
  /** `docker image inspect` of the image, when the caller has just made it (saves a second request). */
  inspected?: ImageInspect;
  /** The image's `docker save` stream, when the caller has already asked for it (dropped if not needed). */
  save?: Promise<Readable>;
  /**
   * Told about a blob of the coming manifest as soon as its bytes are final, while the save stream is still being
   * read: the config (its sha256 is the image ID) and small layers (buffered whole, compressed at once). Push uses it
   * to upload them during generation. The blobs are digest-checked content of the image; the hook runs before
   * generation has verified the whole archive, so it must not assume generation will succeed.
   */
  onBlob?: (desc: Descriptor, bytes: Buffer) => void;
  /**
   * With onBlob: may a layer of `size` tar bytes (<= 8 MiB) be kept in memory once compressed, to go to onBlob too?
   * (Push answers from its budget of bytes waiting to be uploaded.) Default: no; such layers go through `tee`.
   */
  keepForBlob?: (size: number) => boolean;
  /**
   * Told the manifest as soon as it is built from the verified archive, before anything is written to the store:
   * `stored` settles when it and all its blobs are in the store (the layer cache and index.json come after). Push
   * starts the registry side then. Not called when the manifest is rebuilt from the store alone (generate returns
   * at once then).
   */
  onManifest?: (desc: Descriptor, bytes: Buffer, stored: Promise<void>) => void;
}

export interface GenerateResult {
  descriptor: Descriptor;
  manifest: Buffer;
  config: Descriptor;
  layers: Descriptor[];
  imageId: string;
  /** True when nothing was read from the engine beyond inspect (all from the store). */
  reused: boolean;
  /** The name the manifest is tagged with in the store (undefined when the image was given by ID). */
  storeTag?: string;
  /** Layers compressed in this run (0 on a cache hit). */
  compressedLayers: number;
}

export class GenerateError extends DockerSignError {
  constructor(code: string, message: string, opts: { hint?: string; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, { exitCode: EXIT.USAGE, ...opts });
  }
}

interface LayerCache {
  version: 1;
  /** `${profile}|${diffId}` → compressed blob */
  layers: Record<string, { digest: Digest; size: number }>;
}

const ASIS_PROFILE = 'asis';

export function gzipLevel(opts: { level?: number }, env: NodeJS.ProcessEnv = process.env): number {
  const raw = opts.level ?? (env.DOCKER_SIGN_GZIP_LEVEL !== undefined && env.DOCKER_SIGN_GZIP_LEVEL !== '' ? Number(env.DOCKER_SIGN_GZIP_LEVEL) : DEFAULT_GZIP_LEVEL);
  if (!Number.isInteger(raw) || raw < 1 || raw > 9) {
    throw new InputError('INVALID_COMPRESSION_LEVEL', `gzip level must be an integer 1..9, got ${String(raw)}`);
  }
  return raw;
}

export function parsePlatform(p: string): { os: string; architecture: string; variant?: string } {
  const parts = p.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((x) => !/^[a-z0-9._-]+$/.test(x))) {
    throw new InputError('INVALID_PLATFORM', `invalid platform "${p}"`, { hint: 'use os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8' });
  }
  return { os: parts[0], architecture: parts[1], variant: parts[2] };
}

function mediaTypes(flavor: ManifestFlavor) {
  return flavor === 'docker'
    ? { manifest: MediaType.DOCKER_MANIFEST, config: MediaType.DOCKER_CONFIG, layer: MediaType.DOCKER_LAYER_GZIP }
    : { manifest: MediaType.OCI_MANIFEST, config: MediaType.OCI_CONFIG, layer: MediaType.OCI_LAYER_GZIP };
}

/** Builds the manifest bytes (fixed key order, compact). */
export function buildManifest(flavor: ManifestFlavor, config: Descriptor, layers: Descriptor[]): { bytes: Buffer; descriptor: Descriptor } {
  const mt = mediaTypes(flavor);
  const bytes = encodeJson({
    schemaVersion: 2,
    mediaType: mt.manifest,
    config: { mediaType: mt.config, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: mt.layer, digest: l.digest, size: l.size })),
  });
  return { bytes, descriptor: { mediaType: mt.manifest, digest: sha256Digest(bytes), size: bytes.length } };
}

interface ImageConfigFacts {
  diffIds: Digest[];
  os?: string;
  architecture?: string;
  variant?: string;
}

function configFacts(bytes: Buffer): ImageConfigFacts {
  let c: Record<string, unknown>;
  try {
    c = parseJsonObject(bytes, 'image config');
  } catch (e) {
    throw new SaveError('SAVE_CORRUPT', `the image config is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const rootfs = c.rootfs as { type?: unknown; diff_ids?: unknown } | undefined;
  if (!rootfs || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids) || !rootfs.diff_ids.every(isDigest)) {
    throw new SaveError('SAVE_CORRUPT', 'the image config has no valid rootfs.diff_ids');
  }
  return {
    diffIds: rootfs.diff_ids as Digest[],
    os: typeof c.os === 'string' ? c.os : undefined,
    architecture: typeof c.architecture === 'string' ? c.architecture : undefined,
    variant: typeof c.variant === 'string' ? c.variant : undefined,
  };
}

export function checkPlatform(want: string | undefined, have: { os?: string; architecture?: string; variant?: string }, image: string): void {
  if (!want) return;
  const p = parsePlatform(want);
  if (p.os !== have.os || p.architecture !== have.architecture || (p.variant !== undefined && p.variant !== have.variant)) {
    const got = [have.os, have.architecture, have.variant].filter(Boolean).join('/');
    throw new GenerateError('PLATFORM_MISMATCH', `image ${image} is ${got}, not ${want}`, {
      hint: 'the engine stores one platform per image; pull/build the wanted platform under its own tag',
    });
  }
}

async function readStoredBlob(store: OciLayout, digest: Digest): Promise<Buffer | undefined> {
  let data: Buffer;
  try {
    data = await fsp.readFile(store.blobPath(digest));
  } catch {
    return undefined;
  }
  return sha256Digest(data) === digest ? data : undefined;
}

async function cachedLayers(store: OciLayout, profile: string, diffIds: Digest[]): Promise<(Descriptor | undefined)[]> {
  const cache = await store.readSidecar<LayerCache>(LAYER_CACHE_FILE);
  const out: (Descriptor | undefined)[] = [];
  for (const d of diffIds) {
    const hit = cache?.layers?.[`${profile}|${d}`] ?? cache?.layers?.[`${ASIS_PROFILE}|${d}`];
    if (hit && isDigest(hit.digest) && (await store.hasBlob(hit))) out.push({ mediaType: MediaType.OCI_LAYER_GZIP, digest: hit.digest, size: hit.size });
    else out.push(undefined);
  }
  return out;
}

const isGzipData = (b: Buffer) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** sha256 of the decompressed content of a (small) gzip buffer, streamed so a gzip bomb cannot fill memory. */
async function gunzipDigest(data: Buffer, path: string): Promise<Digest> {
  const { createGunzip } = await import('node:zlib');
  const { createHash } = await import('node:crypto');
  const h = createHash('sha256');
  const gz = createGunzip();
  gz.on('data', (c: Buffer) => h.update(c));
  try {
    await new Promise<void>((res, rej) => { gz.on('end', res); gz.on('error', rej); gz.end(data); });
  } catch (e) {
    throw new SaveError('SAVE_CORRUPT', `layer ${path} in the save stream is not valid gzip: ${(e as Error).message}`, { cause: e });
  }
  return `sha256:${h.digest('hex')}`;
}

/** Selects the image in the save archive: returns the config entry and the layer entries in order. */
function locateImage(save: SaveContents, imageId: string): { config: SaveEntry; layers: SaveEntry[]; layerPaths: string[] } {
  const compat = save.get('manifest.json');
  if (compat?.data) {
    let list: unknown;
    try {
      list = JSON.parse(compat.data.toString('utf8'));
    } catch (e) {
      throw new SaveError('SAVE_CORRUPT', 'manifest.json in the save stream is not valid JSON', { cause: e });
    }
    if (!Array.isArray(list)) throw new SaveError('SAVE_CORRUPT', 'manifest.json in the save stream is not a list');
    for (const item of list as { Config?: unknown; Layers?: unknown }[]) {
      if (typeof item?.Config !== 'string' || !Array.isArray(item.Layers)) throw new SaveError('SAVE_CORRUPT', 'manifest.json entry without Config/Layers');
      const cfg = save.get(safePath(item.Config));
      if (!cfg) throw new SaveError('SAVE_CORRUPT', `manifest.json names a config ${item.Config} that is not in the archive`);
      if (cfg.digest !== imageId) continue;
      const layerPaths = (item.Layers as unknown[]).map((l) => {
        if (typeof l !== 'string') throw new SaveError('SAVE_CORRUPT', 'manifest.json Layers must be strings');
        return safePath(l);
      });
      const layers = layerPaths.map((p) => {
        const e = save.get(p);
        if (!e) throw new SaveError('SAVE_CORRUPT', `manifest.json names a layer ${p} that is not in the archive`);
        return e;
      });
      return { config: cfg, layers, layerPaths };
    }
    throw new SaveError('SAVE_CONFIG_MISMATCH', `no image in the save stream has a config whose sha256 is the image ID ${imageId}`, {
      hint: 'the image changed while it was being read, or the engine returned a damaged archive; retry',
    });
  }
  const index = save.get('index.json');
  if (index?.data) return locateInOciIndex(save, index.data, imageId);
  throw new SaveError('SAVE_CORRUPT', 'the save stream has neither manifest.json nor index.json');
}

function safePath(p: string): string {
  // reuse the tar-name rules for paths inside manifest.json / index.json
  const parts = p.split('/').filter((x) => x !== '' && x !== '.');
  if (p.startsWith('/') || parts.includes('..')) {
    throw new SaveError('SAVE_ENTRY_ESCAPES', `the save stream references a path outside the archive: ${JSON.stringify(p)}`);
  }
  return parts.join('/');
}

function blobEntry(save: SaveContents, digest: unknown): SaveEntry {
  if (!isDigest(digest)) throw new SaveError('SAVE_CORRUPT', `invalid digest ${JSON.stringify(digest)} in the save stream`);
  const [alg, hex] = digest.split(':');
  const e = save.get(`blobs/${alg}/${hex}`);
  if (!e) throw new SaveError('SAVE_CORRUPT', `blob ${digest} is missing from the save stream`);
  if (e.layer?.mode !== 'asis' && e.digest !== digest) {
    throw new SaveError('SAVE_DIGEST_MISMATCH', `blob ${digest} in the save stream has digest ${e.digest}`);
  }
  return e;
}

/** OCI-layout save without manifest.json: find the manifest whose config (or itself / its index) is the image Id. */
function locateInOciIndex(save: SaveContents, indexBytes: Buffer, imageId: string): { config: SaveEntry; layers: SaveEntry[]; layerPaths: string[] } {
  const seen = new Set<string>();
  const visit = (bytes: Buffer, depth: number, viaId: boolean): { config: SaveEntry; layers: SaveEntry[]; layerPaths: string[] } | undefined => {
    if (depth > 4) return undefined;
    const m = parseJsonObject(bytes, 'save manifest');
    if (Array.isArray(m.manifests)) {
      for (const d of m.manifests as { digest?: unknown; mediaType?: unknown }[]) {
        if (!isDigest(d.digest) || seen.has(d.digest)) continue;
        seen.add(d.digest);
        const e = save.get(`blobs/${d.digest.replace(':', '/')}`);
        if (!e?.data) continue;
        const r = visit(blobEntry(save, d.digest).data!, depth + 1, viaId || d.digest === imageId);
        if (r) return r;
      }
      return undefined;
    }
    const cfg = m.config as { digest?: unknown } | undefined;
    if (!cfg || !Array.isArray(m.layers)) return undefined;
    if (cfg.digest !== imageId && !viaId) return undefined;
    const config = blobEntry(save, cfg.digest);
    const layers = (m.layers as { digest?: unknown }[]).map((l) => blobEntry(save, l.digest));
    return { config, layers, layerPaths: layers.map((l) => l.path) };
  };
  const r = visit(indexBytes, 0, false);
  if (!r) {
    throw new SaveError('SAVE_CONFIG_MISMATCH', `no manifest in the save stream's index.json belongs to image ${imageId}`);
  }
  return r;
}

/**
 * Core of generate for a given save stream (separate from the engine so tests can feed crafted archives).
 * `inspect` supplies Id and RootFS.Layers, which the archive must agree with.
 */
export async function generateFromSave(stream: Readable, inspect: Pick<ImageInspect, 'Id' | 'RootFS'>, opts: GenerateOptions & { image: string; storeTag?: string }): Promise<GenerateResult> {
  const level = gzipLevel(opts, opts.env);
  const gzip: PgzipOptions = { level };
  const profile = pgzipProfile(gzip);
  const store = opts.store;
  const expected = (inspect.RootFS?.Layers ?? []) as Digest[];
  const cached = opts.force ? expected.map(() => undefined) : await cachedLayers(store, profile, expected);
  const cachedSet = new Set(expected.filter((_, i) => cached[i] !== undefined));
  // Small layers compressed while the stream is still being read (diff ID -> gzip), for opts.onBlob; the commit
  // below uses the same bytes instead of compressing again.
  const smallGz = new Map<string, Promise<Buffer>>();
  const expectedSet = new Set<string>(expected);
  const onSmallEntry = opts.onBlob
    ? (e: SaveEntry) => {
      if (!e.data) return;
      if (e.digest === inspect.Id) {
        opts.onBlob!({ mediaType: mediaTypes(opts.mediaType).config, digest: e.digest, size: e.data.length }, e.data);
      } else if (expectedSet.has(e.digest) && !cachedSet.has(e.digest) && !smallGz.has(e.digest) && !isGzipData(e.data)) {
        const gz = pgzipBuffer(e.data, gzip);
        gz.catch(() => undefined); // awaited again in the commit
        smallGz.set(e.digest, gz);
        gz.then((b) => opts.onBlob!({ mediaType: MediaType.OCI_LAYER_GZIP, digest: sha256Digest(b), size: b.length }, b), () => undefined);
      }
    }
    : undefined;

  const likelyNew = (nd: Digest | undefined) => (nd !== undefined ? !cachedSet.has(nd) : cachedSet.size === 0);
  const save = await readSaveStream(stream, {
    store,
    gzip,
    progress: opts.progress,
    // Upload-while-compressing only for layers the registry is unlikely to have: in an OCI save the entry name is
    // the diff ID (stream unless cached); in a legacy save entries cannot be matched to diff IDs before they are
    // read, so stream only when no layer of the image is cached (a cold image). Otherwise push uploads after
    // generation, skipping what the registry has (HEAD).
    tee: opts.tee ? (nd) => (likelyNew(nd) ? opts.tee!() : Promise.resolve(undefined)) : undefined,
    // a layer of up to 8 MiB is compressed in one go (its bytes come out at the end): one PUT then, not a stream
    keepCompressed: opts.onBlob && opts.keepForBlob ? (nd, size) => likelyNew(nd) && opts.keepForBlob!(size) : undefined,
    onCompressedLayer: opts.onBlob ? (blob, bytes) => opts.onBlob!({ mediaType: MediaType.OCI_LAYER_GZIP, digest: blob.digest, size: blob.size }, bytes) : undefined,
    skipCompression: (nd) => nd !== undefined && cachedSet.has(nd),
    onSmallEntry,
  });
  const committed = new Map<string, Descriptor>();
  let compressedLayers = 0;
  try {
    const { config, layers } = locateImage(save, inspect.Id);
    if (!config.data) throw new SaveError('SAVE_CORRUPT', 'the image config in the save stream is unexpectedly large');
    if (config.digest !== inspect.Id) {
      throw new SaveError('SAVE_CONFIG_MISMATCH', `the image config's sha256 ${config.digest} is not the image ID ${inspect.Id}`);
    }
    const facts = configFacts(config.data);
    checkPlatform(opts.platform, facts, opts.image);
    if (facts.diffIds.length !== layers.length) {
      throw new SaveError('SAVE_DIFF_ID_MISMATCH', `the image config lists ${facts.diffIds.length} layers, the archive has ${layers.length}`);
    }
    if (expected.length !== facts.diffIds.length || expected.some((d, i) => d !== facts.diffIds[i])) {
      throw new SaveError('SAVE_DIFF_ID_MISMATCH', 'the engine reports different layers (RootFS) than the saved image config', {
        hint: 'the image changed while it was being read; retry',
      });
    }
    // Verify every layer before writing anything.
    const layerDiff: Digest[] = [];
    for (const e of layers) layerDiff.push(e.layer?.diffId ?? (e.data && isGzipData(e.data) ? await gunzipDigest(e.data, e.path) : e.digest));
    layerDiff.forEach((d, i) => {
      if (d !== facts.diffIds[i]) {
        throw new SaveError('SAVE_DIFF_ID_MISMATCH', `layer ${i} (${layers[i].path}) has sha256 ${d}, but the image config says ${facts.diffIds[i]}`, {
          hint: 'the layer content does not match the image; the engine store or the save stream is damaged',
          details: { layer: i, expected: facts.diffIds[i], actual: d },
        });
      }
    });

    // The layers' descriptors (each distinct entry once), and how each is written to the store.
    const layerDescs: Descriptor[] = [];
    const writes: (() => Promise<unknown>)[] = [];
    const newCache: Record<string, { digest: Digest; size: number }> = {};
    for (let i = 0; i < layers.length; i++) {
      const e = layers[i];
      const diffId = facts.diffIds[i];
      let desc = committed.get(e.path);
      if (!desc) {
        if (e.layer?.mode === 'pgzip' || e.layer?.mode === 'asis') {
          const writer = e.layer.writer!;
          const d: Descriptor = { mediaType: MediaType.OCI_LAYER_GZIP, ...writer.current() };
          writes.push(() => writer.commit(MediaType.OCI_LAYER_GZIP, d));
          desc = d;
          if (e.layer.mode === 'pgzip') compressedLayers++;
          newCache[`${e.layer.mode === 'asis' ? ASIS_PROFILE : profile}|${diffId}`] = { digest: desc.digest, size: desc.size };
        } else if (e.layer?.mode === 'hashed') {
          desc = cached[i] ?? cached[expected.indexOf(diffId)];
          if (!desc) throw new GenerateError('CACHE_INCONSISTENT', `the compressed form of layer ${diffId} vanished from the store; rerun`);
        } else if (e.data && isGzipData(e.data)) {
          const d: Descriptor = { mediaType: MediaType.OCI_LAYER_GZIP, digest: sha256Digest(e.data), size: e.data.length };
          const data = e.data;
          writes.push(() => store.pushBlob(d, data, REGENERABLE));
          desc = d;
          newCache[`${ASIS_PROFILE}|${diffId}`] = { digest: desc.digest, size: desc.size };
        } else if (e.data) {
          const hit = cached[i];
          if (hit) desc = hit;
          else {
            const gz = await (smallGz.get(diffId) ?? pgzipBuffer(e.data, gzip));
            const d: Descriptor = { mediaType: MediaType.OCI_LAYER_GZIP, digest: sha256Digest(gz), size: gz.length };
            writes.push(() => store.pushBlob(d, gz, REGENERABLE));
            desc = d;
            compressedLayers++;
            newCache[`${profile}|${diffId}`] = { digest: desc.digest, size: desc.size };
          }
        } else {
          throw new SaveError('SAVE_CORRUPT', `layer entry ${e.path} has no content`);
        }
        committed.set(e.path, desc);
      }
      layerDescs.push(desc);
    }
    const configDesc: Descriptor = { mediaType: mediaTypes(opts.mediaType).config, digest: config.digest, size: config.data.length };
    const built = buildManifest(opts.mediaType, configDesc, layerDescs);
    // The blobs (independent files, written at once), then leftover temp blobs go; onManifest is told the manifest
    // before, with that promise. Then the layer cache and index.json (finish: the one fsync'd write).
    const stored = (async () => {
      await Promise.all([
        ...writes.map((w) => w()),
        store.pushBlob(configDesc, config.data!, REGENERABLE),
        store.pushBlob(built.descriptor, built.bytes, REGENERABLE),
      ]);
      await save.abortAll(); // un-referenced temp blobs (e.g. other entries)
    })();
    stored.catch(() => undefined); // awaited below
    opts.onManifest?.(built.descriptor, built.bytes, stored);
    await stored;
    const [result] = await Promise.all([
      finish(store, opts, configDesc, layerDescs, inspect.Id, false, compressedLayers, built),
      Object.keys(newCache).length > 0
        ? store.updateSidecar<LayerCache>(LAYER_CACHE_FILE, (cur) => ({ version: 1, layers: { ...(cur?.version === 1 ? cur.layers : {}), ...newCache } }))
        : undefined,
    ]);
    return result;
  } catch (e) {
    await save.abortAll();
    throw e;
  }
}

/** Stores and tags the manifest (`built`: when the caller has built it already) and describes the result. */
async function finish(store: OciLayout, opts: GenerateOptions & { storeTag?: string }, config: Descriptor, layers: Descriptor[], imageId: string,
  reused: boolean, compressedLayers: number, built = buildManifest(opts.mediaType, config, layers)): Promise<GenerateResult> {
  const { bytes, descriptor } = built;
  const mt = mediaTypes(opts.mediaType);
  await store.pushManifest(descriptor, bytes, opts.storeTag, REGENERABLE);
  return {
    descriptor,
    manifest: bytes,
    config: { mediaType: mt.config, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: mt.layer, digest: l.digest, size: l.size })),
    imageId,
    reused,
    storeTag: opts.storeTag,
    compressedLayers,
  };
}

/**
 * Generates (or reuses) the manifest of local image `image` and stores it tagged `storeTagFor(image)`.
 */
export async function generateManifest(image: string, opts: GenerateOptions): Promise<GenerateResult> {
  let stream: Readable | undefined;
  try {
    return await generateFromEngine(image, opts, async () => (stream = await (opts.save ?? saveImage(image, opts.env ?? process.env))));
  } catch (e) {
    // No config in the save stream hashes to the image ID: on an engine with the containerd image store that is
    // expected (IDs are manifest/index digests there), so say that instead of calling the archive inconsistent.
    if (e instanceof SaveError && e.code === 'SAVE_CONFIG_MISMATCH' && (await usesContainerdImageStore(opts.env ?? process.env).catch(() => false))) {
      throw new GenerateError('UNSUPPORTED_IMAGE_STORE', `the engine keeps ${image} in the containerd image store, where an image ID is a manifest digest rather than the config digest generate relies on`, {
        hint: 'use the classic image store ("features": {"containerd-snapshotter": false} in daemon.json), or push with docker push and sign the pushed image: docker sign REGISTRY/REPO@DIGEST',
        cause: e,
      });
    }
    throw e;
  } finally {
    if (!stream) dropSave(opts.save); // not read: the image was rebuilt from the store, or generation stopped first
  }
}

async function generateFromEngine(image: string, opts: GenerateOptions, openSave: () => Promise<Readable>): Promise<GenerateResult> {
  const env = opts.env ?? process.env;
  if (opts.platform) parsePlatform(opts.platform);
  const level = gzipLevel(opts, env);
  const insp = opts.inspected ?? (await inspectImage(image, env));
  if (!isDigest(insp.Id)) throw new GenerateError('ENGINE_ERROR', `the engine returned an unexpected image ID ${JSON.stringify(insp.Id)}`);
  const storeTag = storeTagFor(image, insp.Id);
  checkPlatform(opts.platform, { os: insp.Os, architecture: insp.Architecture, variant: insp.Variant }, image);
  const diffIds = (insp.RootFS?.Layers ?? []) as Digest[];

  if (!opts.force) {
    // Everything already in the store? Then no need to read the image at all.
    const configBytes = await readStoredBlob(opts.store, insp.Id as Digest);
    if (configBytes) {
      const facts = configFacts(configBytes);
      const same = facts.diffIds.length === diffIds.length && facts.diffIds.every((d, i) => d === diffIds[i]);
      const cached = same ? await cachedLayers(opts.store, pgzipProfile({ level }), diffIds) : [];
      if (same && cached.every((c) => c !== undefined)) {
        const configDesc: Descriptor = { mediaType: mediaTypes(opts.mediaType).config, digest: insp.Id as Digest, size: configBytes.length };
        return finish(opts.store, { ...opts, storeTag }, configDesc, cached as Descriptor[], insp.Id, true, 0);
      }
    }
  }
  return generateFromSave(await openSave(), insp, { ...opts, level, image, storeTag, env });
}
