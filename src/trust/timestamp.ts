/**
 * RFC 3161 timestamp countersignature verification (the envelope's io.cncf.notary.timestampSignature), as the
 * trust policy spec's "Validate Trusted Timestamp" step requires, with node:crypto and the small DER reader only:
 *
 *  1. the token is a CMS ContentInfo / SignedData whose eContentType is id-ct-TSTInfo;
 *  2. TSTInfo.messageImprint = hash(signature value) with SHA-256/384/512;
 *  3. the SignerInfo's signed attributes carry content-type = id-ct-TSTInfo and message-digest = hash(TSTInfo), and a
 *     signing-certificate(-v2) attribute whose hash matches the signer certificate;
 *  4. the signature over the signed attributes verifies with the signer certificate (RSA PKCS#1 v1.5 or ECDSA);
 *  5. the signer certificate has extended key usage timeStamping and chains, link by link, through the token's
 *     certificates to a certificate of the policy's `tsa` trust store, every certificate valid at genTime;
 *  6. the attested time range is genTime ± accuracy (1 s for the baseline policy 0.4.0.2023.1.1 without accuracy).
 */
import { createHash, verify as cryptoVerify, type X509Certificate } from 'node:crypto';
import { X509Certificate as X509 } from 'node:crypto';
import { certInfo, children, decodeDerTime, decodeOid, readTlv, EKU, type Tlv } from './x509.js';
import type { TimestampVerifier } from './verifier.js';

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingCertificate: '1.2.840.113549.1.9.16.2.12',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  baselinePolicy: '0.4.0.2023.1.1',
};

const HASHES: Record<string, 'sha256' | 'sha384' | 'sha512' | 'sha1'> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
  '1.3.14.3.2.26': 'sha1',
};

const SIG_ALGS: Record<string, { kind: 'rsa' | 'ecdsa'; hash?: string }> = {
  '1.2.840.113549.1.1.1': { kind: 'rsa' },
  '1.2.840.113549.1.1.11': { kind: 'rsa', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { kind: 'rsa', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { kind: 'rsa', hash: 'sha512' },
  '1.2.840.10045.2.1': { kind: 'ecdsa' },
  '1.2.840.10045.4.3.2': { kind: 'ecdsa', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { kind: 'ecdsa', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { kind: 'ecdsa', hash: 'sha512' },
};

class TimestampError extends Error {}

function fail(msg: string): never {
  throw new TimestampError(msg);
}

function algOid(b: Buffer, t: Tlv): string {
  const [o] = children(b, t);
  if (!o || o.tag !== 0x06) fail('malformed AlgorithmIdentifier');
  return decodeOid(b, o);
}

export interface ParsedTimestamp {
  genTime: Date;
  accuracyMs: number;
  policy: string;
  hashAlg: string;
  hashedMessage: Buffer;
  certificates: X509Certificate[];
  signer: { issuerDer?: Buffer; serial?: Buffer; ski?: Buffer; digestAlg: string; sigAlg: string; signedAttrs: Buffer; signature: Buffer; attrs: Map<string, Tlv[]> };
  tstInfoDer: Buffer;
  bytes: Buffer;
}

/** Parses a TimeStampToken (ContentInfo with SignedData over TSTInfo). Throws on anything malformed. */
export function parseTimestampToken(bytes: Buffer): ParsedTimestamp {
  try {
    const ci = readTlv(bytes, 0);
    if (ci.end !== bytes.length) fail('trailing bytes after the timestamp token');
    const [ctype, wrapped] = children(bytes, ci);
    if (!ctype || decodeOid(bytes, ctype) !== OID.signedData || !wrapped || wrapped.tag !== 0xa0) fail('the timestamp token is not CMS SignedData');
    const [sd] = children(bytes, wrapped);
    const parts = children(bytes, sd!);
    let k = 0;
    k++; // version
    k++; // digestAlgorithms
    const encap = parts[k++]!;
    const [eType, eWrap] = children(bytes, encap);
    if (!eType || decodeOid(bytes, eType) !== OID.tstInfo) fail('the timestamp token does not contain a TSTInfo');
    if (!eWrap || eWrap.tag !== 0xa0) fail('the timestamp token has no encapsulated TSTInfo');
    const [octets] = children(bytes, eWrap);
    const tstInfoDer = bytes.subarray(octets!.start, octets!.end);
    const certificates: X509Certificate[] = [];
    if (parts[k]?.tag === 0xa0) {
      for (const c of children(bytes, parts[k]!)) if (c.tag === 0x30) certificates.push(new X509(bytes.subarray(c.hdr, c.end)));
      k++;
    }
    if (parts[k]?.tag === 0xa1) k++; // crls
    const signerInfos = children(bytes, parts[k]!);
    if (signerInfos.length !== 1) fail(`the timestamp token must have exactly one signer, has ${signerInfos.length}`);
    const si = children(bytes, signerInfos[0]!);
    let j = 1;
    const sid = si[j++]!;
    const signer: ParsedTimestamp['signer'] = { digestAlg: '', sigAlg: '', signedAttrs: Buffer.alloc(0), signature: Buffer.alloc(0), attrs: new Map() };
    if (sid.tag === 0x30) {
      const [iss, ser] = children(bytes, sid);
      signer.issuerDer = bytes.subarray(iss!.hdr, iss!.end);
      signer.serial = bytes.subarray(ser!.start, ser!.end);
    } else if (sid.tag === 0x80) {
      signer.ski = bytes.subarray(sid.start, sid.end);
    } else fail('unsupported SignerIdentifier');
    signer.digestAlg = algOid(bytes, si[j++]!);
    const sa = si[j++]!;
    if (sa.tag !== 0xa0) fail('the timestamp signer has no signed attributes');
    // The signature covers the DER of the attributes as a SET OF (tag 0x31 instead of the implicit [0]).
    signer.signedAttrs = Buffer.concat([Buffer.from([0x31]), bytes.subarray(sa.hdr + 1, sa.end)]);
    for (const attr of children(bytes, sa)) {
      const [aType, aVals] = children(bytes, attr);
      signer.attrs.set(decodeOid(bytes, aType!), children(bytes, aVals!));
    }
    signer.sigAlg = algOid(bytes, si[j++]!);
    const sig = si[j++]!;
    signer.signature = bytes.subarray(sig.start, sig.end);

    const tb = tstInfoDer;
    const tst = children(tb, readTlv(tb, 0));
    let t = 1; // version
    const policy = decodeOid(tb, tst[t++]!);
    const [mAlg, mHash] = children(tb, tst[t++]!);
    const hashAlg = algOid(tb, mAlg!);
    const hashedMessage = tb.subarray(mHash!.start, mHash!.end);
    t++; // serialNumber
    const genTime = decodeDerTime(tb, tst[t++]!);
    let accuracyMs = -1;
    const acc = tst[t];
    if (acc && acc.tag === 0x30) {
      accuracyMs = 0;
      for (const a of children(tb, acc)) {
        const n = tb.readUIntBE(a.start, Math.min(6, a.end - a.start));
        if (a.tag === 0x02) accuracyMs += n * 1000;
        else if (a.tag === 0x80) accuracyMs += n;
        else if (a.tag === 0x81) accuracyMs += n / 1000;
      }
    }
    if (accuracyMs < 0) accuracyMs = policy === OID.baselinePolicy ? 1000 : 0;
    return { genTime, accuracyMs, policy, hashAlg, hashedMessage, certificates, signer, tstInfoDer, bytes };
  } catch (e) {
    if (e instanceof TimestampError) throw e;
    throw new TimestampError(`malformed timestamp token: ${(e as Error).message}`);
  }
}

function findSigner(p: ParsedTimestamp): X509Certificate {
  const s = p.signer;
  const hit = p.certificates.find((c) => {
    const i = certInfo(c);
    if (s.ski) return i.subjectKeyId !== undefined && i.subjectKeyId.equals(s.ski);
    return s.issuerDer !== undefined && s.serial !== undefined && i.issuerDer.equals(s.issuerDer) && i.serial.equals(s.serial);
  });
  if (!hit) fail('the timestamp token does not include its signing certificate');
  return hit;
}

function checkSignedAttributes(p: ParsedTimestamp, signer: X509Certificate): void {
  const hash = HASHES[p.signer.digestAlg];
  if (!hash || hash === 'sha1') fail(`unsupported timestamp digest algorithm ${p.signer.digestAlg}`);
  const b = p.bytes;
  const ct = p.signer.attrs.get(OID.contentType)?.[0];
  const md = p.signer.attrs.get(OID.messageDigest)?.[0];
  // attribute values are parsed relative to the token bytes
  if (!ct || decodeOid(b, ct) !== OID.tstInfo) fail('the timestamp signed attributes do not declare content type TSTInfo');
  if (!md || !b.subarray(md.start, md.end).equals(createHash(hash).update(p.tstInfoDer).digest())) fail('the timestamp message digest does not match the TSTInfo');
  const v2 = p.signer.attrs.get(OID.signingCertificateV2)?.[0];
  const v1 = p.signer.attrs.get(OID.signingCertificate)?.[0];
  if (v2) {
    const [certs] = children(b, v2);
    const [first] = children(b, certs!);
    const f = children(b, first!);
    let alg = 'sha256';
    let idx = 0;
    if (f[0]!.tag === 0x30) {
      alg = HASHES[algOid(b, f[0]!)] ?? fail('unsupported signing-certificate-v2 hash algorithm');
      idx = 1;
    }
    const certHash = b.subarray(f[idx]!.start, f[idx]!.end);
    if (!certHash.equals(createHash(alg).update(signer.raw).digest())) fail('the signing-certificate-v2 attribute does not match the timestamp signing certificate');
  } else if (v1) {
    const [certs] = children(b, v1);
    const [first] = children(b, certs!);
    const [h] = children(b, first!);
    if (!b.subarray(h!.start, h!.end).equals(createHash('sha1').update(signer.raw).digest())) fail('the signing-certificate attribute does not match the timestamp signing certificate');
  } else {
    fail('the timestamp has neither a signing-certificate nor a signing-certificate-v2 attribute');
  }
  const sa = SIG_ALGS[p.signer.sigAlg];
  if (!sa) fail(`unsupported timestamp signature algorithm ${p.signer.sigAlg}`);
  let ok = false;
  try {
    ok = cryptoVerify(sa.hash ?? hash, p.signer.signedAttrs, signer.publicKey, p.signer.signature);
  } catch {
    ok = false;
  }
  if (!ok) fail('the timestamp signature does not verify with its signing certificate');
}

function validAt(c: X509Certificate, at: Date): boolean {
  const i = certInfo(c);
  return at >= i.notBefore && at <= i.notAfter;
}

function buildTsaChain(signer: X509Certificate, pool: X509Certificate[], trusted: X509Certificate[], at: Date): X509Certificate[] {
  const leaf = certInfo(signer);
  if (!leaf.extKeyUsage?.includes(EKU.timeStamping)) fail(`timestamp signing certificate "${leaf.subject}" lacks extended key usage timeStamping`);
  const isTrusted = (c: X509Certificate) => trusted.some((t) => t.raw.equals(c.raw));
  const chain = [signer];
  let cur = signer;
  for (let depth = 0; depth < 8; depth++) {
    if (!validAt(cur, at)) fail(`timestamp certificate "${certInfo(cur).subject}" was not valid at the timestamp time ${at.toISOString()}`);
    if (isTrusted(cur)) return chain;
    const issuer = [...pool, ...trusted].find((c) => {
      if (c.raw.equals(cur.raw)) return false;
      try {
        return cur.checkIssued(c) && cur.verify(c.publicKey) && (certInfo(c).basicConstraints?.ca ?? false);
      } catch {
        return false;
      }
    });
    if (!issuer) break;
    chain.push(issuer);
    cur = issuer;
  }
  fail('the timestamp certificate chain does not lead to a certificate of the tsa trust store');
}

/** TimestampVerifier for the Verifier: returns the attested time range [genTime - accuracy, genTime + accuracy]. */
export const rfc3161TimestampVerifier: TimestampVerifier = {
  async verify(token, signature, trustedTsaCerts, _opts) {
    if (trustedTsaCerts.length === 0) fail('no trusted TSA certificate found in trust store');
    const p = parseTimestampToken(token);
    const h = HASHES[p.hashAlg];
    if (!h || h === 'sha1') fail(`unsupported timestamp message imprint hash algorithm ${p.hashAlg}`);
    if (!p.hashedMessage.equals(createHash(h).update(signature).digest())) fail('the timestamp message imprint does not match the signature value');
    const signer = findSigner(p);
    checkSignedAttributes(p, signer);
    const tsaChain = buildTsaChain(signer, p.certificates, trustedTsaCerts, p.genTime);
    return { lower: new Date(p.genTime.getTime() - p.accuracyMs), upper: new Date(p.genTime.getTime() + p.accuracyMs), tsaChain };
  },
};
