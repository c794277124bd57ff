/**
 * `docker sign store prune`: frees the disk space of the local store (<config>/store, an OCI image layout). Every
 * `docker generate manifest` / `docker sign push` / `docker sign IMAGE` keeps the image's manifest, config and
 * compressed layers there (push and sign reuse them), and a rebuilt image leaves the previous build's blobs behind:
 * without pruning the store only grows.
 *
 * What goes, decided against the engine's image list (so the engine must answer; nothing is judged blind):
 * - manifests generated for images the engine no longer holds (by ID: the config digest is the image ID), with
 *   their blobs. The signatures made for them stay (a few kB each, and the one thing here that cannot be made again
 *   without the key: should the very same image come back, by `docker load` say, it regenerates to the same digest
 *   and `docker sign push` pushes them); `all` removes them too;
 * - blobs no index entry needs (earlier builds, interrupted runs) and their layer-cache entries, once they are
 *   older than PRUNE_GRACE_MS (a run in progress writes its blobs before it lists its manifest);
 * - temp files of writers that are gone, after the same grace;
 * - with `all`: also the manifests and blobs of images still in the engine (regenerable: the next push or sign
 *   makes them again), except for images with a signature kept here: a signature that was made for an image the
 *   engine still holds stays, with its image's manifest and blobs, so `docker sign push` can still push both;
 *   signatures of images the engine no longer holds go.
 * What always stays: index entries we do not understand (indexes and their manifests, other artifacts), and
 * entries whose image is in the engine (unless `all`). An entry whose manifest is gone or damaged is dropped.
 *
 * Safety with concurrent runs: prune decides and deletes while holding the index lock; a run that found a blob
 * before the prune and lists a manifest needing it afterwards is refused (MANIFEST_BLOB_UNKNOWN, src/oci/layout.ts
 * pushManifest) and can simply be run again. The index is rewritten before any blob is deleted, so a crash never
 * leaves entries pointing at deleted content.
 */
import { promises as fsp } from 'node:fs';
import { DockerSignError, EXIT } from '../errors.js';
import type { ConfigPaths } from '../config/dir.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import { OciLayout, REF_NAME_ANNOTATION, pidAlive, referencedBlobs, referencedBlobsOf, type StoredBlobFile } from '../oci/layout.js';
import { MediaType, isIndexMediaType, isManifestMediaType } from '../oci/mediaTypes.js';
import { parseJsonObject, type ImageIndex } from '../oci/manifest.js';
import { EngineError, listImages, usesContainerdImageStore, type EngineImage } from './engine.js';
import { LAYER_CACHE_FILE, storeTagFor } from './generate.js';
import { PUSHED_FILE } from './push.js';
import { damagedReferrerBlob, readIntactBlob } from './local.js';

/** Blobs and temp files younger than this are never taken for unreferenced: a run may be about to list them. */
export const PRUNE_GRACE_MS = 10 * 60_000;
const MAX_INDEX_DEPTH = 4;
const STORE_OPEN = { blobsRequired: true } as const;

/** What an index entry of the store is, and whether the engine still holds its image. */
interface StoreEntry {
  descriptor: Descriptor;
  /** The store tag (fully-qualified image name) of an image manifest, when it has one. */
  name?: string;
  kind: 'image' | 'signature' | 'other' | 'unreadable';
  /** image: the engine holds the image under this name (current), only by ID (stale: the name moved), or not (gone). */
  state?: 'current' | 'stale' | 'gone';
  /** signature (any manifest with a subject): the manifest it is for. */
  subject?: Digest;
}

export interface PruneOptions {
  /** Also remove what images still in the engine can regenerate (never what a kept signature needs). */
  all?: boolean;
  /** Decide and report, change nothing. */
  dryRun?: boolean;
  env?: NodeJS.ProcessEnv;
  /** The engine's images (default: asked from the engine); the clock and the grace period (tests). */
  images?: EngineImage[];
  now?: number;
  graceMs?: number;
}

export interface PruneResult {
  store: string;
  dryRun: boolean;
  all: boolean;
  removed: {
    images: { name?: string; digest: Digest; reason: 'gone' | 'regenerable' | 'unreadable' }[];
    signatures: { digest: Digest; subject?: Digest }[];
    blobs: number;
    tempFiles: number;
    layerCacheEntries: number;
    /** Bytes of the deleted blobs and temp files. */
    bytes: number;
  };
  kept: {
    images: number;
    signatures: number;
    /** Of those, signatures of images the engine no longer holds (`all` removes them). */
    orphanSignatures: number;
    other: number;
    /** Unreferenced blobs younger than the grace period. */
    recentBlobs: number;
    recentBytes: number;
  };
}

interface Parsed {
  entry: StoreEntry;
  /** The blobs this entry needs beside its own manifest (config, layers; for an index its manifests and theirs). */
  needs: Digest[];
}

/** Prunes the store under `paths` (see the module comment). A store that does not exist yet has nothing to prune. */
export async function pruneStore(paths: ConfigPaths, opts: PruneOptions = {}): Promise<PruneResult> {
  const result: PruneResult = {
    store: paths.store,
    dryRun: opts.dryRun === true,
    all: opts.all === true,
    removed: { images: [], signatures: [], blobs: 0, tempFiles: 0, layerCacheEntries: 0, bytes: 0 },
    kept: { images: 0, signatures: 0, orphanSignatures: 0, other: 0, recentBlobs: 0, recentBytes: 0 },
  };
  let store: OciLayout;
  try {
    store = await OciLayout.open(paths.store, STORE_OPEN);
  } catch (e) {
    if (e instanceof DockerSignError && e.code === 'LAYOUT_NOT_FOUND') return result;
    throw e;
  }
  const images = opts.images ?? (await engineImages(opts.env ?? process.env));
  const now = opts.now ?? Date.now();
  const grace = opts.graceMs ?? PRUNE_GRACE_MS;

  const deleted = await store.withIndexLock(async (index, write) => {
    const plan = planPrune(await analyzeStore(store, index, images), index, await store.listBlobFiles(), { all: result.all, now, grace });
    Object.assign(result.removed, { images: plan.removedImages, signatures: plan.removedSignatures, blobs: plan.deleteBlobs.length, tempFiles: plan.deleteTemps.length, bytes: plan.bytes });
    Object.assign(result.kept, plan.kept);
    if (result.dryRun) return plan.deleteBlobs;
    // the index first: a crash after this leaves unreferenced blobs (the next prune takes them), never the reverse
    if (plan.nextIndex) await write(plan.nextIndex);
    for (const b of plan.deleteBlobs) await store.deleteBlob(b.digest);
    for (const t of plan.deleteTemps) await fsp.rm(t.path, { force: true });
    return plan.deleteBlobs;
  });

  // The caches lose what points at deleted (or already missing) blobs.
  const gone = new Set<string>(deleted.map((b) => b.digest));
  const present = new Set<string>((await store.listBlobFiles()).blobs.filter((b) => !gone.has(b.digest)).map((b) => b.digest));
  const keepCacheValue = (v: unknown) => {
    const d = (v as { digest?: unknown } | null)?.digest;
    return typeof d === 'string' && present.has(d);
  };
  const cache = await store.readSidecar<{ version?: number; layers?: Record<string, unknown> }>(LAYER_CACHE_FILE);
  result.removed.layerCacheEntries = Object.values(cache?.layers ?? {}).filter((v) => !keepCacheValue(v)).length;
  if (!result.dryRun) {
    if (cache?.layers && result.removed.layerCacheEntries > 0) {
      await store.updateSidecar<{ version?: number; layers?: Record<string, unknown> }>(LAYER_CACHE_FILE, (cur) => ({
        ...cur,
        layers: Object.fromEntries(Object.entries(cur?.layers ?? {}).filter(([, v]) => keepCacheValue(v))),
      }));
    }
    const pushed = await store.readSidecar<Record<string, unknown>>(PUSHED_FILE);
    if (pushed && Object.keys(pushed).some((d) => !present.has(d))) {
      await store.updateSidecar<Record<string, unknown>>(PUSHED_FILE, (cur) => Object.fromEntries(Object.entries(cur ?? {}).filter(([d]) => present.has(d))));
    }
  }
  return result;
}

/** `docker sign store ls`: what the store holds, judged against the engine when it answers. */
export interface StoreListing {
  store: string;
  /** False when the engine could not be asked: states and reclaimable space are then unknown. */
  engine: boolean;
  engineError?: string;
  images: { name?: string; digest: Digest; state?: 'current' | 'stale' | 'gone'; signatures: Digest[]; size: number }[];
  /** Signatures whose image manifest is no entry of the store (any more): `live` when that image is still in the engine. */
  otherSignatures: { digest: Digest; subject: Digest; live?: boolean }[];
  /** Entries that are neither image manifests nor signatures (kept by prune), and entries whose manifest is damaged. */
  other: { name?: string; digest: Digest; mediaType: string; unreadable?: boolean }[];
  blobs: { count: number; bytes: number };
  /** Bytes `store prune` would free now, and with --all. */
  reclaimable?: { prune: number; all: number };
}

export async function listStore(paths: ConfigPaths, env: NodeJS.ProcessEnv = process.env): Promise<StoreListing> {
  const out: StoreListing = { store: paths.store, engine: false, images: [], otherSignatures: [], other: [], blobs: { count: 0, bytes: 0 } };
  let store: OciLayout;
  try {
    store = await OciLayout.open(paths.store, STORE_OPEN);
  } catch (e) {
    if (e instanceof DockerSignError && e.code === 'LAYOUT_NOT_FOUND') return { ...out, engine: true, reclaimable: { prune: 0, all: 0 } };
    throw e;
  }
  let images: EngineImage[] | undefined;
  try {
    images = await engineImages(env);
    out.engine = true;
  } catch (e) {
    if (!(e instanceof DockerSignError)) throw e;
    out.engineError = e.message;
  }
  const [index, files] = await Promise.all([store.readIndex(), store.listBlobFiles()]);
  const a = await analyzeStore(store, index, images ?? []);
  const sizes = new Map(files.blobs.map((b) => [b.digest as string, b.size]));
  out.blobs = { count: files.blobs.length, bytes: files.blobs.reduce((n, b) => n + b.size, 0) };
  const imageDigests = new Set(a.parsed.filter((p) => p.entry.kind === 'image').map((p) => p.entry.descriptor.digest));
  const signaturesOf = new Map<Digest, Digest[]>();
  for (const { entry } of a.parsed) {
    if (entry.kind === 'signature') signaturesOf.set(entry.subject!, [...(signaturesOf.get(entry.subject!) ?? []), entry.descriptor.digest]);
  }
  for (const p of a.parsed) {
    const { entry } = p;
    const d = entry.descriptor;
    if (entry.kind === 'image') {
      const size = [...new Set([d.digest, ...p.needs])].reduce((n, x) => n + (sizes.get(x) ?? 0), 0);
      const signatures = signaturesOf.get(d.digest) ?? [];
      out.images.push({ ...(entry.name !== undefined ? { name: entry.name } : {}), digest: d.digest, ...(images ? { state: entry.state } : {}), signatures, size });
    } else if (entry.kind === 'signature') {
      if (!imageDigests.has(entry.subject!)) {
        out.otherSignatures.push({ digest: d.digest, subject: entry.subject!, ...(images ? { live: a.subjectLive.get(entry.subject!)?.live ?? false } : {}) });
      }
    } else {
      out.other.push({ ...(entry.name !== undefined ? { name: entry.name } : {}), digest: d.digest, mediaType: d.mediaType, ...(entry.kind === 'unreadable' ? { unreadable: true } : {}) });
    }
  }
  if (images) {
    const o = { now: Date.now(), grace: PRUNE_GRACE_MS };
    out.reclaimable = { prune: planPrune(a, index, files, { ...o, all: false }).bytes, all: planPrune(a, index, files, { ...o, all: true }).bytes };
  }
  return out;
}

interface Plan {
  nextIndex?: ImageIndex;
  removedImages: PruneResult['removed']['images'];
  removedSignatures: PruneResult['removed']['signatures'];
  deleteBlobs: StoredBlobFile[];
  deleteTemps: { path: string; size: number }[];
  bytes: number;
  kept: PruneResult['kept'];
}

/** The store's index entries judged against the engine's image list (shared by prune and `store ls`). */
interface StoreAnalysis {
  parsed: Parsed[];
  /** For every subject a signature names: whether its image is still in the engine, and what it needs. */
  subjectLive: Map<Digest, { live: boolean; needs: Digest[] }>;
  /** Image manifests with at least one signature whose image is still in the engine. */
  signedLive: Set<Digest>;
}

async function analyzeStore(store: OciLayout, index: ImageIndex, images: EngineImage[]): Promise<StoreAnalysis> {
  const ids = new Set(images.map((i) => i.Id));
  const idByName = new Map<string, string>();
  for (const i of images) {
    for (const t of i.RepoTags) {
      let name: string | undefined;
      try {
        name = storeTagFor(t);
      } catch {
        continue; // a name we cannot parse cannot be one of ours
      }
      if (name !== undefined) idByName.set(name, i.Id);
    }
  }

  const parsed = await Promise.all(index.manifests.map((d) => describeEntry(store, d, ids, idByName)));
  // A signature stays when the image it was made for is still in the engine: its subject is either an image entry
  // of the index or (after a rebuild moved the name) a manifest blob still in the store, whose config we check.
  const subjectLive = new Map<Digest, { live: boolean; needs: Digest[] }>();
  for (const p of parsed) {
    // entries we keep whatever the engine says (indexes, other artifacts) keep their signatures too
    if (liveImage(p) || p.entry.kind === 'other') subjectLive.set(p.entry.descriptor.digest, { live: true, needs: p.needs });
  }
  for (const p of parsed) {
    const s = p.entry.subject;
    if (p.entry.kind !== 'signature' || s === undefined || subjectLive.has(s)) continue;
    subjectLive.set(s, await subjectFromBlob(store, s, ids));
  }
  const signedLive = new Set(parsed.filter((p) => p.entry.kind === 'signature' && subjectLive.get(p.entry.subject!)?.live).map((p) => p.entry.subject!));
  return { parsed, subjectLive, signedLive };
}

const liveImage = (p: Parsed) => p.entry.kind === 'image' && p.entry.state !== 'gone';

function planPrune(a: StoreAnalysis, index: ImageIndex, files: Awaited<ReturnType<OciLayout['listBlobFiles']>>, o: { all: boolean; now: number; grace: number }): Plan {
  const { parsed, subjectLive, signedLive } = a;
  const keep: Parsed[] = [];
  const plan: Plan = { removedImages: [], removedSignatures: [], deleteBlobs: [], deleteTemps: [], bytes: 0, kept: { images: 0, signatures: 0, orphanSignatures: 0, other: 0, recentBlobs: 0, recentBytes: 0 } };
  for (const p of parsed) {
    const { entry } = p;
    const digest = entry.descriptor.digest;
    if (entry.kind === 'unreadable') {
      plan.removedImages.push({ ...(entry.name ? { name: entry.name } : {}), digest, reason: 'unreadable' });
    } else if (entry.kind === 'image') {
      if (liveImage(p) && (!o.all || signedLive.has(digest))) {
        keep.push(p);
        plan.kept.images++;
      } else {
        plan.removedImages.push({ ...(entry.name ? { name: entry.name } : {}), digest, reason: liveImage(p) ? 'regenerable' : 'gone' });
      }
    } else if (entry.kind === 'signature') {
      const live = subjectLive.get(entry.subject!)?.live === true;
      if (live || !o.all) {
        keep.push(p);
        plan.kept.signatures++;
        if (!live) plan.kept.orphanSignatures++;
      } else {
        plan.removedSignatures.push({ digest, subject: entry.subject });
      }
    } else {
      keep.push(p);
      plan.kept.other++;
    }
  }

  // Mark: what the kept entries need (a kept signature also needs its image's manifest and blobs, for push).
  const needed = new Set<string>();
  for (const p of keep) {
    needed.add(p.entry.descriptor.digest);
    p.needs.forEach((d) => needed.add(d));
    const s = p.entry.kind === 'signature' ? subjectLive.get(p.entry.subject!) : undefined;
    if (s?.live) {
      needed.add(p.entry.subject!);
      s.needs.forEach((d) => needed.add(d));
    }
  }
  // What the index listed before: its blobs go now whatever their age; other unreferenced ones after the grace.
  const listed = new Set<string>();
  for (const p of parsed) {
    listed.add(p.entry.descriptor.digest);
    p.needs.forEach((d) => listed.add(d));
  }
  for (const b of files.blobs) {
    if (needed.has(b.digest)) continue;
    if (listed.has(b.digest) || o.now - b.mtimeMs >= o.grace) {
      plan.deleteBlobs.push(b);
      plan.bytes += b.size;
    } else {
      plan.kept.recentBlobs++;
      plan.kept.recentBytes += b.size;
    }
  }
  for (const t of files.temps) {
    if (o.now - t.mtimeMs >= o.grace && !(t.pid !== undefined && pidAlive(t.pid))) {
      plan.deleteTemps.push(t);
      plan.bytes += t.size;
    }
  }
  if (keep.length !== parsed.length) {
    const kept = new Set(keep.map((p) => p.entry.descriptor));
    plan.nextIndex = { ...index, manifests: index.manifests.filter((d) => kept.has(d)) };
  }
  return plan;
}

/**
 * The engine's images, as long as their IDs are config digests (what a generated manifest's config is matched with).
 * The containerd image store names images by manifest/index digest: nothing could be matched, every entry would look
 * gone, so judging is refused there (UNSUPPORTED_IMAGE_STORE) rather than deleting what may still be in use.
 */
async function engineImages(env: NodeJS.ProcessEnv): Promise<EngineImage[]> {
  const [images, containerd] = await Promise.all([listImages(env), usesContainerdImageStore(env)]);
  if (containerd) {
    throw new EngineError('UNSUPPORTED_IMAGE_STORE', 'the engine keeps images in the containerd image store, whose image IDs are not config digests: which stored manifests belong to images still in the engine cannot be told', {
      hint: 'not supported with the containerd image store yet; `docker sign store ls` lists what the store holds',
      exitCode: EXIT.UNAVAILABLE,
    });
  }
  return images;
}

/** Reads one index entry: what it is, what it needs, and (images) whether the engine still holds the image. */
async function describeEntry(store: OciLayout, d: Descriptor, ids: Set<string>, idByName: Map<string, string>): Promise<Parsed> {
  const name = d.annotations?.[REF_NAME_ANNOTATION];
  const entry: StoreEntry = { descriptor: d, ...(name !== undefined ? { name } : {}), kind: 'other' };
  if (!isManifestMediaType(d.mediaType) && !isIndexMediaType(d.mediaType)) return { entry, needs: [] };
  const bytes = await readIfIntact(store, d);
  if (!bytes) return { entry: { ...entry, kind: 'unreadable' }, needs: [] };
  let m: Record<string, unknown>;
  try {
    m = parseJsonObject(bytes, 'manifest');
  } catch {
    return { entry: { ...entry, kind: 'unreadable' }, needs: [] };
  }
  if (isIndexMediaType(d.mediaType)) return { entry, needs: await indexNeeds(store, m, 0) };
  const needs = referencedBlobsOf(m).map((b) => b.digest);
  const subject = (m.subject as { digest?: unknown } | undefined)?.digest;
  if (typeof subject === 'string') {
    // a signature whose envelope is damaged or gone could never be pushed or verified: a damaged entry
    if (await damagedReferrerBlob(store, m)) return { entry: { ...entry, kind: 'unreadable' }, needs: [] };
    return { entry: { ...entry, kind: 'signature', subject: subject as Digest }, needs };
  }
  const config = m.config as { mediaType?: unknown; digest?: unknown } | undefined;
  if (config?.mediaType !== MediaType.OCI_CONFIG && config?.mediaType !== MediaType.DOCKER_CONFIG) return { entry, needs };
  const id = String(config.digest);
  const state = name !== undefined && idByName.get(name) === id ? 'current' : ids.has(id) ? 'stale' : 'gone';
  return { entry: { ...entry, kind: 'image', state }, needs };
}

/** The manifests an index lists (and what they need), as far as they are in the store; depth-limited. */
async function indexNeeds(store: OciLayout, m: Record<string, unknown>, depth: number): Promise<Digest[]> {
  const out: Digest[] = [];
  if (!Array.isArray(m.manifests) || depth >= MAX_INDEX_DEPTH) return out;
  for (const c of m.manifests as Descriptor[]) {
    if (typeof c?.digest !== 'string') continue;
    out.push(c.digest);
    const bytes = await readIfIntact(store, c);
    if (!bytes) continue;
    if (isIndexMediaType(c.mediaType)) {
      try {
        out.push(...(await indexNeeds(store, parseJsonObject(bytes, 'index'), depth + 1)));
      } catch { /* damaged child: it needs nothing we could name */ }
    } else {
      out.push(...referencedBlobs(bytes).map((b) => b.digest));
    }
  }
  return out;
}

/** A signature's subject that is no index entry (any more): live if its manifest is still stored and its image is in the engine. */
async function subjectFromBlob(store: OciLayout, digest: Digest, ids: Set<string>): Promise<{ live: boolean; needs: Digest[] }> {
  let bytes: Buffer | undefined;
  try {
    bytes = await readIfIntact(store, { mediaType: MediaType.OCI_MANIFEST, digest, size: (await fsp.stat(store.blobPath(digest))).size });
  } catch {
    bytes = undefined;
  }
  if (!bytes) return { live: false, needs: [] };
  let m: Record<string, unknown>;
  try {
    m = parseJsonObject(bytes, 'manifest');
  } catch {
    return { live: false, needs: [] };
  }
  const config = (m.config as { digest?: unknown } | undefined)?.digest;
  return typeof config === 'string' && ids.has(config) ? { live: true, needs: referencedBlobsOf(m).map((b) => b.digest) } : { live: false, needs: [] };
}

/** The bytes of a stored manifest if present and intact; undefined when missing or damaged (other errors throw). */
async function readIfIntact(store: OciLayout, d: Descriptor): Promise<Buffer | undefined> {
  const r = await readIntactBlob(store, d);
  return 'bytes' in r ? r.bytes : undefined;
}
