/**
 * Byte-level helpers so our envelopes serialize the way notation (Go encoding/json) does:
 * compact JSON, Go's HTML-safe string escaping (<, >, & as \u003c \u003e \u0026; U+2028/U+2029 escaped),
 * and, where notation goes through a Go map, keys sorted bytewise.
 */
function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

function cmpBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Compact JSON like Go's json.Marshal. `sortKeys` = the value went through a map[string]any. */
export function goJson(v: unknown, sortKeys: boolean): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return goString(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError('non-finite number in JSON');
    return JSON.stringify(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return '[' + v.map((x) => goJson(x, sortKeys)).join(',') + ']';
  if (typeof v === 'object') {
    let keys = Object.keys(v as object).filter((k) => (v as Record<string, unknown>)[k] !== undefined);
    if (sortKeys) keys = keys.sort(cmpBytes);
    return '{' + keys.map((k) => goString(k) + ':' + goJson((v as Record<string, unknown>)[k], sortKeys)).join(',') + '}';
  }
  throw new TypeError(`cannot encode ${typeof v} as JSON`);
}

/** RFC 3339 at whole seconds in UTC ("2026-11-25T19:23:20Z"), the form notation writes. */
export function rfc3339Seconds(d: Date): string {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|([+-])(\d{2}):(\d{2}))$/;

/** Strict RFC 3339 date-time (upper-case T and Z, real calendar values). Returns undefined if invalid. */
export function parseRfc3339(s: unknown): Date | undefined {
  if (typeof s !== 'string') return undefined;
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se, frac, , sign, oh, om] = m;
  const Y = +y!, M = +mo!, D = +d!, H = +h!, Mi = +mi!, S = +se!;
  if (M < 1 || M > 12 || D < 1 || H > 23 || Mi > 59 || S > 59) return undefined;
  const dim = new Date(Date.UTC(Y, M, 0)).getUTCDate();
  if (D > dim) return undefined;
  if (oh !== undefined && (+oh > 23 || +om! > 59)) return undefined;
  let ms = Date.UTC(Y, M - 1, D, H, Mi, S);
  if (Y < 100) { const t = new Date(ms); t.setUTCFullYear(Y); ms = t.getTime(); }
  if (frac) ms += Math.floor(Number('0' + frac) * 1000);
  if (sign) ms -= (sign === '+' ? 1 : -1) * (+oh! * 60 + +om!) * 60_000;
  return new Date(ms);
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Strict unpadded base64url (RFC 7515 §2): alphabet, no padding, canonical trailing bits. */
export function decodeBase64Url(s: unknown, what: string, fail: (msg: string) => never): Buffer {
  if (typeof s !== 'string') fail(`${what} must be a string`);
  if (!B64URL.test(s) || s.length % 4 === 1) fail(`${what} is not unpadded base64url`);
  const b = Buffer.from(s, 'base64url');
  if (b.toString('base64url') !== s) fail(`${what} is not canonical base64url`);
  return b;
}

/** Strict standard base64 with padding (Go's []byte JSON encoding). */
export function decodeBase64Std(s: unknown, what: string, fail: (msg: string) => never): Buffer {
  if (typeof s !== 'string') fail(`${what} must be a base64 string`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) fail(`${what} is not standard base64`);
  const b = Buffer.from(s, 'base64');
  if (b.toString('base64') !== s) fail(`${what} is not canonical base64`);
  return b;
}
