import { readFileSync } from 'node:fs';
import type { ConfigPaths } from '../config/dir.js';
import { algorithmForKey, keySpecOf } from '../signature/algorithms.js';
import { readSigningKeys } from './keystore.js';
import { parseCertificates } from './keys.js';
import { certificateSummary } from './summary.js';

export interface KeyInfo {
  name: string;
  default: boolean;
  keyPath?: string;
  certPath?: string;
  keySpec?: string;
  signatureAlgorithm?: string;
  subject?: string;
  issuer?: string;
  sha256Fingerprint?: string;
  notBefore?: string;
  notAfter?: string;
  chainLength?: number;
  /** Why the entry cannot be used, if it cannot (never contains key material). */
  problem?: string;
}


/** Describes every configured signing key (certificate facts only; private keys are never read). */
export function listKeys(paths: ConfigPaths): KeyInfo[] {
  const sk = readSigningKeys(paths);
  return sk.keys.map((k) => {
    const info: KeyInfo = { name: k.name, default: sk.default === k.name, keyPath: k.keyPath, certPath: k.certPath };
    if (typeof k.certPath !== 'string') return { ...info, problem: 'not a local key (plugin keys are not supported)' };
    try {
      const chain = parseCertificates(readFileSync(k.certPath), k.certPath);
      const leaf = chain[0]!;
      const spec = keySpecOf(leaf.publicKey);
      let alg: string | undefined;
      try {
        alg = algorithmForKey(leaf.publicKey);
      } catch (e) {
        info.problem = (e as Error).message;
      }
      return {
        ...info,
        keySpec: `${spec.type}-${spec.size}`,
        signatureAlgorithm: alg,
        ...certificateSummary(leaf),
        chainLength: chain.length,
      };
    } catch (e) {
      return { ...info, problem: (e as Error).message };
    }
  });
}
