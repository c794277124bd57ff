/**
 * Just enough DER to read the certificate extensions the Notary Project signing requirements talk about
 * (basicConstraints, keyUsage, extendedKeyUsage) with their criticality; node:crypto's X509Certificate does not
 * expose key usage bits or criticality. Throws on malformed input.
 * The TLV reader below is the project's one DER reader (trust/x509.ts and trust/timestamp.ts use it too).
 */
export interface Tlv {
  tag: number;
  /** offset of the value */
  start: number;
  /** offset after the value */
  end: number;
  /** offset of the tag byte */
  hdr: number;
}

export class DerError extends Error {}

/**
 * The length octets at `p`: the length and where the contents start, which must end by `limit`. DER: the shortest
 * form only (X.690 10.1, as Go's encoding/asn1 and crypto/x509 read it, so notation); BER: any definite form.
 */
function readLength(b: Buffer, p: number, limit: number, kind: 'DER' | 'BER'): { len: number; start: number } {
  let len = b[p++]!;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 && kind === 'BER') throw new DerError('indefinite-length BER is not supported');
    if (n === 0 || n > 4 || p + n > limit) throw new DerError(`bad ${kind} length`);
    if (kind === 'DER' && b[p] === 0) throw new DerError('non-minimal DER length (leading zero octet)');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i]!;
    if (kind === 'DER' && len < 0x80) throw new DerError('non-minimal DER length (long form for a short length)');
    p += n;
  }
  if (p + len > limit) throw new DerError(`${kind} value overruns its container`);
  return { len, start: p };
}

export function readTlv(b: Buffer, off: number, limit = b.length): Tlv {
  if (off + 2 > limit) throw new DerError('truncated DER');
  const tag = b[off]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not supported');
  const { len, start } = readLength(b, off + 1, limit, 'DER');
  return { tag, start, end: start + len, hdr: off };
}

/** Identifier + length octets of a BER element (definite lengths only, any number of length octets). */
function readBerHeader(b: Buffer, off: number, limit: number): { id: Buffer; start: number; end: number } {
  let p = off;
  if (p >= limit) throw new DerError('truncated BER');
  if ((b[p++]! & 0x1f) === 0x1f) {
    while (p < limit && b[p]! & 0x80) p++;
    p++; // last octet of a high tag number
  }
  if (p >= limit) throw new DerError('truncated BER');
  const { len, start } = readLength(b, p, limit, 'BER');
  return { id: b.subarray(off, p), start, end: start + len };
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const octets: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) octets.unshift(v % 256);
  return Buffer.from([0x80 | octets.length, ...octets]);
}

/**
 * Re-encodes definite-length BER with DER's shortest length octets, the contents of primitive values unchanged
 * and constructed values walked the same way: what tspclient-go (ber.ConvertToDER) does to a timestamp token before
 * reading it, so a TSA that writes longer length octets than needed is read as notation reads it. Indefinite
 * lengths are refused, as there.
 */
export function berLengthsToDer(b: Buffer): Buffer {
  const walk = (off: number, limit: number): { out: Buffer[]; size: number; next: number } => {
    const h = readBerHeader(b, off, limit);
    let body: Buffer[];
    let size: number;
    if (h.id[0]! & 0x20) {
      body = [];
      size = 0;
      for (let p = h.start; p < h.end;) {
        const c = walk(p, h.end);
        body.push(...c.out);
        size += c.size;
        p = c.next;
      }
    } else {
      body = [b.subarray(h.start, h.end)];
      size = h.end - h.start;
    }
    const head = Buffer.concat([h.id, derLength(size)]);
    return { out: [head, ...body], size: head.length + size, next: h.end };
  };
  const top = walk(0, b.length);
  if (top.next !== b.length) throw new DerError('trailing bytes after the BER value');
  return Buffer.concat(top.out);
}

export function children(b: Buffer, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = t.start;
  while (p < t.end) {
    const c = readTlv(b, p, t.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

export function decodeOid(b: Buffer, t: Tlv): string {
  const v = b.subarray(t.start, t.end);
  if (v.length === 0) throw new DerError('empty OID');
  const parts: number[] = [];
  let acc = 0;
  for (const byte of v) {
    acc = acc * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(acc);
      acc = 0;
    }
  }
  const first = parts.shift()!;
  const a = first < 80 ? Math.floor(first / 40) : 2;
  return [a, first - a * 40, ...parts].join('.');
}

export interface CertExtension {
  oid: string;
  critical: boolean;
  value: Buffer;
}

export function certificateExtensions(der: Buffer): CertExtension[] {
  const cert = readTlv(der, 0);
  const tbs = children(der, cert)[0];
  if (!tbs) throw new Error('bad certificate');
  const exts = children(der, tbs).find((c) => c.tag === 0xa3);
  if (!exts) return [];
  const seq = children(der, exts)[0];
  if (!seq) return [];
  return children(der, seq).map((e) => {
    const parts = children(der, e);
    const oid = decodeOid(der, parts[0]!);
    let critical = false;
    let valueTlv = parts[1]!;
    if (valueTlv.tag === 0x01) {
      critical = der[valueTlv.start] !== 0;
      valueTlv = parts[2]!;
    }
    return { oid, critical, value: Buffer.from(der.subarray(valueTlv.start, valueTlv.end)) };
  });
}

export const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
  anyExtendedKeyUsage: '2.5.29.37.0',
} as const;

/** keyUsage BIT STRING → set bit names. */
export function parseKeyUsage(value: Buffer): Set<string> {
  const t = readTlv(value, 0);
  if (t.tag !== 0x03) throw new Error('keyUsage is not a BIT STRING');
  const bytes = value.subarray(t.start + 1, t.end);
  const names = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly'];
  const out = new Set<string>();
  names.forEach((n, i) => {
    const byte = bytes[i >> 3];
    if (byte !== undefined && byte & (0x80 >> (i & 7))) out.add(n);
  });
  return out;
}

export function parseBasicConstraints(value: Buffer): { ca: boolean; pathLen?: number } {
  const seq = readTlv(value, 0);
  let ca = false;
  let pathLen: number | undefined;
  for (const c of children(value, seq)) {
    if (c.tag === 0x01) ca = value[c.start] !== 0;
    else if (c.tag === 0x02) pathLen = value.subarray(c.start, c.end).reduce((a, x) => a * 256 + x, 0);
  }
  return { ca, pathLen };
}

export function parseExtKeyUsage(value: Buffer): string[] {
  const seq = readTlv(value, 0);
  return children(value, seq).map((c) => decodeOid(value, c));
}

/** OID of the certificate's outer signatureAlgorithm. */
export function signatureAlgorithmOid(der: Buffer): string {
  const cert = readTlv(der, 0);
  const alg = children(der, cert)[1];
  if (!alg) throw new Error('bad certificate');
  const oid = children(der, alg)[0];
  if (!oid || oid.tag !== 0x06) throw new Error('bad certificate signature algorithm');
  return decodeOid(der, oid);
}
