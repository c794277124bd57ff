import { constants, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { SignatureAlgorithm } from './types.js';
import { SignatureError } from './errors.js';

/** COSE algorithm labels (IANA COSE Algorithms registry) for the Notary Project algorithms. */
export const COSE_ALG: Record<SignatureAlgorithm, number> = {
  PS256: -37,
  PS384: -38,
  PS512: -39,
  ES256: -7,
  ES384: -35,
  ES512: -36,
};
export const COSE_ALG_BY_LABEL: ReadonlyMap<number, SignatureAlgorithm> = new Map(
  (Object.entries(COSE_ALG) as [SignatureAlgorithm, number][]).map(([k, v]) => [v, k]),
);
export const JWS_ALGS: readonly SignatureAlgorithm[] = ['PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

export function isSignatureAlgorithm(s: unknown): s is SignatureAlgorithm {
  return typeof s === 'string' && (JWS_ALGS as readonly string[]).includes(s);
}

export function hashOf(alg: SignatureAlgorithm): 'sha256' | 'sha384' | 'sha512' {
  return alg.endsWith('256') ? 'sha256' : alg.endsWith('384') ? 'sha384' : 'sha512';
}

const HASH_LEN = { sha256: 32, sha384: 48, sha512: 64 } as const;

/** Describes a public/private key as the spec's key spec: RSA-<bits> or EC-<curve bits>. */
export interface KeySpec {
  type: 'RSA' | 'EC';
  size: number;
}

export function keySpecOf(key: KeyObject): KeySpec {
  const t = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails ?? {};
  if (t === 'rsa') return { type: 'RSA', size: d.modulusLength ?? 0 };
  if (t === 'ec') {
    const size = { prime256v1: 256, 'P-256': 256, secp384r1: 384, 'P-384': 384, secp521r1: 521, 'P-521': 521 }[d.namedCurve ?? ''];
    if (size === undefined) {
      throw new SignatureError('UNSUPPORTED_ALGORITHM', `EC curve ${d.namedCurve ?? '(unknown)'} is not allowed (P-256, P-384, P-521 only)`, {
        reason: 'unsupported-curve',
      });
    }
    return { type: 'EC', size };
  }
  throw new SignatureError('UNSUPPORTED_ALGORITHM', `key type ${t ?? '(unknown)'} is not allowed (RSA or ECDSA only)`, {
    reason: 'unsupported-key-type',
  });
}

/** The one signature algorithm the Notary Project spec assigns to a key (RSA 2048/3072/4096, EC P-256/384/521). */
export function algorithmForKey(key: KeyObject): SignatureAlgorithm {
  const spec = keySpecOf(key);
  if (spec.type === 'RSA') {
    const alg = ({ 2048: 'PS256', 3072: 'PS384', 4096: 'PS512' } as Record<number, SignatureAlgorithm>)[spec.size];
    if (!alg) {
      throw new SignatureError('UNSUPPORTED_ALGORITHM', `RSA key size ${spec.size} is not allowed (2048, 3072 or 4096 bits)`, {
        reason: 'unsupported-rsa-size',
      });
    }
    return alg;
  }
  return ({ 256: 'ES256', 384: 'ES384', 521: 'ES512' } as Record<number, SignatureAlgorithm>)[spec.size]!;
}

/** Byte length of an ECDSA r||s signature for the algorithm. */
function p1363Length(alg: SignatureAlgorithm): number {
  return alg === 'ES256' ? 64 : alg === 'ES384' ? 96 : 132;
}

/** Verifies `signature` over `data` (PSS salt = hash length; ECDSA r||s). Returns false on a bad signature. */
export function verifyRaw(alg: SignatureAlgorithm, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  const hash = hashOf(alg);
  if (alg.startsWith('PS')) {
    return cryptoVerify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: HASH_LEN[hash] }, signature);
  }
  if (signature.length !== p1363Length(alg)) return false;
  return cryptoVerify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
}

/** Signs `data` with a private key the way JWS/COSE want it (PSS salt = hash length; ECDSA r||s). */
export function signRaw(alg: SignatureAlgorithm, key: KeyObject, data: Buffer): Buffer {
  const hash = hashOf(alg);
  if (alg.startsWith('PS')) {
    return cryptoSign(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: HASH_LEN[hash] });
  }
  return cryptoSign(hash, data, { key, dsaEncoding: 'ieee-p1363' });
}
