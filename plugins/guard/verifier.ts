import type { ConfigPaths } from '../../src/config/dir.js';
import type { GuardConfig } from './config.js';
import type { Verifier } from './deps.js';

/**
 * Adapter from the shared verifier (src/trust) to the guard's Verifier interface.
 * Until the shared verifier exists, every verification fails (fail closed) with a clear reason.
 */
export async function sharedVerifier(_cfg: GuardConfig, _paths: ConfigPaths): Promise<Verifier> {
  return {
    async verifyRemote(reference) {
      return { verified: false, digest: reference.split('@')[1] ?? '', reason: 'the signature verifier is not available in this build' };
    },
    async verifyLocal() {
      return null;
    },
  };
}
