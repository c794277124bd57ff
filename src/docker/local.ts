/**
 * The local store's manifest of a local image, checked against what the engine holds now: `docker sign verify
 * --local IMAGE` verifies the signatures kept in the store (signed with `docker sign IMAGE`, not pushed yet) only
 * for the image as it is, never for an earlier build that happened to carry the same name.
 */
import { DockerSignError, EXIT, InputError } from '../errors.js';
import type { ConfigPaths } from '../config/dir.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import { parseImageManifest, parseJsonObject } from '../oci/manifest.js';
import { parseReference, repositoryName } from '../oci/reference.js';
import { OciLayout, referencedBlobsOf } from '../oci/layout.js';
import { inspectImage } from './engine.js';
import { storeTagFor } from './generate.js';

export interface LocalImageManifest {
  store: OciLayout;
  /** registry/repository@digest of the stored manifest: what verification is about (registryScopes match its name). */
  reference: string;
  descriptor: Descriptor;
  imageId: string;
}

export type StoredManifest = { fetched: { descriptor: Descriptor; bytes: Buffer }; config: Digest; blobsOk: boolean } | undefined;

/**
 * The manifest stored under `storeTag` if it is intact, with its config digest (the image ID it was made for) and
 * whether all its blobs are in the store; undefined when there is none (or it is damaged). Push and sign reuse it
 * when it still matches the engine's image; `verify --local` insists that it does.
 */
export async function storedManifest(store: OciLayout, storeTag: string): Promise<StoredManifest> {
  try {
    const fetched = await store.fetchManifest(storeTag);
    const m = parseImageManifest(fetched.bytes, fetched.descriptor.mediaType);
    const blobsOk = (await Promise.all([m.config, ...m.layers].map((d) => store.hasBlob(d)))).every(Boolean);
    return { fetched, config: m.config.digest, blobsOk };
  } catch (e) {
    if (e instanceof DockerSignError && (e.code === 'NOT_FOUND' || e.code === 'DIGEST_MISMATCH' || e.code === 'SIZE_MISMATCH' || e.code === 'INVALID_MANIFEST')) return undefined;
    throw e;
  }
}

export async function localImageManifest(image: string, paths: ConfigPaths, env: NodeJS.ProcessEnv = process.env): Promise<LocalImageManifest> {
  const insp = await inspectImage(image, env);
  const storeTag = storeTagFor(image, insp.Id);
  if (storeTag === undefined) {
    throw new InputError('LOCAL_NEEDS_NAME', `${image} is an image ID: --local verification needs the image's name`, {
      hint: 'name it as repository[:tag] (the trust policy\'s registryScopes match names)',
    });
  }
  const store = await OciLayout.open(paths.store, { create: true, blobsRequired: true });
  const stored = await storedManifest(store, storeTag);
  if (!stored) {
    throw new DockerSignError('NOT_SIGNED_LOCALLY', `${image} has no manifest in the local store: it was not signed on this machine`, {
      exitCode: EXIT.VERIFICATION_FAILED, hint: `sign it with \`docker sign ${image}\`, or verify the pushed image without --local`,
    });
  }
  if (stored.config !== insp.Id) {
    throw new DockerSignError('LOCAL_IMAGE_CHANGED', `${image} is not the image its stored manifest was made for: the engine has ${insp.Id}, the manifest ${stored.config}`, {
      exitCode: EXIT.VERIFICATION_FAILED, hint: `the image was rebuilt or re-tagged since it was signed; sign it again with \`docker sign ${image}\``,
    });
  }
  const { descriptor } = stored.fetched;
  return { store, reference: `${repositoryName(parseReference(storeTag))}@${descriptor.digest}`, descriptor, imageId: insp.Id };
}

/** Blobs up to this size are read and digest-checked by readStoredReferrer; larger ones need only be there. */
const CHECKED_REFERRER_BLOB = 4 << 20;

/**
 * A referrer (signature) manifest kept in the store, with its blobs, checked: the manifest and every blob up to 4 MiB
 * (an envelope is a few kB) against digest and size, larger ones for being there. `damaged` says what is wrong.
 * Push checks every signature this way before the image manifest goes up; prune drops what is damaged.
 */
export async function readStoredReferrer(store: OciLayout, d: Descriptor): Promise<{ bytes: Buffer; manifest: Record<string, unknown> } | { damaged: string }> {
  const got = await readIntactBlob(store, d);
  if ('damaged' in got) return { damaged: `its manifest: ${got.damaged}` };
  let m: Record<string, unknown>;
  try {
    m = parseJsonObject(got.bytes, 'referrer manifest');
  } catch (e) {
    return { damaged: (e as Error).message };
  }
  const damaged = await damagedReferrerBlob(store, m);
  return damaged ? { damaged } : { bytes: got.bytes, manifest: m };
}

/** What is wrong with the blobs of a (parsed) referrer manifest, checked as readStoredReferrer says; undefined if nothing. */
export async function damagedReferrerBlob(store: OciLayout, m: Record<string, unknown>): Promise<string | undefined> {
  for (const b of referencedBlobsOf(m)) {
    if (b.size > CHECKED_REFERRER_BLOB) {
      if (!(await store.hasBlob(b))) return `blob ${b.digest} is missing`;
    } else {
      const r = await readIntactBlob(store, b);
      if ('damaged' in r) return r.damaged;
    }
  }
  return undefined;
}

/** A stored blob's bytes if it is there with its digest and size; else what is wrong (other errors, e.g. EACCES, throw). */
export async function readIntactBlob(store: OciLayout, x: Pick<Descriptor, 'digest' | 'size'>): Promise<{ bytes: Buffer } | { damaged: string }> {
  try {
    return { bytes: await store.fetchBlob({ mediaType: 'application/octet-stream', digest: x.digest, size: x.size }) };
  } catch (e) {
    if (e instanceof DockerSignError && ['NOT_FOUND', 'DIGEST_MISMATCH', 'SIZE_MISMATCH', 'BLOB_TOO_LARGE'].includes(e.code)) return { damaged: e.message };
    throw e;
  }
}
