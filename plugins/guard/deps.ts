import { dirname } from 'node:path';
import type { ConfigPaths } from '../../src/config/dir.js';
import type { GuardConfig, RegistryCredential } from './config.js';
import type { GuardDeps, VerifyOutcome } from './decide.js';
import { EngineClient } from './engine-client.js';
import type { PolicyState } from './policy-hash.js';
import type { ImageRef } from './ref.js';

/**
 * The real dependencies of decide(): the engine (own keep-alive client), the registry client (src/registry),
 * the shared verifier (src/trust) and our local store (src/oci/layout.ts under configPaths().store).
 */
export interface Verifier {
  /** Verify `<registry>/<repo>@<digest>` against the trust policy. */
  verifyRemote(reference: string, signal: AbortSignal): Promise<VerifyOutcome>;
  /** A verified signature in the local store for a manifest whose config digest is imageId; null if none. */
  verifyLocal(imageId: string, signal: AbortSignal): Promise<VerifyOutcome | null>;
}

export interface RegistryAccess {
  resolveTag(ref: ImageRef, signal: AbortSignal): Promise<string>;
  configDigests(reference: string, signal: AbortSignal): Promise<string[]>;
}

/** Registry options for a host from the guard config (its own credentials; dockerd strips the user's). */
export function registryOptionsFor(cfg: Pick<GuardConfig, 'registries' | 'insecureRegistries' | 'timeoutMs'>, host: string): Record<string, unknown> {
  const cred: RegistryCredential | undefined = cfg.registries[host];
  const base: Record<string, unknown> = {
    insecure: cfg.insecureRegistries,
    userAgent: 'docker-sign-guard/0.1',
    timeoutMs: Math.max(1000, cfg.timeoutMs),
  };
  if (!cred) return base;
  if ('username' in cred) return { ...base, credentials: { username: cred.username, password: cred.password } };
  const dir = cred.dockerConfig.endsWith('.json') ? dirname(cred.dockerConfig) : cred.dockerConfig;
  return { ...base, dockerConfigDir: dir };
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * One RemoteRepository per repository name, kept for the life of the guard: connection pools, bearer tokens and
 * the "does this registry have the Referrers API" probe are reused instead of redone for every decision. Also
 * remembers the descriptors tag resolution returned (content-addressed, so safe to reuse), so verifying the
 * digest right after resolving the tag does not HEAD the same manifest again.
 */
export class RepositoryPool {
  private readonly repos = new Map<string, any>();
  private readonly descriptors = new Map<string, { mediaType: string; digest: string; size: number }>();

  constructor(private readonly cfg: Pick<GuardConfig, 'registries' | 'insecureRegistries' | 'timeoutMs'>, private readonly open: (name: string, opts: never) => any) {}

  get(name: string): any {
    let r = this.repos.get(name);
    if (!r) {
      if (this.repos.size >= 1000) this.repos.delete(this.repos.keys().next().value as string);
      r = this.open(name, registryOptionsFor(this.cfg, name.split('/')[0]) as never);
      this.repos.set(name, r);
    }
    return r;
  }

  remember(name: string, d: { mediaType: string; digest: string; size: number }): void {
    if (this.descriptors.size >= 5000) this.descriptors.delete(this.descriptors.keys().next().value as string);
    this.descriptors.set(`${name}@${d.digest}`, { mediaType: d.mediaType, digest: d.digest, size: d.size });
  }

  known(reference: string): { mediaType: string; digest: string; size: number } | undefined {
    return this.descriptors.get(reference);
  }
}

export async function repositoryPool(cfg: GuardConfig): Promise<RepositoryPool> {
  const { openRepository } = await import('../../src/registry/index.js');
  return new RepositoryPool(cfg, openRepository as never);
}

/** Registry access through src/registry (HEAD with the manifest Accept headers; digests verified on fetch). */
export async function registryAccess(pool: RepositoryPool): Promise<RegistryAccess> {
  const { parseImageManifest, parseImageIndex } = await import('../../src/oci/manifest.js');
  const { isIndexMediaType } = await import('../../src/oci/mediaTypes.js');
  return {
    async resolveTag(ref, signal) {
      const name = `${ref.registry}/${ref.repository}`;
      const desc = await abortable(pool.get(name).withSignal(signal).resolve(ref.tag ?? 'latest') as Promise<{ mediaType: string; digest: string; size: number }>, signal);
      pool.remember(name, desc);
      return desc.digest;
    },
    async configDigests(reference, signal) {
      const [name, digest] = reference.split('@');
      const r = pool.get(name).withSignal(signal); // its requests stop at the deadline
      const m = await abortable(r.fetchManifest(digest) as Promise<{ descriptor: { mediaType: string }; bytes: Buffer }>, signal);
      if (isIndexMediaType(m.descriptor.mediaType)) {
        const idx = parseImageIndex(m.bytes, m.descriptor.mediaType);
        const out: string[] = [];
        for (const child of idx.manifests.slice(0, 64)) {
          if (isIndexMediaType(child.mediaType)) continue;
          try {
            const cm = await abortable(r.fetchManifest(child) as Promise<{ bytes: Buffer }>, signal);
            out.push(parseImageManifest(cm.bytes, child.mediaType).config.digest);
          } catch (e) {
            if (signal.aborted) throw e;
            // a child that is missing or not an image cannot match; keep looking at the others
          }
        }
        return out;
      }
      return [parseImageManifest(m.bytes, m.descriptor.mediaType).config.digest];
    },
  };
}

export interface BuildDepsOptions {
  cfg: GuardConfig;
  paths: ConfigPaths;
  policy: PolicyState;
  engine?: EngineClient;
  registry?: RegistryAccess;
  verifier?: Verifier;
}

export async function buildDeps(o: BuildDepsOptions): Promise<{ deps: GuardDeps; engine: EngineClient }> {
  const engine = o.engine ?? EngineClient.fromDockerHost(o.cfg.dockerHost);
  const pool = await repositoryPool(o.cfg);
  const registry = o.registry ?? (await registryAccess(pool));
  const verifier = o.verifier ?? (await (await import('./verifier.js')).sharedVerifier(o.cfg, o.paths, { policyHash: () => o.policy.current(), pool }));
  const deps: GuardDeps = {
    inspectImage: (ref, signal) => engine.inspectImage(ref, signal),
    containerImage: (id, signal) => engine.containerImage(id, signal),
    removeContainer: (id, signal) => engine.removeContainer(id, signal),
    resolveTag: (ref, signal) => registry.resolveTag(ref, signal),
    configDigests: (ref, signal) => registry.configDigests(ref, signal),
    verify: (ref, signal) => verifier.verifyRemote(ref, signal),
    verifyLocal: (id, signal) => verifier.verifyLocal(id, signal),
    policyHash: () => o.policy.current(),
    now: () => Date.now(),
  };
  return { deps, engine };
}
