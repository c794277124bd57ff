/**
 * Timestamping a signature at signing time (RFC 3161), as `notation sign --timestamp-url URL
 * --timestamp-root-cert FILE` does: the signature value is hashed (the hash of the signing algorithm), a
 * TimeStampReq with a random nonce and certReq=true is POSTed to the TSA (`application/timestamp-query`), and the
 * TimeStampToken of a granted answer is checked before it goes into the envelope as
 * `io.cncf.notary.timestampSignature`: the answer must be HTTP 200 with Content-Type application/timestamp-reply
 * (tspclient-go; redirects are not followed), its token must be over the message imprint we asked for (same hash
 * algorithm, same digest) and carry the nonce we sent, and it must pass the same RFC 3161 verification the verifier
 * runs (TSA signature, the Notary Project timestamping certificate requirements, chain to the given root
 * certificate). Nothing is signed with a token that does not verify.
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { DockerSignError, EXIT } from '../errors.js';
import type { SignatureAlgorithm } from './types.js';
import { certInfo, children, readTlv, rootCertificateProblem, type Tlv } from '../trust/x509.js';
import { oidDer, tlv } from '../trust/pkix.js';
import { parseTimestampToken, rfc3161TimestampVerifier, stripZeros } from '../trust/timestamp.js';

const HASH_OID = { sha256: '2.16.840.1.101.3.4.2.1', sha384: '2.16.840.1.101.3.4.2.2', sha512: '2.16.840.1.101.3.4.2.3' } as const;
const PKI_STATUS = ['granted', 'grantedWithMods', 'rejection', 'waiting', 'revocationWarning', 'revocationNotification'];
/** tspclient-go reads at most 1 MiB of answer and fails when it reaches that size. */
const MAX_RESPONSE = 1 << 20;
const REPLY_TYPE = 'application/timestamp-reply';

export interface TimestampOptions {
  url: string;
  /** The TSA's root certificate(s): the token must chain to one of them, a self-signed root CA. */
  roots: X509Certificate[];
  timeoutMs?: number;
  now?: Date;
  /** Checks the TSA chain's revocation status after timestamping (default: OCSP/CRL over the network, as notation). */
  revocation?: import('../trust/revocation.js').RevocationChecker;
  /** The signature's signing time: the timestamp must not be before it, or no verifier accepts the signature. */
  signingTime?: Date;
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
  let statusInfo: Tlv | undefined;
  let token: Tlv | undefined;
  let st: Tlv | undefined;
  try {
    top = readTlv(resp, 0);
    if (top.tag !== 0x30 || top.end !== resp.length) throw new Error('not a SEQUENCE');
    [statusInfo, token] = children(resp, top);
    st = statusInfo ? children(resp, statusInfo)[0] : undefined;
  } catch {
    bad('the timestamp authority answered something that is not a TimeStampResp');
  }
  // PKIStatus: a DER INTEGER of 1..4 content bytes (its values are 0-5)
  if (!st || st.tag !== 0x02 || st.end - st.start < 1 || st.end - st.start > 4) bad('the timestamp response has no valid status');
  const status = resp.readUIntBE(st.start, st.end - st.start);
  if (status !== 0 && status !== 1) bad(`the timestamp authority refused the request (${PKI_STATUS[status] ?? `status ${status}`})`);
  if (!token) bad('the timestamp authority granted the request but sent no token');
  return resp.subarray(token.hdr, token.end);
}

/** The nonce in the token's TSTInfo (the INTEGER after genTime, skipping accuracy and ordering), if any. */
function tokenNonce(tstInfo: Buffer): Buffer | undefined {
  let f: Tlv[];
  try {
    f = children(tstInfo, readTlv(tstInfo, 0));
  } catch {
    return undefined; // (the token parser read this TSTInfo already; a nonce that cannot be found is missing)
  }
  // version, policy, messageImprint, serialNumber, genTime, [accuracy], [ordering], [nonce], …
  for (const t of f.slice(5)) {
    if (t.tag === 0x02) return tstInfo.subarray(t.start, t.end);
    if (t.tag !== 0x30 && t.tag !== 0x01) return undefined;
  }
  return undefined;
}

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
  const digest = createHash(hash).update(signature).digest();
  const req = timestampRequest(digest, hash, nonce);
  const reachable = 'is the timestamp authority reachable? (--timestamp-url)';
  // one POST, as tspclient-go's HTTP timestamper does (a RoundTrip: no redirect followed), through the proxy the
  // environment names for the URL; tspclient-go fails an answer that reaches MAX_RESPONSE bytes
  const { httpExchange } = await import('../trust/revocation-http.js');
  const timeoutMs = opts.timeoutMs ?? 15_000;
  let resp: Awaited<ReturnType<typeof httpExchange>>;
  try {
    resp = await httpExchange(new URL(opts.url), 'POST', req, { contentType: 'application/timestamp-query', maxBytes: MAX_RESPONSE - 1, timeoutMs }, Date.now() + timeoutMs);
  } catch (e) {
    bad(`timestamp request to ${opts.url} failed: ${(e as Error).message}`, reachable, EXIT.UNAVAILABLE);
  }
  if (resp.status !== 200) {
    const redirect = resp.status >= 300 && resp.status < 400 ? ' (redirects are not followed: give the final URL)' : '';
    bad(`timestamp request to ${opts.url} failed: HTTP ${resp.status}${resp.statusText ? ` ${resp.statusText}` : ''}${redirect}`, reachable, EXIT.UNAVAILABLE);
  }
  if (resp.contentType !== REPLY_TYPE) {
    bad(`the timestamp authority at ${opts.url} answered with content type ${resp.contentType === undefined ? '(none)' : JSON.stringify(resp.contentType)}, not ${REPLY_TYPE}`, 'is --timestamp-url the RFC 3161 endpoint of the timestamp authority?');
  }
  const token = tokenOfResponse(resp.body ?? Buffer.alloc(0));
  // the answer against the request first (tspclient-go Response.Validate): message imprint and nonce
  let parsed: ReturnType<typeof parseTimestampToken>;
  try {
    parsed = parseTimestampToken(token);
  } catch (e) {
    bad(`the timestamp from ${opts.url} does not verify: ${(e as Error).message}`);
  }
  if (parsed.hashAlg !== HASH_OID[hash]) {
    const names: Record<string, string> = Object.fromEntries(Object.entries(HASH_OID).map(([k, v]) => [v, k]));
    bad(`the timestamp from ${opts.url} is over a ${names[parsed.hashAlg] ?? parsed.hashAlg} message imprint, the request was for ${hash}`);
  }
  if (!parsed.hashedMessage.equals(digest)) bad(`the message imprint of the timestamp from ${opts.url} is not the one of the request`);
  const got = tokenNonce(parsed.tstInfoDer);
  if (!got || !stripZeros(got).equals(stripZeros(nonce))) bad(`the timestamp from ${opts.url} does not carry the nonce of the request`);
  const now = opts.now ?? new Date();
  let tsaChain: X509Certificate[];
  let lower: Date;
  try {
    ({ tsaChain, lower } = await rfc3161TimestampVerifier.verify(token, signature, opts.roots, { now }));
  } catch (e) {
    bad(`the timestamp from ${opts.url} does not verify: ${(e as Error).message}`, 'is --timestamp-root-cert the root of this TSA?');
  }
  // Verifiers (notation's and ours) require the timestamp's lower bound (genTime - accuracy) not before the signing
  // time, which is in whole seconds: a TSA answering in whole seconds with 1 s accuracy makes every such signature
  // fail its authenticTimestamp check. Better refused here than pushed.
  if (opts.signingTime && lower < opts.signingTime) {
    bad(`the timestamp from ${opts.url} (${lower.toISOString()} at the earliest, given its accuracy) is not after the signing time ${opts.signingTime.toISOString()}: every verifier would refuse this signature`,
      'the TSA\'s accuracy is coarser than the whole-second signing time allows: use a TSA with sub-second accuracy, or sign again a moment later');
  }
  // As notation's signer does (a TSA revocation validator is always set with --timestamp-url): a timestamp whose
  // TSA certificate is revoked, or whose status cannot be known, would fail every verifier's authenticTimestamp check.
  const { defaultRevocationChecker, revocationFinalResult } = await import('../trust/revocation.js');
  let r: ReturnType<typeof revocationFinalResult>;
  try {
    r = revocationFinalResult(tsaChain, await (opts.revocation ?? defaultRevocationChecker()).check(tsaChain, { purpose: 'timestamping', now }));
  } catch (e) {
    bad(`after timestamping: failed to check timestamping certificate chain revocation with error: ${(e as Error).message}`);
  }
  if (r.status === 'revoked') bad(`after timestamping: timestamping certificate with subject "${r.subject}" is revoked`, 'the timestamp authority uses a revoked certificate: use another TSA');
  if (r.status === 'unknown') bad(`after timestamping: timestamping certificate with subject "${r.subject}" revocation status is unknown${r.detail ? ` (${r.detail})` : ''}`, 'are the TSA certificate\'s OCSP / CRL servers reachable?');
  return token;
}

/**
 * Reads --timestamp-root-cert as notation does (NewRootCertPool): PEM or DER holding exactly one certificate, a
 * self-signed root CA certificate.
 */
export function parseRootCertificates(bytes: Buffer, file: string): X509Certificate[] {
  const text = bytes.toString('latin1');
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  const invalid: (msg: string) => never = (msg) => {
    throw new DockerSignError('INVALID_TIMESTAMP_ROOT', msg, { exitCode: EXIT.USAGE, hint: '--timestamp-root-cert takes the self-signed root CA certificate of the timestamp authority, alone in its file' });
  };
  let certs: X509Certificate[];
  try {
    certs = pems ? pems.map((p) => new X509Certificate(p)) : [new X509Certificate(bytes)];
  } catch (e) {
    invalid(`${file} is not a certificate (PEM or DER): ${(e as Error).message}`);
  }
  if (certs.length !== 1) invalid(`${file} holds ${certs.length} certificates: expecting a single x509 root certificate in PEM or DER format`);
  const root = certs[0]!;
  let problem: string | undefined;
  try {
    problem = rootCertificateProblem(root);
  } catch (e) {
    problem = (e as Error).message;
  }
  if (problem) invalid(`the certificate with subject "${certInfo(root).subject}" in ${file} is not a root certificate: ${problem}`);
  return certs;
}

