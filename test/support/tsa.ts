// A test timestamp authority (root + timeStamping leaf) for `openssl ts`: tokens made directly (stamp) or served
// over HTTP as an RFC 3161 TSA (serveTsa).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto, KeyObject, X509Certificate, createHash, createPrivateKey, randomBytes, sign as cryptoSign, constants } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oidDer, tlv } from '../../src/trust/pkix.js';
import { certInfo, children, readTlv } from '../../src/trust/x509.js';
import { timestampRequest } from '../../src/signature/tsa.js';

x509.cryptoProvider.set(webcrypto as never);
const DAY = 86_400_000;

export interface Tsa {
  root: X509Certificate;
  dir: string;
}

/** A TSA (root + timeStamping leaf) usable by `openssl ts -reply`. */
/** A TSA (`openssl ts -reply` config in dir/ts.cnf); `coarse`: whole-second genTime with 1 s accuracy. */
export async function makeTsa(o: { coarse?: boolean } = {}): Promise<Tsa> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const rk = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const lk = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const nb = new Date(Date.now() - DAY);
  const na = new Date(Date.now() + 3650 * DAY);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '0a', name: 'C=US, ST=WA, O=Test TSA, CN=Test TSA Root', notBefore: nb, notAfter: na, keys: rk as never, signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '0b', subject: 'C=US, ST=WA, O=Test TSA, CN=Test TSA Signer', issuer: root.subject, notBefore: nb, notAfter: na,
    publicKey: lk.publicKey as never, signingKey: rk.privateKey as never, signingAlgorithm: alg,
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.timeStamping], true)],
  });
  const dir = mkdtempSync(join(tmpdir(), 'ds-tsa-'));
  writeFileSync(join(dir, 'tsa.pem'), new X509Certificate(Buffer.from(leaf.rawData)).toString());
  writeFileSync(join(dir, 'root.pem'), new X509Certificate(Buffer.from(root.rawData)).toString());
  writeFileSync(join(dir, 'tsa.key'), KeyObject.from(lk.privateKey as never).export({ type: 'pkcs8', format: 'pem' }) as string);
  writeFileSync(join(dir, 'serial'), '01\n');
  writeFileSync(
    join(dir, 'ts.cnf'),
    ['[ tsa ]', 'default_tsa = tsa1', '[ tsa1 ]', `serial = ${join(dir, 'serial')}`, 'crypto_device = builtin', 'signer_digest = sha256', 'default_policy = 1.2.3.4.1',
      'digests = sha256, sha384, sha512', ...(o.coarse ? ['accuracy = secs:1'] : ['accuracy = millisecs:1', 'clock_precision_digits = 3']), 'ordering = yes', 'tsa_name = no', 'ess_cert_id_chain = no', 'ess_cert_id_alg = sha256', ''].join('\n'),
  );
  return { root: new X509Certificate(Buffer.from(root.rawData)), dir };
}

/** RFC 3161 token over `data` from the openssl TSA. */
export function stamp(tsa: Tsa, data: Buffer): Buffer {
  const d = tsa.dir;
  writeFileSync(join(d, 'data.bin'), data);
  execFileSync('openssl', ['ts', '-query', '-data', join(d, 'data.bin'), '-sha256', '-cert', '-no_nonce', '-out', join(d, 'req.tsq')], { stdio: 'pipe' });
  execFileSync('openssl', ['ts', '-reply', '-queryfile', join(d, 'req.tsq'), '-signer', join(d, 'tsa.pem'), '-inkey', join(d, 'tsa.key'), '-chain', join(d, 'root.pem'),
    '-config', join(d, 'ts.cnf'), '-token_out', '-out', join(d, 'token.der')], { stdio: 'pipe' });
  return readFileSync(join(d, 'token.der'));
}


/**
 * An RFC 3161 TSA over HTTP (POST application/timestamp-query → application/timestamp-reply) answering with
 * `openssl ts -reply`; `mode` changes its answers for negative tests.
 */
export type TsaMode =
  /** A granted answer, HTTP 200 application/timestamp-reply. */
  | 'ok'
  /** A rejection (PKIStatus 2). */
  | 'reject'
  /** The previous answer again. */
  | 'replay'
  /** A good answer served as text/plain. */
  | 'content-type'
  /** A good answer with HTTP 203 (a 2xx that is not 200). */
  | 'status'
  /** HTTP 307 to the same endpoint (which would answer well). */
  | 'redirect'
  /** A token with the request's nonce over the SHA-256 of `data` whatever hash the request asked for. */
  | 'other-hash';

export async function serveTsa(tsa: Tsa): Promise<{ url: string; requests: number; mode: TsaMode; data?: Buffer; close(): Promise<void> }> {
  const d = tsa.dir;
  let last: Buffer | undefined;
  const state = { url: '', requests: 0, mode: 'ok' as TsaMode, data: undefined as Buffer | undefined, close: async () => undefined as void };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      state.requests++;
      if (state.mode === 'redirect' && !req.url?.endsWith('?redirected')) {
        res.writeHead(307, { location: `${state.url}?redirected` });
        res.end();
        return;
      }
      if (state.mode === 'reject') {
        // TimeStampResp { status PKIStatusInfo { rejection (2) } }
        res.writeHead(200, { 'content-type': 'application/timestamp-reply' });
        res.end(Buffer.from([0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02]));
        return;
      }
      if (state.mode === 'replay' && last) {
        res.writeHead(200, { 'content-type': 'application/timestamp-reply' });
        res.end(last);
        return;
      }
      let query: Buffer = Buffer.concat(parts);
      if (state.mode === 'other-hash') {
        // TimeStampReq { version, messageImprint, [reqPolicy], nonce, … }: keep the nonce, change the imprint
        const f = children(query, readTlv(query, 0));
        const nonce = f.slice(2).find((t) => t.tag === 0x02)!;
        query = timestampRequest(createHash('sha256').update(state.data!).digest(), 'sha256', query.subarray(nonce.start, nonce.end));
      }
      writeFileSync(join(d, 'http-req.tsq'), query);
      try {
        execFileSync('openssl', ['ts', '-reply', '-queryfile', join(d, 'http-req.tsq'), '-signer', join(d, 'tsa.pem'), '-inkey', join(d, 'tsa.key'),
          '-chain', join(d, 'root.pem'), '-config', join(d, 'ts.cnf'), '-out', join(d, 'http-resp.tsr')], { stdio: 'pipe' });
      } catch (e) {
        res.writeHead(500);
        res.end(String((e as Error).message));
        return;
      }
      last = readFileSync(join(d, 'http-resp.tsr'));
      res.writeHead(state.mode === 'status' ? 203 : 200, { 'content-type': state.mode === 'content-type' ? 'text/plain' : 'application/timestamp-reply' });
      res.end(last);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tsa`;
  state.close = () => new Promise<void>((r) => server.close(() => r()));
  return state;
}

// ---- openssl-made PKIs and hand-made tokens (the timestamping certificate requirements, CMS variants) ----

export type KeyType = 'ec-p256' | 'ec-p384' | 'ec-p224' | 'rsa-1024' | 'rsa-2048' | 'rsa-3072';

export interface PkiCert {
  cert: X509Certificate;
  certPath: string;
  keyPath: string;
  key: KeyObject;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });

/** A private key made by `openssl genpkey` (PEM file). */
export function opensslKey(dir: string, name: string, type: KeyType): string {
  const path = join(dir, `${name}.key`);
  const [alg, size] = type.split('-') as [string, string];
  if (alg === 'ec') openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:P-${size.slice(1)}`, '-out', path]);
  else openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${size}`, '-out', path]);
  return path;
}

/**
 * A certificate made by `openssl req` + `openssl x509 -req`: self-signed without `issuer`; `ext` are the lines of
 * its extension section (none at all: a v1 certificate).
 */
export function opensslCert(dir: string, name: string, o: { subject: string; issuer?: PkiCert; key?: KeyType; ext?: string[]; md?: 'sha1' | 'sha256' | 'sha384'; days?: number }): PkiCert {
  const keyPath = opensslKey(dir, name, o.key ?? 'ec-p256');
  const cnf = join(dir, `${name}.cnf`);
  writeFileSync(cnf, ['[req]', 'distinguished_name = dn', '[dn]', '[ext]', ...(o.ext ?? []), ''].join('\n'));
  const csr = join(dir, `${name}.csr`);
  const certPath = join(dir, `${name}.pem`);
  openssl(['req', '-new', '-key', keyPath, '-subj', o.subject, '-config', cnf, '-out', csr]);
  const serial = randomBytes(8);
  serial[0] = (serial[0]! & 0x7f) | 0x10;
  openssl(['x509', '-req', '-in', csr, '-days', String(o.days ?? 30), `-${o.md ?? 'sha256'}`, '-set_serial', `0x${serial.toString('hex')}`,
    ...(o.issuer ? ['-CA', o.issuer.certPath, '-CAkey', o.issuer.keyPath] : ['-signkey', keyPath]),
    ...(o.ext ? ['-extfile', cnf, '-extensions', 'ext'] : []), '-out', certPath]);
  return { cert: new X509Certificate(readFileSync(certPath)), certPath, keyPath, key: createPrivateKey(readFileSync(keyPath)) };
}

/** Extension sections of well-formed Notary Project TSA certificates. */
export const EXT = {
  root: ['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign', 'subjectKeyIdentifier = hash'],
  ca: ['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign', 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid'],
  tsa: ['basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature', 'extendedKeyUsage = critical, timeStamping', 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid'],
};

export interface OpensslTsa extends Tsa {
  /** The TSA's signing certificate. */
  leaf: PkiCert;
  /** The CA certificates above the leaf, the root last. */
  cas: PkiCert[];
}

/**
 * A TSA made with openssl: a root, intermediates (their extension sections, the one under the root first) and a
 * signing certificate, usable by stamp() and serveTsa() (`openssl ts -reply`, which signs only with a leaf whose
 * extended key usage is exactly timeStamping and critical).
 */
export function makeOpensslTsa(o: { rootExt?: string[]; rootMd?: 'sha1' | 'sha256'; intermediates?: string[][]; leafExt?: string[]; leafKey?: KeyType; policy?: string; essCertIdAlg?: 'sha1' | 'sha256' } = {}): OpensslTsa {
  const dir = mkdtempSync(join(tmpdir(), 'ds-tsa-'));
  const tag = randomBytes(3).toString('hex');
  const root = opensslCert(dir, 'ca0', { subject: `/C=US/O=Test TSA ${tag}/CN=Test TSA Root`, ext: o.rootExt ?? EXT.root, ...(o.rootMd ? { md: o.rootMd } : {}) });
  const cas = [root];
  (o.intermediates ?? []).forEach((ext, i) => {
    cas.unshift(opensslCert(dir, `ca${i + 1}`, { subject: `/C=US/O=Test TSA ${tag}/CN=Test TSA CA ${i + 1}`, issuer: cas[0]!, ext }));
  });
  const leaf = opensslCert(dir, 'leaf', { subject: `/C=US/O=Test TSA ${tag}/CN=Test TSA Signer`, issuer: cas[0]!, ext: o.leafExt ?? EXT.tsa, key: o.leafKey ?? 'ec-p256' });
  writeFileSync(join(dir, 'tsa.pem'), leaf.cert.toString());
  writeFileSync(join(dir, 'tsa.key'), readFileSync(leaf.keyPath));
  writeFileSync(join(dir, 'root.pem'), cas.map((c) => c.cert.toString()).join(''));
  writeFileSync(join(dir, 'serial'), '01\n');
  writeFileSync(
    join(dir, 'ts.cnf'),
    ['[ tsa ]', 'default_tsa = tsa1', '[ tsa1 ]', `serial = ${join(dir, 'serial')}`, 'crypto_device = builtin', 'signer_digest = sha256', `default_policy = ${o.policy ?? '1.2.3.4.1'}`,
      'digests = sha256, sha384, sha512', 'accuracy = millisecs:1', 'clock_precision_digits = 3', 'ordering = yes', 'tsa_name = no', 'ess_cert_id_chain = no', `ess_cert_id_alg = ${o.essCertIdAlg ?? 'sha256'}`, ''].join('\n'),
  );
  return { root: root.cert, dir, leaf, cas };
}

const HASH_OID = { sha1: '1.3.14.3.2.26', sha256: '2.16.840.1.101.3.4.2.1', sha384: '2.16.840.1.101.3.4.2.2', sha512: '2.16.840.1.101.3.4.2.3' } as const;
type Hash = keyof typeof HASH_OID;
const NULL = Buffer.from([0x05, 0x00]);
const algId = (oid: string, params?: Buffer) => tlv(0x30, oidDer(oid), ...(params ? [params] : []));
const int = (n: number) => tlv(0x02, Buffer.from([n]));
const attribute = (oid: string, value: Buffer) => tlv(0x30, oidDer(oid), tlv(0x31, value));
const derTime = (tag: 0x17 | 0x18, d: Date) => {
  const s = d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
  return tlv(tag, Buffer.from(tag === 0x17 ? s.slice(2) : s));
};

/** Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] INTEGER OPTIONAL, micros [1] INTEGER OPTIONAL }. */
export function accuracy(a: { seconds?: number; millis?: number; micros?: number }): Buffer {
  return tlv(0x30, ...(a.seconds !== undefined ? [int(a.seconds)] : []), ...(a.millis !== undefined ? [tlv(0x80, Buffer.from([a.millis]))] : []),
    ...(a.micros !== undefined ? [tlv(0x81, Buffer.from([a.micros]))] : []));
}

/** A DER TSTInfo over `data`. */
export function tstInfo(data: Buffer, o: { hash?: Exclude<Hash, 'sha1'>; version?: number; policy?: string; genTime?: Date; genTimeText?: string; accuracy?: Buffer } = {}): Buffer {
  const h = o.hash ?? 'sha256';
  return tlv(0x30, int(o.version ?? 1), oidDer(o.policy ?? '1.2.3.4.1'), tlv(0x30, algId(HASH_OID[h], NULL), tlv(0x04, createHash(h).update(data).digest())),
    tlv(0x02, Buffer.from([0x01, ...randomBytes(7)])), o.genTimeText ? tlv(0x18, Buffer.from(o.genTimeText)) : derTime(0x18, o.genTime ?? new Date()), ...(o.accuracy ? [o.accuracy] : []));
}

export interface SignerOptions {
  cert: X509Certificate;
  key: KeyObject;
  digest?: 'sha256' | 'sha384' | 'sha512';
  /** The ESS attribute: signing-certificate-v2 (default), signing-certificate (v1, SHA-1) or none. */
  ess?: 'v2' | 'v1' | 'none';
  /** The ESSCertIDv2 hash (default SHA-256, left implicit as DEFAULT). */
  essHash?: Hash;
  essIssuerSerial?: boolean;
  /** default: ecdsa-with-SHAx / shaxWithRSAEncryption after the digest. */
  signatureAlgorithm?: 'default' | 'rsaEncryption' | 'rsassa-pss' | 'id-ecPublicKey';
  pssSaltLength?: number;
  sid?: 'issuerAndSerialNumber' | 'subjectKeyIdentifier';
  version?: number;
  /** Flip a bit of the signature value. */
  corrupt?: boolean;
}

/** A SignerInfo over `tst` signed with node:crypto, the signed attributes as a TSA puts them. */
export function signerInfo(tst: Buffer, o: SignerOptions): Buffer {
  const digest = o.digest ?? 'sha256';
  const info = certInfo(o.cert);
  const issuerSerial = tlv(0x30, tlv(0x30, tlv(0xa4, info.issuerDer)), tlv(0x02, info.serial));
  const essHash = o.essHash ?? 'sha256';
  const ess = (o.ess ?? 'v2') === 'v2'
    ? [attribute('1.2.840.113549.1.9.16.2.47', tlv(0x30, tlv(0x30, tlv(0x30, ...(essHash === 'sha256' ? [] : [algId(HASH_OID[essHash])]),
      tlv(0x04, createHash(essHash).update(o.cert.raw).digest()), ...(o.essIssuerSerial ? [issuerSerial] : [])))))]
    : o.ess === 'v1'
      ? [attribute('1.2.840.113549.1.9.16.2.12', tlv(0x30, tlv(0x30, tlv(0x30, tlv(0x04, createHash('sha1').update(o.cert.raw).digest())))))]
      : [];
  const attrs = Buffer.concat([
    attribute('1.2.840.113549.1.9.3', oidDer('1.2.840.113549.1.9.16.1.4')),
    attribute('1.2.840.113549.1.9.5', derTime(0x17, new Date())),
    ...ess,
    attribute('1.2.840.113549.1.9.4', tlv(0x04, createHash(digest).update(tst).digest())),
  ]);
  const toSign = tlv(0x31, attrs);
  const bits = digest.slice(3);
  const rsa = o.key.asymmetricKeyType === 'rsa';
  const hashLen = { sha256: 32, sha384: 48, sha512: 64 }[digest];
  let sigAlg: Buffer;
  let signature: Buffer;
  switch (o.signatureAlgorithm ?? 'default') {
    case 'rsassa-pss': {
      const saltLength = o.pssSaltLength ?? hashLen;
      sigAlg = algId('1.2.840.113549.1.1.10', tlv(0x30, tlv(0xa0, algId(HASH_OID[digest], NULL)), tlv(0xa1, algId('1.2.840.113549.1.1.8', algId(HASH_OID[digest], NULL))), tlv(0xa2, int(saltLength))));
      signature = cryptoSign(digest, toSign, { key: o.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
      break;
    }
    case 'rsaEncryption':
      sigAlg = algId('1.2.840.113549.1.1.1', NULL);
      signature = cryptoSign(digest, toSign, o.key);
      break;
    case 'id-ecPublicKey':
      sigAlg = algId('1.2.840.10045.2.1');
      signature = cryptoSign(digest, toSign, o.key);
      break;
    default:
      sigAlg = rsa ? algId(`1.2.840.113549.1.1.${{ 256: 11, 384: 12, 512: 13 }[bits]}`, NULL) : algId(`1.2.840.10045.4.3.${{ 256: 2, 384: 3, 512: 4 }[bits]}`);
      signature = cryptoSign(digest, toSign, o.key);
  }
  if (o.corrupt) signature[signature.length - 1] = signature[signature.length - 1]! ^ 0x01;
  const ski = o.sid === 'subjectKeyIdentifier';
  const sid = ski ? tlv(0x80, info.subjectKeyId!) : tlv(0x30, info.issuerDer, tlv(0x02, info.serial));
  return tlv(0x30, int(o.version ?? (ski ? 3 : 1)), sid, algId(HASH_OID[digest], NULL), tlv(0xa0, attrs), sigAlg, tlv(0x04, signature));
}

/** A TimeStampToken (ContentInfo / SignedData) over `tst` with the given SignerInfos and certificates. */
export function cmsToken(tst: Buffer, signerInfos: Buffer[], o: { certificates: X509Certificate[]; version?: number }): Buffer {
  const sd = tlv(0x30, int(o.version ?? 3), tlv(0x31, algId(HASH_OID.sha256, NULL)), tlv(0x30, oidDer('1.2.840.113549.1.9.16.1.4'), tlv(0xa0, tlv(0x04, tst))),
    tlv(0xa0, ...o.certificates.map((c) => c.raw)), tlv(0x31, ...signerInfos));
  return tlv(0x30, oidDer('1.2.840.113549.1.7.2'), tlv(0xa0, sd));
}
