import { expect } from 'chai';
import { randomBytes, type X509Certificate } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Verifier } from '../../src/trust/verifier.js';
import { validateTrustPolicy } from '../../src/trust/policy.js';
import { MemoryTrustStore } from '../../src/trust/truststore.js';
import { parseTimestampToken, rfc3161TimestampVerifier } from '../../src/trust/timestamp.js';
import { berLengthsToDer } from '../../src/pki/der.js';
import { timestampSignature } from '../../src/signature/tsa.js';
import { generateTestKey, type GeneratedKey } from '../../src/pki/generate.js';
import { signerFromKey } from '../../src/pki/keys.js';
import { createEnvelope, buildSignatureManifest } from '../../src/signature/index.js';
import { MediaType } from '../../src/oci/mediaTypes.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { MemoryTarget } from './memory-target.js';
import { accuracy, cmsToken, EXT, makeOpensslTsa, makeTsa, serveTsa, signerInfo, stamp, tstInfo, type OpensslTsa, type SignerOptions, type Tsa } from '../support/tsa.js';

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
    expect(p.accuracyMs).to.equal(1); // the test TSA: accuracy = millisecs:1, genTime in milliseconds
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
  it('length octets longer than DER needs (a BER-writing TSA) are read as tspclient-go reads them; indefinite lengths are refused', async () => {
    // every constructed element re-encoded with a long-form length led by a zero octet; primitives (the TSTInfo
    // octets, the signature) untouched. The CMS signature is over the DER of the signed attributes, so it still holds.
    const inflate = (b: Buffer): Buffer => {
      const out: Buffer[] = [];
      let p = 0;
      while (p < b.length) {
        const id = b[p]!;
        let len = b[p + 1]!;
        let q = p + 2;
        if (len & 0x80) {
          const n = len & 0x7f;
          len = b.subarray(q, q + n).reduce((a, x) => a * 256 + x, 0);
          q += n;
        }
        const content = b.subarray(q, q + len);
        const body = id & 0x20 ? inflate(content) : content;
        const lenBytes = Buffer.alloc(3);
        lenBytes.writeUIntBE(body.length, 0, 3);
        out.push(Buffer.from([id, 0x84, 0x00]), lenBytes, body);
        p = q + len;
      }
      return Buffer.concat(out);
    };
    const ber = inflate(token);
    expect(ber.length).to.be.greaterThan(token.length);
    expect(berLengthsToDer(ber).equals(token)).to.equal(true);
    const { readTlv } = await import('../../src/pki/der.js');
    expect(() => readTlv(ber, 0)).to.throw(/non-minimal DER length/);
    expect(parseTimestampToken(ber).genTime.getTime()).to.equal(parseTimestampToken(token).genTime.getTime());
    expect((await rfc3161TimestampVerifier.verify(ber, sigValue, [tsa.root], { now: new Date() })).lower).to.be.instanceOf(Date);
    // the same token with an indefinite-length outer element (end-of-contents octets after it)
    const inner = ber.subarray(6);
    const indefinite = Buffer.concat([Buffer.from([0x30, 0x80]), inner, Buffer.from([0, 0])]);
    expect(() => parseTimestampToken(indefinite)).to.throw(/indefinite-length BER is not supported/);
  });
});

/** Rejects with a message matching `re`, else fails the test. */
async function refused(p: Promise<unknown>, re: RegExp): Promise<void> {
  await p.then(
    () => expect.fail(`accepted, expected a refusal matching ${re}`),
    (e: Error) => expect(e.message).to.match(re),
  );
}

describe('timestamp countersignature: the TSA certificate chain requirements (notation-core-go ValidateTimestampingCertChain, Go x509.Verify)', function () {
  this.timeout(120_000);
  const data = randomBytes(64);
  const tsas: OpensslTsa[] = [];
  const make = (o: Parameters<typeof makeOpensslTsa>[0] = {}) => {
    const t = makeOpensslTsa(o);
    tsas.push(t);
    return t;
  };
  after(() => {
    for (const t of tsas) rmSync(t.dir, { recursive: true, force: true });
  });
  const verify = (token: Buffer, trusted: X509Certificate[]) => rfc3161TimestampVerifier.verify(token, data, trusted, { now: new Date() });
  /** A token openssl cannot make (it signs only with a well-formed TSA leaf): signed here with the TSA's leaf key. */
  const handMade = (t: OpensslTsa, o: Partial<SignerOptions> = {}) => {
    const tst = tstInfo(data);
    return cmsToken(tst, [signerInfo(tst, { cert: t.leaf.cert, key: t.leaf.key, ...o })], { certificates: [t.leaf.cert, ...t.cas.map((c) => c.cert)] });
  };

  it('root → intermediate → TSA leaf, all as required: accepted, the chain is returned leaf first', async () => {
    const t = make({ intermediates: [EXT.ca] });
    const r = await verify(stamp(t, data), [t.root]);
    expect(r.tsaChain.map((c) => c.fingerprint256)).to.deep.equal([t.leaf.cert, t.cas[0]!.cert, t.root].map((c) => c.fingerprint256));
    // the hand-made token of a well-formed TSA passes too (the negative cases below differ from it in one point)
    expect((await verify(handMade(t), [t.root])).tsaChain).to.have.length(3);
  });

  it('the TSA leaf: extended key usage not critical, more than timeStamping, or none → refused', async () => {
    const base = EXT.tsa.filter((l) => !l.startsWith('extendedKeyUsage'));
    const notCritical = make({ leafExt: [...base, 'extendedKeyUsage = timeStamping'] });
    await refused(verify(handMade(notCritical), [notCritical.root]), /must have extended key usage extension marked as critical/);
    const two = make({ leafExt: [...base, 'extendedKeyUsage = critical, timeStamping, codeSigning'] });
    await refused(verify(handMade(two), [two.root]), /must have and only have Timestamping as extended key usage/);
    const none = make({ leafExt: base });
    await refused(verify(handMade(none), [none.root]), /must have and only have Timestamping as extended key usage/);
  });

  it('the TSA leaf: key usage missing, without digitalSignature or with keyEncipherment; a CA leaf → refused', async () => {
    const withKu = (ku: string | undefined) => EXT.tsa.filter((l) => !l.startsWith('keyUsage')).concat(ku ? [`keyUsage = critical, ${ku}`] : []);
    const noKu = make({ leafExt: withKu(undefined) });
    await refused(verify(handMade(noKu), [noKu.root]), /key usage extension must be present/);
    const nonRep = make({ leafExt: withKu('nonRepudiation') });
    await refused(verify(handMade(nonRep), [nonRep.root]), /must have the bit positions for "Digital Signature" set/);
    const enc = make({ leafExt: withKu('digitalSignature, keyEncipherment'), leafKey: 'rsa-2048' });
    await refused(verify(handMade(enc), [enc.root]), /must be "Digital Signature" only, but found "KeyEncipherment"/);
    const ca = make({ leafExt: EXT.tsa.map((l) => (l.startsWith('basicConstraints') ? 'basicConstraints = critical, CA:TRUE' : l)) });
    await refused(verify(handMade(ca), [ca.root]), /the ca field must be set to false/);
  });

  it('the TSA leaf key: RSA 1024 or EC P-224 → refused; RSA 3072 and EC P-384 → accepted', async () => {
    const rsa1024 = make({ leafKey: 'rsa-1024' });
    await refused(verify(stamp(rsa1024, data), [rsa1024.root]), /rsa key size 1024 bits is not supported/);
    const p224 = make({ leafKey: 'ec-p224' });
    await refused(verify(handMade(p224), [p224.root]), /ecdsa key on curve secp224r1 is not supported/);
    for (const leafKey of ['rsa-3072', 'ec-p384'] as const) {
      const t = make({ leafKey });
      expect((await verify(stamp(t, data), [t.root])).tsaChain).to.have.length(2);
    }
  });

  it('CA certificates: an intermediate without key usage, a path length the chain exceeds, an intermediate EKU without timeStamping → refused', async () => {
    const noKu = make({ intermediates: [EXT.ca.filter((l) => !l.startsWith('keyUsage'))] });
    await refused(verify(stamp(noKu, data), [noKu.root]), /CN=Test TSA CA 1.*: key usage extension must be present/);
    const pathLen = make({ rootExt: ['basicConstraints = critical, CA:TRUE, pathlen:0', 'keyUsage = critical, keyCertSign, cRLSign', 'subjectKeyIdentifier = hash'], intermediates: [EXT.ca] });
    await refused(verify(stamp(pathLen, data), [pathLen.root]), /allows 0 intermediate certificates below it, the chain has 1/);
    const eku = make({ intermediates: [[...EXT.ca, 'extendedKeyUsage = codeSigning']] });
    await refused(verify(stamp(eku, data), [eku.root]), /extended key usage of certificate with subject ".*CN=Test TSA CA 1.*" does not allow timestamping/);
    // an intermediate EKU that includes timeStamping is fine, and so is pathlen:1 for one intermediate
    const ok = make({ rootExt: ['basicConstraints = critical, CA:TRUE, pathlen:1', 'keyUsage = critical, keyCertSign, cRLSign', 'subjectKeyIdentifier = hash'], intermediates: [[...EXT.ca, 'extendedKeyUsage = timeStamping, codeSigning']] });
    expect((await verify(stamp(ok, data), [ok.root])).tsaChain).to.have.length(3);
  });

  it('the chain must end in a self-signed root of the store: a trusted intermediate, a trusted TSA leaf or a SHA-1 signed root → refused', async () => {
    const t = make({ intermediates: [EXT.ca] });
    const token = stamp(t, data);
    await refused(verify(token, [t.cas[0]!.cert]), /root certificate with subject ".*CN=Test TSA CA 1.*" is invalid or not self-signed/);
    await refused(verify(token, [t.leaf.cert]), /invalid self-signed certificate/);
    const sha1 = make({ rootMd: 'sha1' });
    await refused(verify(stamp(sha1, data), [sha1.root]), /insecure algorithm ECDSA-SHA1/);
  });

  it('at signing time the same rules apply: a TSA with an RSA 1024-bit signing key is refused by timestampSignature (openssl TSA over HTTP)', async () => {
    const t = make({ leafKey: 'rsa-1024' });
    const server = await serveTsa(t);
    try {
      const e = await timestampSignature(data, 'ES256', { url: server.url, roots: [t.root] }).catch((x: unknown) => x);
      expect(e).to.have.property('code', 'TIMESTAMP_FAILED');
      expect((e as Error).message).to.match(/does not verify: .*rsa key size 1024 bits is not supported/);
      const good = make();
      const server2 = await serveTsa(good);
      try {
        expect(await timestampSignature(data, 'ES256', { url: server2.url, roots: [good.root] })).to.be.instanceOf(Buffer);
        // a root that is not self-signed given through the API: refused too
        const mid = make({ intermediates: [EXT.ca] });
        const server3 = await serveTsa(mid);
        try {
          const e3 = await timestampSignature(data, 'ES256', { url: server3.url, roots: [mid.cas[0]!.cert] }).catch((x: unknown) => x);
          expect((e3 as Error).message).to.match(/is invalid or not self-signed/);
        } finally {
          await server3.close();
        }
      } finally {
        await server2.close();
      }
    } finally {
      await server.close();
    }
  });
});

describe('timestamp countersignature: CMS and TSTInfo details (tspclient-go)', function () {
  this.timeout(120_000);
  const data = randomBytes(64);
  let ec: OpensslTsa;
  let rsa: OpensslTsa;
  before(() => {
    ec = makeOpensslTsa();
    rsa = makeOpensslTsa({ leafKey: 'rsa-2048' });
  });
  after(() => {
    for (const t of [ec, rsa]) if (t) rmSync(t.dir, { recursive: true, force: true });
  });
  const verify = (token: Buffer, t: OpensslTsa) => rfc3161TimestampVerifier.verify(token, data, [t.root], { now: new Date() });
  const certs = (t: OpensslTsa) => [t.leaf.cert, ...t.cas.map((c) => c.cert)];
  const token = (t: OpensslTsa, o: Partial<SignerOptions> = {}, tok: { tst?: Parameters<typeof tstInfo>[1]; version?: number } = {}) => {
    const tst = tstInfo(data, tok.tst);
    return cmsToken(tst, [signerInfo(tst, { cert: t.leaf.cert, key: t.leaf.key, ...o })], { certificates: certs(t), ...(tok.version ? { version: tok.version } : {}) });
  };

  it('signing-certificate-v2 is required: a token with only the v1 (SHA-1) attribute is refused, from openssl and hand-made', async () => {
    const v1 = makeOpensslTsa({ essCertIdAlg: 'sha1' });
    try {
      const t = stamp(v1, data);
      await refused(rfc3161TimestampVerifier.verify(t, data, [v1.root], { now: new Date() }), /failed to get SigningCertificateV2 from signed attributes/);
    } finally {
      rmSync(v1.dir, { recursive: true, force: true });
    }
    await refused(verify(token(ec, { ess: 'v1' }), ec), /failed to get SigningCertificateV2 from signed attributes/);
    await refused(verify(token(ec, { ess: 'none' }), ec), /failed to get SigningCertificateV2 from signed attributes/);
  });

  it('signing-certificate-v2 hash: SHA-1 refused; SHA-256 (implicit), SHA-384 with IssuerSerial and SHA-512 accepted', async () => {
    await refused(verify(token(ec, { essHash: 'sha1' }), ec), /unsupported certificate hash algorithm SHA-1 in the signingCertificateV2 attribute/);
    for (const essHash of ['sha256', 'sha384', 'sha512'] as const) {
      expect((await verify(token(ec, { essHash, essIssuerSerial: essHash === 'sha384' }), ec)).tsaChain).to.have.length(2);
    }
  });

  it('accuracy: absent or zero under the baseline policy 0.4.0.2023.1.1 is 1 s; zero under another policy is 0', async () => {
    const baseline = '0.4.0.2023.1.1';
    for (const acc of [undefined, accuracy({ seconds: 0 }), accuracy({}), accuracy({ millis: 0, micros: 0 })]) {
      const r = await verify(token(ec, {}, { tst: { policy: baseline, ...(acc ? { accuracy: acc } : {}) } }), ec);
      expect(r.upper.getTime() - r.lower.getTime(), acc?.toString('hex') ?? 'absent').to.equal(2000);
    }
    const other = await verify(token(ec, {}, { tst: { accuracy: accuracy({ seconds: 0 }) } }), ec);
    expect(other.upper.getTime() - other.lower.getTime()).to.equal(0);
    const some = await verify(token(ec, {}, { tst: { policy: baseline, accuracy: accuracy({ millis: 250 }) } }), ec);
    expect(some.upper.getTime() - some.lower.getTime()).to.equal(500);
  });

  it('a genTime finer than a millisecond and a microsecond accuracy widen the range outwards, never cut it short (Go compares in ns)', async () => {
    const now = new Date();
    const text = `${now.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, '')}.1234Z`; // .1234 s = 123.4 ms
    const r = await verify(token(ec, {}, { tst: { genTimeText: text, accuracy: accuracy({ micros: 200 }) } }), ec);
    const second = Math.floor(now.getTime() / 1000) * 1000;
    expect(r.lower.getTime() - second).to.equal(123); // exact 123.2 → 123
    expect(r.upper.getTime() - second).to.equal(124); // exact 123.6 → 124 (cut to 123, as before, it ended too early)
  });

  it('RSASSA-PSS as the SignerInfo signature algorithm is accepted (hash from its parameters); a salt length other than the hash length is refused', async () => {
    expect((await verify(token(rsa, { signatureAlgorithm: 'rsassa-pss' }), rsa)).tsaChain).to.have.length(2);
    expect((await verify(token(rsa, { signatureAlgorithm: 'rsassa-pss', digest: 'sha384' }), rsa)).tsaChain).to.have.length(2);
    expect((await verify(token(rsa, { signatureAlgorithm: 'rsaEncryption' }), rsa)).tsaChain).to.have.length(2);
    await refused(verify(token(rsa, { signatureAlgorithm: 'rsassa-pss', pssSaltLength: 20 }), rsa), /salt length 20/);
  });

  it('id-ecPublicKey as the signature algorithm, a subjectKeyIdentifier signer, SignerInfo version 3 → refused', async () => {
    await refused(verify(token(ec, { signatureAlgorithm: 'id-ecPublicKey' }), ec), /unsupported timestamp signature algorithm 1\.2\.840\.10045\.2\.1/);
    await refused(verify(token(ec, { sid: 'subjectKeyIdentifier' }), ec), /only issuerAndSerialNumber \(SignerInfo version 1\) is supported/);
    await refused(verify(token(ec, { version: 3 }), ec), /only version 1 is supported; got 3/);
  });

  it('SignedData version other than 3, TSTInfo version other than 1 → refused', async () => {
    await refused(verify(token(ec, {}, { version: 1 }), ec), /SignedData version must be 3, but got 1/);
    await refused(verify(token(ec, {}, { tst: { version: 2 } }), ec), /timestamp token info version must be 1, but got 2/);
  });

  it('several SignerInfos: accepted when one verifies, refused with the last error when none does', async () => {
    const tst = tstInfo(data);
    const bad = signerInfo(tst, { cert: ec.leaf.cert, key: ec.leaf.key, corrupt: true });
    const good = signerInfo(tst, { cert: ec.leaf.cert, key: ec.leaf.key });
    expect((await verify(cmsToken(tst, [bad, good], { certificates: certs(ec) }), ec)).tsaChain).to.have.length(2);
    await refused(verify(cmsToken(tst, [bad, bad], { certificates: certs(ec) }), ec), /timestamp signature does not verify/);
  });
});
