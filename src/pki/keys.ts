import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { ConfigPaths } from '../config/dir.js';
import { algorithmForKey, signRaw } from '../signature/algorithms.js';
import type { Signer } from '../signature/types.js';
import { findKey } from './keystore.js';
import { issuedBy, isSelfSigned } from '../trust/x509.js';
import { checkSigningChain } from './requirements.js';
import { subjectLine } from './summary.js';
import { children, readTlv } from './der.js';

const CERT_PEM_RE = /-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----/g;

/** Parses every CERTIFICATE block of a PEM text (or a single DER certificate), in file order. */
export function parseCertificates(data: Buffer | string, source = 'certificate file'): X509Certificate[] {
  const text = typeof data === 'string' ? data : data.toString('latin1');
  const out: X509Certificate[] = [];
  if (text.includes('-----BEGIN')) {
    for (const m of text.matchAll(CERT_PEM_RE)) {
      try {
        out.push(new X509Certificate(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
      } catch (e) {
        throw new ConfigError('INVALID_CERTIFICATE', `${source}: certificate #${out.length + 1} is not a valid X.509 certificate (${(e as Error).message})`);
      }
    }
  } else if (typeof data !== 'string' && data.length > 0) {
    try {
      out.push(new X509Certificate(data));
    } catch (e) {
      throw new ConfigError('INVALID_CERTIFICATE', `${source}: not a PEM or DER certificate (${(e as Error).message})`);
    }
  }
  if (out.length === 0) throw new ConfigError('INVALID_CERTIFICATE', `${source}: no certificate found`, { hint: 'expected PEM "BEGIN CERTIFICATE" blocks, leaf first' });
  return out;
}

export function certificatesToPem(chain: X509Certificate[]): string {
  return chain.map((c) => c.toString().trim() + '\n').join('');
}

/** PKCS#5 (PBES1/PBES2) and PKCS#12 password-based encryption OIDs: 1.2.840.113549.1.5.* and 1.2.840.113549.1.12.1.* */
const PBE_OID_PREFIXES = [Buffer.from('2a864886f70d0105', 'hex'), Buffer.from('2a864886f70d010c01', 'hex')];

/** Whether `data` is a DER EncryptedPrivateKeyInfo (RFC 5958): SEQUENCE { SEQUENCE { PBE OID, … }, OCTET STRING }. */
function isEncryptedPkcs8Der(data: Buffer): boolean {
  try {
    const [alg, encrypted] = children(data, readTlv(data, 0));
    const oid = alg && alg.tag === 0x30 ? children(data, alg)[0] : undefined;
    if (!oid || oid.tag !== 0x06 || encrypted?.tag !== 0x04) return false;
    const value = data.subarray(oid.start, oid.end);
    return PBE_OID_PREFIXES.some((p) => value.subarray(0, p.length).equals(p));
  } catch {
    return false;
  }
}

/** Loads a private key from PEM (PKCS#8, PKCS#1 "RSA PRIVATE KEY", SEC1 "EC PRIVATE KEY") or DER (PKCS#8/PKCS#1/SEC1). */
export function parsePrivateKey(data: Buffer, source = 'key file', passphrase?: string): KeyObject {
  const text = data.toString('latin1');
  const tries: Parameters<typeof createPrivateKey>[0][] = text.includes('-----BEGIN')
    ? [{ key: text, format: 'pem', ...(passphrase ? { passphrase } : {}) }]
    : [
        { key: data, format: 'der', type: 'pkcs8', ...(passphrase ? { passphrase } : {}) },
        { key: data, format: 'der', type: 'pkcs1' },
        { key: data, format: 'der', type: 'sec1' },
      ];
  const errors: Error[] = [];
  for (const t of tries) {
    try {
      return createPrivateKey(t);
    } catch (e) {
      errors.push(e as Error);
    }
  }
  // any of the tries may be the one that recognised an encrypted key (DER: the PKCS#8 one); a wrong password can
  // also decrypt to garbage that passes the padding check (about 1 in 256 for CBC) and fails as a malformed key,
  // so an encrypted PKCS#8 DER key is recognised by its structure too
  const encrypted = errors.some((e) => /passphrase|decrypt/i.test(e.message)) || /ENCRYPTED/.test(text) || isEncryptedPkcs8Der(data);
  if (encrypted) {
    throw new ConfigError('INVALID_KEY', `${source}: ${passphrase ? 'the password does not decrypt the key' : 'the key is encrypted'}`, {
      hint: passphrase ? 'check the password given with --password-stdin (or DOCKER_SIGN_KEY_PASSWORD)' : 'give its password with --password-stdin (or DOCKER_SIGN_KEY_PASSWORD)',
    });
  }
  throw new ConfigError('INVALID_KEY', `${source}: not a usable private key (unsupported format)`, {
    hint: 'supported: PEM or DER in PKCS#8 (also encrypted), PKCS#1 (RSA) or SEC1 (EC), or a PKCS#12 file with --p12',
  });
}

/** True if the private key belongs to the certificate's public key. */
export function keyMatchesCertificate(key: KeyObject, cert: X509Certificate): boolean {
  // X509_check_private_key: ~0.03 ms, where comparing SPKI exports takes 1-3 ms per signing. (Not KeyObject.equals:
  // on node 20, comparing keys of different types leaves an OpenSSL error queued that fails the next key parse.)
  if (key.type === 'private') return cert.checkPrivateKey(key);
  return createPublicKey(key).export({ format: 'der', type: 'spki' }).equals(cert.publicKey.export({ format: 'der', type: 'spki' }));
}

/**
 * Orders certificates leaf first: starts from the certificate matching `key` and follows issuers.
 * Certificates unrelated to that chain are an error (the spec forbids unrelated certs in a chain).
 */
export function orderChain(key: KeyObject, certs: X509Certificate[]): X509Certificate[] {
  const leaf = certs.find((c) => keyMatchesCertificate(key, c));
  if (!leaf) throw new ConfigError('KEY_CERT_MISMATCH', 'none of the certificates matches the private key');
  const chain = [leaf];
  const rest = certs.filter((c) => c !== leaf);
  for (;;) {
    const cur = chain[chain.length - 1]!;
    if (isSelfSigned(cur)) break;
    // issuedBy: issuer Name = subject Name and the signature verifies (not checkIssued(), whose key-identifier match
    // Go, and so notation, does not make).
    const i = rest.findIndex((c) => issuedBy(cur, c));
    if (i < 0) break;
    chain.push(rest.splice(i, 1)[0]!);
  }
  if (rest.length > 0) throw new ConfigError('UNRELATED_CERTIFICATE', `certificate ${subjectLine(rest[0]!)} is not part of the signing certificate's chain`);
  return chain;
}

export interface LoadedKey {
  name: string;
  keyPath: string;
  certPath: string;
  privateKey: KeyObject;
  chain: X509Certificate[];
}

export function loadKeyMaterial(paths: ConfigPaths, keyName?: string): LoadedKey {
  const e = findKey(paths, keyName);
  const read = (p: string, what: string) => {
    try {
      return readFileSync(p);
    } catch (err) {
      throw new ConfigError('KEY_FILE_UNREADABLE', `cannot read the ${what} of signing key ${JSON.stringify(e.name)} at ${p}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const privateKey = parsePrivateKey(read(e.keyPath!, 'private key'), e.keyPath!);
  const chain = parseCertificates(read(e.certPath!, 'certificate chain'), e.certPath!);
  if (!keyMatchesCertificate(privateKey, chain[0]!)) {
    throw new ConfigError('KEY_CERT_MISMATCH', `the first certificate in ${e.certPath} does not belong to the private key of ${JSON.stringify(e.name)}`, {
      hint: 'the certificate file must list the signing (leaf) certificate first',
    });
  }
  return { name: e.name, keyPath: e.keyPath!, certPath: e.certPath!, privateKey, chain };
}

/** A node:crypto signer from key material; checks the certificate requirements at `at` (default now). */
export function signerFromKey(privateKey: KeyObject, chain: X509Certificate[], at: Date = new Date()): Signer {
  checkSigningChain(chain, at);
  const algorithm = algorithmForKey(chain[0]!.publicKey);
  return {
    certificateChain: chain,
    algorithm,
    sign: async (data: Buffer) => signRaw(algorithm, privateKey, data),
  };
}

/** Loads the named (or default) signing key from signingkeys.json and returns a checked Signer. */
export function loadSigner(paths: ConfigPaths, keyName?: string, at: Date = new Date()): Signer & { keyName: string } {
  const k = loadKeyMaterial(paths, keyName);
  return Object.assign(signerFromKey(k.privateKey, k.chain, at), { keyName: k.name });
}
