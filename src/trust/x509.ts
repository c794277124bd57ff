/**
 * The few certificate facts verification needs that node:crypto's X509Certificate does not expose (key usage bits,
 * basic constraints, validity as Dates, subject attributes, revocation pointers), read from the DER with a small
 * TLV reader. Keeps @peculiar/x509 / pkijs off the verify path (start-up time).
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { DerError, readTlv, children, decodeOid, type Tlv } from '../pki/der.js';


function decodeTime(b: Buffer, t: Tlv): Date {
  const s = b.subarray(t.start, t.end).toString('latin1');
  let m: RegExpExecArray | null;
  if (t.tag === 0x17 && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    const yy = Number(m[1]);
    return new Date(Date.UTC(yy >= 50 ? 1900 + yy : 2000 + yy, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  }
  if (t.tag === 0x18 && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  }
  throw new DerError(`unsupported time encoding "${s}"`);
}

/** Short names Go's crypto/x509 (and therefore notation) uses when printing a subject. */
const ATTR_NAMES: Record<string, string> = {
  '2.5.4.6': 'C',
  '2.5.4.8': 'ST',
  '2.5.4.7': 'L',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.3': 'CN',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.9': 'STREET',
  '2.5.4.17': 'POSTALCODE',
};

export const EKU = {
  any: '2.5.29.37.0',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
} as const;

const KEY_USAGE_BITS = [
  'digitalSignature',
  'contentCommitment',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsage = (typeof KEY_USAGE_BITS)[number];

/**
 * Key usage bits a signing or timestamping leaf certificate must not have (notation-core-go validateLeafKeyUsage:
 * "Digital Signature" only, of the signing bits), with the names Go's messages use.
 */
export const LEAF_FORBIDDEN_KEY_USAGE: readonly (readonly [KeyUsage, string])[] = [
  ['keyEncipherment', 'KeyEncipherment'],
  ['dataEncipherment', 'DataEncipherment'],
  ['keyAgreement', 'KeyAgreement'],
  ['keyCertSign', 'CertSign'],
  ['cRLSign', 'CRLSign'],
  ['encipherOnly', 'EncipherOnly'],
  ['decipherOnly', 'DecipherOnly'],
];

export interface SubjectAttribute {
  /** Short name (C, ST, O, …) or dotted OID for other types. */
  type: string;
  /** Decoded string value; for attribute types without a short name, "#" + hex of the DER value (as Go prints it). */
  value: string;
}

export interface CertInfo {
  cert: X509Certificate;
  der: Buffer;
  /** RDNs in certificate order, each a list of attributes (more than one = multi-valued RDN). */
  subjectRdns: SubjectAttribute[][];
  /** The subject as notation prints it (RFC 2253 order: last RDN first, comma-separated). */
  subject: string;
  selfIssued: boolean;
  notBefore: Date;
  notAfter: Date;
  basicConstraints?: { ca: boolean; pathLen?: number };
  keyUsage?: Set<KeyUsage>;
  extKeyUsage?: string[];
  ocspUrls: string[];
  crlUrls: string[];
  sha256: string;
  /** DER of the issuer Name and the serialNumber INTEGER contents (for CMS IssuerAndSerialNumber matching). */
  issuerDer: Buffer;
  serial: Buffer;
  /** DER of the subject Name. */
  subjectDer: Buffer;
  /** Contents of the subjectPublicKey BIT STRING after its unused-bits byte (what OCSP key hashes are over). */
  publicKeyBits: Buffer;
  subjectKeyId?: Buffer;
  /** The certificate's version as Go numbers it (1, 2 or 3). */
  version: number;
  /** Whether the keyUsage extension is marked critical (set only when the certificate has one). */
  keyUsageCritical?: boolean;
  /** Every extension of the certificate, in order, with its criticality. */
  extensions: { oid: string; critical: boolean }[];
  /**
   * Critical extensions Go's x509 does not handle (Certificate.UnhandledCriticalExtensions), which its Verify refuses
   * anywhere in a chain: all but key usage, basic constraints, SAN (when it holds a name Go reads), name constraints
   * (of the kinds Go reads), CRL distribution points, key identifiers, extended key usage, certificate policies,
   * policy mappings/constraints, inhibitAnyPolicy (Go >= 1.22, as notation is built) and AIA.
   */
  unhandledCritical: string[];
  /** OID of the outer signatureAlgorithm (the algorithm the issuer signed this certificate with). */
  signatureAlgorithm: string;
  /**
   * The hash of that signature when it is one Go's crypto/x509 calls insecure ('SHA-1', 'MD5', 'MD2'), else undefined.
   * RSASSA-PSS counts by its hashAlgorithm parameter (SHA-1 when absent).
   */
  weakSignatureHash?: 'SHA-1' | 'MD5' | 'MD2';
}

/**
 * The text of a DirectoryString-like value (UTF8, Printable, IA5, T61 as Latin-1, BMP, Numeric: the string types
 * Go's certificate parser reads); undefined for any other ASN.1 type.
 */
export function decodeDirectoryString(b: Buffer, t: Tlv): string | undefined {
  const v = b.subarray(t.start, t.end);
  switch (t.tag) {
    case 0x0c: // UTF8String
      return v.toString('utf8');
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x14: // T61String (treated as latin1)
      return v.toString('latin1');
    case 0x1e: {
      // BMPString
      let s = '';
      for (let i = 0; i + 1 < v.length; i += 2) s += String.fromCharCode(v.readUInt16BE(i));
      return s;
    }
    default:
      return undefined;
  }
}

function parseName(b: Buffer, t: Tlv): SubjectAttribute[][] {
  return children(b, t).map((set) =>
    children(b, set).map((atv) => {
      const [oidT, valT] = children(b, atv);
      if (!oidT || !valT) throw new DerError('bad AttributeTypeAndValue');
      const oid = decodeOid(b, oidT);
      const name = ATTR_NAMES[oid];
      const s = decodeDirectoryString(b, valT);
      if (name && s !== undefined) return { type: name, value: s };
      return { type: oid, value: `#${b.subarray(valT.hdr, valT.end).toString('hex')}` };
    }),
  );
}

function escape2253(v: string): string {
  let out = v.replace(/[\\,+"<>;]/g, (c) => `\\${c}`);
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`;
  if (out.endsWith(' ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

function formatName(rdns: SubjectAttribute[][]): string {
  return [...rdns]
    .reverse()
    .map((rdn) => rdn.map((a) => `${a.type}=${a.type.includes('.') ? a.value : escape2253(a.value)}`).join('+'))
    .join(',');
}

function uriNames(b: Buffer, t: Tlv): string[] {
  // GeneralName uniformResourceIdentifier [6] IA5String, found anywhere below t
  const out: string[] = [];
  const walk = (x: Tlv) => {
    if (x.tag === 0x86) out.push(b.subarray(x.start, x.end).toString('latin1'));
    else if (x.tag & 0x20) for (const c of children(b, x)) walk(c);
  };
  walk(t);
  return out;
}

/** Go's cryptobyte ReadASN1Boolean: DER only (0x00 or 0xff). */
function goBoolean(b: Buffer, t: Tlv, message: string): boolean {
  if (t.tag !== 0x01 || t.end - t.start !== 1 || (b[t.start] !== 0 && b[t.start] !== 0xff)) throw new DerError(message);
  return b[t.start] === 0xff;
}

/** Go's isIA5String: every byte below 0x80. */
function isIa5(b: Buffer, t: Tlv): boolean {
  for (let i = t.start; i < t.end; i++) if (b[i]! >= 0x80) return false;
  return true;
}

/** Go's domainToReverseLabels: non-empty labels of printable ASCII, no trailing dot. */
function goDomainOk(domain: string): boolean {
  if (domain === '') return true;
  const labels = domain.split('.');
  return labels.every((l) => l.length > 0 && /^[\x21-\x7e]+$/.test(l));
}

/**
 * Why Go's url.Parse (or the domain check after it) would refuse a SAN URI, for the cases that occur: control
 * characters, a '%' not followed by two hex digits, a space or other character Go refuses in the host, a host
 * that is not a domain name. undefined when it would parse.
 */
function goUriProblem(uri: string): string | undefined {
  if (/[\x00-\x1f\x7f]/.test(uri)) return 'net/url: invalid control character in URL';
  if (/%(?![0-9A-Fa-f]{2})/.test(uri)) return 'invalid URL escape';
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(uri);
  if (!m) return undefined;
  const authority = m[1]!;
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  if (/[\s"<>\\^`{|}]/.test(host)) return `invalid character in host name`;
  return goDomainOk(host) ? undefined : 'invalid domain';
}

/**
 * Go's parseNameConstraintsExtension checks on one constraint's base name; false for a kind Go does not read (a
 * directoryName, say), which leaves the extension unhandled.
 */
function checkGoNameConstraint(b: Buffer, base: Tlv): boolean {
  const text = () => b.subarray(base.start, base.end).toString('latin1');
  const trimDot = (d: string) => (d.startsWith('.') ? d.slice(1) : d);
  switch (base.tag) {
    case 0x82: // dNSName
      if (!goDomainOk(trimDot(text()))) throw new DerError(`x509: failed to parse dnsName constraint ${JSON.stringify(text())}`);
      break;
    case 0x87: { // iPAddress: address + mask, 8 or 32 bytes, the mask a run of ones then zeros
      const v = b.subarray(base.start, base.end);
      if (v.length !== 8 && v.length !== 32) throw new DerError(`x509: IP constraint contained value of length ${v.length}`);
      const mask = v.subarray(v.length / 2);
      const bits = [...mask].map((x) => x.toString(2).padStart(8, '0')).join('');
      if (!/^1*0*$/.test(bits)) throw new DerError(`x509: IP constraint contained invalid mask ${mask.toString('hex')}`);
      break;
    }
    case 0x81: // rfc822Name: a mailbox (not checked further here) or a domain
      if (!text().includes('@') && !goDomainOk(trimDot(text()))) throw new DerError(`x509: failed to parse rfc822Name constraint ${JSON.stringify(text())}`);
      break;
    case 0x86: { // uniformResourceIdentifier: a domain, not an IP address
      const d = text();
      if (isIP(d) !== 0) throw new DerError(`x509: failed to parse URI constraint ${JSON.stringify(d)}: cannot be IP address`);
      if (!goDomainOk(trimDot(d))) throw new DerError(`x509: failed to parse URI constraint ${JSON.stringify(d)}`);
      break;
    }
    default:
      return false;
  }
  return true;
}

/** Extensions Go's processExtensions handles whatever their value holds (see CertInfo.unhandledCritical). */
const GO_HANDLED = new Set(['2.5.29.15', '2.5.29.19', '2.5.29.31', '2.5.29.35', '2.5.29.37', '2.5.29.14', '2.5.29.32', '2.5.29.33', '2.5.29.36', '2.5.29.54', '1.3.6.1.5.5.7.1.1']);
/** GeneralName kinds Go reads in SAN: rfc822Name, dNSName, URI, iPAddress. */
const GO_NAME_TAGS = new Set([0x81, 0x82, 0x86, 0x87]);

/**
 * What Go's x509.ParseCertificate (processExtensions, Go 1.19 as in Debian, checked against it by
 * integration/go-parse.test.ts) refuses in the value of a known extension; the messages are Go's. Structure only:
 * what the value means is read by certInfo. Returns whether Go handles the extension (CertInfo.unhandledCritical):
 * a SAN only when it holds a name Go reads, name constraints only when all are of kinds Go reads.
 */
function checkGoExtension(b: Buffer, oid: string, v: Tlv): boolean {
  const seqOf = (t: Tlv, message: string): Tlv[] => {
    if (t.tag !== 0x30) throw new DerError(message);
    return children(b, t);
  };
  switch (oid) {
    case '2.5.29.15': {
      // BIT STRING with valid padding (cryptobyte ReadASN1BitString)
      const n = v.end - v.start;
      const pad = b[v.start]!;
      if (v.tag !== 0x03 || n === 0 || pad > 7 || (n === 1 && pad > 0) || (b[v.end - 1]! & ((1 << pad) - 1)) !== 0) throw new DerError('x509: invalid key usage');
      break;
    }
    case '2.5.29.19': {
      const parts = seqOf(v, 'x509: invalid basic constraints a');
      let k = 0;
      if (parts[k]?.tag === 0x01) goBoolean(b, parts[k++]!, 'x509: invalid basic constraints b');
      if (parts[k] && parts[k]!.tag === 0x02 && parts[k]!.end === parts[k]!.start) throw new DerError('x509: invalid basic constraints c');
      break;
    }
    case '2.5.29.37':
      for (const o of seqOf(v, 'x509: invalid extended key usages')) if (o.tag !== 0x06) throw new DerError('x509: invalid extended key usages');
      break;
    case '2.5.29.14':
      if (v.tag !== 0x04) throw new DerError('x509: invalid subject key identifier');
      break;
    case '2.5.29.35':
      seqOf(v, 'x509: invalid authority key identifier');
      break;
    case '2.5.29.17': {
      const names = seqOf(v, 'x509: invalid subject alternative names');
      for (const n of names) {
        // GeneralName: rfc822Name [1], dNSName [2], URI [6] are IA5String; iPAddress [7] is 4 or 16 bytes
        if (n.tag === 0x81 && !isIa5(b, n)) throw new DerError('x509: SAN rfc822Name is malformed');
        if (n.tag === 0x82 && !isIa5(b, n)) throw new DerError('x509: SAN dNSName is malformed');
        if (n.tag === 0x86 && !isIa5(b, n)) throw new DerError('x509: SAN uniformResourceIdentifier is malformed');
        if (n.tag === 0x86) {
          const uri = b.subarray(n.start, n.end).toString('latin1');
          const problem = goUriProblem(uri);
          if (problem) throw new DerError(`x509: cannot parse URI ${JSON.stringify(uri)}: ${problem}`);
        }
        if (n.tag === 0x87 && n.end - n.start !== 4 && n.end - n.start !== 16) throw new DerError(`x509: cannot parse IP address of length ${n.end - n.start}`);
      }
      return names.some((n) => GO_NAME_TAGS.has(n.tag)); // Go: "if we didn't parse anything"
    }
    case '2.5.29.31':
      for (const dp of seqOf(v, 'x509: invalid CRL distribution points')) if (dp.tag !== 0x30) throw new DerError('x509: invalid CRL distribution point');
      break;
    case '1.3.6.1.5.5.7.1.1':
      for (const ad of seqOf(v, 'x509: invalid authority info access')) {
        const [m] = seqOf(ad, 'x509: invalid authority info access');
        if (!m || m.tag !== 0x06) throw new DerError('x509: invalid authority info access');
      }
      break;
    case '2.5.29.32':
      for (const pi of seqOf(v, 'x509: invalid certificate policies')) {
        const [id] = seqOf(pi, 'x509: invalid certificate policies');
        if (!id || id.tag !== 0x06) throw new DerError('x509: invalid certificate policies');
      }
      break;
    case '2.5.29.30': {
      let handled = true;
      for (const subtrees of seqOf(v, 'x509: invalid NameConstraints extension')) {
        if (subtrees.tag !== 0xa0 && subtrees.tag !== 0xa1) throw new DerError('x509: invalid NameConstraints extension');
        for (const st of children(b, subtrees)) {
          const base = seqOf(st, 'x509: invalid NameConstraints extension')[0];
          if (!base || !checkGoNameConstraint(b, base)) handled = false;
        }
      }
      return handled;
    }
    default:
      break;
  }
  return GO_HANDLED.has(oid);
}

/**
 * Signature algorithm OIDs whose hash Go's crypto/x509 refuses in CheckSignatureFrom (and MD2/MD5 everywhere), with
 * the hash and the name Go gives the algorithm.
 */
const WEAK_SIGNATURE_ALGORITHMS: Record<string, { hash: 'SHA-1' | 'MD5' | 'MD2'; name: string }> = {
  '1.2.840.113549.1.1.2': { hash: 'MD2', name: 'MD2-RSA' }, // md2WithRSAEncryption
  '1.2.840.113549.1.1.4': { hash: 'MD5', name: 'MD5-RSA' }, // md5WithRSAEncryption
  '1.2.840.113549.1.1.5': { hash: 'SHA-1', name: 'SHA1-RSA' }, // sha1WithRSAEncryption
  '1.3.14.3.2.29': { hash: 'SHA-1', name: 'SHA1-RSA' }, // sha1WithRSASignature (OIW)
  '1.2.840.10045.4.1': { hash: 'SHA-1', name: 'ECDSA-SHA1' }, // ecdsa-with-SHA1
  '1.2.840.10040.4.3': { hash: 'SHA-1', name: 'DSA-SHA1' }, // dsa-with-sha1
};

/** Go's name of a signature algorithm it refuses as insecure (SHA-1 / MD5 / MD2 based), else undefined. */
export function insecureSignatureAlgorithmName(oid: string): string | undefined {
  return WEAK_SIGNATURE_ALGORITHMS[oid]?.name;
}
const OID_RSA_PSS = '1.2.840.113549.1.1.10';
const OID_SHA1 = '1.3.14.3.2.26';

function weakHashOf(b: Buffer, algId: Tlv): 'SHA-1' | 'MD5' | 'MD2' | undefined {
  const [oidT, params] = children(b, algId);
  if (!oidT || oidT.tag !== 0x06) throw new DerError('malformed signatureAlgorithm');
  const oid = decodeOid(b, oidT);
  if (oid !== OID_RSA_PSS) return WEAK_SIGNATURE_ALGORITHMS[oid]?.hash;
  // RSASSA-PSS-params: hashAlgorithm [0] defaults to SHA-1 (RFC 4055).
  const hashWrap = params?.tag === 0x30 ? children(b, params).find((p) => p.tag === 0xa0) : undefined;
  if (!hashWrap) return 'SHA-1';
  const hashAlg = children(b, hashWrap)[0];
  const hashOid = hashAlg?.tag === 0x30 ? children(b, hashAlg)[0] : undefined;
  return hashOid?.tag === 0x06 && decodeOid(b, hashOid) === OID_SHA1 ? 'SHA-1' : undefined;
}

const cache = new WeakMap<X509Certificate, CertInfo>();

/** Reads the facts of a certificate (cached per X509Certificate object). Throws on malformed DER. */
export function certInfo(cert: X509Certificate): CertInfo {
  const hit = cache.get(cert);
  if (hit) return hit;
  const der = cert.raw;
  const top = readTlv(der, 0);
  const [tbs, sigAlg] = children(der, top);
  if (!tbs) throw new DerError('certificate without tbsCertificate');
  if (!sigAlg || sigAlg.tag !== 0x30) throw new DerError('certificate without signatureAlgorithm');
  const sigAlgOid = children(der, sigAlg)[0];
  if (!sigAlgOid || sigAlgOid.tag !== 0x06) throw new DerError('malformed signatureAlgorithm');
  const f = children(der, tbs);
  let i = 0;
  let version = 1;
  if (f[0]?.tag === 0xa0) {
    const v = children(der, f[0])[0];
    if (!v || v.tag !== 0x02 || v.end === v.start || v.end - v.start > 4 || (der[v.start]! & 0x80) !== 0) throw new DerError('malformed certificate version');
    version = der.readUIntBE(v.start, v.end - v.start) + 1;
    // Go's x509.ParseCertificate, so notation, refuses versions above 3
    if (version > 3) throw new DerError(`x509: invalid version (${version})`);
    i++;
  }
  const serialT = f[i]!;
  const innerSigAlg = f[i + 1];
  if (!innerSigAlg || !der.subarray(innerSigAlg.hdr, innerSigAlg.end).equals(der.subarray(sigAlg.hdr, sigAlg.end))) {
    throw new DerError("x509: inner and outer signature algorithm identifiers don't match");
  }
  const issuer = f[i + 2]!;
  const validity = f[i + 3]!;
  const subject = f[i + 4]!;
  const spki = f[i + 5];
  const bits = spki?.tag === 0x30 ? children(der, spki)[1] : undefined;
  if (serialT.tag !== 0x02 || issuer.tag !== 0x30 || subject.tag !== 0x30 || bits?.tag !== 0x03) throw new DerError('malformed tbsCertificate');
  const [nb, na] = children(der, validity);
  const subjectRdns = parseName(der, subject);
  const info: CertInfo = {
    cert,
    der,
    subjectRdns,
    subject: formatName(subjectRdns),
    selfIssued: der.subarray(issuer.hdr, issuer.end).equals(der.subarray(subject.hdr, subject.end)),
    notBefore: decodeTime(der, nb!),
    notAfter: decodeTime(der, na!),
    ocspUrls: [],
    crlUrls: [],
    sha256: cert.fingerprint256.replace(/:/g, '').toLowerCase(),
    issuerDer: der.subarray(issuer.hdr, issuer.end),
    serial: der.subarray(serialT.start, serialT.end),
    subjectDer: der.subarray(subject.hdr, subject.end),
    publicKeyBits: der.subarray(bits.start + 1, bits.end),
    version,
    extensions: [],
    unhandledCritical: [],
    signatureAlgorithm: decodeOid(der, sigAlgOid),
  };
  const weak = weakHashOf(der, sigAlg);
  if (weak) info.weakSignatureHash = weak;
  // Go reads extensions of v3 certificates only (a v1/v2 certificate has none), and refuses a repeated one
  const extWrap = version === 3 ? f.slice(i + 6).find((x) => x.tag === 0xa3) : undefined;
  if (extWrap) {
    const [seq] = children(der, extWrap);
    const seen = new Set<string>();
    for (const ext of children(der, seq!)) {
      const parts = children(der, ext);
      const oid = decodeOid(der, parts[0]!);
      if (seen.has(oid)) throw new DerError(`x509: certificate contains duplicate extension with OID "${oid}"`);
      seen.add(oid);
      const critical = parts.length === 3 && goBoolean(der, parts[1]!, 'x509: malformed extension critical field');
      info.extensions.push({ oid, critical });
      const octets = parts[parts.length - 1]!;
      if (octets.tag !== 0x04) throw new DerError('x509: malformed extension value field');
      const inner = readTlv(der, octets.start, octets.end);
      if (!checkGoExtension(der, oid, inner) && critical) info.unhandledCritical.push(oid);
      switch (oid) {
        case '2.5.29.15': {
          info.keyUsageCritical = critical;
          const v = der.subarray(inner.start, inner.end);
          const set = new Set<KeyUsage>();
          for (let bit = 0; bit < KEY_USAGE_BITS.length; bit++) {
            const byte = v[1 + (bit >> 3)];
            if (byte !== undefined && byte & (0x80 >> (bit & 7))) set.add(KEY_USAGE_BITS[bit]!);
          }
          info.keyUsage = set;
          break;
        }
        case '2.5.29.37':
          info.extKeyUsage = children(der, inner).map((o) => decodeOid(der, o));
          break;
        case '2.5.29.19': {
          let ca = false;
          let pathLen: number | undefined;
          for (const c of children(der, inner)) {
            if (c.tag === 0x01) ca = der[c.start] !== 0;
            else if (c.tag === 0x02) pathLen = der.readUIntBE(c.start, Math.min(6, c.end - c.start));
          }
          info.basicConstraints = pathLen === undefined ? { ca } : { ca, pathLen };
          break;
        }
        case '1.3.6.1.5.5.7.1.1':
          for (const ad of children(der, inner)) {
            const [m, loc] = children(der, ad);
            if (m && loc && decodeOid(der, m) === '1.3.6.1.5.5.7.48.1' && loc.tag === 0x86) {
              info.ocspUrls.push(der.subarray(loc.start, loc.end).toString('latin1'));
            }
          }
          break;
        case '2.5.29.14':
          info.subjectKeyId = der.subarray(inner.start, inner.end);
          break;
        case '2.5.29.31':
          info.crlUrls.push(...uriNames(der, inner));
          break;
        default:
          break;
      }
    }
  }
  cache.set(cert, info);
  return info;
}

/**
 * A certificate as Go's x509.ParseCertificate (so notation) takes it: OpenSSL parses it, the bytes are exactly its
 * DER (OpenSSL also reads some BER, such as longer length octets, and re-encodes it; Go refuses that), and what
 * certInfo checks beyond OpenSSL holds (duplicate extensions, version, inner/outer signature algorithm).
 */
export function parseGoCertificate(der: Buffer): X509Certificate {
  const c = new X509Certificate(der);
  if (!c.raw.equals(der)) throw new DerError('x509: malformed certificate (not DER, or data after it)');
  certInfo(c);
  return c;
}

/**
 * Parses every certificate in a PEM or DER buffer (a file may hold several). Throws an Error saying what is wrong
 * (callers add the file name) when the bytes are neither, or a block is not a certificate.
 */
export function parseCertificates(bytes: Buffer): X509Certificate[] {
  const parse = (der: Buffer, n: number): X509Certificate => {
    try {
      return parseGoCertificate(der);
    } catch (e) {
      throw new Error(`certificate #${n} is not a valid X.509 certificate (${(e as Error).message})`);
    }
  };
  const text = bytes.toString('latin1');
  const out: X509Certificate[] = [];
  if (text.includes('-----BEGIN')) {
    const re = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text))) out.push(parse(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'), out.length + 1));
    return out;
  }
  // DER: one or more certificates back to back, each a SEQUENCE
  let p = 0;
  while (p < bytes.length) {
    let t: Tlv;
    try {
      if (bytes[p] !== 0x30) throw new Error('no SEQUENCE');
      t = readTlv(bytes, p);
    } catch {
      throw new Error(out.length === 0 ? 'neither PEM nor DER certificates' : `bytes after certificate #${out.length} are not a DER certificate`);
    }
    out.push(parse(bytes.subarray(p, t.end), out.length + 1));
    p = t.end;
  }
  return out;
}

/**
 * True when `parent` issued `child` the way Go's crypto/x509 (and so notation) decides it: the child's issuer Name
 * is byte for byte the parent's subject Name, and the child's signature verifies with the parent's public key.
 * Deliberately not node's checkIssued(): OpenSSL's check also matches the child's authorityKeyIdentifier against the
 * parent's subjectKeyIdentifier (and the parent's keyUsage), which Go ignores; constraints on the parent (CA, key
 * usage) and the signature hash are checked by the callers that need them.
 */
export function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return certInfo(child).issuerDer.equals(certInfo(parent).subjectDer) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/** Self-issued (issuer Name = subject Name) and self-signed (verifies with its own key): issuedBy(c, c). */
export function isSelfSigned(c: X509Certificate): boolean {
  return issuedBy(c, c);
}

/**
 * Certificate signature algorithms Go's Certificate.CheckSignatureFrom accepts (what x509.Verify and notation's
 * self-signed checks use): SHA-2 RSA PKCS#1 v1.5 and RSASSA-PSS, SHA-2 ECDSA, Ed25519. SHA-1 and MD5 based ones
 * are refused as insecure (notation cannot use a TSA whose root is SHA-1 signed either).
 */
const CERT_SIG_ALGS = new Set([
  '1.2.840.113549.1.1.11',
  '1.2.840.113549.1.1.12',
  '1.2.840.113549.1.1.13',
  OID_RSA_PSS,
  '1.2.840.10045.4.3.2',
  '1.2.840.10045.4.3.3',
  '1.2.840.10045.4.3.4',
  '1.3.101.112',
]);

/**
 * Why `parent` cannot have signed `child` (Go's Certificate.CheckSignatureFrom), or undefined when it did: the
 * parent must be a CA (a v3 certificate needs basic constraints with CA true), its key usage, when present, must
 * allow keyCertSign, its key must be RSA, EC or Ed25519, and the child's signature (not SHA-1 or MD5 based) must
 * verify with it.
 */
export function signatureFromProblem(child: X509Certificate, parent: X509Certificate): string | undefined {
  const p = certInfo(parent);
  const bc = p.basicConstraints;
  if (bc ? !bc.ca : p.version >= 3) return `certificate with subject "${p.subject}" is not a CA certificate (${bc ? 'basic constraints CA is false' : 'no basic constraints'})`;
  if (p.keyUsage && p.keyUsage.size > 0 && !p.keyUsage.has('keyCertSign')) return `the key usage of certificate with subject "${p.subject}" does not allow signing certificates (keyCertSign)`;
  const type = parent.publicKey.asymmetricKeyType;
  if (type !== 'rsa' && type !== 'ec' && type !== 'ed25519') return `certificate with subject "${p.subject}" has an unsupported ${type} key`;
  const alg = certInfo(child).signatureAlgorithm;
  const insecure = insecureSignatureAlgorithmName(alg);
  if (insecure) return `certificate with subject "${certInfo(child).subject}" is signed with the insecure algorithm ${insecure}`;
  if (!CERT_SIG_ALGS.has(alg)) return `certificate with subject "${certInfo(child).subject}" is signed with the unsupported algorithm ${alg}`;
  let ok = false;
  try {
    ok = child.verify(parent.publicKey);
  } catch {
    ok = false;
  }
  if (!ok) return child === parent ? `the signature of certificate with subject "${p.subject}" does not verify with its own key` : `the signature of certificate with subject "${certInfo(child).subject}" does not verify with the key of "${p.subject}"`;
  return undefined;
}

/**
 * Why `cert` is not a root CA certificate, or undefined when it is (notation's isRootCACertificate: it verifies its
 * own signature as Go's CheckSignatureFrom does, and its subject and issuer are the same bytes). The tsa trust store
 * and --timestamp-root-cert take root CA certificates only.
 */
export function rootCertificateProblem(cert: X509Certificate): string | undefined {
  const p = signatureFromProblem(cert, cert);
  if (p) return p;
  const i = certInfo(cert);
  if (!i.selfIssued) return `issuer and subject of certificate with subject "${i.subject}" are not the same`;
  return undefined;
}

export { DerError, readTlv, children, decodeOid, type Tlv };

/** Decodes UTCTime / GeneralizedTime, including fractional seconds (TSTInfo.genTime may carry them). */
export function decodeDerTime(b: Buffer, t: Tlv): Date {
  const s = b.subarray(t.start, t.end).toString('latin1');
  if (t.tag === 0x18) {
    const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?Z$/.exec(s);
    if (m) {
      const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
      return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms));
    }
  }
  return decodeTime(b, t);
}
