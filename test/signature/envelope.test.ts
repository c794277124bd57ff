import { expect } from 'chai';
import type { X509Certificate, KeyObject } from 'node:crypto';
import { generateTestKey, type GeneratedKey, type TestKeyType } from '../../src/pki/generate.js';
import { signerFromKey } from '../../src/pki/keys.js';
import {
  createEnvelope,
  parseEnvelope,
  verifyIntegrity,
  signRaw,
  sigStructure,
  serializeCose,
  SignatureError,
  COSE_ALG,
  type ParsedEnvelope,
  type SignatureAlgorithm,
} from '../../src/signature/index.js';
import { CborTag, canonicalMap, encodeCbor } from '../../src/signature/cbor.js';
import type { Descriptor } from '../../src/oci/descriptor.js';

const TARGET: Descriptor = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: 'sha256:a983015660589b7152ba0db819cbf57a85570ff5cc05188b0a0554db444754ef',
  size: 461,
  annotations: { 'io.wabbit-networks.buildId': '123', env: 'prod<&>' },
};

const keys: Partial<Record<TestKeyType, GeneratedKey>> = {};
before(async function () {
  this.timeout(60000);
  for (const t of ['rsa-3072', 'ec-p256', 'ec-p384'] as const) keys[t] = await generateTestKey({ name: `t-${t}`, type: t });
});

function errOf(fn: () => unknown): SignatureError | undefined {
  try {
    fn();
  } catch (e) {
    return e as SignatureError;
  }
  return undefined;
}

/** Parse + integrity; returns the error code or 'ok'. */
function outcome(bytes: Buffer, mt: string): { code: string; env?: ParsedEnvelope } {
  try {
    const env = parseEnvelope(bytes, mt);
    verifyIntegrity(env);
    return { code: 'ok', env };
  } catch (e) {
    expect(e, 'only typed errors may escape').to.be.instanceOf(SignatureError);
    return { code: (e as SignatureError).code };
  }
}

describe('signature: envelopes we create', () => {
  for (const t of ['rsa-3072', 'ec-p256', 'ec-p384'] as const) {
    for (const format of ['jws', 'cose'] as const) {
      it(`round-trips ${format.toUpperCase()} with ${t} (payload, times, chain, agent)`, async () => {
        const k = keys[t]!;
        const signer = signerFromKey(k.privateKey, k.chain);
        const signingTime = new Date('2026-11-25T19:23:20.789Z');
        const expiry = new Date('2026-12-25T19:23:20Z');
        const out = await createEnvelope({ payload: { targetArtifact: TARGET }, format, signer, signingTime, expiry, signingAgent: 'docker-sign/0.1.0' });
        expect(out.mediaType).to.equal(format === 'jws' ? 'application/jose+json' : 'application/cose');
        const env = parseEnvelope(out.bytes, out.mediaType);
        verifyIntegrity(env);
        expect(env.payload.targetArtifact).to.deep.equal(TARGET);
        expect(env.signatureAlgorithm).to.equal({ 'rsa-3072': 'PS384', 'ec-p256': 'ES256', 'ec-p384': 'ES384' }[t]);
        expect(env.signedAttributes.signingTime!.toISOString()).to.equal('2026-11-25T19:23:20.000Z'); // truncated to seconds
        expect(env.signedAttributes.expiry!.toISOString()).to.equal('2026-12-25T19:23:20.000Z');
        expect(env.unsignedAttributes.signingAgent).to.equal('docker-sign/0.1.0');
        expect(env.certificateChain.map((c) => c.fingerprint256)).to.deep.equal(k.chain.map((c) => c.fingerprint256));
      });
    }
  }

  it('JWS protected header has exactly notation\'s fields (sorted, crit lists expiry when set)', async () => {
    const k = keys['ec-p256']!;
    const out = await createEnvelope({ payload: { targetArtifact: TARGET }, format: 'jws', signer: signerFromKey(k.privateKey, k.chain), signingTime: new Date('2026-11-25T19:23:20Z') });
    const j = JSON.parse(out.bytes.toString());
    expect(Object.keys(j)).to.deep.equal(['payload', 'protected', 'header', 'signature']);
    expect(Buffer.from(j.protected, 'base64url').toString()).to.equal(
      '{"alg":"ES256","crit":["io.cncf.notary.signingScheme"],"cty":"application/vnd.cncf.notary.payload.v1+json","io.cncf.notary.signingScheme":"notary.x509","io.cncf.notary.signingTime":"2026-11-25T19:23:20Z"}',
    );
    expect(Buffer.from(j.payload, 'base64url').toString()).to.equal(
      '{"targetArtifact":{"annotations":{"env":"prod\\u003c\\u0026\\u003e","io.wabbit-networks.buildId":"123"},"digest":"sha256:a983015660589b7152ba0db819cbf57a85570ff5cc05188b0a0554db444754ef","mediaType":"application/vnd.oci.image.manifest.v1+json","size":461}}',
    );
  });

  it('refuses a signer whose algorithm does not match its key', async () => {
    const k = keys['ec-p256']!;
    const s = { ...signerFromKey(k.privateKey, k.chain), algorithm: 'ES384' as SignatureAlgorithm };
    let err: unknown;
    try {
      await createEnvelope({ payload: { targetArtifact: TARGET }, format: 'jws', signer: s });
    } catch (e) {
      err = e;
    }
    expect((err as SignatureError).code).to.equal('ALGORITHM_KEY_MISMATCH');
  });

  for (const format of ['jws', 'cose'] as const) {
    it(`flipping bytes of our ${format.toUpperCase()} envelope never changes the signed content without failing`, async () => {
      const k = keys['rsa-3072']!;
      const out = await createEnvelope({ payload: { targetArtifact: TARGET }, format, signer: signerFromKey(k.privateKey, k.chain), signingAgent: 'docker-sign/0.1.0', expiry: new Date(Date.now() + 3600e3) });
      const good = parseEnvelope(out.bytes, out.mediaType);
      const spki = (key: KeyObject) => key.export({ format: 'der', type: 'spki' }) as Buffer;
      // Byte ranges that are covered by the signature (must always fail when touched).
      const signedRanges: [number, number][] = [];
      if (format === 'jws') {
        const s = out.bytes.toString('latin1');
        const j = JSON.parse(s);
        for (const v of [j.protected, j.payload, j.signature]) {
          const i = s.indexOf(`"${v}"`) + 1;
          signedRanges.push([i, i + v.length]);
        }
      } else {
        for (const part of [good.payloadBytes, good.signature]) {
          const i = out.bytes.indexOf(part);
          signedRanges.push([i, i + part.length]);
        }
        const p = out.bytes.indexOf(Buffer.from([0xa6, 0x01])); // protected map start (6 entries)
        signedRanges.push([p, p + 40]);
      }
      const positions = new Set<number>();
      for (let i = 0; i < out.bytes.length; i += Math.max(1, Math.floor(out.bytes.length / 400))) positions.add(i);
      for (const [a, b] of signedRanges) for (let i = a; i < b; i += 7) positions.add(i);
      let failures = 0;
      for (const pos of positions) {
        for (const mask of [0x01, 0x80]) {
          const bad = Buffer.from(out.bytes);
          bad[pos] = bad[pos]! ^ mask;
          const r = outcome(bad, out.mediaType);
          const inSigned = signedRanges.some(([a, b]) => pos >= a && pos < b);
          if (r.code !== 'ok') {
            failures++;
            continue;
          }
          expect(inSigned, `flip at ${pos} (mask ${mask}) inside signed bytes was accepted`).to.equal(false);
          // Accepted: only unsigned parts (signing agent, non-leaf certificate bytes, leaf cert fields other than
          // its key) may differ; chain validation in src/trust covers certificates.
          const env = r.env!;
          expect(env.payloadBytes.equals(good.payloadBytes)).to.equal(true);
          expect(env.signingInput.equals(good.signingInput)).to.equal(true);
          expect(env.signature.equals(good.signature)).to.equal(true);
          expect(spki(env.certificateChain[0]!.publicKey).equals(spki(good.certificateChain[0]!.publicKey))).to.equal(true);
        }
      }
      expect(failures).to.be.greaterThan(positions.size);
    });
  }
});

// ------------------------------------------------------------------------------ crafted JWS envelopes

function craftJws(
  k: GeneratedKey,
  header: Record<string, unknown>,
  opts: { payload?: string; alg?: SignatureAlgorithm; extraTop?: Record<string, unknown>; unprotected?: Record<string, unknown>; rawProtected?: string } = {},
): Buffer {
  const alg = opts.alg ?? 'ES256';
  const protectedB64 = Buffer.from(opts.rawProtected ?? JSON.stringify(header)).toString('base64url');
  const payloadB64 = Buffer.from(opts.payload ?? JSON.stringify({ targetArtifact: TARGET })).toString('base64url');
  const sig = signRaw(alg, k.privateKey, Buffer.from(`${protectedB64}.${payloadB64}`));
  return Buffer.from(
    JSON.stringify({
      payload: payloadB64,
      protected: protectedB64,
      header: opts.unprotected ?? { x5c: k.chain.map((c: X509Certificate) => c.raw.toString('base64')) },
      signature: sig.toString('base64url'),
      ...opts.extraTop,
    }),
  );
}

const BASE = {
  alg: 'ES256',
  crit: ['io.cncf.notary.signingScheme'],
  cty: 'application/vnd.cncf.notary.payload.v1+json',
  'io.cncf.notary.signingScheme': 'notary.x509',
  'io.cncf.notary.signingTime': '2026-11-25T19:23:20Z',
};

describe('signature: strict JWS parsing', () => {
  it('accepts the well-formed crafted baseline (so the cases below fail for their one reason)', () => {
    expect(outcome(craftJws(keys['ec-p256']!, BASE), 'application/jose+json').code).to.equal('ok');
  });

  const cases: [string, Record<string, unknown>, string, Parameters<typeof craftJws>[2]?][] = [
    ['missing crit', { ...BASE, crit: undefined }, 'ENVELOPE_INVALID'],
    ['empty crit', { ...BASE, crit: [] }, 'ENVELOPE_INVALID'],
    ['crit without signingScheme', { ...BASE, crit: ['io.cncf.notary.signingTime'] }, 'ENVELOPE_INVALID'],
    ['unknown critical header', { ...BASE, crit: ['io.cncf.notary.signingScheme', 'x.unknown'], 'x.unknown': 1 }, 'ENVELOPE_INVALID'],
    ['critical header not present', { ...BASE, crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry'] }, 'ENVELOPE_INVALID'],
    ['expiry not marked critical', { ...BASE, 'io.cncf.notary.expiry': '2027-01-01T00:00:00Z' }, 'ENVELOPE_INVALID'],
    ['signingTime not RFC 3339', { ...BASE, 'io.cncf.notary.signingTime': '2026-11-25 19:23:20' }, 'ENVELOPE_INVALID'],
    ['signingTime impossible date', { ...BASE, 'io.cncf.notary.signingTime': '2026-02-30T19:23:20Z' }, 'ENVELOPE_INVALID'],
    ['signingTime a number', { ...BASE, 'io.cncf.notary.signingTime': 1764098600 }, 'ENVELOPE_INVALID'],
    ['missing signingTime for notary.x509', { ...BASE, 'io.cncf.notary.signingTime': undefined }, 'ENVELOPE_INVALID'],
    ['authenticSigningTime with notary.x509', { ...BASE, 'io.cncf.notary.authenticSigningTime': '2026-11-25T19:23:20Z' }, 'ENVELOPE_INVALID'],
    ['signingAuthority without authenticSigningTime crit', { ...BASE, 'io.cncf.notary.signingScheme': 'notary.x509.signingAuthority', 'io.cncf.notary.signingTime': undefined, 'io.cncf.notary.authenticSigningTime': '2026-11-25T19:23:20Z' }, 'ENVELOPE_INVALID'],
    ['unknown signing scheme', { ...BASE, 'io.cncf.notary.signingScheme': 'notary.x510' }, 'ENVELOPE_INVALID'],
    ['wrong cty', { ...BASE, cty: 'application/json' }, 'ENVELOPE_INVALID'],
    ['alg RS256', { ...BASE, alg: 'RS256' }, 'UNSUPPORTED_ALGORITHM'],
    ['alg none', { ...BASE, alg: 'none' }, 'UNSUPPORTED_ALGORITHM'],
    ['alg ES384 with a P-256 key', { ...BASE, alg: 'ES384' }, 'ALGORITHM_KEY_MISMATCH'],
    ['b64=false header', { ...BASE, b64: false }, 'ENVELOPE_INVALID'],
    ['payload with an extra member', BASE, 'PAYLOAD_INVALID', { payload: JSON.stringify({ targetArtifact: TARGET, x: 1 }) }],
    ['payload without size', BASE, 'PAYLOAD_INVALID', { payload: JSON.stringify({ targetArtifact: { mediaType: TARGET.mediaType, digest: TARGET.digest } }) }],
    ['payload with a bad digest', BASE, 'PAYLOAD_INVALID', { payload: JSON.stringify({ targetArtifact: { ...TARGET, digest: 'sha256:xyz' } }) }],
    ['payload repeating "digest"', BASE, 'PAYLOAD_INVALID', { payload: JSON.stringify({ targetArtifact: TARGET }).replace('"digest":', `"digest":"sha256:${'0'.repeat(64)}","digest":`) }],
    ['extra top-level member', BASE, 'ENVELOPE_INVALID', { extraTop: { signatures: [] } }],
    ['unknown unprotected header', BASE, 'ENVELOPE_INVALID', { unprotected: { x5c: [], kid: 'x' } }],
    ['empty x5c', BASE, 'ENVELOPE_INVALID', { unprotected: { x5c: [] } }],
    ['x5c not base64 DER', BASE, 'ENVELOPE_INVALID', { unprotected: { x5c: ['bm90IGEgY2VydA=='] } }],
    ['duplicate key in the protected header', BASE, 'ENVELOPE_INVALID', { rawProtected: JSON.stringify(BASE).replace('{"alg":"ES256",', '{"alg":"ES256","alg":"ES256",') }],
    // notation-core-go's JWS reader: crit holds the headers that must be critical and extended attributes only
    ['crit listing signingTime', { ...BASE, crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.signingTime'] }, 'ENVELOPE_INVALID'],
    // notation-core-go validateSigningAndExpiryTime: "expiry cannot be equal or before the signing time"
    ['expiry before the signing time', { ...BASE, crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry'], 'io.cncf.notary.expiry': '2026-11-20T00:00:00Z' }, 'ENVELOPE_INVALID'],
    ['expiry equal to the signing time', { ...BASE, crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry'], 'io.cncf.notary.expiry': BASE['io.cncf.notary.signingTime'] }, 'ENVELOPE_INVALID'],
    // Go's encoding/json: no int64 from 461.0 or 4.61e2, and a byte-order mark is not JSON
    ['payload size written 461.0', BASE, 'PAYLOAD_INVALID', { payload: JSON.stringify({ targetArtifact: TARGET }).replace('"size":461', '"size":461.0') }],
    ['payload size written 4.61e2', BASE, 'PAYLOAD_INVALID', { payload: JSON.stringify({ targetArtifact: TARGET }).replace('"size":461', '"size":4.61e2') }],
    ['payload starting with a byte-order mark', BASE, 'PAYLOAD_INVALID', { payload: `\uFEFF${JSON.stringify({ targetArtifact: TARGET })}` }],
    ['protected header starting with a byte-order mark', BASE, 'ENVELOPE_INVALID', { rawProtected: `\uFEFF${JSON.stringify(BASE)}` }],
  ];
  for (const [name, header, code, opts] of cases) {
    it(`rejects: ${name} → ${code}`, () => {
      const h = JSON.parse(JSON.stringify(header));
      const alg = (opts as { alg?: SignatureAlgorithm } | undefined)?.alg;
      const bytes = craftJws(keys['ec-p256']!, h, { ...opts, alg: alg ?? 'ES256' });
      expect(outcome(bytes, 'application/jose+json').code).to.equal(code);
    });
  }

  it('swapping in another leaf certificate never verifies', () => {
    const a = keys['ec-p256']!;
    const bytes = craftJws(a, BASE);
    const j = JSON.parse(bytes.toString());
    const b = keys['rsa-3072']!; // other key type → alg mismatch
    j.header.x5c = b.chain.map((c) => c.raw.toString('base64'));
    expect(outcome(Buffer.from(JSON.stringify(j)), 'application/jose+json').code).to.equal('ALGORITHM_KEY_MISMATCH');
  });

  it('accepts an expiry one second after the signing time', () => {
    const h = { ...BASE, crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry'], 'io.cncf.notary.expiry': '2026-11-25T19:23:21Z' };
    expect(outcome(craftJws(keys['ec-p256']!, h), 'application/jose+json').code).to.equal('ok');
  });

  it('rejects an envelope starting with a byte-order mark (Go\'s encoding/json does)', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), craftJws(keys['ec-p256']!, BASE)]);
    expect(outcome(bytes, 'application/jose+json').code).to.equal('ENVELOPE_INVALID');
  });

  it('rejects unknown envelope media types and non-JSON', () => {
    expect(errOf(() => parseEnvelope(Buffer.from('{}'), 'application/json'))?.code).to.equal('UNSUPPORTED_MEDIA_TYPE');
    expect(errOf(() => parseEnvelope(Buffer.from('nope'), 'application/jose+json'))?.code).to.equal('ENVELOPE_INVALID');
  });
});

// ----------------------------------------------------------------------------- crafted COSE envelopes

function craftCose(k: GeneratedKey, entries: [string | number, unknown][], opts: { unprotected?: Map<string | number, unknown>; tag?: number; trailing?: boolean; alg?: SignatureAlgorithm } = {}): Buffer {
  const protectedBytes = encodeCbor(canonicalMap(entries as never));
  const payloadBytes = Buffer.from(JSON.stringify({ targetArtifact: TARGET }));
  const sig = signRaw(opts.alg ?? 'ES256', k.privateKey, sigStructure(protectedBytes, payloadBytes));
  if (opts.unprotected || opts.tag !== undefined) {
    const u = opts.unprotected ?? new Map<string | number, unknown>([[33, k.chain.map((c) => c.raw)]]);
    const b = encodeCbor(new CborTag(opts.tag ?? 18, [protectedBytes, u as never, payloadBytes, sig]));
    return b;
  }
  const b = serializeCose({ protectedBytes, payloadBytes, chain: k.chain.map((c) => c.raw), signature: sig });
  return opts.trailing ? Buffer.concat([b, Buffer.from([0])]) : b;
}

const T = (s: number) => new CborTag(1, s);
const CBASE: [string | number, unknown][] = [
  [1, COSE_ALG.ES256],
  [2, ['io.cncf.notary.signingScheme']],
  [3, 'application/vnd.cncf.notary.payload.v1+json'],
  ['io.cncf.notary.signingScheme', 'notary.x509'],
  ['io.cncf.notary.signingTime', T(1764098600)],
];
const withOut = (label: string | number) => CBASE.filter(([k]) => k !== label);

describe('signature: strict COSE parsing', () => {
  it('accepts the crafted baseline', () => {
    expect(outcome(craftCose(keys['ec-p256']!, CBASE), 'application/cose').code).to.equal('ok');
  });
  const cases: [string, [string | number, unknown][], string, Parameters<typeof craftCose>[2]?][] = [
    ['missing crit', withOut(2), 'ENVELOPE_INVALID'],
    ['crit without signingScheme', [...withOut(2), [2, ['io.cncf.notary.signingTime']]], 'ENVELOPE_INVALID'],
    ['unknown critical label', [...withOut(2), [2, ['io.cncf.notary.signingScheme', 'x.y']], ['x.y', 1]], 'ENVELOPE_INVALID'],
    ['expiry not critical', [...CBASE, ['io.cncf.notary.expiry', T(1864098600)]], 'ENVELOPE_INVALID'],
    ['signingTime as tag 0 string', [...withOut('io.cncf.notary.signingTime'), ['io.cncf.notary.signingTime', new CborTag(0, '2026-11-25T19:23:20Z')]], 'ENVELOPE_INVALID'],
    ['signingTime untagged', [...withOut('io.cncf.notary.signingTime'), ['io.cncf.notary.signingTime', 1764098600]], 'ENVELOPE_INVALID'],
    ['wrong content type', [...withOut(3), [3, 'application/json']], 'ENVELOPE_INVALID'],
    ['alg RS256 (-257)', [...withOut(1), [1, -257]], 'UNSUPPORTED_ALGORITHM'],
    ['alg as text', [...withOut(1), [1, 'ES256']], 'UNSUPPORTED_ALGORITHM'],
    ['alg ES384 with a P-256 key', [...withOut(1), [1, COSE_ALG.ES384]], 'ALGORITHM_KEY_MISMATCH'],
    ['x5chain in the protected header', [...CBASE, [33, []]], 'ENVELOPE_INVALID'],
    ['not tag 18', CBASE, 'ENVELOPE_INVALID', { tag: 98 }],
    ['trailing bytes', CBASE, 'ENVELOPE_INVALID', { trailing: true }],
    ['unknown unprotected label', CBASE, 'ENVELOPE_INVALID', { unprotected: new Map<string | number, unknown>([[33, []], [4, Buffer.from('kid')]]) }],
    ['x5chain as a single bstr', CBASE, 'ENVELOPE_INVALID', { unprotected: new Map<string | number, unknown>([[33, Buffer.alloc(3)]]) }],
    ['expiry before the signing time', [...withOut(2), [2, ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry']], ['io.cncf.notary.expiry', T(1764098000)]], 'ENVELOPE_INVALID'],
    ['expiry equal to the signing time', [...withOut(2), [2, ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry']], ['io.cncf.notary.expiry', T(1764098600)]], 'ENVELOPE_INVALID'],
    // a text string is read as written: a leading U+FEFF is part of it, not a byte-order mark to drop
    ['signing scheme with a leading U+FEFF', [...withOut('io.cncf.notary.signingScheme'), ['io.cncf.notary.signingScheme', '\uFEFFnotary.x509']], 'ENVELOPE_INVALID'],
  ];
  for (const [name, entries, code, opts] of cases) {
    it(`rejects: ${name} → ${code}`, () => {
      const e = entries.map(([k, v]) => [k, v] as [string | number, unknown]);
      if (opts?.unprotected && (opts.unprotected.get(33) as unknown[]).length === 0) opts.unprotected.set(33, keys['ec-p256']!.chain.map((c) => c.raw));
      expect(outcome(craftCose(keys['ec-p256']!, e, opts), 'application/cose').code).to.equal(code);
    });
  }
  it('accepts signingTime listed in crit (notation-core-go\'s COSE reader only needs the required labels there)', () => {
    const e: [string | number, unknown][] = [...withOut(2), [2, ['io.cncf.notary.signingScheme', 'io.cncf.notary.signingTime']]];
    expect(outcome(craftCose(keys['ec-p256']!, e), 'application/cose').code).to.equal('ok');
  });
  it('rejects duplicate map keys in the protected header', () => {
    const k = keys['ec-p256']!;
    const good = encodeCbor(canonicalMap(CBASE as never));
    // a6 → a7 and append a second "io.cncf.notary.signingScheme"
    const dup = Buffer.concat([Buffer.from([0xa6]), good.subarray(1), encodeCbor('io.cncf.notary.signingScheme'), encodeCbor('notary.x509')]);
    const payloadBytes = Buffer.from(JSON.stringify({ targetArtifact: TARGET }));
    const sig = signRaw('ES256', k.privateKey, sigStructure(dup, payloadBytes));
    const b = serializeCose({ protectedBytes: dup, payloadBytes, chain: k.chain.map((c) => c.raw), signature: sig });
    expect(outcome(b, 'application/cose').code).to.equal('ENVELOPE_INVALID');
  });
});

describe('signature: integrity with a different key of the same type', () => {
  it('a P-256 signature checked against another P-256 leaf fails with INTEGRITY', async () => {
    const a = keys['ec-p256']!;
    const other = await generateTestKey({ name: 'other', type: 'ec-p256' });
    const bytes = craftJws(a, BASE);
    const j = JSON.parse(bytes.toString());
    j.header.x5c = other.chain.map((c) => c.raw.toString('base64'));
    expect(outcome(Buffer.from(JSON.stringify(j)), 'application/jose+json').code).to.equal('INTEGRITY');
  });
});

describe('signature: malformed input never escapes as an untyped error', () => {
  it('random truncations, insertions and garbage (JWS and COSE) give SignatureError or the same signed content', async () => {
    const k = keys['ec-p256']!;
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (const format of ['jws', 'cose'] as const) {
      const out = await createEnvelope({ payload: { targetArtifact: TARGET }, format, signer: signerFromKey(k.privateKey, k.chain), signingAgent: 'x' });
      const good = parseEnvelope(out.bytes, out.mediaType);
      for (let i = 0; i < 300; i++) {
        let b: Buffer;
        switch (i % 4) {
          case 0: b = out.bytes.subarray(0, rnd(out.bytes.length)); break;
          case 1: { const p = rnd(out.bytes.length); b = Buffer.concat([out.bytes.subarray(0, p), Buffer.from([rnd(256)]), out.bytes.subarray(p)]); break; }
          case 2: { b = Buffer.from(out.bytes); for (let j = 0; j < 8; j++) b[rnd(b.length)] = rnd(256); break; }
          default: b = Buffer.from(Array.from({ length: rnd(64) }, () => rnd(256)));
        }
        const r = outcome(b, out.mediaType);
        if (r.code === 'ok') {
          expect(r.env!.signingInput.equals(good.signingInput)).to.equal(true);
          expect(r.env!.signature.equals(good.signature)).to.equal(true);
        }
      }
    }
    // nesting bombs and huge declared lengths
    const deep = Buffer.concat([Buffer.from([0xd2]), Buffer.alloc(100_000, 0x81), Buffer.from([0x00])]);
    expect(outcome(deep, 'application/cose').code).to.equal('ENVELOPE_INVALID');
    const huge = Buffer.from([0xd2, 0x84, 0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect(outcome(huge, 'application/cose').code).to.equal('ENVELOPE_INVALID');
    const manyItems = Buffer.from([0xd2, 0x9b, 0x00, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect(outcome(manyItems, 'application/cose').code).to.equal('ENVELOPE_INVALID');
    expect(outcome(Buffer.alloc(3 * 1024 * 1024, 0x20), 'application/jose+json').code).to.equal('ENVELOPE_INVALID');
  });
});
