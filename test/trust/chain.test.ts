import { expect } from 'chai';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto, X509Certificate } from 'node:crypto';
import { validateSigningChain } from '../../src/trust/verifier.js';
import { generateTestKey, type GeneratedKey } from '../../src/pki/generate.js';

x509.cryptoProvider.set(webcrypto as never);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

async function leafWith(root: GeneratedKey, rootKey: webcrypto.CryptoKeyPair, ext: x509.Extension[]): Promise<X509Certificate> {
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const c = await x509.X509CertificateGenerator.create({
    serialNumber: '0102',
    subject: 'C=US, ST=WA, O=Test, CN=Leaf',
    issuer: new x509.X509Certificate(root.chain[1]!.raw).subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    publicKey: keys.publicKey as never,
    signingKey: rootKey.privateKey as never,
    signingAlgorithm: alg,
    extensions: ext,
  });
  return new X509Certificate(Buffer.from(c.rawData));
}

function fails(chain: X509Certificate[], re: RegExp, at?: Date): void {
  try {
    validateSigningChain(chain, at);
  } catch (e) {
    expect((e as Error).message).to.match(re);
    return;
  }
  throw new Error('chain was accepted');
}

describe('signing chain rules (integrity step)', function () {
  this.timeout(30_000);
  let a: GeneratedKey;
  let b: GeneratedKey;
  before(async () => {
    [a, b] = await Promise.all([generateTestKey({ name: 'A', type: 'ec-p256' }), generateTestKey({ name: 'B', type: 'ec-p256' })]);
  });

  it('accepts leaf → root; rejects wrong order, a foreign issuer, a missing root', () => {
    expect(() => validateSigningChain(a.chain, new Date())).not.to.throw();
    fails([a.chain[1]!, a.chain[0]!], /is a CA certificate|not issued by/);
    fails([a.chain[0]!, b.chain[1]!], /is not issued by the next certificate/);
    fails([a.chain[0]!], /must end with a self-signed root certificate/);
    fails([], /empty certificate chain/);
  });

  it('signing time must be inside every certificate\'s validity', () => {
    fails(a.chain, /was invalid at signing time/, new Date(Date.now() - 86_400_000));
  });

  it('leaf key usage / EKU requirements', async () => {
    // a root key we control, to issue leaves with chosen extensions
    const rootKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const rootCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'C=US, ST=WA, O=Test, CN=Root',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      keys: rootKeys as never,
      signingAlgorithm: alg,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
    });
    const root = new X509Certificate(Buffer.from(rootCert.rawData));
    const fake = { chain: [root, root] } as unknown as GeneratedKey;
    const good = await leafWith(fake, rootKeys, [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning])]);
    expect(() => validateSigningChain([good, root])).not.to.throw();
    const server = await leafWith(fake, rootKeys, [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])]);
    fails([server, root], /extendedKeyUsage serverAuth/);
    const ts = await leafWith(fake, rootKeys, [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.timeStamping])]);
    fails([ts, root], /extendedKeyUsage timeStamping/);
    const noDs = await leafWith(fake, rootKeys, [new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyEncipherment, true)]);
    fails([noDs, root], /must have keyUsage "digitalSignature"/);
    const ca = await leafWith(fake, rootKeys, [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)]);
    fails([ca, root], /is a CA certificate/);
  });
});
