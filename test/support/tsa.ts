// A test timestamp authority (root + timeStamping leaf) for `openssl ts`: tokens made directly (stamp) or served
// over HTTP as an RFC 3161 TSA (serveTsa).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto, KeyObject, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

x509.cryptoProvider.set(webcrypto as never);
const DAY = 86_400_000;

export interface Tsa {
  root: X509Certificate;
  dir: string;
}

/** A TSA (root + timeStamping leaf) usable by `openssl ts -reply`. */
export async function makeTsa(): Promise<Tsa> {
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
      'digests = sha256, sha384, sha512', 'accuracy = secs:1', 'ordering = yes', 'tsa_name = no', 'ess_cert_id_chain = no', 'ess_cert_id_alg = sha256', ''].join('\n'),
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
export async function serveTsa(tsa: Tsa): Promise<{ url: string; requests: number; mode: 'ok' | 'reject' | 'replay'; close(): Promise<void> }> {
  const d = tsa.dir;
  let last: Buffer | undefined;
  const state = { url: '', requests: 0, mode: 'ok' as 'ok' | 'reject' | 'replay', close: async () => undefined as void };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      state.requests++;
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
      writeFileSync(join(d, 'http-req.tsq'), Buffer.concat(parts));
      try {
        execFileSync('openssl', ['ts', '-reply', '-queryfile', join(d, 'http-req.tsq'), '-signer', join(d, 'tsa.pem'), '-inkey', join(d, 'tsa.key'),
          '-chain', join(d, 'root.pem'), '-config', join(d, 'ts.cnf'), '-out', join(d, 'http-resp.tsr')], { stdio: 'pipe' });
      } catch (e) {
        res.writeHead(500);
        res.end(String((e as Error).message));
        return;
      }
      last = readFileSync(join(d, 'http-resp.tsr'));
      res.writeHead(200, { 'content-type': 'application/timestamp-reply' });
      res.end(last);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tsa`;
  state.close = () => new Promise<void>((r) => server.close(() => r()));
  return state;
}
