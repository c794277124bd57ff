import type { X509Certificate } from 'node:crypto';
import { MediaType } from '../oci/mediaTypes.js';
import { SignatureError, envelopeInvalid } from './errors.js';
import { COSE_ALG, COSE_ALG_BY_LABEL, algorithmForKey, isSignatureAlgorithm, verifyRaw } from './algorithms.js';
import { CborError, CborTag, canonicalMap, decodeCbor, encodeCbor, type CborKey, type CborValue } from './cbor.js';
import { decodeBase64Std, decodeBase64Url, goJson, parseRfc3339, rfc3339Seconds } from './encoding.js';
import { findDuplicateKey } from '../oci/jsonstrict.js';
import { PAYLOAD_MEDIA_TYPE, encodePayload, parsePayload } from './payload.js';
import { parseGoCertificate } from '../trust/x509.js';
import type {
  EnvelopeMediaType,
  NotaryPayload,
  ParsedEnvelope,
  SignatureAlgorithm,
  SignedAttributes,
  Signer,
  SigningScheme,
  UnsignedAttributes,
} from './types.js';

export const H_SIGNING_SCHEME = 'io.cncf.notary.signingScheme';
export const H_SIGNING_TIME = 'io.cncf.notary.signingTime';
export const H_AUTHENTIC_SIGNING_TIME = 'io.cncf.notary.authenticSigningTime';
export const H_EXPIRY = 'io.cncf.notary.expiry';
export const H_SIGNING_AGENT = 'io.cncf.notary.signingAgent';
export const H_TIMESTAMP_SIGNATURE = 'io.cncf.notary.timestampSignature';

/** Largest envelope we fetch and parse: notation-go's limit for a signature blob (maxBlobSizeLimit, 32 MiB). */
export const MAX_ENVELOPE_BYTES = 32 * 1024 * 1024;

const KNOWN_SIGNED = new Set([H_SIGNING_SCHEME, H_SIGNING_TIME, H_AUTHENTIC_SIGNING_TIME, H_EXPIRY]);
/** Registered JOSE header parameters that must not appear in a Notary protected header (they would change meaning). */
const FORBIDDEN_JWS_PROTECTED = new Set(['jku', 'jwk', 'kid', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'typ', 'b64', 'zip', 'enc', 'epk', 'apu', 'apv', 'iv', 'tag', 'p2s', 'p2c', 'ppt', 'url', 'nonce']);

function isScheme(s: unknown): s is SigningScheme {
  return s === 'notary.x509' || s === 'notary.x509.signingAuthority';
}

function parseCert(der: Buffer, i: number): X509Certificate {
  let c: X509Certificate;
  try {
    c = parseGoCertificate(der); // as notation's x509.ParseCertificate: exactly DER, no trailing data, Go's rules
  } catch (e) {
    envelopeInvalid(`certificate #${i + 1} in the chain is not a valid X.509 certificate (${(e as Error).message})`, 'bad-certificate');
  }
  try {
    void c.publicKey.asymmetricKeyType;
  } catch (e) {
    envelopeInvalid(`certificate #${i + 1} in the chain has an unusable public key (${(e as Error).message})`, 'bad-certificate');
  }
  return c;
}

/** Shared rules for the signed attributes of both formats (signature-specification.md, "Signed Attributes"). */
function checkSignedAttributes(
  scheme: unknown,
  signingTime: Date | undefined,
  authenticSigningTime: Date | undefined,
  expiry: Date | undefined,
  crit: (string | number)[],
  format: 'jws' | 'cose',
  present: (k: string | number) => boolean,
): SigningScheme {
  if (scheme === undefined) envelopeInvalid(`${H_SIGNING_SCHEME} is missing`, 'missing-signingScheme');
  if (!isScheme(scheme)) envelopeInvalid(`unsupported signing scheme ${JSON.stringify(scheme)}`, 'unsupported-signingScheme');
  if (scheme === 'notary.x509') {
    if (signingTime === undefined) envelopeInvalid(`${H_SIGNING_TIME} is required for notary.x509`, 'missing-signingTime');
    if (authenticSigningTime !== undefined) envelopeInvalid(`${H_AUTHENTIC_SIGNING_TIME} must not be present for notary.x509`, 'unexpected-authenticSigningTime');
  } else {
    if (authenticSigningTime === undefined) envelopeInvalid(`${H_AUTHENTIC_SIGNING_TIME} is required for notary.x509.signingAuthority`, 'missing-authenticSigningTime');
    if (signingTime !== undefined) envelopeInvalid(`${H_SIGNING_TIME} must not be present for notary.x509.signingAuthority`, 'unexpected-signingTime');
  }
  // notation-core-go (base envelope, validateSigningAndExpiryTime): an expiry must come after the signing time
  // (authenticSigningTime under notary.x509.signingAuthority), or the envelope is invalid at every level.
  const signedAt = signingTime ?? authenticSigningTime!;
  if (expiry !== undefined && expiry.getTime() <= signedAt.getTime()) {
    envelopeInvalid(`${H_EXPIRY} ${expiry.toISOString()} is not after the signing time ${signedAt.toISOString()}`, 'expiry-not-after-signing-time');
  }
  if (crit.length === 0) envelopeInvalid('crit must be a non-empty list', 'missing-crit');
  const seen = new Set<string | number>();
  for (const c of crit) {
    if (seen.has(c)) envelopeInvalid(`crit lists ${JSON.stringify(c)} twice`, 'crit-duplicate');
    seen.add(c);
    if (!present(c)) envelopeInvalid(`${JSON.stringify(c)} is marked critical but not present`, 'crit-not-present');
    // notation-core-go's JWS reader takes in crit only the headers that must be critical and extended attributes;
    // the signing time is neither (its COSE reader has no such rule)
    if (format === 'jws' && c === H_SIGNING_TIME) envelopeInvalid(`${JSON.stringify(c)} header is marked critical but not present`, 'crit-not-present');
    if (typeof c !== 'string' || !KNOWN_SIGNED.has(c)) {
      envelopeInvalid(`unsupported critical header ${JSON.stringify(c)}`, 'crit-unknown');
    }
  }
  const must = [H_SIGNING_SCHEME];
  if (expiry !== undefined) must.push(H_EXPIRY);
  if (scheme === 'notary.x509.signingAuthority') must.push(H_AUTHENTIC_SIGNING_TIME);
  for (const m of must) if (!seen.has(m)) envelopeInvalid(`${m} must be marked critical`, `crit-missing-${m.slice('io.cncf.notary.'.length)}`);
  return scheme;
}

// ---------------------------------------------------------------------------------------------- JWS

function parseJws(raw: Buffer): ParsedEnvelope {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    envelopeInvalid('JWS envelope is not valid UTF-8', 'not-utf8');
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    envelopeInvalid(`JWS envelope is not valid JSON (${(e as Error).message})`, 'not-json');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) envelopeInvalid('JWS envelope must be a JSON object', 'not-object');
  const dup = findDuplicateKey(text);
  if (dup !== undefined) envelopeInvalid(`JWS envelope repeats member ${JSON.stringify(dup)}`, 'duplicate-member');
  const env = v as Record<string, unknown>;
  for (const k of Object.keys(env)) {
    if (!['payload', 'protected', 'header', 'signature'].includes(k)) {
      envelopeInvalid(`unexpected JWS member ${JSON.stringify(k)} (only the flattened JSON serialization is supported)`, 'unknown-member');
    }
  }
  for (const k of ['payload', 'protected', 'header', 'signature']) {
    if (env[k] === undefined) envelopeInvalid(`JWS member "${k}" is missing`, `missing-${k}`);
  }

  // protected header
  const protectedB64 = env.protected as string;
  const protectedBytes = decodeBase64Url(protectedB64, 'protected header', (m) => envelopeInvalid(m, 'bad-protected'));
  let ph: Record<string, unknown>;
  try {
    const phText = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(protectedBytes);
    const p = JSON.parse(phText);
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new Error('not a JSON object');
    const d = findDuplicateKey(phText);
    if (d !== undefined) throw new Error(`repeats member ${JSON.stringify(d)}`);
    ph = p as Record<string, unknown>;
  } catch (e) {
    envelopeInvalid(`protected header is not a valid JSON object (${(e as Error).message})`, 'bad-protected');
  }
  for (const k of Object.keys(ph)) {
    if (FORBIDDEN_JWS_PROTECTED.has(k)) envelopeInvalid(`header parameter ${JSON.stringify(k)} is not allowed in the protected header`, 'forbidden-header');
  }
  const alg = ph.alg;
  if (alg === undefined) envelopeInvalid('protected header "alg" is missing', 'missing-alg');
  if (!isSignatureAlgorithm(alg)) {
    throw new SignatureError('UNSUPPORTED_ALGORITHM', `unsupported signature algorithm ${JSON.stringify(alg)}`, { reason: 'unsupported-alg' });
  }
  if (ph.cty !== PAYLOAD_MEDIA_TYPE) envelopeInvalid(`protected header "cty" must be ${PAYLOAD_MEDIA_TYPE}, got ${JSON.stringify(ph.cty)}`, 'bad-cty');
  const crit = ph.crit;
  if (!Array.isArray(crit) || crit.some((c) => typeof c !== 'string')) envelopeInvalid('protected header "crit" must be an array of strings', 'bad-crit');
  const time = (k: string): Date | undefined => {
    if (ph[k] === undefined) return undefined;
    const d = parseRfc3339(ph[k]);
    if (!d) envelopeInvalid(`${k} must be an RFC 3339 date-time string, got ${JSON.stringify(ph[k])}`, `bad-${k.slice(15)}`);
    return d;
  };
  const signingTime = time(H_SIGNING_TIME);
  const authenticSigningTime = time(H_AUTHENTIC_SIGNING_TIME);
  const expiry = time(H_EXPIRY);
  const scheme = checkSignedAttributes(ph[H_SIGNING_SCHEME], signingTime, authenticSigningTime, expiry, crit as string[], 'jws', (k) => ph[k as string] !== undefined);
  const critSet = new Set(crit as string[]);
  const extended = Object.keys(ph)
    .filter((k) => !['alg', 'cty', 'crit'].includes(k) && !KNOWN_SIGNED.has(k))
    .map((k) => ({ key: k, value: ph[k], critical: critSet.has(k) }));

  // payload
  const payloadB64 = env.payload as string;
  const payloadBytes = decodeBase64Url(payloadB64, 'payload', (m) => envelopeInvalid(m, 'bad-payload-encoding'));
  const payload = parsePayload(payloadBytes);

  // unprotected header
  const h = env.header;
  if (typeof h !== 'object' || h === null || Array.isArray(h)) envelopeInvalid('JWS "header" must be a JSON object', 'bad-header');
  const uh = h as Record<string, unknown>;
  for (const k of Object.keys(uh)) {
    if (![H_SIGNING_AGENT, H_TIMESTAMP_SIGNATURE, 'x5c'].includes(k)) envelopeInvalid(`unexpected unprotected header ${JSON.stringify(k)}`, 'unknown-unprotected');
  }
  const x5c = uh.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0) envelopeInvalid('unprotected header "x5c" (certificate chain) is missing or empty', 'missing-x5c');
  const chain = x5c.map((c, i) => parseCert(decodeBase64Std(c, `x5c[${i}]`, (m) => envelopeInvalid(m, 'bad-certificate')), i));
  const unsigned: UnsignedAttributes = {};
  if (uh[H_SIGNING_AGENT] !== undefined) {
    if (typeof uh[H_SIGNING_AGENT] !== 'string') envelopeInvalid(`${H_SIGNING_AGENT} must be a string`, 'bad-signingAgent');
    unsigned.signingAgent = uh[H_SIGNING_AGENT] as string;
  }
  if (uh[H_TIMESTAMP_SIGNATURE] !== undefined) {
    unsigned.timestampSignature = decodeBase64Std(uh[H_TIMESTAMP_SIGNATURE], H_TIMESTAMP_SIGNATURE, (m) => envelopeInvalid(m, 'bad-timestampSignature'));
  }

  const signature = decodeBase64Url(env.signature, 'signature', (m) => envelopeInvalid(m, 'bad-signature-encoding'));
  if (signature.length === 0) envelopeInvalid('signature is empty', 'empty-signature');

  const signedAttributes: SignedAttributes = {
    contentType: PAYLOAD_MEDIA_TYPE,
    signingScheme: scheme,
    ...(signingTime ? { signingTime } : {}),
    ...(authenticSigningTime ? { authenticSigningTime } : {}),
    ...(expiry ? { expiry } : {}),
    extended,
  };
  return {
    mediaType: MediaType.JWS,
    payload,
    payloadBytes,
    signedAttributes,
    unsignedAttributes: unsigned,
    certificateChain: chain,
    signatureAlgorithm: alg,
    signature,
    signingInput: Buffer.from(`${protectedB64}.${payloadB64}`, 'ascii'),
    raw,
  };
}

// --------------------------------------------------------------------------------------------- COSE

function coseTime(v: CborValue, label: string): Date {
  if (!(v instanceof CborTag) || v.tag !== 1 || typeof v.value !== 'number' || !Number.isFinite(v.value)) {
    envelopeInvalid(`${label} must be a tag 1 (epoch-based) date/time`, `bad-${label.slice(15)}`);
  }
  const ms = Math.floor((v.value as number) * 1000);
  if (!Number.isSafeInteger(ms) || Math.abs(ms) > 8.64e15) envelopeInvalid(`${label} is out of range`, `bad-${label.slice(15)}`);
  return new Date(ms);
}

export function sigStructure(protectedBytes: Buffer, payload: Buffer): Buffer {
  return encodeCbor(['Signature1', protectedBytes, Buffer.alloc(0), payload]);
}

function parseCose(raw: Buffer): ParsedEnvelope {
  let top: CborValue;
  try {
    top = decodeCbor(raw);
  } catch (e) {
    envelopeInvalid(`COSE envelope is not valid CBOR (${(e as CborError).message})`, 'not-cbor');
  }
  if (!(top instanceof CborTag) || top.tag !== 18) envelopeInvalid('COSE envelope must be a tagged COSE_Sign1 (tag 18)', 'not-cose-sign1');
  const arr = top.value;
  if (!Array.isArray(arr) || arr.length !== 4) envelopeInvalid('COSE_Sign1 must be an array of 4 items', 'not-cose-sign1');
  const [protectedBytes, unprotected, payloadBytes, signature] = arr as [CborValue, CborValue, CborValue, CborValue];
  if (!Buffer.isBuffer(protectedBytes) || protectedBytes.length === 0) envelopeInvalid('COSE protected header must be a non-empty byte string', 'bad-protected');
  let ph: CborValue;
  try {
    ph = decodeCbor(protectedBytes);
  } catch (e) {
    envelopeInvalid(`COSE protected header is not valid CBOR (${(e as Error).message})`, 'bad-protected');
  }
  if (!(ph instanceof Map)) envelopeInvalid('COSE protected header must be a map', 'bad-protected');
  const p = ph as Map<CborKey, CborValue>;
  for (const k of p.keys()) {
    if (typeof k === 'number' && ![1, 2, 3].includes(k)) envelopeInvalid(`COSE header label ${k} is not allowed in the protected header`, 'forbidden-header');
  }
  const algLabel = p.get(1);
  if (algLabel === undefined) envelopeInvalid('COSE protected header alg (label 1) is missing', 'missing-alg');
  const alg = typeof algLabel === 'number' ? COSE_ALG_BY_LABEL.get(algLabel) : undefined;
  if (!alg) throw new SignatureError('UNSUPPORTED_ALGORITHM', `unsupported COSE algorithm ${JSON.stringify(algLabel)}`, { reason: 'unsupported-alg' });
  if (p.get(3) !== PAYLOAD_MEDIA_TYPE) envelopeInvalid(`COSE content type (label 3) must be ${PAYLOAD_MEDIA_TYPE}, got ${JSON.stringify(p.get(3))}`, 'bad-cty');
  const crit = p.get(2);
  if (!Array.isArray(crit) || crit.some((c) => typeof c !== 'string' && typeof c !== 'number')) {
    envelopeInvalid('COSE crit (label 2) must be an array of labels', 'bad-crit');
  }
  const time = (k: string): Date | undefined => (p.has(k) ? coseTime(p.get(k)!, k) : undefined);
  const signingTime = time(H_SIGNING_TIME);
  const authenticSigningTime = time(H_AUTHENTIC_SIGNING_TIME);
  const expiry = time(H_EXPIRY);
  const scheme = checkSignedAttributes(p.get(H_SIGNING_SCHEME), signingTime, authenticSigningTime, expiry, crit as (string | number)[], 'cose', (k) => p.has(k));
  const critSet = new Set(crit as (string | number)[]);
  const extended = [...p.keys()]
    .filter((k): k is string => typeof k === 'string' && !KNOWN_SIGNED.has(k))
    .map((k) => ({ key: k, value: p.get(k), critical: critSet.has(k) }));

  if (!Buffer.isBuffer(payloadBytes)) envelopeInvalid('COSE payload must be an embedded byte string (detached payloads are not supported)', 'bad-payload');
  const payload = parsePayload(payloadBytes);

  if (!(unprotected instanceof Map)) envelopeInvalid('COSE unprotected header must be a map', 'bad-header');
  for (const k of unprotected.keys()) {
    if (k !== 33 && k !== H_SIGNING_AGENT && k !== H_TIMESTAMP_SIGNATURE) envelopeInvalid(`unexpected unprotected header ${JSON.stringify(k)}`, 'unknown-unprotected');
  }
  const x5 = unprotected.get(33);
  if (!Array.isArray(x5) || x5.length === 0) envelopeInvalid('COSE x5chain (label 33) is missing or not a non-empty array', 'missing-x5c');
  const chain = x5.map((c, i) => {
    if (!Buffer.isBuffer(c)) envelopeInvalid(`x5chain[${i}] must be a byte string`, 'bad-certificate');
    return parseCert(c, i);
  });
  const unsigned: UnsignedAttributes = {};
  const agent = unprotected.get(H_SIGNING_AGENT);
  if (agent !== undefined) {
    if (typeof agent !== 'string') envelopeInvalid(`${H_SIGNING_AGENT} must be a text string`, 'bad-signingAgent');
    unsigned.signingAgent = agent;
  }
  const tst = unprotected.get(H_TIMESTAMP_SIGNATURE);
  if (tst !== undefined) {
    if (!Buffer.isBuffer(tst)) envelopeInvalid(`${H_TIMESTAMP_SIGNATURE} must be a byte string`, 'bad-timestampSignature');
    unsigned.timestampSignature = tst;
  }
  if (!Buffer.isBuffer(signature) || signature.length === 0) envelopeInvalid('COSE signature must be a non-empty byte string', 'empty-signature');

  return {
    mediaType: MediaType.COSE,
    payload,
    payloadBytes,
    signedAttributes: {
      contentType: PAYLOAD_MEDIA_TYPE,
      signingScheme: scheme,
      ...(signingTime ? { signingTime } : {}),
      ...(authenticSigningTime ? { authenticSigningTime } : {}),
      ...(expiry ? { expiry } : {}),
      extended,
    },
    unsignedAttributes: unsigned,
    certificateChain: chain,
    signatureAlgorithm: alg,
    signature,
    signingInput: sigStructure(protectedBytes, payloadBytes),
    raw,
  };
}

// ------------------------------------------------------------------------------------------- public

/**
 * Parses an envelope strictly (structure, header rules, types, payload). Does NOT check the signature:
 * call `verifyIntegrity` next. Throws SignatureError (ENVELOPE_INVALID, UNSUPPORTED_ALGORITHM, PAYLOAD_INVALID,
 * UNSUPPORTED_MEDIA_TYPE) with the reason.
 */
export function parseEnvelope(bytes: Buffer, mediaType: string): ParsedEnvelope {
  if (!Buffer.isBuffer(bytes)) bytes = Buffer.from(bytes);
  if (bytes.length > MAX_ENVELOPE_BYTES) envelopeInvalid(`envelope is larger than ${MAX_ENVELOPE_BYTES} bytes`, 'too-large');
  if (mediaType === MediaType.JWS) return parseJws(bytes);
  if (mediaType === MediaType.COSE) return parseCose(bytes);
  throw new SignatureError('UNSUPPORTED_MEDIA_TYPE', `unsupported signature envelope media type ${JSON.stringify(mediaType)}`, {
    hint: 'Notary Project envelopes are application/jose+json or application/cose',
    reason: 'unsupported-media-type',
  });
}

/**
 * Checks the signature value over the signed bytes with the leaf certificate's public key, and that `alg` is the
 * one the spec assigns to that key. Throws SignatureError INTEGRITY / ALGORITHM_KEY_MISMATCH / UNSUPPORTED_ALGORITHM.
 */
export function verifyIntegrity(env: ParsedEnvelope): void {
  const leaf = env.certificateChain[0];
  if (!leaf) envelopeInvalid('certificate chain is empty', 'missing-x5c');
  const expected = algorithmForKey(leaf.publicKey);
  if (expected !== env.signatureAlgorithm) {
    throw new SignatureError(
      'ALGORITHM_KEY_MISMATCH',
      `signature algorithm ${env.signatureAlgorithm} does not match the signing certificate's key (which requires ${expected})`,
      { reason: 'alg-key-mismatch' },
    );
  }
  let ok = false;
  try {
    ok = verifyRaw(env.signatureAlgorithm, leaf.publicKey, env.signingInput, env.signature);
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new SignatureError('INTEGRITY', 'integrity check failed: the signature does not verify over the signed content with the leaf certificate key', {
      reason: 'signature-invalid',
      hint: 'the envelope was modified or was not made with this certificate; do not trust it',
    });
  }
}

/** notation's JWS protected header bytes for notary.x509 (a Go map: keys sorted; crit = signingScheme[, expiry]). */
export function jwsProtectedHeader(alg: SignatureAlgorithm, signingTime: Date, expiry?: Date): Buffer {
  const header: Record<string, unknown> = {
    alg,
    crit: [H_SIGNING_SCHEME, ...(expiry ? [H_EXPIRY] : [])],
    cty: PAYLOAD_MEDIA_TYPE,
    [H_SIGNING_SCHEME]: 'notary.x509',
    [H_SIGNING_TIME]: rfc3339Seconds(signingTime),
    ...(expiry ? { [H_EXPIRY]: rfc3339Seconds(expiry) } : {}),
  };
  return Buffer.from(goJson(header, true), 'utf8');
}

/** JWS JSON serialization in notation's member order; x5c as standard base64 DER. */
export function serializeJws(p: { protectedB64: string; payloadB64: string; chain: Buffer[]; signingAgent?: string; timestampSignature?: Buffer; signature: Buffer }): Buffer {
  const header: Record<string, unknown> = {};
  if (p.timestampSignature) header[H_TIMESTAMP_SIGNATURE] = p.timestampSignature.toString('base64');
  header.x5c = p.chain.map((c) => c.toString('base64'));
  if (p.signingAgent) header[H_SIGNING_AGENT] = p.signingAgent;
  return Buffer.from(goJson({ payload: p.payloadB64, protected: p.protectedB64, header, signature: p.signature.toString('base64url') }, false), 'utf8');
}

/** notation's COSE protected header: deterministic (length-first) key order, times as tag 1 epoch seconds. */
export function coseProtectedHeader(alg: SignatureAlgorithm, signingTime: Date, expiry?: Date): Buffer {
  const entries: [CborKey, CborValue][] = [
    [1, COSE_ALG[alg]],
    [2, [H_SIGNING_SCHEME, ...(expiry ? [H_EXPIRY] : [])]],
    [3, PAYLOAD_MEDIA_TYPE],
    [H_SIGNING_SCHEME, 'notary.x509'],
    [H_SIGNING_TIME, new CborTag(1, Math.floor(signingTime.getTime() / 1000))],
  ];
  if (expiry) entries.push([H_EXPIRY, new CborTag(1, Math.floor(expiry.getTime() / 1000))]);
  return encodeCbor(canonicalMap(entries));
}

/** COSE_Sign1_Tagged with notation's unprotected header layout (x5chain label 33, signingAgent). */
export function serializeCose(p: { protectedBytes: Buffer; payloadBytes: Buffer; chain: Buffer[]; signingAgent?: string; timestampSignature?: Buffer; signature: Buffer }): Buffer {
  const u: [CborKey, CborValue][] = [[33, p.chain]];
  if (p.signingAgent) u.push([H_SIGNING_AGENT, p.signingAgent]);
  if (p.timestampSignature) u.push([H_TIMESTAMP_SIGNATURE, p.timestampSignature]);
  return encodeCbor(new CborTag(18, [p.protectedBytes, canonicalMap(u), p.payloadBytes, p.signature]));
}

export interface CreateEnvelopeOptions {
  payload: NotaryPayload;
  format: 'jws' | 'cose';
  signer: Signer;
  /** Defaults to now; written at whole seconds like notation. */
  signingTime?: Date;
  expiry?: Date;
  signingAgent?: string;
  /** RFC 3161 countersignature of the signature value (src/signature/tsa.ts), put in the unprotected header. */
  timestamp?: (signature: Buffer, alg: SignatureAlgorithm) => Promise<Buffer>;
}

/** Produces a notary.x509 envelope the way notation 1.3.2 lays it out, then re-parses and verifies it (fail closed). */
export async function createEnvelope(opts: CreateEnvelopeOptions): Promise<{ bytes: Buffer; mediaType: EnvelopeMediaType }> {
  const { signer, format } = opts;
  const chain = signer.certificateChain;
  if (!chain || chain.length === 0) throw new SignatureError('SIGNING_FAILED', 'the signer has no certificate chain');
  const keyAlg = algorithmForKey(chain[0]!.publicKey);
  if (signer.algorithm !== keyAlg) {
    throw new SignatureError('ALGORITHM_KEY_MISMATCH', `signer algorithm ${signer.algorithm} does not match the leaf certificate key (${keyAlg})`);
  }
  const alg: SignatureAlgorithm = keyAlg;
  const signingTime = new Date(Math.floor((opts.signingTime ?? new Date()).getTime() / 1000) * 1000);
  const expiry = opts.expiry ? new Date(Math.floor(opts.expiry.getTime() / 1000) * 1000) : undefined;
  if (expiry && expiry.getTime() <= signingTime.getTime()) {
    throw new SignatureError('SIGNING_FAILED', 'expiry must be later than the signing time');
  }
  const payloadBytes = encodePayload(opts.payload, format);
  let bytes: Buffer;
  let mediaType: EnvelopeMediaType;

  if (format === 'jws') {
    const protectedB64 = jwsProtectedHeader(alg, signingTime, expiry).toString('base64url');
    const payloadB64 = payloadBytes.toString('base64url');
    const sig = await signer.sign(Buffer.from(`${protectedB64}.${payloadB64}`, 'ascii'));
    const timestampSignature = opts.timestamp ? await opts.timestamp(sig, alg) : undefined;
    bytes = serializeJws({ protectedB64, payloadB64, chain: chain.map((c) => c.raw), signingAgent: opts.signingAgent, timestampSignature, signature: sig });
    mediaType = MediaType.JWS;
  } else {
    const protectedBytes = coseProtectedHeader(alg, signingTime, expiry);
    const sig = await signer.sign(sigStructure(protectedBytes, payloadBytes));
    const timestampSignature = opts.timestamp ? await opts.timestamp(sig, alg) : undefined;
    bytes = serializeCose({ protectedBytes, payloadBytes, chain: chain.map((c) => c.raw), signingAgent: opts.signingAgent, timestampSignature, signature: sig });
    mediaType = MediaType.COSE;
  }
  const check = parseEnvelope(bytes, mediaType);
  try {
    verifyIntegrity(check);
  } catch (e) {
    throw new SignatureError('SIGNING_FAILED', `the signer produced a signature that does not verify (${(e as Error).message})`, { cause: e });
  }
  return { bytes, mediaType };
}
