/**
 * DER helpers the revocation checks (OCSP, CRL) share, on top of the project's TLV reader (certificate parts come
 * from certInfo in x509.ts): signed-data verification (tbs + AlgorithmIdentifier +
 * BIT STRING, as OCSP responses, CRLs and certificates are signed) with node:crypto, and a tiny DER writer for the
 * OCSP request. No pkijs: nothing here costs an import.
 */
import { createHash, verify as cryptoVerify, constants, type KeyObject } from 'node:crypto';
import { children, decodeDerTime, decodeOid, readTlv, type Tlv } from './x509.js';

export class PkixError extends Error {}

export function fail(msg: string): never {
  throw new PkixError(msg);
}

export function bytesOf(b: Buffer, t: Tlv): Buffer {
  return b.subarray(t.start, t.end);
}

/** The whole TLV (tag + length + value). */
export function rawOf(b: Buffer, t: Tlv): Buffer {
  return b.subarray(t.hdr, t.end);
}

export function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) fail(`malformed ${what}`);
  return t;
}

export function timeOf(b: Buffer, t: Tlv | undefined, what: string): Date {
  if (!t || (t.tag !== 0x17 && t.tag !== 0x18)) fail(`malformed ${what}`);
  try {
    return decodeDerTime(b, t);
  } catch {
    fail(`malformed ${what}`);
  }
}

/** INTEGER contents without redundant leading zero bytes, as lowercase hex (serial number comparisons). */
export function serialHex(v: Buffer): string {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  return v.subarray(i).toString('hex');
}

export function sha1(b: Buffer): Buffer {
  return createHash('sha1').update(b).digest();
}

const HASH_OIDS: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/**
 * Signature algorithms accepted on OCSP responses and CRLs. SHA-1 based ones are accepted because Go's
 * Certificate.CheckSignature (what notation-core-go ends up calling for both) accepts them; MD5 / MD2 are not.
 */
const SIG_ALGS: Record<string, { hash: string | null; kind: 'rsa' | 'ecdsa' | 'eddsa' }> = {
  '1.2.840.113549.1.1.5': { hash: 'sha1', kind: 'rsa' },
  '1.2.840.113549.1.1.11': { hash: 'sha256', kind: 'rsa' },
  '1.2.840.113549.1.1.12': { hash: 'sha384', kind: 'rsa' },
  '1.2.840.113549.1.1.13': { hash: 'sha512', kind: 'rsa' },
  '1.2.840.10045.4.1': { hash: 'sha1', kind: 'ecdsa' },
  '1.2.840.10045.4.3.2': { hash: 'sha256', kind: 'ecdsa' },
  '1.2.840.10045.4.3.3': { hash: 'sha384', kind: 'ecdsa' },
  '1.2.840.10045.4.3.4': { hash: 'sha512', kind: 'ecdsa' },
  '1.3.101.112': { hash: null, kind: 'eddsa' },
};
const RSA_PSS = '1.2.840.113549.1.1.10';

/** RSASSA-PSS-params (RFC 4055): hash (default SHA-1) and salt length (default 20). */
function pssParams(b: Buffer, params: Tlv | undefined): { hash: string; saltLength: number } {
  let hash = 'sha1';
  let saltLength = 20;
  if (params && params.tag === 0x30) {
    for (const p of children(b, params)) {
      if (p.tag === 0xa0) {
        const alg = expectTag(children(b, p)[0], 0x30, 'RSASSA-PSS hash');
        const oid = decodeOid(b, expectTag(children(b, alg)[0], 0x06, 'RSASSA-PSS hash'));
        const h = HASH_OIDS[oid];
        if (!h) fail(`unsupported RSASSA-PSS hash ${oid}`);
        hash = h;
      } else if (p.tag === 0xa2) {
        const n = expectTag(children(b, p)[0], 0x02, 'RSASSA-PSS salt length');
        saltLength = bytesOf(b, n).reduce((a, x) => a * 256 + x, 0);
      }
    }
  }
  return { hash, saltLength };
}

/**
 * Verifies `signature` (a BIT STRING TLV) over `tbs` with the algorithm `algId` (an AlgorithmIdentifier TLV), all in
 * buffer `b`, with `key`. Returns false when the signature does not verify; throws for an unsupported algorithm.
 */
export function verifySigned(b: Buffer, tbs: Tlv, algId: Tlv, signature: Tlv, key: KeyObject): boolean {
  const [oidT, params] = children(b, expectTag(algId, 0x30, 'signature algorithm'));
  const oid = decodeOid(b, expectTag(oidT, 0x06, 'signature algorithm'));
  const sigT = expectTag(signature, 0x03, 'signature');
  if (b[sigT.start] !== 0) fail('signature BIT STRING has unused bits');
  const sig = b.subarray(sigT.start + 1, sigT.end);
  const data = rawOf(b, tbs);
  try {
    if (oid === RSA_PSS) {
      if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'rsa-pss') return false;
      const { hash, saltLength } = pssParams(b, params);
      return cryptoVerify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, sig);
    }
    const alg = SIG_ALGS[oid];
    if (!alg) fail(`unsupported signature algorithm ${oid}`);
    const type = key.asymmetricKeyType;
    if ((alg.kind === 'rsa' && type !== 'rsa') || (alg.kind === 'ecdsa' && type !== 'ec') || (alg.kind === 'eddsa' && type !== 'ed25519')) return false;
    return cryptoVerify(alg.hash, data, key, sig);
  } catch (e) {
    if (e instanceof PkixError) throw e;
    return false;
  }
}

/** The three parts of a SIGNED{...} structure: tbs, signatureAlgorithm, signature. */
export function signedParts(b: Buffer, outer: Tlv, what: string): { tbs: Tlv; alg: Tlv; sig: Tlv } {
  const [tbs, alg, sig] = children(b, expectTag(outer, 0x30, what));
  if (!tbs || !alg || !sig || tbs.tag !== 0x30 || alg.tag !== 0x30 || sig.tag !== 0x03) fail(`malformed ${what}`);
  return { tbs, alg, sig };
}

/** Extensions (SEQUENCE OF Extension) → list with criticality and the extnValue contents. */
export function extensionsOf(b: Buffer, seq: Tlv): { oid: string; critical: boolean; value: Buffer }[] {
  return children(b, expectTag(seq, 0x30, 'extensions')).map((e) => {
    const p = children(b, e);
    const oid = decodeOid(b, expectTag(p[0], 0x06, 'extension'));
    const critical = p.length === 3 && p[1]!.tag === 0x01 && b[p[1]!.start] !== 0;
    const val = expectTag(p[p.length - 1], 0x04, 'extension value');
    return { oid, critical, value: bytesOf(b, val) };
  });
}

/** The GeneralizedTime inside an invalidityDate extension value. */
export function invalidityDateOf(value: Buffer): Date {
  const t = readTlv(value, 0);
  if (t.tag !== 0x18) fail('malformed invalidity date');
  return timeOf(value, t, 'invalidity date');
}

// ---- a minimal DER writer (enough for an OCSP request) ----

export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

export function oidDer(oid: string): Buffer {
  const parts = oid.split('.').map(Number);
  const out: number[] = [];
  const push = (v: number) => {
    const stack = [v & 0x7f];
    for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) stack.unshift(0x80 | (v & 0x7f));
    out.push(...stack);
  };
  push(parts[0]! * 40 + parts[1]!);
  for (const p of parts.slice(2)) push(p);
  return tlv(0x06, Buffer.from(out));
}
