import type { ConfigPaths } from '../../src/config/dir.js';
import type { GuardConfig } from './config.js';
import type { Verifier } from './deps.js';
import type { VerifyOutcome } from './decide.js';
import { repositoryPool, type RepositoryPool } from './deps.js';
import { parseImageRef } from './ref.js';

/**
 * Adapter from the shared verifier (src/trust verifyDescriptor: trust policy + trust store + signatures found
 * through an ArtifactTarget) to the guard's Verifier interface:
 *  - verifyRemote("<registry>/<repo>@<digest>"): resolve the digest at the registry (HEAD, digest checked), verify
 *    against the policy statement for "<registry>/<repo>";
 *  - verifyLocal(imageId): scan our local store (OCI layout under <config>/store) for image manifests whose config
 *    digest is the image Id, verify each against the store's signatures.
 * The parsed policy and trust store are reused while the policy hash is unchanged.
 */
export interface SharedVerifierOptions {
  policyHash: () => Promise<string>;
  /** Shared repository objects (default: a pool of its own). */
  pool?: RepositoryPool;
}

export async function sharedVerifier(cfg: GuardConfig, paths: ConfigPaths, o: SharedVerifierOptions): Promise<Verifier> {
  const { verifyDescriptor, loadTrustPolicy, FileTrustStore } = await import('../../src/trust/index.js');
  const { OciLayout, REF_NAME_ANNOTATION } = await import('../../src/oci/layout.js');
  const { parseImageManifest } = await import('../../src/oci/manifest.js');
  const { isManifestMediaType, MediaType } = await import('../../src/oci/mediaTypes.js');

  const pool = o.pool ?? (await repositoryPool(cfg));
  type State = { hash: string; policy: Awaited<ReturnType<typeof loadTrustPolicy>>; store: InstanceType<typeof FileTrustStore> };
  let state: Promise<State> | undefined;
  let stateHash = '';
  const load = async (): Promise<State> => {
    const hash = await o.policyHash();
    if (!state || stateHash !== hash) {
      stateHash = hash;
      state = (async () => ({ hash, policy: await loadTrustPolicy(paths), store: new FileTrustStore(paths.trustStore) }))();
      state.catch(() => {
        state = undefined;
      });
    }
    return state;
  };

  const outcome = (r: { verified: boolean; digest: string; policy: string | null; level: string | null; reason?: string; code?: string }): VerifyOutcome => ({
    verified: r.verified,
    digest: r.digest,
    policy: r.policy ?? undefined,
    level: r.level ?? undefined,
    reason: r.reason ?? (r.verified ? 'signature verified' : r.code ?? 'verification failed'),
  });

  // manifest digest -> config digest for the local store (content-addressed, never changes)
  const localConfigs = new Map<string, string | null>();

  return {
    async verifyRemote(reference, signal) {
      const at = reference.lastIndexOf('@');
      const name = reference.slice(0, at);
      const digest = reference.slice(at + 1);
      const st = await load();
      const repo = pool.get(name).withSignal(signal); // its requests stop at the deadline
      const descriptor = pool.known(reference) ?? (await repo.resolve(digest));
      signal.throwIfAborted();
      const report = await verifyDescriptor(repo, descriptor, name, { configPaths: paths, policy: st.policy, trustStore: st.store, signal });
      return outcome(report);
    },

    async verifyLocal(imageId, signal) {
      let layout: Awaited<ReturnType<typeof OciLayout.open>>;
      try {
        layout = await OciLayout.open(paths.store, { blobsRequired: true });
      } catch {
        return null; // no local store: nothing signed here
      }
      const index = await layout.readIndex();
      let last: VerifyOutcome | null = null;
      for (const d of index.manifests) {
        signal.throwIfAborted();
        if (!isManifestMediaType(d.mediaType) || d.artifactType === MediaType.NOTARY_SIGNATURE) continue;
        let cfgDigest = localConfigs.get(d.digest);
        if (cfgDigest === undefined) {
          try {
            const m = await layout.fetchManifest(d);
            const parsed = parseImageManifest(m.bytes, d.mediaType);
            cfgDigest = parsed.artifactType === MediaType.NOTARY_SIGNATURE || parsed.config.mediaType === MediaType.NOTARY_SIGNATURE ? null : parsed.config.digest;
          } catch {
            cfgDigest = null;
          }
          localConfigs.set(d.digest, cfgDigest);
        }
        if (cfgDigest !== imageId) continue;
        const st = await load();
        let repository = 'localhost/unnamed';
        const refName = d.annotations?.[REF_NAME_ANNOTATION];
        if (refName) {
          try {
            const r = parseImageRef(refName);
            repository = `${r.registry}/${r.repository}`;
          } catch {
            // a bare tag: only a global ("*") policy statement can apply
          }
        }
        const report = await verifyDescriptor(layout, d, repository, { configPaths: paths, policy: st.policy, trustStore: st.store, signal });
        last = outcome(report);
        if (last.verified) return last;
      }
      return last;
    },
  };
}
