/**
 * RFC 3161 timestamp countersignature verification (the envelope's io.cncf.notary.timestampSignature), as the
 * trust policy spec's "Validate Trusted Timestamp" step requires and as notation v1.3 does it (tspclient-go
 * SignedToken.Verify, then notation-core-go ValidateTimestampingCertChain), with node:crypto and the small DER
 * reader only:
 *
 *  1. the token is a CMS ContentInfo / SignedData (version 3) whose eContentType is id-ct-TSTInfo (version 1);
 *  2. TSTInfo.messageImprint = hash(signature value) with SHA-256/384/512;
 *  3. a SignerInfo (version 1, issuerAndSerialNumber) has a signing-certificate-v2 attribute (SHA-256/384/512)
 *     whose hash matches a certificate of the token: that certificate is the signer (several SignerInfos: the
 *     first one that verifies counts, as in tspclient-go);
 *  4. the signer certificate chains through the token's certificates to a self-signed root of the policy's `tsa`
 *     trust store, link by link as Go's x509.Verify does (issuers are CAs allowed to sign certificates, no SHA-1
 *     signatures, path length constraints, every extended key usage allows timeStamping, every certificate valid
 *     at genTime);
 *  5. the signed attributes carry content-type = id-ct-TSTInfo, message-digest = hash(TSTInfo) and, when present,
 *     a signing time within the validity of the chain; the signature over them verifies (RSA PKCS#1 v1.5,
 *     RSASSA-PSS or ECDSA);
 *  6. the chain meets the Notary Project timestamping certificate requirements: the signer is no CA, has key usage
 *     digitalSignature only (of the signing bits), a critical extended key usage that is exactly timeStamping and
 *     an RSA 2048/3072/4096 or EC P-256/P-384/P-521 key; every other certificate is a CA with keyCertSign whose
 *     path length allows the chain; only the last certificate is self-signed;
 *  7. the attested time range is genTime ± accuracy (1 s for the baseline policy 0.4.0.2023.1.1 without accuracy
 *     or with a zero one).
 */
import { createHash, verify as cryptoVerify, constants, type X509Certificate } from 'node:crypto';
import { certInfo, children, decodeDerTime, decodeOid, parseGoCertificate, readTlv, rootCertificateProblem, signatureFromProblem, EKU, LEAF_FORBIDDEN_KEY_USAGE, type Tlv } from './x509.js';
import { berLengthsToDer } from '../pki/der.js';
import type { TimestampVerifier } from './verifier.js';

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificate: '1.2.840.113549.1.9.16.2.12',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  baselinePolicy: '0.4.0.2023.1.1',
  rsassaPss: '1.2.840.113549.1.1.10',
  mgf1: '1.2.840.113549.1.1.8',
  ecPublicKey: '1.2.840.10045.2.1',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  extKeyUsage: '2.5.29.37',
};

const HASHES: Record<string, 'sha256' | 'sha384' | 'sha512' | 'sha1'> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
  '1.3.14.3.2.26': 'sha1',
};

/** Hash lengths in bytes (the RSASSA-PSS salt length Go requires: the hash's). */
const HASH_LENGTH = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 } as const;

/**
 * SignerInfo signature algorithms tspclient-go maps to a Go x509.SignatureAlgorithm (oid.ToSignatureAlgorithm):
 * rsaEncryption takes its hash from the digest algorithm; RSASSA-PSS (from its parameters) is handled apart.
 * id-ecPublicKey is a key type, not a signature algorithm: tokens naming it are refused, as tspclient-go does.
 */
const SIG_ALGS: Record<string, { kind: 'rsa' | 'ecdsa'; hash?: string }> = {
  '1.2.840.113549.1.1.1': { kind: 'rsa' },
  '1.2.840.113549.1.1.11': { kind: 'rsa', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { kind: 'rsa', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { kind: 'rsa', hash: 'sha512' },
  '1.2.840.10045.4.3.2': { kind: 'ecdsa', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { kind: 'ecdsa', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { kind: 'ecdsa', hash: 'sha512' },
};


/** Longest TSA chain looked for (leaf, intermediates, root). */
const MAX_CHAIN = 10;

class TimestampError extends Error {}

function fail(msg: string): never {
  throw new TimestampError(msg);
}

function algOid(b: Buffer, t: Tlv): string {
  const [o] = children(b, t);
  if (!o || o.tag !== 0x06) fail('malformed AlgorithmIdentifier');
  return decodeOid(b, o);
}

/** A small non-negative INTEGER (versions). */
function smallInt(b: Buffer, t: Tlv | undefined, what: string): number {
  if (!t || t.tag !== 0x02 || t.end === t.start || t.end - t.start > 4 || (b[t.start]! & 0x80) !== 0) fail(`malformed ${what}`);
  return b.readUIntBE(t.start, t.end - t.start);
}

/** INTEGER contents without redundant leading zero bytes (serial number and nonce comparisons). */
export function stripZeros(v: Buffer): Buffer {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  return v.subarray(i);
}

/** RSASSA-PSS-params (RFC 4055): hash (default SHA-1), MGF1 hash (default SHA-1), salt length (default 20). */
function pssParams(b: Buffer, params: Tlv | undefined): { hash: string; mgfHash: string; saltLength: number } {
  const out = { hash: OID.sha1, mgfHash: OID.sha1, saltLength: 20 };
  if (!params || params.tag === 0x05) return out;
  if (params.tag !== 0x30) fail('malformed RSASSA-PSS parameters');
  for (const p of children(b, params)) {
    const [inner] = children(b, p);
    if (!inner) fail('malformed RSASSA-PSS parameters');
    if (p.tag === 0xa0) out.hash = algOid(b, inner);
    else if (p.tag === 0xa1) {
      const [mgf, mgfHash] = children(b, inner);
      if (!mgf || mgf.tag !== 0x06 || decodeOid(b, mgf) !== OID.mgf1 || !mgfHash || mgfHash.tag !== 0x30) fail('the RSASSA-PSS mask generation function is not MGF1');
      out.mgfHash = algOid(b, mgfHash);
    } else if (p.tag === 0xa2) out.saltLength = smallInt(b, inner, 'RSASSA-PSS salt length');
  }
  return out;
}

export interface ParsedSignerInfo {
  version: number;
  /** The SignerIdentifier: issuerAndSerialNumber (the only form tspclient-go reads). */
  issuerDer: Buffer;
  serial: Buffer;
  digestAlg: string;
  sigAlg: string;
  /** RSASSA-PSS parameters (hash OIDs), when sigAlg is RSASSA-PSS. */
  pss?: { hash: string; mgfHash: string; saltLength: number };
  signedAttrs: Buffer;
  signature: Buffer;
  attrs: Map<string, Tlv[]>;
}

export interface ParsedTimestamp {
  genTime: Date;
  /** The part of genTime below the millisecond, in ms (0 <= x < 1): genTime is that time cut to the millisecond. */
  genTimeSubMs: number;
  /** May have a fraction (an accuracy in microseconds). */
  accuracyMs: number;
  policy: string;
  hashAlg: string;
  hashedMessage: Buffer;
  certificates: X509Certificate[];
  /** The first SignerInfo. */
  signer: ParsedSignerInfo;
  signers: ParsedSignerInfo[];
  tstInfoDer: Buffer;
  bytes: Buffer;
}

function parseSignerInfo(bytes: Buffer, t: Tlv): ParsedSignerInfo {
  const si = children(bytes, t);
  const version = smallInt(bytes, si[0], 'SignerInfo version');
  const sid = si[1];
  if (!sid) fail('malformed SignerInfo');
  if (sid.tag !== 0x30) fail('the timestamp signer is identified by subject key identifier: only issuerAndSerialNumber (SignerInfo version 1) is supported');
  const [iss, ser] = children(bytes, sid);
  if (!iss || iss.tag !== 0x30 || !ser || ser.tag !== 0x02) fail('malformed SignerInfo issuerAndSerialNumber');
  let j = 2;
  const digestAlg = algOid(bytes, si[j++] ?? fail('malformed SignerInfo'));
  const sa = si[j++];
  if (!sa || sa.tag !== 0xa0) fail('the timestamp signer has no signed attributes');
  const attrs = new Map<string, Tlv[]>();
  for (const attr of children(bytes, sa)) {
    const [aType, aVals] = children(bytes, attr);
    if (!aType || aType.tag !== 0x06 || !aVals || aVals.tag !== 0x31) fail('malformed signed attribute');
    const oid = decodeOid(bytes, aType);
    if (!attrs.has(oid)) attrs.set(oid, children(bytes, aVals));
  }
  const algT = si[j++];
  if (!algT || algT.tag !== 0x30) fail('malformed SignerInfo signature algorithm');
  const sigAlg = algOid(bytes, algT);
  const sig = si[j++];
  if (!sig || sig.tag !== 0x04) fail('malformed SignerInfo signature');
  return {
    version,
    issuerDer: bytes.subarray(iss.hdr, iss.end),
    serial: bytes.subarray(ser.start, ser.end),
    digestAlg,
    sigAlg,
    ...(sigAlg === OID.rsassaPss ? { pss: pssParams(bytes, children(bytes, algT)[1]) } : {}),
    // The signature covers the DER of the attributes as a SET OF (tag 0x31 instead of the implicit [0]).
    signedAttrs: Buffer.concat([Buffer.from([0x31]), bytes.subarray(sa.hdr + 1, sa.end)]),
    signature: bytes.subarray(sig.start, sig.end),
    attrs,
  };
}

/**
 * Parses a TimeStampToken (ContentInfo with SignedData over TSTInfo). Throws on anything malformed. Length octets
 * longer than DER's are shortened first, as tspclient-go does (berLengthsToDer); the TSTInfo inside must be DER.
 */
export function parseTimestampToken(token: Buffer): ParsedTimestamp {
  try {
    const bytes = berLengthsToDer(token);
    const ci = readTlv(bytes, 0);
    if (ci.end !== bytes.length) fail('trailing bytes after the timestamp token');
    const [ctype, wrapped] = children(bytes, ci);
    if (!ctype || ctype.tag !== 0x06 || decodeOid(bytes, ctype) !== OID.signedData || !wrapped || wrapped.tag !== 0xa0) fail('the timestamp token is not CMS SignedData');
    const [sd] = children(bytes, wrapped);
    if (!sd || sd.tag !== 0x30) fail('the timestamp token is not CMS SignedData');
    const parts = children(bytes, sd);
    const sdVersion = smallInt(bytes, parts[0], 'SignedData version');
    // RFC 5652 5.1: version 3 when the encapsulated content is not id-data (a TSTInfo here).
    if (sdVersion !== 3) fail(`the timestamp token SignedData version must be 3, but got ${sdVersion}`);
    let k = 2; // version, digestAlgorithms
    const encap = parts[k++];
    if (!encap || encap.tag !== 0x30) fail('the timestamp token has no encapsulated content');
    const [eType, eWrap] = children(bytes, encap);
    if (!eType || eType.tag !== 0x06 || decodeOid(bytes, eType) !== OID.tstInfo) fail('the timestamp token does not contain a TSTInfo');
    if (!eWrap || eWrap.tag !== 0xa0) fail('the timestamp token has no encapsulated TSTInfo');
    const [octets] = children(bytes, eWrap);
    if (!octets || octets.tag !== 0x04) fail('the timestamp token has no encapsulated TSTInfo');
    const tstInfoDer = bytes.subarray(octets.start, octets.end);
    const certificates: X509Certificate[] = [];
    if (parts[k]?.tag === 0xa0) {
      for (const c of children(bytes, parts[k]!)) {
        // tspclient-go parses the whole set with x509.ParseCertificates: anything else in it fails the token
        if (c.tag !== 0x30) fail('the timestamp token certificates hold something that is not an X.509 certificate');
        certificates.push(parseGoCertificate(bytes.subarray(c.hdr, c.end)));
      }
      k++;
    }
    if (parts[k]?.tag === 0xa1) k++; // crls
    const infos = parts[k];
    if (!infos || infos.tag !== 0x31) fail('the timestamp token has no signer infos');
    const signers = children(bytes, infos).map((t) => parseSignerInfo(bytes, t));
    if (signers.length === 0) fail('the timestamp token has no signer');

    const tb = tstInfoDer;
    const top = readTlv(tb, 0);
    if (top.tag !== 0x30 || top.end !== tb.length) fail('malformed TSTInfo');
    const tst = children(tb, top);
    const tstVersion = smallInt(tb, tst[0], 'TSTInfo version');
    if (tstVersion !== 1) fail(`timestamp token info version must be 1, but got ${tstVersion}`);
    let t = 1;
    const policyT = tst[t++];
    if (!policyT || policyT.tag !== 0x06) fail('malformed TSTInfo policy');
    const policy = decodeOid(tb, policyT);
    const [mAlg, mHash] = children(tb, tst[t++] ?? fail('malformed TSTInfo message imprint'));
    if (!mAlg || !mHash || mHash.tag !== 0x04) fail('malformed TSTInfo message imprint');
    const hashAlg = algOid(tb, mAlg);
    const hashedMessage = tb.subarray(mHash.start, mHash.end);
    t++; // serialNumber
    const genT = tst[t++];
    if (!genT || genT.tag !== 0x18) fail('malformed TSTInfo genTime');
    const genTime = decodeDerTime(tb, genT);
    // GeneralizedTime may carry more digits than a Date keeps (Go keeps nanoseconds): noted, so that the time range
    // is rounded outwards instead of being cut short (see rfc3161TimestampVerifier)
    const sub = /\.\d{3}(\d+)Z$/.exec(tb.subarray(genT.start, genT.end).toString('latin1'));
    const genTimeSubMs = sub ? Number(`0.${sub[1]}`) : 0;
    let accuracyMs = 0;
    const acc = tst[t];
    if (acc && acc.tag === 0x30) {
      for (const a of children(tb, acc)) {
        const n = a.end > a.start ? tb.readUIntBE(a.start, Math.min(6, a.end - a.start)) : 0;
        if (a.tag === 0x02) accuracyMs += n * 1000;
        else if (a.tag === 0x80) accuracyMs += n;
        else if (a.tag === 0x81) accuracyMs += n / 1000;
      }
    }
    // tspclient-go TSTInfo.Validate: no accuracy, or a zero one, is 1 s under the baseline timestamp policy (RFC 3628)
    if (accuracyMs === 0 && policy === OID.baselinePolicy) accuracyMs = 1000;
    return { genTime, genTimeSubMs, accuracyMs, policy, hashAlg, hashedMessage, certificates, signer: signers[0]!, signers, tstInfoDer, bytes };
  } catch (e) {
    if (e instanceof TimestampError) throw e;
    throw new TimestampError(`malformed timestamp token: ${(e as Error).message}`);
  }
}

// ---- certificate rules ----

/** Whether the certificate's extended key usage extension is marked critical. */
function ekuCritical(c: X509Certificate): boolean {
  return certInfo(c).extensions.some((e) => e.oid === OID.extKeyUsage && e.critical);
}

const subjectOf = (c: X509Certificate) => certInfo(c).subject;

const isSelfSigned = (c: X509Certificate) => rootCertificateProblem(c) === undefined;

function validAt(c: X509Certificate, at: Date): boolean {
  const i = certInfo(c);
  return at >= i.notBefore && at <= i.notAfter;
}

/** The requirements on the TSA's signing certificate (notation-core-go validateTimestampingLeafCertificate). */
function leafProblem(c: X509Certificate): string | undefined {
  const i = certInfo(c);
  if (i.basicConstraints?.ca) return `certificate with subject "${i.subject}": if the basic constraints extension is present, the ca field must be set to false`;
  if (!i.keyUsage) return `certificate with subject "${i.subject}": key usage extension must be present`;
  if (!i.keyUsage.has('digitalSignature')) return `the certificate with subject "${i.subject}" is invalid. The key usage must have the bit positions for "Digital Signature" set`;
  const extra = LEAF_FORBIDDEN_KEY_USAGE.filter(([bit]) => i.keyUsage!.has(bit)).map(([, name]) => `"${name}"`);
  if (extra.length > 0) return `the certificate with subject "${i.subject}" is invalid. The key usage must be "Digital Signature" only, but found ${extra.join(', ')}`;
  return ekuProblem(c) ?? keyProblem(c);
}

/** RFC 3161 2.3: exactly one extended key usage, timeStamping, in an extension marked critical. */
function ekuProblem(c: X509Certificate): string | undefined {
  const i = certInfo(c);
  if (i.extKeyUsage?.length !== 1 || i.extKeyUsage[0] !== EKU.timeStamping) return `timestamp signing certificate with subject "${i.subject}" must have and only have Timestamping as extended key usage`;
  if (!ekuCritical(c)) return `timestamp signing certificate with subject "${i.subject}" must have extended key usage extension marked as critical`;
  return undefined;
}

/** Key types and sizes of the signature specification: RSA 2048/3072/4096, EC P-256/P-384/P-521. */
function keyProblem(c: X509Certificate): string | undefined {
  const key = c.publicKey;
  const subject = subjectOf(c);
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    return [2048, 3072, 4096].includes(bits) ? undefined : `certificate with subject "${subject}": rsa key size ${bits} bits is not supported`;
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
    const bits = ({ prime256v1: 256, secp384r1: 384, secp521r1: 521 } as Record<string, number>)[curve];
    return bits ? undefined : `certificate with subject "${subject}": ecdsa key on curve ${curve || 'unknown'} is not supported`;
  }
  return `certificate with subject "${subject}": unsupported public key type`;
}

/** The requirements on a CA certificate at `index` of the chain (notation-core-go validateTimestampingCACertificate). */
function caProblem(c: X509Certificate, index: number): string | undefined {
  const i = certInfo(c);
  const bc = i.basicConstraints;
  if (!bc?.ca) return `certificate with subject "${i.subject}": ca field in basic constraints must be present, critical, and set to true`;
  if (bc.pathLen !== undefined && bc.pathLen < index - 1) return `certificate with subject "${i.subject}": expected path length of ${index - 1} but certificate has path length ${bc.pathLen} instead`;
  if (!i.keyUsage) return `certificate with subject "${i.subject}": key usage extension must be present`;
  if (!i.keyUsage.has('keyCertSign')) return `certificate with subject "${i.subject}": key usage must have the bit positions for key cert sign set`;
  return undefined;
}

/**
 * Builds the TSA chain as Go's x509.Verify does with the tsa trust store as roots and the token's certificates as
 * intermediates: from the signer, issuer by issuer (subject = issuer name, Go CheckSignatureFrom), every certificate
 * valid at `at`, intermediates CAs within their path length constraints, until a certificate of the trust store
 * (exact DER match) ends the chain; then every extended key usage of the chain must allow timeStamping. Returns
 * the first such chain (trust store certificates tried before the token's), leaf first.
 */
function buildTsaChain(signer: X509Certificate, pool: X509Certificate[], trusted: X509Certificate[], at: Date): X509Certificate[] {
  const unhandled = certInfo(signer).unhandledCritical;
  if (unhandled.length > 0) fail(`x509: unhandled critical extension (${unhandled.join(', ')}) in timestamp certificate "${subjectOf(signer)}"`);
  if (!validAt(signer, at)) fail(`timestamp certificate "${subjectOf(signer)}" was not valid at the timestamp time ${at.toISOString()}`);
  const isTrusted = (c: X509Certificate) => trusted.some((t) => t.raw.equals(c.raw));
  if (isTrusted(signer)) return [signer];
  const candidates = [...trusted.map((c) => ({ c, anchor: true })), ...pool.filter((c) => !isTrusted(c)).map((c) => ({ c, anchor: false }))];
  // the reason the longest dead end stopped, for the error
  let reason: { depth: number; text: string } | undefined;
  const stop = (depth: number, text: string) => {
    if (!reason || depth > reason.depth) reason = { depth, text };
  };
  const search = (chain: X509Certificate[]): X509Certificate[] | undefined => {
    const cur = chain[chain.length - 1]!;
    const issuerName = certInfo(cur).issuerDer;
    for (const { c, anchor } of candidates) {
      if (chain.some((x) => x.raw.equals(c.raw)) || !certInfo(c).subjectDer.equals(issuerName)) continue;
      const link = signatureFromProblem(cur, c) ?? linkProblem(c, chain, anchor, at);
      if (link) {
        stop(chain.length, link);
        continue;
      }
      const next = [...chain, c];
      if (anchor) {
        const eku = next.find((x) => {
          const e = certInfo(x).extKeyUsage;
          return e !== undefined && e.length > 0 && !e.includes(EKU.timeStamping) && !e.includes(EKU.any);
        });
        if (!eku) return next;
        stop(next.length, `the extended key usage of certificate with subject "${subjectOf(eku)}" does not allow timestamping`);
        continue;
      }
      if (next.length < MAX_CHAIN) {
        const found = search(next);
        if (found) return found;
      }
    }
    return undefined;
  };
  const chain = search([signer]);
  if (!chain) fail(`the timestamp certificate chain does not lead to a certificate of the tsa trust store${reason ? `: ${reason.text}` : ''}`);
  return chain;
}

/** Go's isValid for a certificate added above `chain`: no unhandled critical extension; valid at `at`; an intermediate is a CA; path length constraint. */
function linkProblem(c: X509Certificate, chain: X509Certificate[], anchor: boolean, at: Date): string | undefined {
  const i = certInfo(c);
  if (i.unhandledCritical.length > 0) return `x509: unhandled critical extension (${i.unhandledCritical.join(', ')}) in certificate with subject "${i.subject}"`;
  if (!validAt(c, at)) return `timestamp certificate "${i.subject}" was not valid at the timestamp time ${at.toISOString()}`;
  if (!anchor && !i.basicConstraints?.ca) return `intermediate certificate with subject "${i.subject}" is not a CA certificate`;
  const below = chain.length - 1;
  if (i.basicConstraints?.pathLen !== undefined && below > i.basicConstraints.pathLen) return `certificate with subject "${i.subject}" allows ${i.basicConstraints.pathLen} intermediate certificates below it, the chain has ${below}`;
  return undefined;
}

/** notation-core-go ValidateTimestampingCertChain on the chain buildTsaChain returned. */
function validateTimestampingCertChain(chain: X509Certificate[]): void {
  if (chain.length === 1) {
    const c = chain[0]!;
    const self = rootCertificateProblem(c);
    if (self) fail(`invalid self-signed certificate. subject: "${subjectOf(c)}". Error: ${self}`);
    const p = leafProblem(c);
    if (p) fail(`invalid self-signed certificate. Error: ${p}`);
    return;
  }
  chain.forEach((c, i) => {
    if (i === chain.length - 1) {
      const self = rootCertificateProblem(c);
      if (self) fail(`root certificate with subject "${subjectOf(c)}" is invalid or not self-signed. Certificate chain must end with a valid self-signed root certificate. Error: ${self}`);
    } else if (isSelfSigned(c)) {
      fail(i === 0
        ? `leaf certificate with subject "${subjectOf(c)}" is self-signed. Certificate chain must not contain self-signed leaf certificate`
        : `intermediate certificate with subject "${subjectOf(c)}" is self-signed. Certificate chain must not contain self-signed intermediate certificate`);
    }
    const p = i === 0 ? leafProblem(c) : caProblem(c, i);
    if (p) fail(p);
  });
}

// ---- the SignerInfo ----

/**
 * The signing certificate as tspclient-go SigningCertificate identifies it: the signing-certificate-v2 attribute is
 * required (a v1 attribute, SHA-1, is not enough); its first ESSCertIDv2 names the certificate by IssuerSerial, or
 * else the SignerInfo's issuerAndSerialNumber does; the certificate's hash (SHA-256 by default, SHA-384 or SHA-512)
 * must be the attribute's.
 */
function signingCertificate(p: ParsedTimestamp, si: ParsedSignerInfo): X509Certificate {
  const b = p.bytes;
  const v2 = si.attrs.get(OID.signingCertificateV2)?.[0];
  if (!v2) {
    fail(si.attrs.has(OID.signingCertificate)
      ? 'failed to get SigningCertificateV2 from signed attributes: the timestamp has only a (SHA-1) signing-certificate attribute, signing-certificate-v2 is required'
      : 'failed to get SigningCertificateV2 from signed attributes: attribute not found');
  }
  const [certs] = children(b, v2);
  if (!certs || certs.tag !== 0x30) fail('failed to get SigningCertificateV2 from signed attributes: malformed attribute');
  const [first] = children(b, certs);
  if (!first) fail('signingCertificateV2 does not contain any certificate');
  const f = children(b, first);
  let idx = 0;
  let hashOid = OID.sha256;
  if (f[0]?.tag === 0x30) {
    hashOid = algOid(b, f[0]);
    idx = 1;
  }
  const certHash = f[idx];
  if (!certHash || certHash.tag !== 0x04) fail('failed to get SigningCertificateV2 from signed attributes: malformed ESSCertIDv2');
  let issuerDer = si.issuerDer;
  let serial = si.serial;
  const issuerSerial = f[idx + 1];
  if (issuerSerial) {
    const [names, ser] = children(b, issuerSerial);
    const dn = names?.tag === 0x30 ? children(b, names)[0] : undefined;
    if (!dn || dn.tag !== 0xa4) fail('issuer name is missing in IssuerSerial of the signingCertificateV2 attribute');
    const [name] = children(b, dn);
    if (!name || name.tag !== 0x30 || !ser || ser.tag !== 0x02) fail('failed to get SigningCertificateV2 from signed attributes: malformed IssuerSerial');
    issuerDer = b.subarray(name.hdr, name.end);
    serial = b.subarray(ser.start, ser.end);
  }
  const cert = p.certificates.find((c) => {
    const i = certInfo(c);
    return i.issuerDer.equals(issuerDer) && stripZeros(i.serial).equals(stripZeros(serial));
  });
  if (!cert) fail('the timestamp token does not include its signing certificate');
  const hash = HASHES[hashOid];
  if (!hash || hash === 'sha1') fail(`unsupported certificate hash algorithm ${hash === 'sha1' ? 'SHA-1' : hashOid} in the signingCertificateV2 attribute (SHA-256, SHA-384 or SHA-512 only)`);
  if (!b.subarray(certHash.start, certHash.end).equals(createHash(hash).update(cert.raw).digest())) fail('the signing-certificate-v2 attribute does not match the timestamp signing certificate');
  return cert;
}

function checkSignedAttributes(p: ParsedTimestamp, si: ParsedSignerInfo, signer: X509Certificate, chain: X509Certificate[]): void {
  const hash = HASHES[si.digestAlg];
  if (!hash || hash === 'sha1') fail(`unsupported timestamp digest algorithm ${si.digestAlg}`);
  const b = p.bytes;
  const ct = si.attrs.get(OID.contentType)?.[0];
  const md = si.attrs.get(OID.messageDigest)?.[0];
  // attribute values are parsed relative to the token bytes
  if (!ct || ct.tag !== 0x06 || decodeOid(b, ct) !== OID.tstInfo) fail('the timestamp signed attributes do not declare content type TSTInfo');
  if (!md || md.tag !== 0x04 || !b.subarray(md.start, md.end).equals(createHash(hash).update(p.tstInfoDer).digest())) fail('the timestamp message digest does not match the TSTInfo');
  const st = si.attrs.get(OID.signingTime)?.[0];
  if (st) {
    let at: Date;
    try {
      at = decodeDerTime(b, st);
    } catch {
      fail('the timestamp signing time attribute is malformed');
    }
    const outside = chain.find((c) => !validAt(c, at));
    if (outside) fail(`the timestamp signing time ${at.toISOString()} is outside the validity period of certificate "${subjectOf(outside)}"`);
  }
  verifySignerSignature(si, signer, hash);
}

function verifySignerSignature(si: ParsedSignerInfo, signer: X509Certificate, digest: 'sha256' | 'sha384' | 'sha512'): void {
  const key = signer.publicKey;
  const type = key.asymmetricKeyType;
  let ok = false;
  if (si.sigAlg === OID.rsassaPss) {
    const pss = si.pss!;
    const h = HASHES[pss.hash];
    if (!h || h === 'sha1') fail(`unsupported RSASSA-PSS hash algorithm ${h === 'sha1' ? 'SHA-1' : pss.hash} in the timestamp signature`);
    if (h !== digest) fail(`the RSASSA-PSS hash algorithm ${h} of the timestamp signature is not its digest algorithm ${digest}`);
    if (pss.mgfHash !== pss.hash) fail('the RSASSA-PSS mask generation hash of the timestamp signature is not its hash algorithm');
    // Go verifies RSASSA-PSS with the salt length equal to the hash length (PSSSaltLengthEqualsHash)
    if (pss.saltLength !== HASH_LENGTH[h]) fail(`the RSASSA-PSS salt length ${pss.saltLength} of the timestamp signature is not the ${h} length ${HASH_LENGTH[h]}`);
    if (type !== 'rsa') fail(`the timestamp signature algorithm RSASSA-PSS does not match the ${type} key of its signing certificate`);
    try {
      ok = cryptoVerify(h, si.signedAttrs, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: HASH_LENGTH[h] }, si.signature);
    } catch {
      ok = false;
    }
  } else {
    const sa = SIG_ALGS[si.sigAlg];
    if (!sa) {
      fail(si.sigAlg === OID.ecPublicKey
        ? `unsupported timestamp signature algorithm ${si.sigAlg} (id-ecPublicKey is a key type, not a signature algorithm)`
        : `unsupported timestamp signature algorithm ${si.sigAlg}`);
    }
    if ((sa.kind === 'rsa') !== (type === 'rsa') || (sa.kind === 'ecdsa') !== (type === 'ec')) fail(`the timestamp signature algorithm ${si.sigAlg} does not match the ${type} key of its signing certificate`);
    try {
      ok = cryptoVerify(sa.hash ?? digest, si.signedAttrs, key, si.signature);
    } catch {
      ok = false;
    }
  }
  if (!ok) fail('the timestamp signature does not verify with its signing certificate');
}

/** One SignerInfo as tspclient-go SignedToken.Verify checks it; returns its TSA chain (leaf first). */
function verifySignerInfo(p: ParsedTimestamp, si: ParsedSignerInfo, trusted: X509Certificate[]): X509Certificate[] {
  const signer = signingCertificate(p, si);
  if (si.version !== 1) fail(`invalid timestamp signer info version: only version 1 is supported; got ${si.version}`);
  const chain = buildTsaChain(signer, p.certificates, trusted, p.genTime);
  checkSignedAttributes(p, si, signer, chain);
  const eku = ekuProblem(signer);
  if (eku) fail(eku);
  return chain;
}

/** TimestampVerifier for the Verifier: returns the attested time range [genTime - accuracy, genTime + accuracy]. */
export const rfc3161TimestampVerifier: TimestampVerifier = {
  async verify(token, signature, trustedTsaCerts, _opts) {
    if (trustedTsaCerts.length === 0) fail('no trusted TSA certificate found in trust store');
    const p = parseTimestampToken(token);
    const h = HASHES[p.hashAlg];
    if (!h || h === 'sha1') fail(`unsupported timestamp message imprint hash algorithm ${p.hashAlg}`);
    if (!p.hashedMessage.equals(createHash(h).update(signature).digest())) fail('the timestamp message imprint does not match the signature value');
    // the first SignerInfo that verifies counts (tspclient-go); otherwise the last one's error is reported
    let tsaChain: X509Certificate[] | undefined;
    let lastError: unknown;
    for (const si of p.signers) {
      try {
        tsaChain = verifySignerInfo(p, si, trustedTsaCerts);
        break;
      } catch (e) {
        lastError = e;
      }
    }
    if (!tsaChain) {
      if (lastError instanceof TimestampError) throw lastError;
      throw new TimestampError(`malformed timestamp token: ${(lastError as Error).message}`);
    }
    validateTimestampingCertChain(tsaChain);
    // The range in whole milliseconds, rounded outwards (a Date cannot hold the sub-millisecond genTime or a
    // microsecond accuracy): never narrower than the exact [genTime - accuracy, genTime + accuracy] Go compares.
    const g = p.genTime.getTime() + p.genTimeSubMs;
    const lower = new Date(Math.floor(g - p.accuracyMs));
    const upper = new Date(Math.ceil(g + p.accuracyMs));
    return { lower, upper, tsaChain };
  },
};
