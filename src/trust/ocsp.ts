/**
 * OCSP (RFC 6960) for one certificate: the request, and the checks on the answer, as notation-core-go does them for
 * code signing and timestamping chains:
 *
 *  - the CertID uses SHA-1 (notation's choice: several large public CAs answer only SHA-1 CertIDs), no nonce;
 *  - the request goes as GET `<url>/<url-escaped base64>` when that is shorter than 255 characters, else as POST
 *    `application/ocsp-request` (RFC 6960 A.1; the network part lives in revocation-http.ts);
 *  - the response must be `successful` and id-pkix-ocsp-basic, and at most 20480 bytes (the fetch limit, see
 *    revocation.ts); who signed it is decided as golang.org/x/crypto/ocsp (notation's parser) decides it, see
 *    `responderOf`;
 *  - the SingleResponse whose CertID matches the certificate is the answer; it must carry no critical extension
 *    (x/crypto/ocsp: "unsupported critical extension"); thisUpdate must not be in the future (5 minutes of clock
 *    skew allowed); nextUpdate must be present and not past (notation compares the time with nextUpdate, so a
 *    response without one, Go's zero time, counts as expired).
 * Anything wrong throws a PkixError whose message says what; the caller turns it into 'unknown'.
 */
import { createHash, type KeyObject, type X509Certificate } from 'node:crypto';
import { certInfo, children, decodeOid, issuedBy, isSelfSigned, parseGoCertificate, readTlv, EKU, type Tlv } from './x509.js';
import { bytesOf, expectTag, extensionsOf, fail, invalidityDateOf, oidDer, rawOf, serialHex, sha1, signedParts, timeOf, tlv, verifySigned } from './pkix.js';

const OID_SHA1 = '1.3.14.3.2.26';
const OID_BASIC = '1.3.6.1.5.5.7.48.1.1';
const OID_INVALIDITY_DATE = '2.5.29.24';
const HASH_BY_OID: Record<string, string> = {
  [OID_SHA1]: 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
export const CLOCK_SKEW_MS = 5 * 60_000;

const RESPONSE_STATUS = ['successful', 'malformedRequest', 'internalError', 'tryLater', '(unused status 4)', 'sigRequired', 'unauthorized'];

/** DER OCSPRequest for `cert` issued by `issuer`: one Request, SHA-1 CertID, no extensions. */
export function ocspRequest(cert: X509Certificate, issuer: X509Certificate): Buffer {
  const c = certInfo(cert);
  const certId = tlv(
    0x30,
    tlv(0x30, oidDer(OID_SHA1), Buffer.from([0x05, 0x00])),
    tlv(0x04, sha1(c.issuerDer)),
    tlv(0x04, sha1(certInfo(issuer).publicKeyBits)),
    tlv(0x02, c.serial),
  );
  // OCSPRequest { tbsRequest { requestList { Request { reqCert } } } }
  return tlv(0x30, tlv(0x30, tlv(0x30, tlv(0x30, certId))));
}

/** The URL an OCSP GET goes to, or undefined when the request is too long for GET (notation's 255 limit). */
export function ocspGetUrl(server: string, request: Buffer): string | undefined {
  const enc = encodeURIComponent(request.toString('base64'));
  if (enc.length >= 255) return undefined;
  return server.endsWith('/') ? `${server}${enc}` : `${server}/${enc}`;
}

export interface OcspAnswer {
  status: 'good' | 'revoked' | 'unknown';
  thisUpdate: Date;
  nextUpdate?: Date;
  revocationTime?: Date;
  /** CRLReason, when the responder gave one. */
  reason?: number;
  /** id-ce-invalidityDate from the single response's extensions. */
  invalidityDate?: Date;
  /** Who signed: "issuer" or the delegated responder's subject. */
  signer: string;
}

function certIdMatches(b: Buffer, id: Tlv, cert: X509Certificate, issuer: X509Certificate): boolean {
  const [alg, nameHash, keyHash, serial] = children(b, expectTag(id, 0x30, 'CertID'));
  if (!alg || !nameHash || !keyHash || !serial || nameHash.tag !== 0x04 || keyHash.tag !== 0x04 || serial.tag !== 0x02) fail('malformed CertID');
  const hash = HASH_BY_OID[decodeOid(b, expectTag(children(b, expectTag(alg, 0x30, 'CertID'))[0], 0x06, 'CertID'))];
  if (!hash) return false;
  const c = certInfo(cert);
  return (
    serialHex(bytesOf(b, serial)) === serialHex(c.serial) &&
    createHash(hash).update(c.issuerDer).digest().equals(bytesOf(b, nameHash)) &&
    createHash(hash).update(certInfo(issuer).publicKeyBits).digest().equals(bytesOf(b, keyHash))
  );
}

function validAt(c: X509Certificate, now: Date): boolean {
  return new Date(c.validFrom) <= now && now <= new Date(c.validTo);
}

/**
 * The key the response must verify with, and who that is. golang.org/x/crypto/ocsp (what notation parses responses
 * with) does not look at the responderID: when the response embeds certificates it takes the FIRST one as the signer
 * (the others are not even parsed) and requires the issuer's key to verify that certificate's signature; with no
 * embedded certificate the response must verify with the issuer's key. So a response signed by the issuing CA that embeds the CA's own certificate (`openssl
 * ocsp` does that when -rsigner is the CA) passes only when the CA is self-signed (its key verifies its own
 * certificate); from an intermediate CA notation refuses it, and so do we. Any other first certificate is a delegated
 * responder, and on top of Go's check we keep RFC 6960 4.2.2.2's: it is issued by the issuer (issuer Name and
 * signature), has the id-kp-OCSPSigning extended key usage and is valid now.
 */
function responderOf(b: Buffer, certsWrap: Tlv | undefined, issuer: X509Certificate, now: Date): { key: KeyObject; signer: string } {
  const included: X509Certificate[] = [];
  if (certsWrap) {
    const seq = expectTag(children(b, expectTag(certsWrap, 0xa0, 'OCSP certs'))[0], 0x30, 'OCSP certs');
    // golang.org/x/crypto/ocsp parses the first certificate and ignores the others ("a number of responders" send
    // more, golang/go#21527)
    const first = children(b, seq)[0];
    if (first) {
      try {
        included.push(parseGoCertificate(rawOf(b, first)));
      } catch {
        fail('the OCSP response carries a certificate that does not parse');
      }
    }
  }
  const responder = included[0];
  if (!responder) return { key: issuer.publicKey, signer: 'issuer' };
  const subj = certInfo(responder).subject;
  if (responder.raw.equals(issuer.raw)) {
    if (!isSelfSigned(issuer)) {
      fail(`the OCSP response embeds the issuer's own certificate "${subj}" as its signer, which is accepted only when the issuer is self-signed`);
    }
    return { key: issuer.publicKey, signer: 'issuer' };
  }
  if (!issuedBy(responder, issuer)) fail(`the OCSP responder certificate "${subj}" is not issued by the certificate's issuer`);
  if (!(certInfo(responder).extKeyUsage ?? []).includes(EKU.ocspSigning)) fail(`the OCSP responder certificate "${subj}" lacks the OCSPSigning extended key usage`);
  if (!validAt(responder, now)) fail(`the OCSP responder certificate "${subj}" is not valid now`);
  return { key: responder.publicKey, signer: subj };
}

/** Parses and checks an OCSPResponse for `cert` (issued by `issuer`) at `now`. Throws PkixError when unusable. */
export function parseOcspResponse(bytes: Buffer, cert: X509Certificate, issuer: X509Certificate, now: Date): OcspAnswer {
  let top: Tlv;
  try {
    top = readTlv(bytes, 0);
  } catch {
    fail('the OCSP response is not DER');
  }
  if (top.tag !== 0x30 || top.end !== bytes.length) fail('the OCSP response is not a single DER SEQUENCE');
  const [statusT, rb] = children(bytes, top);
  const st = expectTag(statusT, 0x0a, 'OCSP response status');
  const status = bytes.readUIntBE(st.start, Math.max(1, Math.min(6, st.end - st.start)));
  if (status !== 0) fail(`the OCSP responder answered "${RESPONSE_STATUS[status] ?? `status ${status}`}"`);
  const responseBytes = expectTag(children(bytes, expectTag(rb, 0xa0, 'OCSP responseBytes'))[0], 0x30, 'OCSP responseBytes');
  const [typeT, octets] = children(bytes, responseBytes);
  const type = decodeOid(bytes, expectTag(typeT, 0x06, 'OCSP response type'));
  if (type !== OID_BASIC) fail(`unsupported OCSP response type ${type}`);
  const b = bytesOf(bytes, expectTag(octets, 0x04, 'OCSP response'));
  const basic = readTlv(b, 0);
  const { tbs, alg, sig } = signedParts(b, basic, 'BasicOCSPResponse');
  const certsWrap = children(b, basic)[3];

  // ResponseData
  const f = children(b, tbs);
  let i = 0;
  if (f[0]?.tag === 0xa0) {
    const v = expectTag(children(b, f[0])[0], 0x02, 'OCSP response version');
    if (b.readUIntBE(v.start, Math.max(1, Math.min(6, v.end - v.start))) !== 0) fail('unsupported OCSP response version');
    i++;
  }
  const rid = f[i++];
  if (!rid || (rid.tag !== 0xa1 && rid.tag !== 0xa2)) fail('malformed OCSP responderID');
  timeOf(b, f[i++], 'OCSP producedAt');
  const responses = expectTag(f[i++], 0x30, 'OCSP responses');

  // who signed (the responderID is parsed but, as in x/crypto/ocsp, not used to pick the signer)
  const { key: signerKey, signer } = responderOf(b, certsWrap, issuer, now);
  if (!verifySigned(b, tbs, alg, sig, signerKey)) fail(`the OCSP response signature does not verify with the ${signer === 'issuer' ? "issuer's key" : `key of responder "${signer}"`}`);

  // the SingleResponse for this certificate
  const single = children(b, responses).find((r) => certIdMatches(b, children(b, expectTag(r, 0x30, 'SingleResponse'))[0]!, cert, issuer));
  if (!single) fail('the OCSP response has no answer for this certificate');
  const s = children(b, single);
  const certStatus = s[1];
  if (!certStatus) fail('malformed SingleResponse');
  const answer: OcspAnswer = { status: 'unknown', thisUpdate: timeOf(b, s[2], 'OCSP thisUpdate'), signer };
  if (certStatus.tag === 0x80) answer.status = 'good';
  else if (certStatus.tag === 0x82) answer.status = 'unknown';
  else if (certStatus.tag === 0xa1) {
    answer.status = 'revoked';
    const [rt, reason] = children(b, certStatus);
    answer.revocationTime = timeOf(b, rt, 'OCSP revocationTime');
    if (reason?.tag === 0xa0) {
      const e = expectTag(children(b, reason)[0], 0x0a, 'CRLReason');
      answer.reason = b[e.start];
    }
  } else fail('malformed OCSP certStatus');
  for (const x of s.slice(3)) {
    if (x.tag === 0xa0) answer.nextUpdate = timeOf(b, children(b, x)[0], 'OCSP nextUpdate');
    else if (x.tag === 0xa1) {
      for (const ext of extensionsOf(b, children(b, x)[0]!)) {
        // x/crypto/ocsp refuses every critical single extension, even one it knows
        if (ext.critical) fail(`unsupported critical extension ${ext.oid} in the OCSP single response`);
        if (ext.oid === OID_INVALIDITY_DATE) answer.invalidityDate = invalidityDateOf(ext.value);
      }
    }
  }
  if (answer.thisUpdate.getTime() > now.getTime() + CLOCK_SKEW_MS) fail(`the OCSP response is not yet valid (thisUpdate ${answer.thisUpdate.toISOString()})`);
  if (!answer.nextUpdate) fail('expired OCSP response (it has no nextUpdate, which notation reads as expired)');
  if (now > answer.nextUpdate) fail(`expired OCSP response (nextUpdate ${answer.nextUpdate.toISOString()})`);
  return answer;
}
