import { expect } from 'chai';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto, X509Certificate } from 'node:crypto';
import { Verifier, validateSigningChain } from '../../src/trust/verifier.js';
import { validateTrustPolicy } from '../../src/trust/policy.js';
import { MemoryTrustStore } from '../../src/trust/truststore.js';
import { issuedBy, isSelfSigned } from '../../src/trust/x509.js';
import { generateTestKey, type GeneratedKey } from '../../src/pki/generate.js';
import { signerFromKey } from '../../src/pki/keys.js';
import { createEnvelope, buildSignatureManifest } from '../../src/signature/index.js';
import { MediaType } from '../../src/oci/mediaTypes.js';
import { MemoryTarget } from './memory-target.js';

x509.cryptoProvider.set(webcrypto as never);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const KU = x509.KeyUsageFlags;

type Keys = webcrypto.CryptoKeyPair;

async function newKeys(): Promise<Keys> {
  return (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as Keys;
}

interface Made {
  cert: X509Certificate;
  keys: Keys;
  name: string;
}

/** Issues a certificate for `keys` named `name`, signed by `by` (self-signed when absent), with `ext` and `hash`. */
async function make(name: string, ext: x509.Extension[], by?: Made, opts: { hash?: 'SHA-1' | 'SHA-256'; keys?: Keys } = {}): Promise<Made> {
  const keys = opts.keys ?? (await newKeys());
  const c = await x509.X509CertificateGenerator.create({
    serialNumber: Math.floor(Math.random() * 1e9).toString(16).padStart(8, '1'),
    subject: name,
    issuer: by ? by.name : name,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    publicKey: keys.publicKey as never,
    signingKey: (by ? by.keys : keys).privateKey as never,
    signingAlgorithm: { ...alg, hash: opts.hash ?? 'SHA-256' } as never,
    extensions: ext,
  });
  return { cert: new X509Certificate(Buffer.from(c.rawData)), keys, name };
}

const caExt = (ku = KU.keyCertSign | KU.cRLSign, critical = true) => [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(ku, critical)];
const leafExt = (ku = KU.digitalSignature, critical = true) => [new x509.KeyUsagesExtension(ku, critical), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning])];

function fails(chain: X509Certificate[], re: RegExp): void {
  try {
    validateSigningChain(chain);
  } catch (e) {
    expect((e as Error).message).to.match(re);
    return;
  }
  throw new Error(`chain was accepted (expected ${re})`);
}

describe('signing chain rules (integrity step)', function () {
  this.timeout(30_000);
  let a: GeneratedKey;
  let b: GeneratedKey;
  let root: Made;
  before(async () => {
    [a, b] = await Promise.all([generateTestKey({ name: 'A', type: 'ec-p256' }), generateTestKey({ name: 'B', type: 'ec-p256' })]);
    root = await make('C=US, ST=WA, O=Test, CN=Root', caExt());
  });

  it('accepts leaf → root; rejects wrong order, a foreign issuer, a missing root', () => {
    expect(() => validateSigningChain(a.chain)).not.to.throw();
    fails([a.chain[1]!, a.chain[0]!], /is self-signed; only the last certificate/);
    fails([a.chain[0]!, b.chain[1]!], /is not issued by the next certificate/);
    fails([a.chain[0]!], /the only certificate, .* is not self-signed/);
    fails([], /empty certificate chain/);
  });

  it('does not check certificate validity (notation validates the chain with no time)', async () => {
    // expired by the time of verification: integrity still passes, authenticTimestamp is the step that fails
    const c = await x509.X509CertificateGenerator.create({
      serialNumber: '0a0b',
      subject: 'C=US, ST=WA, O=Test, CN=Expired',
      issuer: root.name,
      notBefore: new Date(Date.now() - 3 * 86_400_000),
      notAfter: new Date(Date.now() - 2 * 86_400_000),
      publicKey: (await newKeys()).publicKey as never,
      signingKey: root.keys.privateKey as never,
      signingAlgorithm: alg,
      extensions: leafExt(),
    });
    expect(() => validateSigningChain([new X509Certificate(Buffer.from(c.rawData)), root.cert])).not.to.throw();
  });

  it('leaf key usage / EKU requirements', async () => {
    const leaf = (ext: x509.Extension[]) => make('C=US, ST=WA, O=Test, CN=Leaf', ext, root).then((m) => m.cert);
    expect(() => validateSigningChain([root.cert])).to.throw(/is a CA certificate/);
    expect(() => validateSigningChain([root.cert, root.cert])).to.throw(/is self-signed; only the last/);
    const good = await leaf(leafExt());
    expect(() => validateSigningChain([good, root.cert])).not.to.throw();
    // contentCommitment (nonRepudiation) next to digitalSignature is allowed, as by notation
    const nr = await leaf(leafExt(KU.digitalSignature | KU.nonRepudiation));
    expect(() => validateSigningChain([nr, root.cert])).not.to.throw();
    const ds = new x509.KeyUsagesExtension(KU.digitalSignature, true);
    fails([await leaf([ds, new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])]), root.cert], /extendedKeyUsage serverAuth/);
    fails([await leaf([ds, new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.timeStamping])]), root.cert], /extendedKeyUsage timeStamping/);
    fails([await leaf([ds, new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.ocspSigning])]), root.cert], /extendedKeyUsage OCSPSigning/);
    fails([await leaf([new x509.KeyUsagesExtension(KU.keyEncipherment, true)]), root.cert], /must have keyUsage "digitalSignature"/);
    fails([await leaf([new x509.BasicConstraintsExtension(true, undefined, true), ds]), root.cert], /is a CA certificate/);
    fails([await leaf([new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning])]), root.cert], /has no keyUsage extension/);
  });

  it('leaf keyUsage must be critical and digitalSignature only (notation validateLeafKeyUsage)', async () => {
    const leaf = (ext: x509.Extension[]) => make('C=US, ST=WA, O=Test, CN=Leaf', ext, root).then((m) => m.cert);
    fails([await leaf(leafExt(KU.digitalSignature, false)), root.cert], /keyUsage extension that is not marked critical/);
    const bad: [number, string][] = [
      [KU.keyEncipherment, 'keyEncipherment'],
      [KU.dataEncipherment, 'dataEncipherment'],
      [KU.keyAgreement, 'keyAgreement'],
      [KU.keyCertSign, 'keyCertSign'],
      [KU.cRLSign, 'cRLSign'],
      [KU.keyAgreement | KU.encipherOnly, 'keyAgreement, encipherOnly'],
      [KU.keyAgreement | KU.decipherOnly, 'keyAgreement, decipherOnly'],
    ];
    for (const [bits, names] of bad) {
      fails([await leaf(leafExt(KU.digitalSignature | bits)), root.cert], new RegExp(`has keyUsage ${names}; the keyUsage must be "digitalSignature" only`));
    }
  });

  it('CA certificates need a critical keyUsage with keyCertSign', async () => {
    const leafUnder = (ca: Made) => make('C=US, ST=WA, O=Test, CN=Leaf', leafExt(), ca).then((m) => m.cert);
    const noKu = await make('C=US, ST=WA, O=Test, CN=Root without keyUsage', [new x509.BasicConstraintsExtension(true, undefined, true)]);
    fails([await leafUnder(noKu), noKu.cert], /Root without keyUsage.* has no keyUsage extension \(a CA needs keyUsage keyCertSign\)/);
    const nonCritical = await make('C=US, ST=WA, O=Test, CN=Root with non-critical keyUsage', caExt(KU.keyCertSign, false));
    fails([await leafUnder(nonCritical), nonCritical.cert], /keyUsage extension that is not marked critical/);
    const noCertSign = await make('C=US, ST=WA, O=Test, CN=Root without keyCertSign', caExt(KU.cRLSign));
    fails([await leafUnder(noCertSign), noCertSign.cert], /lacks keyUsage keyCertSign/);
    // an intermediate is held to the same rules
    const int = await make('C=US, ST=WA, O=Test, CN=Intermediate', [new x509.BasicConstraintsExtension(true, undefined, true)], root);
    fails([await leafUnder(int), int.cert, root.cert], /Intermediate.* has no keyUsage extension/);
    const goodInt = await make('C=US, ST=WA, O=Test, CN=Intermediate', caExt(), root);
    const underGoodInt = await leafUnder(goodInt);
    expect(() => validateSigningChain([underGoodInt, goodInt.cert, root.cert])).not.to.throw();
  });

  it('no self-signed certificate but the last (a repeated root is refused)', async () => {
    const leaf = (await make('C=US, ST=WA, O=Test, CN=Leaf', leafExt(), root)).cert;
    fails([leaf, root.cert, root.cert], /#2 with subject "CN=Root,O=Test,ST=WA,C=US" is self-signed; only the last certificate of the chain may be self-signed/);
  });

  it('SHA-1 links are refused, except the self-signature of a single-certificate chain', async () => {
    const sha1Leaf = (await make('C=US, ST=WA, O=Test, CN=SHA-1 Leaf', leafExt(), root, { hash: 'SHA-1' })).cert;
    fails([sha1Leaf, root.cert], /SHA-1 Leaf.* is signed with the insecure algorithm SHA-1/);
    const sha1Root = await make('C=US, ST=WA, O=Test, CN=SHA-1 Root', caExt(), undefined, { hash: 'SHA-1' });
    const underSha1Root = (await make('C=US, ST=WA, O=Test, CN=Leaf', leafExt(), sha1Root)).cert;
    fails([underSha1Root, sha1Root.cert], /root .*SHA-1 Root.* is self-signed with the insecure algorithm SHA-1/);
    const sha1Int = await make('C=US, ST=WA, O=Test, CN=SHA-1 Intermediate', caExt(), root, { hash: 'SHA-1' });
    const underSha1Int = (await make('C=US, ST=WA, O=Test, CN=Leaf', leafExt(), sha1Int)).cert;
    fails([underSha1Int, sha1Int.cert, root.cert], /SHA-1 Intermediate.* is signed with the insecure algorithm SHA-1/);
    // Go checks a lone self-signed certificate with Certificate.CheckSignature, which allows SHA-1
    const single = (await make('C=US, ST=WA, O=Test, CN=Self-signed SHA-1', [new x509.BasicConstraintsExtension(false, undefined, true), ...leafExt()], undefined, { hash: 'SHA-1' })).cert;
    expect(() => validateSigningChain([single])).not.to.throw();
  });

  it('"issued by" is names + signature: an authority key identifier that does not match the CA\'s subject key identifier is fine', async () => {
    const ca = await make('C=US, ST=WA, O=Test, CN=Root with SKI', [...caExt(), new x509.SubjectKeyIdentifierExtension('0102030405060708090a0b0c0d0e0f1011121314')]);
    const leaf = (await make('C=US, ST=WA, O=Test, CN=Leaf with another AKI', [...leafExt(), new x509.AuthorityKeyIdentifierExtension('ffeeddccbbaa99887766554433221100ffeeddcc')], ca)).cert;
    // OpenSSL's checkIssued() refuses the pair (AKID/SKID mismatch); Go, and so notation, does not look at them
    expect(leaf.checkIssued(ca.cert)).to.equal(false);
    expect(issuedBy(leaf, ca.cert)).to.equal(true);
    expect(() => validateSigningChain([leaf, ca.cert])).not.to.throw();
    // names alone are not enough: same issuer Name, other key
    const lookalike = await make('C=US, ST=WA, O=Test, CN=Root with SKI', caExt());
    expect(issuedBy(leaf, lookalike.cert)).to.equal(false);
    fails([leaf, lookalike.cert], /is not issued by the next certificate/);
    expect(isSelfSigned(ca.cert)).to.equal(true);
    expect(isSelfSigned(leaf)).to.equal(false);
  });

  it('Verifier: a signing time outside the certificate validity does not fail integrity; the chain valid now verifies', async () => {
    const REPO = 'registry.example/chain';
    const t = new MemoryTarget();
    const subjectBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config: { mediaType: MediaType.OCI_EMPTY, digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 }, layers: [] }));
    const subject = t.addManifest(MediaType.OCI_MANIFEST, subjectBytes, 'v1');
    // the envelope claims a signing time two days before the certificates were issued
    const claimed = new Date(a.chain[0]!.validFrom);
    claimed.setTime(claimed.getTime() - 2 * 86_400_000);
    const env = await createEnvelope({ payload: { targetArtifact: subject }, format: 'jws', signer: signerFromKey(a.privateKey, a.chain), signingTime: claimed });
    const built = buildSignatureManifest(subject, env, a.chain);
    t.addBlob(built.config.bytes);
    t.addBlob(env.bytes);
    await t.pushReferrer(built.descriptor, built.manifest, subject);
    const policy = validateTrustPolicy({
      version: '1.0',
      trustPolicies: [{ name: 'chain', registryScopes: [REPO], signatureVerification: { level: 'strict', override: { revocation: 'skip' } }, trustStores: ['ca:a'], trustedIdentities: ['*'] }],
    });
    const r = await new Verifier({ policy, trustStore: new MemoryTrustStore().set('ca', 'a', [a.chain[1]!]) }).verify({ target: t, descriptor: subject, repository: REPO });
    expect(r.verified, r.reason).to.equal(true);
    expect(r.signatures[0]!.checks.find((c) => c.name === 'integrity')).to.include({ status: 'pass' });
    expect(r.signatures[0]!.checks.find((c) => c.name === 'authenticTimestamp')).to.include({ status: 'pass' });
  });
});
