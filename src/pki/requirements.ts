import type { X509Certificate } from 'node:crypto';
import { DockerSignError, EXIT } from '../errors.js';
import { keySpecOf } from '../signature/algorithms.js';
import { certInfo, issuedBy, isSelfSigned, LEAF_FORBIDDEN_KEY_USAGE } from '../trust/x509.js';
import { OID, certificateExtensions, parseBasicConstraints, parseExtKeyUsage, parseKeyUsage } from './der.js';
import { subjectLine } from './summary.js';

/** A certificate does not meet the Notary Project certificate requirements (signature-specification.md). */
export class CertificateRequirementError extends DockerSignError {
  constructor(message: string, hint?: string) {
    super('CERTIFICATE_REQUIREMENTS', message, { exitCode: EXIT.USAGE, hint });
  }
}

function label(c: X509Certificate, i: number): string {
  return `certificate #${i + 1} (${subjectLine(c)})`;
}

/**
 * Extended key usages a signing certificate must not have: notation's list (serverAuth, clientAuth, emailProtection,
 * timeStamping, OCSPSigning) plus anyExtendedKeyUsage, which notation lets through at verification but the
 * specification's certificate requirements exclude, so we refuse to sign with it.
 */
const FORBIDDEN_SIGNING_EKU: Record<string, string> = {
  [OID.anyExtendedKeyUsage]: 'anyExtendedKeyUsage',
  [OID.serverAuth]: 'serverAuth',
  [OID.clientAuth]: 'clientAuth',
  [OID.emailProtection]: 'emailProtection',
  [OID.timeStamping]: 'timeStamping',
  [OID.ocspSigning]: 'OCSPSigning',
};

/**
 * Checks a leaf-first chain against the spec's certificate requirements for a signing chain, at time `at`:
 * leaf keyUsage (critical, digitalSignature, none of the forbidden bits), basicConstraints cA=false if present,
 * EKU (no anyEKU/serverAuth/clientAuth/emailProtection/timeStamping/OCSPSigning), key type/size (RSA ≥ 2048, EC P-256/384/521),
 * CA certs (basicConstraints critical cA=true, pathLen, keyUsage critical keyCertSign), no SHA-1 signatures,
 * validity at `at`, each cert issued and signed by the next (issuedBy: names and signature, not OpenSSL's key
 * identifier match), no self-signed certificate but the last, and the chain ends in a self-signed root.
 * Throws CertificateRequirementError naming the certificate and the problem.
 */
export function checkSigningChain(chain: X509Certificate[], at: Date = new Date()): void {
  if (chain.length === 0) throw new CertificateRequirementError('the certificate chain is empty');
  chain.forEach((c, i) => {
    const who = label(c, i);
    const isLeaf = i === 0;
    const exts = certificateExtensions(c.raw);
    const get = (oid: string) => exts.find((e) => e.oid === oid);
    // SHA-1 (and MD5 / MD2, also RSASSA-PSS over SHA-1) signatures are refused on every certificate, a lone
    // self-signed one included: stricter than notation's verification, which accepts a SHA-1 self-signature there.
    const info = certInfo(c);
    const weak = info.weakSignatureHash;
    if (weak) throw new CertificateRequirementError(`${who} is signed with ${weak}, which is not allowed`);
    // Go (so notation built with Go >= 1.23) refuses to parse a certificate with a negative serial number: a chain
    // holding one could not be read by notation verify.
    if (info.serial.length > 0 && (info.serial[0]! & 0x80) !== 0) throw new CertificateRequirementError(`${who} has a negative serial number, which Go's X.509 parser (so notation) refuses`);
    const from = new Date(c.validFrom);
    const to = new Date(c.validTo);
    if (at < from) throw new CertificateRequirementError(`${who} is not valid yet (valid from ${from.toISOString()})`);
    if (at > to) throw new CertificateRequirementError(`${who} has expired (valid until ${to.toISOString()})`);
    const spec = keySpecOf(c.publicKey);
    if (spec.type === 'RSA' && spec.size < 2048) throw new CertificateRequirementError(`${who} has an RSA key of ${spec.size} bits; at least 2048 are required`);
    const bc = get(OID.basicConstraints);
    const ku = get(OID.keyUsage);
    if (isLeaf) {
      if (bc && parseBasicConstraints(bc.value).ca) throw new CertificateRequirementError(`${who} is a CA certificate (basicConstraints cA=true); the signing certificate must not be a CA`);
      if (!ku) throw new CertificateRequirementError(`${who} has no keyUsage extension; a signing certificate needs keyUsage digitalSignature (critical)`);
      if (!ku.critical) throw new CertificateRequirementError(`${who}: the keyUsage extension must be marked critical`);
      const bits = parseKeyUsage(ku.value);
      if (!bits.has('digitalSignature')) throw new CertificateRequirementError(`${who}: keyUsage lacks digitalSignature`);
      for (const [b] of LEAF_FORBIDDEN_KEY_USAGE) {
        if (bits.has(b)) throw new CertificateRequirementError(`${who}: keyUsage ${b} must not be set on a signing certificate`);
      }
      const eku = get(OID.extKeyUsage);
      if (eku) {
        for (const oid of parseExtKeyUsage(eku.value)) {
          const bad = FORBIDDEN_SIGNING_EKU[oid];
          if (bad) throw new CertificateRequirementError(`${who}: extendedKeyUsage ${bad} is not allowed for code signing (use codeSigning)`);
        }
      }
    } else {
      if (!bc || !bc.critical || !parseBasicConstraints(bc.value).ca) {
        throw new CertificateRequirementError(`${who} is used as a CA but lacks a critical basicConstraints extension with cA=true`);
      }
      const pathLen = parseBasicConstraints(bc.value).pathLen;
      if (pathLen !== undefined && pathLen < i - 1) throw new CertificateRequirementError(`${who}: pathLenConstraint ${pathLen} is exceeded by the chain`);
      if (!ku || !ku.critical || !parseKeyUsage(ku.value).has('keyCertSign')) {
        throw new CertificateRequirementError(`${who} is used as a CA but lacks a critical keyUsage with keyCertSign`);
      }
    }
    const issuer = chain[i + 1];
    if (issuer) {
      if (isSelfSigned(c)) {
        throw new CertificateRequirementError(`${who} is self-signed; only the last certificate of the chain may be`, 'the certificate file must list the leaf first, then each issuer in order, ending with the root');
      }
      if (!issuedBy(c, issuer)) {
        throw new CertificateRequirementError(`${who} is not issued and signed by the next certificate in the chain (${subjectLine(issuer)})`, 'the certificate file must list the leaf first, then each issuer in order');
      }
    } else {
      // The last certificate must be a self-signed root (a chain with only a root is allowed if it meets leaf rules).
      // Self-signed: issuer name = subject name and the signature verifies with its own key. (Not checkIssued():
      // OpenSSL's check also demands keyCertSign, which a single self-signed leaf, e.g. `notation cert
      // generate-test`'s, does not have; the spec allows such a one-certificate chain if it meets the leaf rules.)
      if (!isSelfSigned(c)) {
        throw new CertificateRequirementError(`the chain does not end in a self-signed root certificate (last: ${subjectLine(c)})`, 'include the intermediate and root certificates in the certificate file, leaf first');
      }
    }
  });
}
