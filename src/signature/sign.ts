/**
 * The signing flow (no oclif): sign a subject descriptor into any ArtifactTarget (registry, OCI layout, local store).
 * Heavy modules (registry client, docker engine, OCI layout) are imported lazily by the entry points that need them.
 */
import type { ConfigPaths } from '../config/dir.js';
import { InputError } from '../errors.js';
import { coreDescriptor, type Descriptor } from '../oci/descriptor.js';
import { isDigest } from '../oci/digest.js';
import { MediaType } from '../oci/mediaTypes.js';
import type { ArtifactTarget } from '../oci/target.js';
import type { RegistryOptions } from '../registry/client.js';
import { loadSigner } from '../pki/keys.js';
import { createEnvelope } from './envelope.js';
export { parseAnnotations, parseUserMetadata } from './annotations.js';
import { buildSignatureManifest, certificateThumbprint, signatureConfigDescriptor, SIGNATURE_ARTIFACT_TYPE } from './manifest.js';
import type { EnvelopeMediaType, SignatureAlgorithm, Signer } from './types.js';
import type { X509Certificate } from 'node:crypto';

export const SIGNING_AGENT = 'docker-sign/0.1.0';

export interface SignOptions {
  configPaths: ConfigPaths;
  /** Signing key name in signingkeys.json (default: the default key). Ignored when `signer` is given. */
  keyName?: string;
  signer?: Signer;
  format?: 'jws' | 'cose';
  /** User metadata: goes into the payload as targetArtifact.annotations (signed). */
  annotations?: Record<string, string>;
  /** Expiry as a duration in ms from the signing time, or an absolute date. */
  expiry?: number | Date;
  /** Signing time (default now). */
  now?: Date;
  /** Timestamp the signature with this RFC 3161 TSA (notation's --timestamp-url / --timestamp-root-cert). */
  timestamp?: { url: string; roots: X509Certificate[] };
}

export interface SignResult {
  /** Where the signature was stored (registry repository, oci-layout:PATH, local store). */
  location: string;
  subject: Descriptor;
  signatureManifest: Descriptor;
  envelope: Descriptor & { mediaType: EnvelopeMediaType };
  keyName?: string;
  signatureAlgorithm: string;
  signingTime: string;
  expiry?: string;
}

/** Parses a duration like "24h", "30d", "1h30m", "90s", "2w" into milliseconds. */
/** Go's longest time.Duration (2^63-1 ns), in ms. */
const MAX_DURATION_MS = 9_223_372_036_854;

export function parseDuration(s: string): number {
  const re = /(\d+)(ms|s|m|h|d|w)/g;
  if (!/^(\d+(ms|s|m|h|d|w))+$/.test(s)) {
    throw new InputError('INVALID_DURATION', `invalid duration ${JSON.stringify(s)}`, { hint: 'use e.g. 90m, 24h, 30d, 2w or 1h30m' });
  }
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
  let total = 0;
  for (const m of s.matchAll(re)) total += Number(m[1]) * unit[m[2]!]!;
  if (total <= 0 || !Number.isSafeInteger(total)) throw new InputError('INVALID_DURATION', `duration ${JSON.stringify(s)} must be positive`);
  // notation parses --expiry as a Go time.Duration, which ends at 2^63-1 ns (~292 years); so do we
  if (total > MAX_DURATION_MS) throw new InputError('INVALID_DURATION', `duration ${JSON.stringify(s)} is longer than ~292 years, the longest notation accepts`);
  return total;
}

/** --expiry: a duration (parseDuration) of whole seconds, as notation requires of its --expiry. */
export function parseExpiry(s: string): number {
  const ms = parseDuration(s);
  if (ms % 1000 !== 0) throw new InputError('INVALID_DURATION', `expiry duration ${JSON.stringify(s)} is not a whole number of seconds`, { hint: 'notation signs expiry times in whole seconds: use s, m, h, d or w' });
  return ms;
}

/**
 * Signs `subject` and stores the signature next to it in `target`: pushes the `{}` config blob, the envelope blob
 * and the signature manifest, linking it to the subject (ArtifactTarget.pushReferrer).
 */
export async function signTarget(target: ArtifactTarget, subject: Descriptor, opts: SignOptions): Promise<SignResult> {
  const signer = opts.signer ?? loadSigner(opts.configPaths, opts.keyName, opts.now);
  const keyName = opts.signer ? opts.keyName : (signer as Signer & { keyName?: string }).keyName;
  return signWith(target, subject, signer, keyName, opts);
}

/**
 * Remote signing starts some requests early (signRemote): `configPresent`, whether the target has the `{}` config
 * blob; `envelopeUpload`, an upload session opened for the envelope.
 */
interface EarlyRequests {
  configPresent: Promise<boolean>;
  envelopeUpload: { put(desc: Descriptor, bytes: Buffer): Promise<void> };
}

async function signWith(target: ArtifactTarget, subject: Descriptor, signer: Signer, keyName: string | undefined, opts: SignOptions,
  early?: EarlyRequests): Promise<SignResult> {
  const core = coreDescriptor(subject);
  const now = opts.now ?? new Date();
  const signingTime = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const expiry = opts.expiry === undefined ? undefined : typeof opts.expiry === 'number' ? new Date(signingTime.getTime() + opts.expiry) : opts.expiry;
  const targetArtifact: Descriptor = { ...core, ...(opts.annotations && Object.keys(opts.annotations).length > 0 ? { annotations: { ...opts.annotations } } : {}) };
  const tsa = opts.timestamp;
  const envelope = await createEnvelope({
    payload: { targetArtifact }, format: opts.format ?? 'jws', signer, signingTime, expiry, signingAgent: SIGNING_AGENT,
    ...(tsa ? { timestamp: async (sig: Buffer, alg: SignatureAlgorithm) => (await import('./tsa.js')).timestampSignature(sig, alg, { url: tsa.url, roots: tsa.roots, signingTime }) } : {}),
  });
  const built = buildSignatureManifest(core, envelope, signer.certificateChain, signingTime);
  // The two blobs are independent: upload them concurrently, then the manifest that references them. The envelope
  // holds a signature made just now, so no registry has it yet: no HEAD first.
  await Promise.all([
    early
      ? early.configPresent.then((has) => (has ? undefined : target.pushBlob(built.config.descriptor, built.config.bytes, { knownAbsent: true })))
      : target.pushBlob(built.config.descriptor, built.config.bytes),
    early ? early.envelopeUpload.put(built.envelopeDescriptor, envelope.bytes) : target.pushBlob(built.envelopeDescriptor, envelope.bytes, { knownAbsent: true }),
  ]);
  await target.pushReferrer(built.descriptor, built.manifest, core);
  return {
    location: target.location,
    subject: core,
    signatureManifest: built.descriptor,
    envelope: built.envelopeDescriptor as Descriptor & { mediaType: EnvelopeMediaType },
    keyName,
    signatureAlgorithm: signer.algorithm,
    signingTime: signingTime.toISOString().replace('.000Z', 'Z'),
    ...(expiry ? { expiry: new Date(Math.floor(expiry.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z') } : {}),
  };
}

function checkSignable(desc: Descriptor, what: string): void {
  const ok = [MediaType.OCI_MANIFEST, MediaType.OCI_INDEX, MediaType.DOCKER_MANIFEST, MediaType.DOCKER_MANIFEST_LIST] as string[];
  if (!ok.includes(desc.mediaType)) {
    throw new InputError('NOT_SIGNABLE', `${what} is a ${desc.mediaType}, not an image manifest or index`);
  }
}

/** The selector to resolve in a target: digest if given, else tag, else "latest". */
export function selectorOf(ref: { tag?: string; digest?: string }): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

export interface SignRemoteOptions extends SignOptions {
  reference: string;
  registryOptions?: RegistryOptions;
}

/**
 * Signs an image in a registry: resolves the tag to a digest once (fetching the manifest so the digest is computed
 * from its bytes), signs that descriptor, pushes config, envelope and signature manifest and links it to the image
 * (Referrers API or the referrers tag schema, handled by the registry client).
 */
export async function signRemote(opts: SignRemoteOptions): Promise<SignResult & { reference: string }> {
  const { parseReference, formatReference } = await import('../oci/reference.js');
  const ref = parseReference(opts.reference);
  const { openRepository } = await import('../registry/index.js');
  const repo = openRepository(ref, opts.registryOptions ?? {});
  // The first requests (resolve the reference; does the repository have the `{}` config blob; an upload session for
  // the envelope) go out first, and the key is read and checked while they are on the wire. The session holds no
  // content and is cancelled if signing stops before using it (a bad key, say): nothing is written before the key
  // is known good.
  const fetching = repo.fetchManifest(selectorOf(ref));
  const configPresent = repo.hasBlob(signatureConfigDescriptor());
  const envelopeUpload = repo.openUpload();
  fetching.catch(() => undefined);
  configPresent.catch(() => undefined); // awaited in signWith; on failure the config is pushed with its own check
  await new Promise<void>((resolve) => setImmediate(resolve)); // let the requests reach the socket first
  let res: SignResult;
  try {
    const signer = opts.signer ?? loadSigner(opts.configPaths, opts.keyName, opts.now);
    const keyName = opts.signer ? opts.keyName : (signer as Signer & { keyName?: string }).keyName;
    const fetched = await fetching;
    const subject = coreDescriptor(fetched.descriptor);
    if (ref.digest && subject.digest !== ref.digest) {
      throw new InputError('DIGEST_MISMATCH', `registry returned manifest ${subject.digest} for ${ref.digest}`);
    }
    checkSignable(subject, opts.reference);
    res = await signWith(repo, subject, signer, keyName, opts, { configPresent: configPresent.catch(() => false), envelopeUpload });
  } catch (e) {
    await envelopeUpload.cancel(); // a no-op once the envelope was put
    throw e;
  }
  return { ...res, reference: formatReference({ registry: ref.registry, repository: ref.repository, digest: res.subject.digest }) };
}

export interface SignLayoutOptions extends SignOptions {
  /** OCI image layout directory. */
  layoutPath: string;
  /** Tag (ref.name) or digest of the manifest inside the layout. */
  reference: string;
}

/** Signs a manifest of an OCI image layout on disk (offline); the signature manifest is added to the same layout. */
export async function signLayout(opts: SignLayoutOptions): Promise<SignResult & { reference: string }> {
  const signer = opts.signer ?? loadSigner(opts.configPaths, opts.keyName, opts.now);
  const keyName = opts.signer ? opts.keyName : (signer as Signer & { keyName?: string }).keyName;
  const { OciLayout } = await import('../oci/layout.js');
  const layout = await OciLayout.open(opts.layoutPath);
  const fetched = await layout.fetchManifest(await layout.resolve(opts.reference));
  const subject = coreDescriptor(fetched.descriptor);
  checkSignable(subject, `${opts.layoutPath}:${opts.reference}`);
  const res = await signWith(layout, subject, signer, keyName, opts);
  return { ...res, reference: `${layout.location}@${subject.digest}` };
}

export interface SignLocalOptions extends SignOptions {
  /** Local image reference or ID as docker knows it. */
  image: string;
  /** Manifest flavor when it has to be generated (default: reuse the stored one, else oci). */
  mediaType?: 'oci' | 'docker';
  env?: NodeJS.ProcessEnv;
  /** Progress of manifest generation (reading + compressing layers), e.g. createLayerBars() from src/docker. */
  progress?: import('../docker/progress.js').LayerBars;
}

/**
 * Signs a local image: generates (or reuses) its OCI manifest in our local store (src/docker generateManifest),
 * signs that digest, and keeps the signature in the store until `docker sign push`.
 */
export async function signLocal(opts: SignLocalOptions): Promise<SignResult & { reference: string; imageId: string }> {
  const l = await localSubject(opts);
  const res = await signWith(l.store, l.subject, l.signer, l.keyName, opts);
  return { ...res, reference: l.reference, imageId: l.imageId };
}

/** The signer and the stored manifest of a local image (generated now unless the store has it for this image). */
async function localSubject(opts: SignLocalOptions) {
  const signer = opts.signer ?? loadSigner(opts.configPaths, opts.keyName, opts.now);
  const keyName = opts.signer ? opts.keyName : (signer as Signer & { keyName?: string }).keyName;
  const { OciLayout } = await import('../oci/layout.js');
  const { ensureGenerated } = await import('../docker/push.js');
  const store = await OciLayout.open(opts.configPaths.store, { create: true, blobsRequired: true });
  // Reuse the stored manifest if it still matches the engine's image (same flavor `docker sign push` will push).
  const gen = await ensureGenerated(opts.image, { store, mediaType: opts.mediaType, env: opts.env, progress: opts.progress });
  const subject = coreDescriptor(gen.descriptor);
  return { signer, keyName, store, subject, imageId: gen.imageId, reference: `${gen.storeTag ?? opts.image}@${subject.digest}` };
}

/**
 * `docker sign push --sign` (and the `docker push --sign` wrapper): signs the local image with the key unless the
 * store already holds a signature of that very manifest made with that key's certificate (same leaf thumbprint in
 * the signature manifest's `io.cncf.notary.x509chain.thumbprint#S256`) that has not expired. Pushing the same image
 * twice so adds one signature, not two; a new build (new digest) or another key gets its own.
 */
export async function signLocalUnlessSigned(opts: SignLocalOptions): Promise<
  { signed: SignResult & { reference: string; imageId: string } } | { existing: Descriptor; subject: Descriptor; keyName?: string; reference: string }> {
  const l = await localSubject(opts);
  const leaf = certificateThumbprint(l.signer.certificateChain[0]!);
  const { inspectSignatures } = await import('./list.js');
  // made with this certificate, intact, for this very manifest, not expired
  const mine = (await inspectSignatures(l.store, l.subject, opts.now ?? new Date())).find((d) => !d.problem && d.thumbprints?.[0] === leaf
    && d.envelope?.integrity === 'ok' && d.envelope.matchesSubject && d.envelope.expired !== true);
  if (mine) return { existing: { mediaType: mine.mediaType, digest: mine.digest, size: mine.size }, subject: l.subject, keyName: l.keyName, reference: l.reference };
  const res = await signWith(l.store, l.subject, l.signer, l.keyName, opts);
  return { signed: { ...res, reference: l.reference, imageId: l.imageId } };
}

/** True if `s` names a digest-pinned reference (always remote for `docker sign`). */
export function hasDigest(s: string): boolean {
  const i = s.lastIndexOf('@');
  return i > 0 && isDigest(s.slice(i + 1));
}

export { SIGNATURE_ARTIFACT_TYPE };

export interface LocalImageInfo {
  exists: boolean;
  /** RepoDigests docker recorded (set by `docker push` / `docker pull`). */
  repoDigests: string[];
}

/**
 * Looks up image `ref` in the Docker engine (for `docker sign IMAGE` auto mode). On a unix socket this is one raw
 * HTTP request (no dockerode load); elsewhere it uses the engine module. Unreachable engine → { exists: false }.
 */
export async function localImageInfo(ref: string, env: NodeJS.ProcessEnv = process.env): Promise<LocalImageInfo> {
  const none: LocalImageInfo = { exists: false, repoDigests: [] };
  const { resolveEndpoint } = await import('../docker/engine.js');
  let ep;
  try {
    ep = resolveEndpoint(env);
  } catch {
    return none;
  }
  if (ep.host.startsWith('unix://')) {
    const { request } = await import('node:http');
    return new Promise<LocalImageInfo>((resolve) => {
      const req = request({ socketPath: ep.host.slice('unix://'.length), path: `/images/${encodeURIComponent(ref)}/json`, method: 'GET', timeout: 3000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => resolve(none));
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve(none);
          try {
            const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { RepoDigests?: unknown };
            resolve({ exists: true, repoDigests: Array.isArray(v.RepoDigests) ? v.RepoDigests.filter((x): x is string => typeof x === 'string') : [] });
          } catch {
            resolve({ exists: true, repoDigests: [] });
          }
        });
      });
      req.on('timeout', () => {
        req.destroy();
        resolve(none);
      });
      req.on('error', () => resolve(none));
      req.end();
    });
  }
  const { inspectImage } = await import('../docker/engine.js');
  try {
    const i = await inspectImage(ref, env);
    return { exists: true, repoDigests: i.RepoDigests };
  } catch {
    return none;
  }
}

/**
 * Auto mode of `docker sign IMAGE` (no --local/--remote/--oci-layout): a digest-pinned reference is remote; a
 * local image that docker already pushed to / pulled from the same repository (a RepoDigest for it) is in the
 * registry, so the registry's manifest is signed (the locally generated manifest could have another digest); any
 * other local image is signed locally (until `docker sign push`); otherwise remote.
 */
export async function chooseSignMode(image: string, env: NodeJS.ProcessEnv = process.env): Promise<{ mode: 'local' | 'remote'; reason: string }> {
  if (hasDigest(image)) return { mode: 'remote', reason: 'the reference is pinned by digest' };
  const info = await localImageInfo(image, env);
  if (!info.exists) return { mode: 'remote', reason: 'no local image of that name' };
  const { parseReference } = await import('../oci/reference.js');
  let want;
  try {
    want = parseReference(image);
  } catch {
    return { mode: 'local', reason: 'local image' };
  }
  const inRegistry = info.repoDigests.some((rd) => {
    try {
      const r = parseReference(rd);
      return r.registry === want.registry && r.repository === want.repository;
    } catch {
      return false;
    }
  });
  return inRegistry
    ? { mode: 'remote', reason: `the local image was pushed to / pulled from ${want.registry}/${want.repository}` }
    : { mode: 'local', reason: 'local image not pushed yet' };
}
