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

/** Registry access through src/registry (HEAD with the manifest Accept headers; digests verified on fetch). */
export async function registryAccess(cfg: GuardConfig): Promise<RegistryAccess> {
  const { openRepository } = await import('../../src/registry/index.js');
  const { parseImageManifest, parseImageIndex } = await import('../../src/oci/manifest.js');
  const { isIndexMediaType } = await import('../../src/oci/mediaTypes.js');
  const repo = (name: string) => {
    const host = name.split('/')[0];
    return openRepository(name, registryOptionsFor(cfg, host) as never);
  };
  return {
    async resolveTag(ref, signal) {
      const r = repo(`${ref.registry}/${ref.repository}`);
      const desc = await abortable(r.resolve(ref.tag ?? 'latest'), signal);
      return desc.digest;
    },
    async configDigests(reference, signal) {
      const [name, digest] = reference.split('@');
      const r = repo(name);
      const m = await abortable(r.fetchManifest(digest), signal);
      if (isIndexMediaType(m.descriptor.mediaType)) {
        const idx = parseImageIndex(m.bytes, m.descriptor.mediaType);
        const out: string[] = [];
        for (const child of idx.manifests.slice(0, 64)) {
          if (isIndexMediaType(child.mediaType)) continue;
          try {
            const cm = await abortable(r.fetchManifest(child), signal);
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
  const registry = o.registry ?? (await registryAccess(o.cfg));
  const verifier = o.verifier ?? (await (await import('./verifier.js')).sharedVerifier(o.cfg, o.paths, { policyHash: () => o.policy.current() }));
  const deps: GuardDeps = {
    inspectImage: (ref, signal) => engine.inspectImage(ref, signal),
    containerImage: (id, signal) => engine.containerImage(id, signal),
    resolveTag: (ref, signal) => registry.resolveTag(ref, signal),
    configDigests: (ref, signal) => registry.configDigests(ref, signal),
    verify: (ref, signal) => verifier.verifyRemote(ref, signal),
    verifyLocal: (id, signal) => verifier.verifyLocal(id, signal),
    policyHash: () => o.policy.current(),
    now: () => Date.now(),
  };
  return { deps, engine };
}
