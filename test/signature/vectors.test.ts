import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  parseEnvelope,
  verifyIntegrity,
  buildSignatureManifest,
  encodePayload,
  jwsProtectedHeader,
  coseProtectedHeader,
  serializeJws,
  serializeCose,
  SignatureError,
} from '../../src/signature/index.js';
import { sameContent } from '../../src/oci/descriptor.js';
import { encodeJson } from '../../src/oci/manifest.js';
import { referrerDescriptor } from '../../src/registry/repository.js';
import { createHash } from 'node:crypto';

const V = '/work/shared/vectors/notation';
const CASES = ['jws-valid', 'cose-valid', 'jws-tampered-payload', 'jws-wrong-digest', 'jws-untrusted-root'] as const;

function load(c: string) {
  const expected = JSON.parse(readFileSync(join(V, c, 'expected.json'), 'utf8'));
  const mt: string = expected.envelopeMediaType;
  const bytes = readFileSync(join(V, c, mt === 'application/cose' ? 'signature.cose' : 'signature.jws'));
  const subject = JSON.parse(readFileSync(join(V, c, 'subject-descriptor.json'), 'utf8'));
  return { expected, mt, bytes, subject };
}

describe('signature: notation 1.3.2 interop vectors', () => {
  it('the referrers tag-schema index we would write for notation\'s signature manifest is byte for byte the one notation (oras-go) wrote', () => {
    let compared = 0;
    for (const c of CASES) {
      const written = readFileSync(join(V, c, 'referrers-index.json'));
      const idx = JSON.parse(written.toString('utf8')) as { manifests: unknown[] };
      if (idx.manifests.length !== 1) continue;
      const mb = readFileSync(join(V, c, 'signature-manifest.json'));
      const m = JSON.parse(mb.toString('utf8')) as Record<string, unknown>;
      const desc = { mediaType: m.mediaType as string, digest: `sha256:${createHash('sha256').update(mb).digest('hex')}` as const, size: mb.length };
      const ours = encodeJson({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [referrerDescriptor(desc, m)] });
      expect(ours.toString('utf8'), c).to.equal(written.toString('utf8').trimEnd());
      compared++;
    }
    expect(compared).to.be.greaterThan(0);
  });

  for (const c of CASES) {
    it(`${c}: parses strictly`, () => {
      const { mt, bytes } = load(c);
      const env = parseEnvelope(bytes, mt);
      expect(env.mediaType).to.equal(mt);
      expect(env.signedAttributes.signingScheme).to.equal('notary.x509');
      expect(env.signedAttributes.signingTime).to.be.instanceOf(Date);
      expect(env.certificateChain).to.have.length(2);
      expect(env.unsignedAttributes.signingAgent).to.equal('notation-go/1.3.2');
      expect(env.signedAttributes.extended).to.deep.equal([]);
    });
  }

  it('integrity passes on jws-valid, cose-valid, jws-wrong-digest, jws-untrusted-root', () => {
    for (const c of ['jws-valid', 'cose-valid', 'jws-wrong-digest', 'jws-untrusted-root']) {
      const { mt, bytes } = load(c);
      const env = parseEnvelope(bytes, mt);
      expect(() => verifyIntegrity(env), c).not.to.throw();
    }
    expect(parseEnvelope(load('jws-valid').bytes, 'application/jose+json').signatureAlgorithm).to.equal('PS384');
    expect(parseEnvelope(load('cose-valid').bytes, 'application/cose').signatureAlgorithm).to.equal('ES256');
  });

  it('integrity FAILS on jws-tampered-payload with code INTEGRITY', () => {
    const { mt, bytes } = load('jws-tampered-payload');
    const env = parseEnvelope(bytes, mt);
    let err: unknown;
    try {
      verifyIntegrity(env);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(SignatureError);
    expect((err as SignatureError).code).to.equal('INTEGRITY');
    expect((err as SignatureError).exitCode).to.equal(1);
  });

  it('payload targetArtifact equals the subject except in jws-wrong-digest', () => {
    for (const c of CASES) {
      const { mt, bytes, subject } = load(c);
      const env = parseEnvelope(bytes, mt);
      const same = sameContent(env.payload.targetArtifact, subject);
      if (c === 'jws-wrong-digest') {
        expect(same).to.equal(false);
        expect(env.payload.targetArtifact.digest).to.match(/^sha256:84158ff5/);
        expect(env.payload.targetArtifact.size).to.equal(459);
      } else if (c === 'jws-tampered-payload') {
        expect(env.payload.targetArtifact.size).to.equal(460);
      } else {
        expect(same, c).to.equal(true);
      }
    }
  });

  it('our serializers reproduce notation envelopes byte for byte (JWS and COSE)', () => {
    for (const c of ['jws-valid', 'jws-untrusted-root', 'jws-wrong-digest']) {
      const { bytes } = load(c);
      const env = parseEnvelope(bytes, 'application/jose+json');
      const raw = JSON.parse(bytes.toString());
      // same header values → same protected bytes
      expect(jwsProtectedHeader(env.signatureAlgorithm, env.signedAttributes.signingTime!).toString('base64url')).to.equal(raw.protected);
      expect(encodePayload(env.payload, 'jws').equals(env.payloadBytes)).to.equal(true);
      const again = serializeJws({
        protectedB64: raw.protected,
        payloadB64: raw.payload,
        chain: env.certificateChain.map((x) => x.raw),
        signingAgent: env.unsignedAttributes.signingAgent,
        signature: env.signature,
      });
      expect(again.equals(bytes), c).to.equal(true);
    }
    const { bytes } = load('cose-valid');
    const env = parseEnvelope(bytes, 'application/cose');
    expect(encodePayload(env.payload, 'cose').equals(env.payloadBytes)).to.equal(true);
    const protectedBytes = coseProtectedHeader(env.signatureAlgorithm, env.signedAttributes.signingTime!);
    const again = serializeCose({
      protectedBytes,
      payloadBytes: env.payloadBytes,
      chain: env.certificateChain.map((x) => x.raw),
      signingAgent: env.unsignedAttributes.signingAgent,
      signature: env.signature,
    });
    expect(again.equals(bytes)).to.equal(true);
  });

  for (const c of ['jws-valid', 'cose-valid']) {
    it(`${c}: buildSignatureManifest reproduces notation's signature manifest and referrers entry exactly`, () => {
      const { mt, bytes, subject } = load(c);
      const env = parseEnvelope(bytes, mt);
      const expectedManifest = readFileSync(join(V, c, 'signature-manifest.json'));
      const created = new Date(JSON.parse(expectedManifest.toString()).annotations['org.opencontainers.image.created']);
      const built = buildSignatureManifest(subject, { bytes, mediaType: mt }, env.certificateChain, created);
      expect(built.manifest.toString()).to.equal(expectedManifest.toString());
      const sigs = JSON.parse(readFileSync(join(V, c, 'signatures.json'), 'utf8'));
      expect(built.descriptor).to.deep.equal(sigs.signatures[0].signatureManifestDescriptor);
      const index = readFileSync(join(V, c, 'referrers-index.json'), 'utf8');
      expect(index).to.contain(JSON.stringify(built.descriptor));
      expect(built.config.bytes.toString()).to.equal('{}');
      expect(built.config.descriptor.digest).to.equal('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
      expect(built.envelopeDescriptor).to.deep.equal(JSON.parse(expectedManifest.toString()).layers[0]);
    });
  }

  it('the thumbprint annotation is the SHA-256 of each DER certificate', () => {
    const root = new X509Certificate(readFileSync(join(V, 'truststore/x509/ca/example/root.crt')));
    const m = JSON.parse(readFileSync(join(V, 'jws-valid', 'signature-manifest.json'), 'utf8'));
    const list = JSON.parse(m.annotations['io.cncf.notary.x509chain.thumbprint#S256']);
    expect(list[1]).to.equal(root.fingerprint256.replace(/:/g, '').toLowerCase());
  });
});
