import { expect } from 'chai';
import type { X509Certificate } from 'node:crypto';
import { Verifier } from '../../src/trust/verifier.js';
import { validateTrustPolicy } from '../../src/trust/policy.js';
import { MemoryTrustStore } from '../../src/trust/truststore.js';
import { parseTimestampToken } from '../../src/trust/timestamp.js';
import { generateTestKey, type GeneratedKey } from '../../src/pki/generate.js';
import { signerFromKey } from '../../src/pki/keys.js';
import { createEnvelope, buildSignatureManifest } from '../../src/signature/index.js';
import { MediaType } from '../../src/oci/mediaTypes.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { MemoryTarget } from './memory-target.js';
import { makeTsa, stamp, type Tsa } from '../support/tsa.js';

const DAY = 86_400_000;
const REPO = 'registry.example/app';

describe('authentic timestamp with an RFC 3161 countersignature (openssl TSA)', function () {
  this.timeout(60_000);
  let tsa: Tsa;
  let otherTsa: Tsa;
  let signer: GeneratedKey;
  let target: MemoryTarget;
  let subject: Descriptor;
  let token: Buffer;
  let sigValue: Buffer;

  before(async () => {
    [tsa, otherTsa, signer] = await Promise.all([makeTsa(), makeTsa(), generateTestKey({ name: 'Short Lived', type: 'ec-p256', days: 1 })]);
    target = new MemoryTarget();
    subject = target.addManifest(MediaType.OCI_MANIFEST, Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}'), 'v1');
    // signed 10 s before the TSA stamps it: the timestamp's lower bound (genTime - 1 s accuracy) must not precede the
    // signing time (notation's BoundedAfter rule)
    const signingTime = new Date(Date.now() - 10_000);
    const env = await createEnvelope({ payload: { targetArtifact: subject }, format: 'jws', signer: signerFromKey(signer.privateKey, signer.chain, signingTime), signingTime });
    const jws = JSON.parse(env.bytes.toString('utf8'));
    sigValue = Buffer.from(jws.signature, 'base64url');
    token = stamp(tsa, sigValue);
    jws.header['io.cncf.notary.timestampSignature'] = token.toString('base64');
    const bytes = Buffer.from(JSON.stringify(jws));
    const built = buildSignatureManifest(subject, { bytes, mediaType: MediaType.JWS }, signer.chain);
    target.addBlob(built.config.bytes);
    target.addBlob(bytes);
    await target.pushReferrer(built.descriptor, built.manifest, subject);
  });

  const policy = (stores: string[]) =>
    validateTrustPolicy({ version: '1.0', trustPolicies: [{ name: 'ts', registryScopes: [REPO], signatureVerification: { level: 'strict' }, trustStores: stores, trustedIdentities: ['*'] }] });
  const later = () => new Date(Date.now() + 3 * DAY);

  it('parses the token: genTime, accuracy, imprint, certificates', () => {
    const p = parseTimestampToken(token);
    expect(Math.abs(p.genTime.getTime() - Date.now())).to.be.lessThan(120_000);
    expect(p.accuracyMs).to.equal(1000);
    expect(p.hashAlg).to.equal('2.16.840.1.101.3.4.2.1');
    expect(p.certificates.length).to.be.greaterThan(0);
  });

  it('signing certificate expired at verification time but valid at the trusted timestamp → verified', async () => {
    const store = new MemoryTrustStore().set('ca', 'signer', [signer.chain[1]!]).set('tsa', 'tsa', [tsa.root]);
    const r = await new Verifier({ policy: policy(['ca:signer', 'tsa:tsa']), trustStore: store, now: later() }).verify({ target, descriptor: subject, repository: REPO });
    expect(r.verified, JSON.stringify(r.signatures[0]?.checks)).to.equal(true);
  });

  it('without a tsa store the expired chain fails; with an untrusted TSA root the timestamp fails', async () => {
    const noTsa = new MemoryTrustStore().set('ca', 'signer', [signer.chain[1]!]);
    const r1 = await new Verifier({ policy: policy(['ca:signer']), trustStore: noTsa, now: later() }).verify({ target, descriptor: subject, repository: REPO });
    expect(r1.code).to.equal('AUTHENTIC_TIMESTAMP');
    expect(r1.signatures[0]!.reason).to.match(/verification time is after certificate/);
    const wrong = new MemoryTrustStore().set('ca', 'signer', [signer.chain[1]!]).set('tsa', 'tsa', [otherTsa.root]);
    const r2 = await new Verifier({ policy: policy(['ca:signer', 'tsa:tsa']), trustStore: wrong, now: later() }).verify({ target, descriptor: subject, repository: REPO });
    expect(r2.code).to.equal('AUTHENTIC_TIMESTAMP');
    expect(r2.signatures[0]!.reason).to.match(/does not lead to a certificate of the tsa trust store/);
  });

  it('a timestamp over other data (imprint mismatch) or with a broken signature is refused', async () => {
    const { rfc3161TimestampVerifier } = await import('../../src/trust/timestamp.js');
    await rfc3161TimestampVerifier.verify(token, Buffer.from('other signature'), [tsa.root], { now: new Date() }).then(
      () => expect.fail('accepted'),
      (e: Error) => expect(e.message).to.match(/message imprint does not match/),
    );
    // genuine imprint, but the CMS signature value altered (last byte of the token is inside it)
    expect((await rfc3161TimestampVerifier.verify(token, sigValue, [tsa.root], { now: new Date() })).lower).to.be.instanceOf(Date);
    const bad = Buffer.from(token);
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 0x01;
    await rfc3161TimestampVerifier.verify(bad, sigValue, [tsa.root], { now: new Date() }).then(
      () => expect.fail('accepted'),
      (e: Error) => expect(e.message).to.match(/timestamp signature does not verify/),
    );
  });
});
