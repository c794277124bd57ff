/**
 * Timestamping a signature at signing time (RFC 3161), as `notation sign --timestamp-url URL
 * --timestamp-root-cert FILE` does: the signature value is hashed (the hash of the signing algorithm), a
 * TimeStampReq with a random nonce and certReq=true is POSTed to the TSA (`application/timestamp-query`), and the
 * TimeStampToken of a granted answer is checked before it goes into the envelope as
 * `io.cncf.notary.timestampSignature`: the same RFC 3161 verification the verifier runs (message imprint = hash of
 * this signature, TSA signature, timeStamping EKU, chain to the given root certificate), plus the nonce we sent.
 * Nothing is signed with a token that does not verify.
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { DockerSignError, EXIT } from '../errors.js';
import type { SignatureAlgorithm } from './types.js';
import { children, readTlv, type Tlv } from '../trust/x509.js';
import { oidDer, tlv } from '../trust/pkix.js';

const HASH_OID = { sha256: '2.16.840.1.101.3.4.2.1', sha384: '2.16.840.1.101.3.4.2.2', sha512: '2.16.840.1.101.3.4.2.3' } as const;
const PKI_STATUS = ['granted', 'grantedWithMods', 'rejection', 'waiting', 'revocationWarning', 'revocationNotification'];
const MAX_RESPONSE = 1 << 20;

export interface TimestampOptions {
  url: string;
  /** The TSA's root certificate(s): the token must chain to one of them. */
  roots: X509Certificate[];
  timeoutMs?: number;
  now?: Date;
}

/** The hash notation timestamps with: the signing algorithm's. */
export function timestampHash(alg: SignatureAlgorithm): 'sha256' | 'sha384' | 'sha512' {
  return /384$/.test(alg) ? 'sha384' : /512$/.test(alg) ? 'sha512' : 'sha256';
}

/** DER TimeStampReq: version 1, messageImprint, nonce, certReq TRUE. */
export function timestampRequest(digest: Buffer, hash: keyof typeof HASH_OID, nonce: Buffer): Buffer {
  const imprint = tlv(0x30, tlv(0x30, oidDer(HASH_OID[hash]), Buffer.from([0x05, 0x00])), tlv(0x04, digest));
  return tlv(0x30, tlv(0x02, Buffer.from([1])), imprint, tlv(0x02, nonce), Buffer.from([0x01, 0x01, 0xff]));
}

function bad(msg: string, hint?: string, exitCode: number = EXIT.VERIFICATION_FAILED): never {
  throw new DockerSignError('TIMESTAMP_FAILED', msg, { exitCode, hint: hint ?? 'check --timestamp-url and --timestamp-root-cert (the TSA must be reachable and trusted)' });
}

/** The TimeStampToken of a TimeStampResp (bytes of its ContentInfo), or a TIMESTAMP_FAILED error with the TSA's status. */
export function tokenOfResponse(resp: Buffer): Buffer {
  let top: Tlv;
  try {
    top = readTlv(resp, 0);
  } catch {
    bad('the timestamp authority answered something that is not DER');
  }
  if (top.tag !== 0x30 || top.end !== resp.length) bad('the timestamp authority answered something that is not a TimeStampResp');
  const [statusInfo, token] = children(resp, top);
  const st = statusInfo ? children(resp, statusInfo)[0] : undefined;
  if (!st || st.tag !== 0x02) bad('the timestamp response has no status');
  const status = resp.readUIntBE(st.start, Math.max(1, Math.min(6, st.end - st.start)));
  if (status !== 0 && status !== 1) bad(`the timestamp authority refused the request (${PKI_STATUS[status] ?? `status ${status}`})`);
  if (!token) bad('the timestamp authority granted the request but sent no token');
  return resp.subarray(token.hdr, token.end);
}

/** The nonce in the token's TSTInfo (the INTEGER after genTime, skipping accuracy and ordering), if any. */
function tokenNonce(tstInfo: Buffer): Buffer | undefined {
  const f = children(tstInfo, readTlv(tstInfo, 0));
  // version, policy, messageImprint, serialNumber, genTime, [accuracy], [ordering], [nonce], …
  for (const t of f.slice(5)) {
    if (t.tag === 0x02) return tstInfo.subarray(t.start, t.end);
    if (t.tag !== 0x30 && t.tag !== 0x01) return undefined;
  }
  return undefined;
}

const stripZeros = (b: Buffer) => {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
};

/**
 * 8 random bytes as the content of a DER INTEGER: positive (top bit clear) and minimal (first byte not zero; a
 * leading zero byte before a byte below 0x80 is illegal padding, which OpenSSL-based TSAs reject: 1 request in 256).
 */
export function requestNonce(): Buffer {
  const nonce = randomBytes(8);
  nonce[0] = (nonce[0]! & 0x7f) || 0x01;
  return nonce;
}

/** Asks the TSA for a token over `signature` and checks it; returns the DER TimeStampToken. */
export async function timestampSignature(signature: Buffer, alg: SignatureAlgorithm, opts: TimestampOptions): Promise<Buffer> {
  const hash = timestampHash(alg);
  const nonce = requestNonce();
  const req = timestampRequest(createHash(hash).update(signature).digest(), hash, nonce);
  const { httpFetch } = await import('../trust/revocation-http.js');
  let resp: Buffer;
  try {
    resp = await httpFetch({ url: opts.url, method: 'POST', body: req, contentType: 'application/timestamp-query', maxBytes: MAX_RESPONSE, timeoutMs: opts.timeoutMs ?? 15_000 });
  } catch (e) {
    bad(`timestamp request to ${opts.url} failed: ${(e as Error).message}`, 'is the timestamp authority reachable? (--timestamp-url)', EXIT.UNAVAILABLE);
  }
  const token = tokenOfResponse(resp);
  const { rfc3161TimestampVerifier, parseTimestampToken } = await import('../trust/timestamp.js');
  try {
    await rfc3161TimestampVerifier.verify(token, signature, opts.roots, { now: opts.now ?? new Date() });
  } catch (e) {
    bad(`the timestamp from ${opts.url} does not verify: ${(e as Error).message}`, 'is --timestamp-root-cert the root of this TSA?');
  }
  const got = tokenNonce(parseTimestampToken(token).tstInfoDer);
  if (!got || !stripZeros(got).equals(stripZeros(nonce))) bad(`the timestamp from ${opts.url} does not carry the nonce of the request`);
  return token;
}

/** Reads --timestamp-root-cert: PEM (one or more certificates) or DER. */
export function parseRootCertificates(bytes: Buffer, file: string): X509Certificate[] {
  const text = bytes.toString('latin1');
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  try {
    return pems ? pems.map((p) => new X509Certificate(p)) : [new X509Certificate(bytes)];
  } catch (e) {
    throw new DockerSignError('INVALID_TIMESTAMP_ROOT', `${file} is not a certificate (PEM or DER): ${(e as Error).message}`, { exitCode: EXIT.USAGE });
  }
}

