/**
 * A small, strict CBOR (RFC 8949) codec for COSE_Sign1 envelopes.
 *
 * Why not a general-purpose library here: the decoder must fail closed on things a lenient decoder silently
 * accepts (duplicate map keys, indefinite lengths, trailing bytes, tag 0 vs tag 1 for times, non-text/int map
 * keys), and the encoder must produce the deterministic key order notation (go-cose / fxamacker/cbor) uses so our
 * envelopes look like notation's byte for byte. The subset is what COSE headers need.
 */

export class CborTag {
  constructor(readonly tag: number, readonly value: CborValue) {}
}

export type CborKey = number | string;
export type CborValue =
  | number
  | string
  | boolean
  | null
  | undefined
  | Buffer
  | CborValue[]
  | Map<CborKey, CborValue>
  | CborTag;

export class CborError extends Error {}

const MAX_DEPTH = 16;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes exactly one CBOR data item that must span all of `bytes`. */
export function decodeCbor(bytes: Uint8Array): CborValue {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;

  const need = (n: number): void => {
    if (n < 0 || pos + n > buf.length) throw new CborError('unexpected end of CBOR data');
  };

  const readArg = (info: number): number => {
    if (info < 24) return info;
    switch (info) {
      case 24: need(1); return buf[pos++]!;
      case 25: { need(2); const v = buf.readUInt16BE(pos); pos += 2; return v; }
      case 26: { need(4); const v = buf.readUInt32BE(pos); pos += 4; return v; }
      case 27: {
        need(8);
        const v = buf.readBigUInt64BE(pos);
        pos += 8;
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CborError('CBOR integer out of range');
        return Number(v);
      }
      case 31: throw new CborError('indefinite-length CBOR items are not allowed');
      default: throw new CborError(`reserved CBOR additional information ${info}`);
    }
  };

  const item = (depth: number): CborValue => {
    if (depth > MAX_DEPTH) throw new CborError('CBOR nesting too deep');
    need(1);
    const ib = buf[pos++]!;
    const major = ib >> 5;
    const info = ib & 0x1f;
    switch (major) {
      case 0: return readArg(info);
      case 1: return -1 - readArg(info);
      case 2: { const n = readArg(info); need(n); const b = Buffer.from(buf.subarray(pos, pos + n)); pos += n; return b; }
      case 3: {
        const n = readArg(info);
        need(n);
        let s: string;
        try { s = utf8.decode(buf.subarray(pos, pos + n)); } catch { throw new CborError('CBOR text string is not valid UTF-8'); }
        pos += n;
        return s;
      }
      case 4: {
        const n = readArg(info);
        if (n > buf.length - pos) throw new CborError('CBOR array length exceeds the data');
        const a: CborValue[] = [];
        for (let i = 0; i < n; i++) a.push(item(depth + 1));
        return a;
      }
      case 5: {
        const n = readArg(info);
        if (n * 2 > buf.length - pos) throw new CborError('CBOR map length exceeds the data');
        const m = new Map<CborKey, CborValue>();
        for (let i = 0; i < n; i++) {
          const k = item(depth + 1);
          if (typeof k !== 'number' && typeof k !== 'string') throw new CborError('CBOR map keys must be integers or text strings');
          if (m.has(k)) throw new CborError(`duplicate CBOR map key ${JSON.stringify(k)}`);
          m.set(k, item(depth + 1));
        }
        return m;
      }
      case 6: { const t = readArg(info); return new CborTag(t, item(depth + 1)); }
      default: {
        // major 7
        switch (info) {
          case 20: return false;
          case 21: return true;
          case 22: return null;
          case 23: return undefined;
          case 25: { need(2); const v = decodeHalf(buf.readUInt16BE(pos)); pos += 2; return v; }
          case 26: { need(4); const v = buf.readFloatBE(pos); pos += 4; return v; }
          case 27: { need(8); const v = buf.readDoubleBE(pos); pos += 8; return v; }
          default: throw new CborError(`unsupported CBOR simple value ${info}`);
        }
      }
    }
  };

  const v = item(0);
  if (pos !== buf.length) throw new CborError(`${buf.length - pos} trailing byte(s) after the CBOR item`);
  return v;
}

function decodeHalf(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function head(major: number, n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new CborError(`cannot encode length/argument ${n}`);
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) { const b = Buffer.alloc(3); b[0] = (major << 5) | 25; b.writeUInt16BE(n, 1); return b; }
  if (n < 0x100000000) { const b = Buffer.alloc(5); b[0] = (major << 5) | 26; b.writeUInt32BE(n, 1); return b; }
  const b = Buffer.alloc(9); b[0] = (major << 5) | 27; b.writeBigUInt64BE(BigInt(n), 1); return b;
}

/** Encodes a value; maps keep insertion order (use `canonicalMap` for the deterministic order). */
export function encodeCbor(v: CborValue): Buffer {
  const parts: Buffer[] = [];
  const enc = (x: CborValue): void => {
    if (x === null) parts.push(Buffer.from([0xf6]));
    else if (x === undefined) parts.push(Buffer.from([0xf7]));
    else if (x === false) parts.push(Buffer.from([0xf4]));
    else if (x === true) parts.push(Buffer.from([0xf5]));
    else if (typeof x === 'number') {
      if (Number.isSafeInteger(x)) parts.push(x >= 0 ? head(0, x) : head(1, -1 - x));
      else { const b = Buffer.alloc(9); b[0] = 0xfb; b.writeDoubleBE(x, 1); parts.push(b); }
    } else if (typeof x === 'string') { const b = Buffer.from(x, 'utf8'); parts.push(head(3, b.length), b); }
    else if (Buffer.isBuffer(x) || x instanceof Uint8Array) { parts.push(head(2, x.length), Buffer.from(x)); }
    else if (Array.isArray(x)) { parts.push(head(4, x.length)); x.forEach(enc); }
    else if (x instanceof Map) { parts.push(head(5, x.size)); for (const [k, val] of x) { enc(k); enc(val); } }
    else if (x instanceof CborTag) { parts.push(head(6, x.tag)); enc(x.value); }
    else throw new CborError('unsupported value for CBOR encoding');
  };
  enc(v);
  return Buffer.concat(parts);
}

/**
 * A map whose entries are ordered the way deterministic ("length-first", RFC 7049 §3.9 / CTAP2) encoders order
 * them: by encoded key length, then bytewise. That is the order go-cose writes COSE headers in.
 */
export function canonicalMap(entries: [CborKey, CborValue][]): Map<CborKey, CborValue> {
  const keyed = entries.map(([k, v]) => ({ k, v, e: encodeCbor(k) }));
  keyed.sort((a, b) => a.e.length - b.e.length || Buffer.compare(a.e, b.e));
  return new Map(keyed.map(({ k, v }) => [k, v]));
}
