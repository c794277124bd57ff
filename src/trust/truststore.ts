/**
 * The Notary Project trust store, notation's layout:
 *
 *   <config>/truststore/x509/<type>/<name>/<file>     type = ca | signingAuthority | tsa
 *
 * A file holds one or more certificates, PEM or DER. Rules (as notation applies them, failing closed):
 * the named store must be a real directory (no symlink); every entry in it must be a regular file (no
 * sub-directories, no symlinks); every file must hold at least one certificate; every certificate must be a CA
 * certificate or a self-signed one, and in a `tsa` store a self-signed root CA certificate (notation-go's
 * isRootCACertificate); a store without certificates is an error. A store the policy names but that does not
 * exist is TRUST_STORE_MISSING.
 */
import { promises as fsp } from 'node:fs';
import { join, basename } from 'node:path';
import type { X509Certificate } from 'node:crypto';
import { PolicyError } from './errors.js';
import { TRUST_STORE_TYPES, isValidStoreName, type TrustStoreType, type TrustStoreRef } from './policy.js';
import { certInfo, isSelfSigned, parseCertificates, rootCertificateProblem } from './x509.js';
import { mkdirs } from '../config/mkdir.js';

/** Source of trusted certificates; the verifier only sees this interface. */
export interface TrustStore {
  getCertificates(type: TrustStoreType, name: string): Promise<X509Certificate[]>;
}

export function storeLabel(type: TrustStoreType, name: string): string {
  return `${type}:${name}`;
}

function checkStoreArgs(type: string, name: string): asserts type is TrustStoreType {
  if (!(TRUST_STORE_TYPES as readonly string[]).includes(type)) {
    throw new PolicyError('TRUST_STORE_INVALID', `unsupported trust store type "${type}" (supported: ${TRUST_STORE_TYPES.join(', ')})`);
  }
  if (!isValidStoreName(name)) {
    throw new PolicyError('TRUST_STORE_INVALID', `trust store name "${name}" is not valid, it must follow [a-zA-Z0-9_.-]+ (and not be "." or "..")`, {
      hint: 'name the store like the key or the signer it holds, e.g. "acme-ci"',
    });
  }
}

/**
 * Validates the certificates of one trust store file: CA or self-signed certificates; for a `tsa` store (`type`),
 * self-signed root CA certificates only, as notation-go requires: the subject and issuer are the same bytes, the
 * signature verifies with the certificate's own key, basic constraints say CA (or it is a v1 certificate) and a key
 * usage, when present, allows keyCertSign.
 */
export function validateStoreCertificates(certs: X509Certificate[], file: string, type?: TrustStoreType): void {
  if (certs.length === 0) {
    throw new PolicyError('TRUST_STORE_INVALID', `could not parse a certificate from "${file}", every file in a trust store must have a PEM or DER certificate in it`);
  }
  for (const c of certs) {
    const bc = certInfo(c).basicConstraints;
    if (!bc?.ca && !isSelfSigned(c)) {
      throw new PolicyError('TRUST_STORE_INVALID', `certificate with subject "${certInfo(c).subject}" from file "${file}" is not a CA certificate or self-signed signing certificate`);
    }
    const notRoot = type === 'tsa' ? rootCertificateProblem(c) : undefined;
    if (notRoot) {
      throw new PolicyError('TRUST_STORE_INVALID', `certificate with subject "${certInfo(c).subject}" from file "${file}" is not a root CA certificate: ${notRoot}`, {
        hint: 'a tsa trust store holds the self-signed root CA certificates of timestamp authorities only',
      });
    }
  }
}

/**
 * The certificates of a file meant for a trust store (PEM or DER; CA or self-signed; root CA for a `tsa` store),
 * else TRUST_STORE_INVALID naming `file`.
 */
export function parseStoreFile(bytes: Buffer, file: string, type?: TrustStoreType): X509Certificate[] {
  let certs: X509Certificate[];
  try {
    certs = parseCertificates(bytes);
  } catch (e) {
    throw new PolicyError('TRUST_STORE_INVALID', `could not parse a certificate from "${file}": ${(e as Error).message}`, {
      cause: e,
      hint: 'a trust store file holds PEM ("-----BEGIN CERTIFICATE-----") or DER certificates',
    });
  }
  validateStoreCertificates(certs, file, type);
  return certs;
}

/** The trust store on disk. `root` is `<config>/truststore`. */
export class FileTrustStore implements TrustStore {
  private readonly cache = new Map<string, Promise<X509Certificate[]>>();
  constructor(readonly root: string) {}

  dir(type: TrustStoreType, name: string): string {
    checkStoreArgs(type, name); // never a path outside truststore/x509/<type>/
    return join(this.root, 'x509', type, name);
  }

  getCertificates(type: TrustStoreType, name: string): Promise<X509Certificate[]> {
    const key = storeLabel(type, name);
    let p = this.cache.get(key);
    if (!p) {
      p = this.load(type, name);
      this.cache.set(key, p);
      p.catch(() => this.cache.delete(key));
    }
    return p;
  }

  private async load(type: TrustStoreType, name: string): Promise<X509Certificate[]> {
    checkStoreArgs(type, name);
    const dir = this.dir(type, name);
    let st;
    try {
      st = await fsp.lstat(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new PolicyError('TRUST_STORE_MISSING', `trust store "${storeLabel(type, name)}" does not exist (${dir})`, {
          hint: `add a certificate with \`docker sign cert add --type ${type} --store ${name} FILE\``,
          details: { store: storeLabel(type, name) },
        });
      }
      throw e;
    }
    if (!st.isDirectory() || st.isSymbolicLink()) {
      throw new PolicyError('TRUST_STORE_INVALID', `trust store "${storeLabel(type, name)}": "${dir}" is not a regular directory (symlinks are not supported)`);
    }
    const entries = (await fsp.readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    const out: X509Certificate[] = [];
    for (const ent of entries) {
      const file = join(dir, ent.name);
      if (!ent.isFile()) {
        throw new PolicyError('TRUST_STORE_INVALID', `trust store "${storeLabel(type, name)}": "${file}" is not a regular file (directories or symlinks are not supported)`);
      }
      let certs: X509Certificate[];
      try {
        certs = parseCertificates(await fsp.readFile(file));
      } catch (e) {
        throw new PolicyError('TRUST_STORE_INVALID', `error while reading certificates from "${file}": ${(e as Error).message}`, { cause: e });
      }
      validateStoreCertificates(certs, file, type);
      out.push(...certs);
    }
    if (out.length === 0) {
      throw new PolicyError('TRUST_STORE_INVALID', `trust store "${storeLabel(type, name)}" (${dir}) has no x509 certificates`);
    }
    return out;
  }

  /** Lists stores and their certificates (for `cert ls`). Unreadable stores are reported, not thrown. */
  async list(filter: { type?: TrustStoreType; name?: string } = {}): Promise<StoreListing[]> {
    const out: StoreListing[] = [];
    for (const type of TRUST_STORE_TYPES) {
      if (filter.type && filter.type !== type) continue;
      let names: string[] = [];
      try {
        names = (await fsp.readdir(join(this.root, 'x509', type))).sort();
      } catch {
        continue;
      }
      for (const name of names) {
        if (filter.name && filter.name !== name) continue;
        const listing: StoreListing = { type, name, path: this.dir(type, name), certificates: [] };
        try {
          const entries = (await fsp.readdir(listing.path, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
          for (const ent of entries) {
            if (!ent.isFile()) continue;
            const file = join(listing.path, ent.name);
            for (const c of parseCertificates(await fsp.readFile(file))) {
              const i = certInfo(c);
              listing.certificates.push({ file: ent.name, subject: i.subject, sha256: i.sha256, notBefore: i.notBefore.toISOString(), notAfter: i.notAfter.toISOString(), ca: i.basicConstraints?.ca ?? false });
            }
          }
        } catch (e) {
          listing.error = (e as Error).message;
        }
        out.push(listing);
      }
    }
    return out;
  }

  /** Adds a certificate file (PEM or DER, one or more certificates) to a store, creating it. Returns the written path. */
  /** Adds the certificates of `file` (the path the user gave: named in errors; stored under its base name). */
  async add(type: TrustStoreType, name: string, bytes: Buffer, file: string): Promise<{ path: string; certificates: X509Certificate[] }> {
    checkStoreArgs(type, name);
    const certs = parseStoreFile(bytes, file, type);
    const dir = this.dir(type, name);
    await mkdirs(dir, 0o755);
    const target = join(dir, basename(file));
    try {
      await fsp.writeFile(target, bytes, { flag: 'wx', mode: 0o644 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new PolicyError('TRUST_STORE_INVALID', `"${target}" already exists in trust store "${storeLabel(type, name)}"`, { hint: 'remove it first with `docker sign cert rm`' });
      }
      throw e;
    }
    this.cache.delete(storeLabel(type, name));
    return { path: target, certificates: certs };
  }

  /** Removes a certificate file (by file name or certificate SHA-256), or the whole store when `what` is undefined. */
  async remove(type: TrustStoreType, name: string, what?: string): Promise<string[]> {
    checkStoreArgs(type, name);
    const dir = this.dir(type, name);
    const st = await fsp.lstat(dir).catch(() => undefined);
    if (!st) {
      throw new PolicyError('TRUST_STORE_MISSING', `trust store "${storeLabel(type, name)}" does not exist (${dir})`);
    }
    this.cache.delete(storeLabel(type, name));
    if (what === undefined) {
      await fsp.rm(dir, { recursive: true });
      return [dir];
    }
    const removed: string[] = [];
    const want = what.replace(/:/g, '').toLowerCase();
    for (const ent of await fsp.readdir(dir, { withFileTypes: true })) {
      const file = join(dir, ent.name);
      if (!ent.isFile()) continue;
      let match = ent.name === what;
      if (!match) {
        try {
          match = parseCertificates(await fsp.readFile(file)).some((c) => certInfo(c).sha256 === want);
        } catch {
          match = false;
        }
      }
      if (match) {
        await fsp.rm(file);
        removed.push(file);
      }
    }
    if (removed.length === 0) {
      throw new PolicyError('TRUST_STORE_INVALID', `no certificate file or SHA-256 fingerprint "${what}" in trust store "${storeLabel(type, name)}"`);
    }
    return removed;
  }
}

export interface StoreListing {
  type: TrustStoreType;
  name: string;
  path: string;
  certificates: { file: string; subject: string; sha256: string; notBefore: string; notAfter: string; ca: boolean }[];
  error?: string;
}

/** An in-memory trust store (tests, the guard's preloaded material). */
export class MemoryTrustStore implements TrustStore {
  private readonly stores = new Map<string, X509Certificate[]>();
  constructor(entries: Record<string, X509Certificate[]> = {}) {
    for (const [k, v] of Object.entries(entries)) this.stores.set(k, v);
  }
  set(type: TrustStoreType, name: string, certs: X509Certificate[]): this {
    this.stores.set(storeLabel(type, name), certs);
    return this;
  }
  async getCertificates(type: TrustStoreType, name: string): Promise<X509Certificate[]> {
    const c = this.stores.get(storeLabel(type, name));
    if (!c) throw new PolicyError('TRUST_STORE_MISSING', `trust store "${storeLabel(type, name)}" does not exist`, { details: { store: storeLabel(type, name) } });
    if (c.length === 0) throw new PolicyError('TRUST_STORE_INVALID', `trust store "${storeLabel(type, name)}" has no x509 certificates`);
    return c;
  }
}

/** Loads the certificates of the given stores of one type (e.g. all `ca:` stores of a statement), de-duplicated by store. */
export async function loadStores(store: TrustStore, refs: TrustStoreRef[], type: TrustStoreType): Promise<X509Certificate[]> {
  const seen = new Set<string>();
  const out: X509Certificate[] = [];
  for (const r of refs) {
    if (r.type !== type || seen.has(r.name)) continue;
    seen.add(r.name);
    out.push(...(await store.getCertificates(r.type, r.name)));
  }
  return out;
}
