import { expect } from 'chai';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto, KeyObject, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

x509.cryptoProvider.set(webcrypto as never);
const DAY = 86_400_000;
const REPO = 'registry.example/app';

interface Tsa {
  root: X509Certificate;
  dir: string;
}

/** A TSA (root + timeStamping leaf) usable by `openssl ts -reply`. */
async function makeTsa(): Promise<Tsa> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const rk = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const lk = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const nb = new Date(Date.now() - DAY);
  const na = new Date(Date.now() + 3650 * DAY);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '0a', name: 'C=US, ST=WA, O=Test TSA, CN=Test TSA Root', notBefore: nb, notAfter: na, keys: rk as never, signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '0b', subject: 'C=US, ST=WA, O=Test TSA, CN=Test TSA Signer', issuer: root.subject, notBefore: nb, notAfter: na,
    publicKey: lk.publicKey as never, signingKey: rk.privateKey as never, signingAlgorithm: alg,
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.timeStamping], true)],
  });
  const dir = mkdtempSync(join(tmpdir(), 'ds-tsa-'));
  writeFileSync(join(dir, 'tsa.pem'), new X509Certificate(Buffer.from(leaf.rawData)).toString());
  writeFileSync(join(dir, 'root.pem'), new X509Certificate(Buffer.from(root.rawData)).toString());
  writeFileSync(join(dir, 'tsa.key'), KeyObject.from(lk.privateKey as never).export({ type: 'pkcs8', format: 'pem' }) as string);
  writeFileSync(join(dir, 'serial'), '01\n');
  writeFileSync(
    join(dir, 'ts.cnf'),
    ['[ tsa ]', 'default_tsa = tsa1', '[ tsa1 ]', `serial = ${join(dir, 'serial')}`, 'crypto_device = builtin', 'signer_digest = sha256', 'default_policy = 1.2.3.4.1',
      'digests = sha256, sha384, sha512', 'accuracy = secs:1', 'ordering = yes', 'tsa_name = no', 'ess_cert_id_chain = no', 'ess_cert_id_alg = sha256', ''].join('\n'),
  );
  return { root: new X509Certificate(Buffer.from(root.rawData)), dir };
}

/** RFC 3161 token over `data` from the openssl TSA. */
function stamp(tsa: Tsa, data: Buffer): Buffer {
  const d = tsa.dir;
  writeFileSync(join(d, 'data.bin'), data);
  execFileSync('openssl', ['ts', '-query', '-data', join(d, 'data.bin'), '-sha256', '-cert', '-no_nonce', '-out', join(d, 'req.tsq')], { stdio: 'pipe' });
  execFileSync('openssl', ['ts', '-reply', '-queryfile', join(d, 'req.tsq'), '-signer', join(d, 'tsa.pem'), '-inkey', join(d, 'tsa.key'), '-chain', join(d, 'root.pem'),
    '-config', join(d, 'ts.cnf'), '-token_out', '-out', join(d, 'token.der')], { stdio: 'pipe' });
  return readFileSync(join(d, 'token.der'));
}

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
