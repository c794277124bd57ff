import { classify, type Classified, type RequestKind } from './classify.js';
import { VerdictCache } from './cache.js';
import { parseImageRef, repoName, formatRef, isDigestString, RefError, type ImageRef } from './ref.js';

/**
 * The guard's decision logic, free of HTTP and of dockerd: `decide(request, deps, options)`.
 * Everything it needs from the outside (engine lookups, registry, verifier, clock, policy hash) is injected
 * through `GuardDeps`, so it runs in unit tests and benches without a daemon.
 *
 * Rules (fail closed everywhere):
 *  - pull (`POST /images/create?fromImage=R&tag=T`): T a digest -> verify R@T; T a tag -> resolve it at the registry
 *    (HEAD with the manifest Accept headers), verify R@digest. All-tags pulls (no tag) are denied.
 *  - create (`POST /containers/create`): the body (base64 JSON) must be present and parse; `.Image` is resolved
 *    through the engine (Id, RepoDigests). Allowed only if a manifest whose config digest equals Id (classic image
 *    store), or whose own digest equals Id (containerd image store: the Id is the pulled manifest/index digest),
 *    carries a signature that satisfies the policy: a RepoDigests entry verified at the registry, or a manifest in
 *    our local store (generated + signed here, not pushed). Image not present locally -> allow (dockerd answers 404; the
 *    CLI then pulls, which is gated, and retries the create).
 *  - start (`POST /containers/<id>/start`, if checkStart): the container's image Id is checked like create.
 *  - build / load / import / commit / push: allow or deny per configuration.
 *  - everything else: allow, synchronously.
 */
export interface AuthZRequest {
  RequestMethod?: string;
  RequestUri?: string;
  RequestHeaders?: Record<string, string>;
  RequestBody?: string | null;
  User?: string;
  UserAuthNMethod?: string;
}

export interface EngineImage {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
}

export interface VerifyOutcome {
  verified: boolean;
  /** manifest digest that was verified */
  digest: string;
  /** trust policy statement name that applied */
  policy?: string;
  /** verification level (strict, permissive, audit, skip) */
  level?: string;
  /** why it failed (or a note when it passed) */
  reason?: string;
}

export interface GuardDeps {
  /** GET /images/<ref>/json; null when the engine does not have it (404). */
  inspectImage(ref: string, signal: AbortSignal): Promise<EngineImage | null>;
  /** GET /containers/<id>/json -> image Id (`.Image`); null when unknown. */
  containerImage(id: string, signal: AbortSignal): Promise<string | null>;
  /** DELETE /containers/<id>?force=1 (a container created against the verdict is removed before it can run). */
  removeContainer?(id: string, signal: AbortSignal): Promise<void>;
  /** Resolves a tag at the registry to the manifest digest (HEAD with the manifest Accept headers). */
  resolveTag(ref: ImageRef, signal: AbortSignal): Promise<string>;
  /** Verifies signatures of `<registry>/<repo>@<digest>` against the trust policy. */
  verify(reference: string, signal: AbortSignal): Promise<VerifyOutcome>;
  /** Config digests of the image(s) that manifest `<registry>/<repo>@<digest>` describes (index: every child). */
  configDigests(reference: string, signal: AbortSignal): Promise<string[]>;
  /** A verified signature in the local store for a manifest whose config digest is `imageId`; null if none. */
  verifyLocal(imageId: string, signal: AbortSignal): Promise<VerifyOutcome | null>;
  /** sha256 of the trust policy + trust store (cache key part). */
  policyHash(): Promise<string>;
  now(): number;
}

export type GatePolicy = 'allow' | 'deny';

export interface DecideOptions {
  /** Deadline per gated decision (ms); past it the answer is deny ("timed out"). */
  timeoutMs: number;
  /** TTL of cached positive verifications (ms); 0 disables. */
  cacheTtlMs: number;
  /** TTL of cached negative verifications (ms); errors/timeouts are never cached. */
  denyCacheTtlMs: number;
  onBuild: GatePolicy;
  onLoad: GatePolicy;
  onImport: GatePolicy;
  onCommit: GatePolicy;
  onPush: GatePolicy;
  /** Plug-in install / create / upgrade / enable (the plug-in's code runs as root, unverified). */
  onPlugin: GatePolicy;
  /** Swarm service create / update (the swarm pulls and runs the image itself, unseen by the guard). */
  onService: GatePolicy;
  /** Re-check the image at `containers/<id>/start`. */
  checkStart: boolean;
  /** Only allow pulls by digest (closes the tag TOCTOU window at pull time). */
  pullByDigestOnly: boolean;
  /** Consult our local store for images signed here but never pushed. */
  localStore: boolean;
}

export const DEFAULT_DECIDE_OPTIONS: DecideOptions = {
  timeoutMs: 10_000,
  cacheTtlMs: 60_000,
  denyCacheTtlMs: 2_000,
  onBuild: 'allow',
  onLoad: 'allow',
  onImport: 'allow',
  onCommit: 'allow',
  onPush: 'allow',
  onPlugin: 'deny',
  onService: 'deny',
  checkStart: true,
  pullByDigestOnly: false,
  localStore: true,
};

export interface Decision {
  allow: boolean;
  /** Text the docker user sees after "authorization denied by plugin <name>: " */
  msg?: string;
  kind: RequestKind;
  image?: string;
  digest?: string;
  policy?: string;
  reason: string;
  cached?: boolean;
}

export interface GuardCaches {
  /** `<registry>/<repo>@<digest>` + policy hash -> VerifyOutcome */
  verify: VerdictCache<VerifyOutcome>;
  /** `<registry>/<repo>@<digest>` -> config digests (content-addressed, policy independent) */
  config: VerdictCache<string[]>;
  /** image Id + RepoDigests + policy hash -> Decision (create/start) */
  image: VerdictCache<Decision>;
}

export function newCaches(): GuardCaches {
  return { verify: new VerdictCache(), config: new VerdictCache(), image: new VerdictCache() };
}

const PREFIX = 'docker-sign:';

export class DeadlineError extends Error {}

function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
  }
  return String(e);
}

function policyText(o: { policy?: string; level?: string }): string {
  if (!o.policy) return '';
  return ` (trust policy "${o.policy}"${o.level ? `, level ${o.level}` : ''})`;
}

function allowOther(kind: RequestKind, reason: string): Decision {
  return { allow: true, kind, reason };
}

function deny(kind: RequestKind, reason: string, msg: string, extra: Partial<Decision> = {}): Decision {
  return { allow: false, kind, reason, msg: `${PREFIX} ${msg}`, ...extra };
}

/** Runs fn with an AbortSignal that fires at the deadline; rejects with DeadlineError then. */
async function withDeadline<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort(new DeadlineError(`timed out after ${ms} ms`));
      reject(new DeadlineError(`timed out after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([fn(ac.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Cached verification of one manifest reference. */
async function verifyCached(ref: string, deps: GuardDeps, opts: DecideOptions, caches: GuardCaches | undefined, signal: AbortSignal, hash: string): Promise<VerifyOutcome & { cached?: boolean }> {
  const key = VerdictCache.key(['v', ref], hash);
  const hit = caches?.verify.get(key, deps.now());
  if (hit) return { ...hit, cached: true };
  const out = await deps.verify(ref, signal);
  // Only cache when the policy did not change while we verified.
  if (caches && (await deps.policyHash()) === hash) caches.verify.set(key, out, out.verified ? opts.cacheTtlMs : opts.denyCacheTtlMs, deps.now());
  return out;
}

async function configDigestsCached(ref: string, deps: GuardDeps, opts: DecideOptions, caches: GuardCaches | undefined, signal: AbortSignal): Promise<string[]> {
  const key = `cfg|${ref}`;
  const hit = caches?.config.get(key, deps.now());
  if (hit) return hit;
  const out = await deps.configDigests(ref, signal);
  // a manifest digest's config never changes: keep it as long as positive verdicts at least
  caches?.config.set(key, out, Math.max(opts.cacheTtlMs, 600_000), deps.now());
  return out;
}

async function decidePull(c: Classified, deps: GuardDeps, opts: DecideOptions, caches: GuardCaches | undefined): Promise<Decision> {
  const fromImage = c.query.fromImage ?? '';
  let ref: ImageRef;
  try {
    ref = parseImageRef(fromImage);
  } catch (e) {
    return deny('pull', 'invalid image reference', `pull of "${fromImage}" denied: ${e instanceof RefError ? e.message : 'invalid reference'}`, { image: fromImage });
  }
  const tagParam = c.query.tag ?? '';
  if (tagParam !== '') {
    if (isDigestString(tagParam)) ref = { ...ref, digest: tagParam, tag: undefined };
    else if (/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tagParam)) ref = { ...ref, tag: tagParam };
    else return deny('pull', 'invalid tag', `pull of ${repoName(ref)} denied: invalid tag "${tagParam}"`, { image: fromImage });
  }
  const shown = formatRef(ref);
  if (!ref.tag && !ref.digest) {
    return deny('pull', 'all-tags pull', `pull of every tag of ${repoName(ref)} denied: each image must be verified; pull one tag or a digest`, { image: shown });
  }
  if (!ref.digest && opts.pullByDigestOnly) {
    return deny('pull', 'tag pull not allowed (pullByDigestOnly)', `pull of ${shown} denied: this guard only allows pulls by digest; pull by digest: docker pull ${repoName(ref)}@sha256:…`, { image: shown });
  }
  const hash = await deps.policyHash();
  if (ref.digest && caches) {
    // Fast path for a cached pull by digest: no deadline timer, no promise race.
    const hit = caches.verify.get(VerdictCache.key(['v', `${repoName(ref)}@${ref.digest}`], hash), deps.now());
    if (hit?.verified) return { allow: true, kind: 'pull', image: shown, digest: ref.digest, policy: hit.policy, reason: hit.reason ?? 'signature verified', cached: true };
  }
  return withDeadline(opts.timeoutMs, async (signal) => {
    let digest = ref.digest;
    if (!digest) {
      try {
        digest = await deps.resolveTag(ref, signal);
      } catch (e) {
        return deny('pull', `tag resolution failed: ${describeError(e)}`, `pull of ${shown} denied: cannot resolve the tag at the registry: ${describeError(e)} (fail closed)`, { image: shown });
      }
    }
    const target = `${repoName(ref)}@${digest}`;
    let out: VerifyOutcome & { cached?: boolean };
    try {
      out = await verifyCached(target, deps, opts, caches, signal, hash);
    } catch (e) {
      if (e instanceof DeadlineError || signal.aborted) throw e;
      return deny('pull', `verification error: ${describeError(e)}`, `pull of ${shown} denied: cannot verify ${digest}: ${describeError(e)} (fail closed)`, { image: shown, digest });
    }
    if (out.verified) {
      return { allow: true, kind: 'pull', image: shown, digest, policy: out.policy, reason: out.reason ?? 'signature verified', cached: out.cached };
    }
    let msg = `pull of ${shown} denied: ${digest} has no valid signature${policyText(out)}: ${out.reason ?? 'verification failed'}`;
    if (ref.tag) {
      msg += `. Tag "${ref.tag}" now resolves to ${digest}; if the tag moved since it was signed, pull by digest: docker pull ${repoName(ref)}@<signed digest>`;
    }
    return deny('pull', out.reason ?? 'verification failed', msg, { image: shown, digest, policy: out.policy, cached: out.cached });
  });
}

/** Checks a local image (by whatever name the user typed, or its Id) — create and start. */
async function decideImage(kind: 'create' | 'start' | 'rename', image: string, deps: GuardDeps, opts: DecideOptions, caches: GuardCaches | undefined,
  mustExist = kind !== 'create'): Promise<Decision> {
  const hash = await deps.policyHash();
  return withDeadline(opts.timeoutMs, async (signal) => {
    const img = await deps.inspectImage(image, signal);
    if (img === null) {
      // create: dockerd answers 404 and the CLI pulls (checked) and retries. start/restart: the container exists and
      // runs from its own layers even when its image record is gone (`docker rmi -f` of a stopped container's
      // image), so nothing could be verified: deny.
      if (mustExist) return deny(kind, 'image not in the engine', `${verb(kind)} of a container whose image ${image} is no longer in the engine denied: it cannot be verified`, { image });
      return { allow: true, kind, image, reason: 'image not present locally (the engine refuses; a pull is checked separately)' };
    }
    if (typeof img.Id !== 'string' || !isDigestString(img.Id)) {
      return deny(kind, 'engine returned no image Id', `${verb(kind)} of "${image}" denied: the engine returned no usable image Id`, { image });
    }
    const repoDigests = [...new Set((img.RepoDigests ?? []).filter((x) => typeof x === 'string'))].sort();
    const key = VerdictCache.key(['i', img.Id, ...repoDigests, opts.localStore ? 'L' : ''], hash);
    const hit = caches?.image.get(key, deps.now());
    if (hit) return { ...hit, kind, image, cached: true };

    const failures: string[] = [];
    let lastPolicy: string | undefined;
    let transient = false;
    for (const rd of repoDigests) {
      let r: ImageRef;
      try {
        r = parseImageRef(rd);
      } catch {
        failures.push(`${rd}: unparsable RepoDigest`);
        continue;
      }
      if (!r.digest) continue;
      const target = `${repoName(r)}@${r.digest}`;
      try {
        const out = await verifyCached(target, deps, opts, caches, signal, hash);
        lastPolicy = out.policy ?? lastPolicy;
        if (!out.verified) {
          failures.push(`${target}: ${out.reason ?? 'no valid signature'}${policyText(out)}`);
          continue;
        }
        // The classic image store names an image by its config digest, which the signed manifest must carry; the
        // containerd image store (Docker Desktop, new Engine 29 installs) names it by the digest of the manifest
        // or index it was pulled as, so a signed RepoDigest equal to the Id is the image itself. (No config digest
        // can equal a manifest digest short of a sha256 collision, so the two cases cannot be confused.)
        const isImage = r.digest === img.Id;
        if (!isImage) {
          const configs = await configDigestsCached(target, deps, opts, caches, signal);
          if (!configs.includes(img.Id)) {
            failures.push(`${target}: signed, but its config digest is not the local image ${img.Id}`);
            continue;
          }
        }
        const d: Decision = {
          allow: true, kind, image, digest: r.digest, policy: out.policy,
          reason: isImage ? `signed manifest ${target} is the image (containerd image store)` : `signed manifest ${target} has config ${img.Id}`,
        };
        if (caches && (await deps.policyHash()) === hash) caches.image.set(key, d, opts.cacheTtlMs, deps.now());
        return d;
      } catch (e) {
        if (e instanceof DeadlineError || signal.aborted) throw e;
        transient = true;
        failures.push(`${target}: ${describeError(e)}`);
      }
    }
    if (opts.localStore) {
      try {
        const local = await deps.verifyLocal(img.Id, signal);
        if (local?.verified) {
          const d: Decision = { allow: true, kind, image, digest: local.digest, policy: local.policy, reason: `signed manifest ${local.digest} in the local store has config ${img.Id}` };
          if (caches && (await deps.policyHash()) === hash) caches.image.set(key, d, opts.cacheTtlMs, deps.now());
          return d;
        }
        failures.push(local ? `local store ${local.digest}: ${local.reason ?? 'no valid signature'}${policyText(local)}` : 'local store: no signed manifest for this image');
        lastPolicy = local?.policy ?? lastPolicy;
      } catch (e) {
        if (e instanceof DeadlineError || signal.aborted) throw e;
        transient = true;
        failures.push(`local store: ${describeError(e)}`);
      }
    }
    const none = repoDigests.length === 0 ? ' (image has no RepoDigests: built, loaded, imported or committed here, never pulled/pushed)' : '';
    const d = deny(kind, failures.join('; ') || 'no signed manifest', `${verb(kind)} of "${image}" (image ${img.Id.slice(0, 19)}…) denied: no signed manifest whose config is this image${none}: ${failures.join('; ')}`, { image, digest: img.Id, policy: lastPolicy });
    if (caches && !transient && (await deps.policyHash()) === hash) caches.image.set(key, d, opts.denyCacheTtlMs, deps.now());
    return d;
  });
}

function verb(kind: RequestKind): string {
  return kind === 'start' ? 'start' : kind === 'create' ? 'container create' : kind === 'rename' ? 'container rename' : kind;
}

const GATE_TEXT: Record<string, string> = {
  build: 'docker build (the builder pulls base images internally; they cannot be verified here)',
  load: 'docker load (loaded images were not pulled and carry no registry digest)',
  import: 'docker import (imported images carry no registry digest)',
  commit: 'docker commit (committed images carry no registry digest)',
  push: 'docker push',
  plugin: 'installing, upgrading or enabling a Docker plug-in (its code runs as root, unverified)',
  service: 'creating or updating a swarm service (the swarm pulls and runs its image without the guard)',
};

function gateOption(kind: RequestKind, opts: DecideOptions): [GatePolicy, string] {
  switch (kind) {
    case 'build': return [opts.onBuild, 'onBuild'];
    case 'load': return [opts.onLoad, 'onLoad'];
    case 'import': return [opts.onImport, 'onImport'];
    case 'commit': return [opts.onCommit, 'onCommit'];
    case 'plugin': return [opts.onPlugin, 'onPlugin'];
    case 'service': return [opts.onService, 'onService'];
    default: return [opts.onPush, 'onPush'];
  }
}

/**
 * A member name folded the way Go's encoding/json compares them (any Go version): ASCII case, and the non-ASCII
 * letters whose upper-then-lower case is ASCII (dotted/dotless i, long s, Kelvin sign).
 */
function goFold(name: string): string {
  return name.replace(/[\u0130\u0131]/g, 'i').replace(/\u017f/g, 's').replace(/\u212a/g, 'k').toLowerCase();
}

/** Content-Type media type of the request, from dockerd's forwarded headers (names in any case). */
function requestMediaType(headers: Record<string, string> | undefined): string {
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (k.toLowerCase() === 'content-type' && typeof v === 'string') return v.split(';')[0]!.trim().toLowerCase();
  }
  return '';
}

/** Decodes the base64 JSON body of containers/create and returns `.Image`, or a deny reason. */
export function createImageFromBody(body: unknown): { image: string } | { error: string } {
  if (typeof body !== 'string' || body.length === 0) {
    return { error: 'the request body was not forwarded to the plug-in (over 1 MiB or not JSON)' };
  }
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new Error('not base64');
    parsed = JSON.parse(Buffer.from(body, 'base64').toString('utf8'));
  } catch {
    return { error: 'the request body is not valid base64 JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { error: 'the request body is not a JSON object' };
  // dockerd decodes the body with Go's encoding/json, which matches member names case-insensitively (the last
  // matching member wins): {"Image": signed, "image": other} runs `other`. Any member but "Image" itself that Go
  // could take for it is refused.
  const lookalike = Object.keys(parsed).find((k) => k !== 'Image' && goFold(k) === 'image');
  if (lookalike !== undefined) return { error: `the request body has a member ${JSON.stringify(lookalike)} that the engine reads as "Image"` };
  const image = (parsed as { Image?: unknown }).Image;
  if (typeof image !== 'string' || image.trim() === '') return { error: 'the request names no image' };
  return { image };
}

/**
 * Synchronous part of the decision: the answer for ungated requests, or null when the request needs the async
 * path. Lets the server answer `_ping` and friends without creating a promise.
 */
export function quickDecision(c: Classified, opts: DecideOptions): Decision | null {
  switch (c.kind) {
    case 'other': return allowOther('other', 'not gated');
    case 'build': case 'load': case 'import': case 'commit': case 'push': case 'plugin': case 'service': {
      const [p, name] = gateOption(c.kind, opts);
      if (p === 'allow') return allowOther(c.kind, `${name}=allow`);
      return deny(c.kind, `${name}=deny`, `${GATE_TEXT[c.kind]} is not allowed by the guard configuration (${name}=deny)`);
    }
    case 'start': case 'rename': return opts.checkStart ? null : allowOther(c.kind, 'checkStart=false');
    default: return null;
  }
}

export async function decide(req: AuthZRequest, deps: GuardDeps, options: Partial<DecideOptions> = {}, caches?: GuardCaches): Promise<Decision> {
  const opts = { ...DEFAULT_DECIDE_OPTIONS, ...options };
  const c = classify(req.RequestMethod, req.RequestUri);
  // dockerd reads its query parameters with Go's Request.ParseForm, which also reads a form-encoded body, and a body
  // value wins over the query's: the guard would judge one image while the engine pulls another. No docker client
  // sends such a body to these endpoints.
  if (c.kind !== 'other' && requestMediaType(req.RequestHeaders) === 'application/x-www-form-urlencoded') {
    return deny(c.kind, 'form-encoded body', `${verb(c.kind)} denied: a form-encoded request body can override the request's parameters`);
  }
  const quick = quickDecision(c, opts);
  if (quick) return quick;
  try {
    switch (c.kind) {
      case 'pull':
        return await decidePull(c, deps, opts, caches);
      case 'create': {
        const b = createImageFromBody(req.RequestBody);
        if ('error' in b) return deny('create', b.error, `container create denied: ${b.error}; cannot tell which image would run`);
        return await decideImage('create', b.image, deps, opts, caches);
      }
      case 'start': case 'rename': {
        // rename: a name may only move to a container whose image verifies, so that a start by name (checked
        // before dockerd looks the name up again) cannot be pointed at an unverified container in between
        const kind = c.kind;
        const id = c.target ?? '';
        const imageId = await withDeadline(opts.timeoutMs, (signal) => deps.containerImage(id, signal));
        if (imageId === null) return { allow: true, kind, image: id, reason: 'container not found (the engine refuses)' };
        return await decideImage(kind, imageId, deps, opts, caches);
      }
      default:
        return deny(c.kind, 'unhandled request kind', `request ${c.kind} denied (unhandled)`);
    }
  } catch (e) {
    if (e instanceof DeadlineError) {
      return deny(c.kind, `verification timed out after ${opts.timeoutMs} ms`, `verification timed out after ${opts.timeoutMs} ms (fail closed); the registry or the engine is slow or unreachable`);
    }
    return deny(c.kind, `error: ${describeError(e)}`, `verification failed: ${describeError(e)} (fail closed)`);
  }
}

/** What dockerd sends to AuthZPlugin.AuthZRes: the request plus the engine's response. */
export interface AuthZResponse extends AuthZRequest {
  ResponseStatusCode?: number;
  /** base64 of the (buffered) response body */
  ResponseBody?: string;
}

/**
 * Response-time check of containers/create (null for anything else): the request named an image and dockerd looked
 * that name up again after our AuthZReq answer, so a concurrent `docker tag` (or load, build -t…) can have pointed
 * it at another image. The created container's own image is checked now; if it does not verify, the container is
 * removed (it has not run: create runs nothing) and the response denied.
 */
export async function decideCreateResponse(res: AuthZResponse, deps: GuardDeps, options: Partial<DecideOptions> = {}, caches?: GuardCaches): Promise<Decision | null> {
  const opts = { ...DEFAULT_DECIDE_OPTIONS, ...options };
  if (classify(res.RequestMethod, res.RequestUri).kind !== 'create' || res.ResponseStatusCode !== 201) return null;
  let id: string | undefined;
  try {
    const v = (JSON.parse(Buffer.from(res.ResponseBody ?? '', 'base64').toString('utf8')) as { Id?: unknown }).Id;
    if (typeof v === 'string' && v !== '') id = v;
  } catch {
    id = undefined;
  }
  // best effort: a container that cannot be verified must not stay around to be started
  const remove = async (cid: string | undefined) => {
    if (cid) await withDeadline(opts.timeoutMs, (signal) => deps.removeContainer?.(cid, signal) ?? Promise.resolve()).catch(() => undefined);
  };
  try {
    if (id === undefined) throw new Error('the engine\'s create response names no container');
    const cid = id;
    const imageId = await withDeadline(opts.timeoutMs, (signal) => deps.containerImage(cid, signal));
    const d: Decision = imageId === null
      ? { allow: true, kind: 'create', image: cid, reason: 'container already gone' }
      : await decideImage('create', imageId, deps, opts, caches, true); // the container exists: its image must too
    if (d.allow) return d;
    await remove(cid);
    return { ...d, msg: `${d.msg ?? 'docker-sign: denied'} (the image name moved between the check and the create: container ${cid.slice(0, 12)} removed)` };
  } catch (e) {
    await remove(id);
    return deny('create', `response check: ${describeError(e)}`, `container create denied at response: ${describeError(e)} (fail closed)`);
  }
}
