import { execFileSync } from 'node:child_process';
import { InputTooLargeError, MAX_KEY_FILE_BYTES, readInputFile } from '../config/files.js';
import { ConfigError } from '../errors.js';
import type { ConfigPaths } from '../config/dir.js';
import { addLocalKey, type KeyEntry } from './keystore.js';
import { certificatesToPem, keyMatchesCertificate, orderChain, parseCertificates, parsePrivateKey } from './keys.js';
import { checkSigningChain } from './requirements.js';
import { dn } from './summary.js';

function readInput(p: string, what: string): Buffer {
  try {
    return readInputFile(p, MAX_KEY_FILE_BYTES);
  } catch (e) {
    if (e instanceof InputTooLargeError) throw new ConfigError('FILE_TOO_LARGE', `${what} ${p} is larger than ${MAX_KEY_FILE_BYTES >> 20} MiB: not a key or certificate file`);
    throw new ConfigError('FILE_UNREADABLE', `cannot read ${what} ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * PKCS#12: decoded with the system `openssl pkcs12` (OpenSSL 3; `-legacy` retried for RC2/3DES files). The
 * password is passed through the environment, never on the command line. Returns PEM text (key + certificates).
 */
function p12ToPem(file: string, password: string): string {
  const run = (legacy: boolean) =>
    execFileSync('openssl', ['pkcs12', '-in', file, '-nodes', '-passin', 'env:DS_P12_PASSWORD', ...(legacy ? ['-legacy'] : [])], {
      env: { ...process.env, DS_P12_PASSWORD: password },
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 16 * 1024 * 1024,
    }).toString('latin1');
  try {
    return run(false);
  } catch (first) {
    try {
      return run(true);
    } catch {
      const msg = ((first as { stderr?: Buffer }).stderr?.toString() ?? '').split('\n')[0] ?? '';
      throw new ConfigError('INVALID_PKCS12', `cannot read PKCS#12 file ${file}${/mac|password/i.test(msg) ? ': wrong password' : msg ? `: ${msg}` : ''}`, {
        hint: 'pass the password with --password-stdin or DOCKER_SIGN_P12_PASSWORD; openssl must be installed',
      });
    }
  }
}

export interface ImportKeyOptions {
  name: string;
  /** PEM/DER private key file (with certFile) … */
  keyFile?: string;
  certFile?: string;
  /** … or a PKCS#12 file holding key + chain. */
  p12File?: string;
  /** Password of the PKCS#12 file, or of an encrypted key file. */
  password?: string;
  setDefault?: boolean;
  /** Check time for the certificate requirements (default now). */
  at?: Date;
}

/**
 * Imports a key + certificate chain into <config>/localkeys (key re-encoded as PKCS#8 PEM, 0600; chain as PEM,
 * leaf first) and registers it in signingkeys.json. The chain must meet the signing certificate requirements now.
 */
export function importKey(paths: ConfigPaths, opts: ImportKeyOptions): KeyEntry & { chainSubjects: string[] } {
  let keyPem: string;
  let chain;
  if (opts.p12File) {
    if (opts.keyFile || opts.certFile) throw new ConfigError('INVALID_ARGUMENTS', 'use either a PKCS#12 file or --key with --cert, not both');
    const pem = p12ToPem(opts.p12File, opts.password ?? '');
    const key = parsePrivateKey(Buffer.from(pem, 'latin1'), opts.p12File);
    chain = orderChain(key, parseCertificates(pem, opts.p12File));
    keyPem = key.export({ format: 'pem', type: 'pkcs8' }) as string;
  } else {
    if (!opts.keyFile || !opts.certFile) throw new ConfigError('INVALID_ARGUMENTS', 'both a key file and a certificate file are required', { hint: 'docker sign key import NAME --key key.pem --cert chain.pem' });
    const key = parsePrivateKey(readInput(opts.keyFile, 'key file'), opts.keyFile, opts.password);
    chain = parseCertificates(readInput(opts.certFile, 'certificate file'), opts.certFile);
    if (!keyMatchesCertificate(key, chain[0]!)) {
      const other = chain.findIndex((c) => keyMatchesCertificate(key, c));
      throw new ConfigError('KEY_CERT_MISMATCH', other > 0
        ? `the private key belongs to certificate #${other + 1} in ${opts.certFile}, but the signing certificate must come first`
        : `the private key does not match the first certificate in ${opts.certFile}`, { hint: 'the certificate file must list the leaf (signing) certificate first, then its issuers' });
    }
    keyPem = key.export({ format: 'pem', type: 'pkcs8' }) as string;
  }
  checkSigningChain(chain, opts.at ?? new Date());
  const entry = addLocalKey(paths, opts.name, keyPem, certificatesToPem(chain), { setDefault: opts.setDefault });
  return { ...entry, chainSubjects: chain.map((c) => dn(c.subject)) };
}
