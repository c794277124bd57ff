import 'reflect-metadata';
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { X509Certificate, webcrypto, KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { configPaths } from '../../src/config/dir.js';
import { generateTestKey, type GeneratedKey } from '../../src/pki/generate.js';
import { importKey, loadSigner, listKeys, readSigningKeys, removeKey, setDefaultKey, checkSigningChain, CertificateRequirementError, addLocalKey, orderChain, keyMatchesCertificate, parsePrivateKey } from '../../src/pki/index.js';
import { certificateExtensions, OID, parseKeyUsage, parseBasicConstraints, parseExtKeyUsage } from '../../src/pki/der.js';
import { createEnvelope, parseEnvelope, verifyIntegrity } from '../../src/signature/index.js';
import { certInfo, parseCertificates } from '../../src/trust/x509.js';
import { signerFromKey } from '../../src/pki/keys.js';
import { DockerSignError } from '../../src/errors.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(DockerSignError);
    return (e as DockerSignError).code;
  }
  return undefined;
}
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

/** Issues a leaf from `root` with custom extensions (to test the requirement checks). */
async function issueLeaf(rootKeys: webcrypto.CryptoKeyPair, rootCert: x509.X509Certificate, exts: x509.Extension[], opts: { notAfter?: Date } = {}) {
  const gen = { name: 'ECDSA', namedCurve: 'P-256' };
  const keys = (await webcrypto.subtle.generateKey(gen, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    subject: 'CN=custom leaf',
    issuer: rootCert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: opts.notAfter ?? new Date(Date.now() + 86_400_000),
    publicKey: keys.publicKey as never,
    signingKey: rootKeys.privateKey as never,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: exts,
  });
  return { cert: new X509Certificate(Buffer.from(leaf.rawData)), key: KeyObject.from(keys.privateKey) };
}

describe('pki', () => {
  let rsa: GeneratedKey;
  let ec: GeneratedKey;
  let dir: string;
  before(async function () {
    this.timeout(60000);
    rsa = await generateTestKey({ name: 'wabbit', type: 'rsa-3072' });
    ec = await generateTestKey({ name: 'wabbit-ec', type: 'ec-p384' });
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ds-pki-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keyMatchesCertificate: true for the key\'s own certificate, false for another key of another type, and leaves no OpenSSL error behind', () => {
    const rsaKey = parsePrivateKey(Buffer.from(rsa.keyPem), 'rsa.pem');
    expect(keyMatchesCertificate(rsaKey, rsa.chain[0]!)).to.equal(true);
    expect(keyMatchesCertificate(rsaKey, ec.chain[0]!)).to.equal(false);
    expect(keyMatchesCertificate(rsaKey, rsa.chain[1]!)).to.equal(false);
    // the next key parse still works (KeyObject.equals across key types would have left an error queued)
    expect(parsePrivateKey(Buffer.from(ec.keyPem), 'ec.pem').asymmetricKeyType).to.equal('ec');
  });

  it('generateTestKey: root CA (critical CA:true, keyCertSign) + code-signing leaf (critical digitalSignature, CA:false, EKU codeSigning)', () => {
    const [leaf, root] = rsa.chain;
    const le = certificateExtensions(leaf!.raw);
    const re = certificateExtensions(root!.raw);
    const f = (l: typeof le, oid: string) => l.find((e) => e.oid === oid)!;
    expect(f(re, OID.basicConstraints).critical).to.equal(true);
    expect(parseBasicConstraints(f(re, OID.basicConstraints).value).ca).to.equal(true);
    expect([...parseKeyUsage(f(re, OID.keyUsage).value)].sort()).to.deep.equal(['cRLSign', 'keyCertSign']);
    expect(parseBasicConstraints(f(le, OID.basicConstraints).value).ca).to.equal(false);
    expect(f(le, OID.keyUsage).critical).to.equal(true);
    expect([...parseKeyUsage(f(le, OID.keyUsage).value)]).to.deep.equal(['digitalSignature']);
    expect(parseExtKeyUsage(f(le, OID.extKeyUsage).value)).to.deep.equal([OID.codeSigning]);
    expect(leaf!.checkIssued(root!)).to.equal(true);
    expect(root!.checkIssued(root!)).to.equal(true);
    expect(leaf!.publicKey.asymmetricKeyDetails!.modulusLength).to.equal(3072);
    expect(ec.chain[0]!.publicKey.asymmetricKeyDetails!.namedCurve).to.equal('secp384r1');
    expect(() => checkSigningChain(rsa.chain)).not.to.throw();
  });

  it('the notation vectors\' leaf chains pass the signing requirements', () => {
    const env = parseEnvelope(readFileSync('/work/shared/vectors/notation/jws-valid/signature.jws'), 'application/jose+json');
    expect(() => checkSigningChain(env.certificateChain)).not.to.throw();
  });

  it('checkSigningChain names what is wrong', async () => {
    expect(messageOf(() => checkSigningChain(rsa.chain, new Date(Date.now() + 400 * 86_400_000)))).to.match(/has expired/);
    expect(messageOf(() => checkSigningChain(rsa.chain, new Date(Date.now() - 86_400_000)))).to.match(/not valid yet/);
    expect(messageOf(() => checkSigningChain([rsa.chain[1]!]))).to.match(/is a CA certificate/);
    expect(messageOf(() => checkSigningChain([rsa.chain[1]!, rsa.chain[0]!]))).to.match(/CA certificate/);
    expect(messageOf(() => checkSigningChain([rsa.chain[0]!, ec.chain[1]!]))).to.match(/not issued and signed by the next certificate/);
    expect(messageOf(() => checkSigningChain([rsa.chain[0]!]))).to.match(/does not end in a self-signed root/);

    const rootKeys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const rootCert = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=custom root',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      keys: rootKeys as never,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
    });
    const root = new X509Certificate(Buffer.from(rootCert.rawData));
    const ds = new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true);
    const cases: [x509.Extension[], RegExp][] = [
      [[ds, new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])], /extendedKeyUsage serverAuth is not allowed/],
      [[ds, new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.timeStamping])], /timeStamping is not allowed/],
      [[ds, new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.ocspSigning])], /extendedKeyUsage OCSPSigning is not allowed/],
      [[ds, new x509.ExtendedKeyUsageExtension(['2.5.29.37.0'])], /extendedKeyUsage anyExtendedKeyUsage is not allowed/],
      [[new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement | x509.KeyUsageFlags.decipherOnly, true)], /keyAgreement must not be set/],
      [[new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, false)], /keyUsage extension must be marked critical/],
      [[new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyEncipherment, true)], /keyUsage lacks digitalSignature/],
      [[new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true)], /keyCertSign must not be set/],
      [[], /no keyUsage extension/],
      [[ds, new x509.BasicConstraintsExtension(true, undefined, true)], /is a CA certificate/],
    ];
    for (const [exts, re] of cases) {
      const { cert } = await issueLeaf(rootKeys, rootCert, exts);
      const err = (() => { try { checkSigningChain([cert, root]); } catch (e) { return e; } return undefined; })();
      expect(err, String(re)).to.be.instanceOf(CertificateRequirementError);
      expect((err as Error).message).to.match(re);
    }
    const ok = await issueLeaf(rootKeys, rootCert, [ds]); // no EKU at all is allowed
    expect(() => checkSigningChain([ok.cert, root])).not.to.throw();
    // a repeated root: only the last certificate may be self-signed
    expect(messageOf(() => checkSigningChain([ok.cert, root, root]))).to.match(/custom root.* is self-signed; only the last certificate of the chain may be/);
  });

  it('a CA whose subject key identifier is not the leaf\'s authority key identifier still issued it (names + signature, as Go)', async () => {
    const rootKeys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const rootCert = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=root with ski',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      keys: rootKeys as never,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
        new x509.SubjectKeyIdentifierExtension('0102030405060708090a0b0c0d0e0f1011121314'),
      ],
    });
    const root = new X509Certificate(Buffer.from(rootCert.rawData));
    const { cert, key } = await issueLeaf(rootKeys, rootCert, [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.AuthorityKeyIdentifierExtension('ffeeddccbbaa99887766554433221100ffeeddcc'),
    ]);
    expect(cert.checkIssued(root)).to.equal(false); // OpenSSL's AKID/SKID match fails
    expect(() => checkSigningChain([cert, root])).not.to.throw();
    expect(orderChain(key, [root, cert])).to.deep.equal([cert, root]);
  });

  it('refuses a certificate with a negative serial number (Go, so notation, cannot parse it)', () => {
    const d = mkdtempSync(join(tmpdir(), 'ds-negserial-'));
    const o = (...a: string[]) => execFileSync('openssl', a, { cwd: d, stdio: ['ignore', 'pipe', 'pipe'] });
    writeFileSync(join(d, 'ext.cnf'), ['[ req ]', 'distinguished_name = dn', '[ dn ]', '[ root ]', 'basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign', '[ leaf ]', 'basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature', 'extendedKeyUsage = codeSigning', ''].join('\n'));
    o('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'root.key', '-out', 'root.crt', '-subj', '/C=US/ST=WA/O=Neg/CN=root', '-days', '2', '-config', 'ext.cnf', '-extensions', 'root');
    o('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/C=US/ST=WA/O=Neg/CN=leaf', '-config', 'ext.cnf');
    const chain = (serial: string) => {
      o('x509', '-req', '-in', 'leaf.csr', '-CA', 'root.crt', '-CAkey', 'root.key', '-set_serial', serial, '-days', '1', '-extfile', 'ext.cnf', '-extensions', 'leaf', '-out', 'leaf.crt');
      return [new X509Certificate(readFileSync(join(d, 'leaf.crt'))), new X509Certificate(readFileSync(join(d, 'root.crt')))];
    };
    try {
      expect(() => checkSigningChain(chain('4097'))).not.to.throw();
      expect(messageOf(() => checkSigningChain(chain('-4097')))).to.match(/negative serial number/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('a certificate Go cannot parse (an extension twice, inner and outer signature algorithms differing) is refused like notation refuses it: as a file, in an envelope, by certInfo', async () => {
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const ku = new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true);
    const c = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=twice', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), keys: keys as never,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true), ku, ku, new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning])],
    });
    const cert = new X509Certificate(Buffer.from(c.rawData)); // OpenSSL takes it
    expect(() => certInfo(cert)).to.throw(/duplicate extension with OID "2\.5\.29\.15"/);
    expect(() => parseCertificates(Buffer.from(c.toString('pem')))).to.throw(/certificate #1 is not a valid X\.509 certificate.*duplicate extension/);
    // in the x5c of an envelope that is otherwise a good one
    const good = await createEnvelope({ payload: { targetArtifact: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'c'.repeat(64)}`, size: 3 } }, format: 'jws', signer: signerFromKey(rsa.privateKey, rsa.chain) });
    const j = JSON.parse(good.bytes.toString('utf8'));
    j.header.x5c = [cert.raw.toString('base64')];
    expect(() => parseEnvelope(Buffer.from(JSON.stringify(j)), good.mediaType)).to.throw(/certificate #1 in the chain is not a valid X\.509 certificate.*duplicate extension/);
    // the outer signatureAlgorithm (ecdsa-with-SHA256) changed to ecdsa-with-SHA384, the tbsCertificate's left alone
    const ok = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=algs', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), keys: keys as never,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' }, extensions: [ku],
    });
    const der = Buffer.from(ok.rawData);
    const alg = Buffer.from('300a06082a8648ce3d040302', 'hex');
    const outer = der.lastIndexOf(alg);
    expect(outer).to.be.greaterThan(der.indexOf(alg));
    der[outer + alg.length - 1] = 0x03;
    expect(() => certInfo(new X509Certificate(der))).to.throw(/inner and outer signature algorithm identifiers don't match/);
  });

  it('accepts a single self-signed leaf-style certificate (what `notation cert generate-test` makes)', async () => {
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const c = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=notation-style',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      keys: keys as never,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning])],
    });
    const cert = new X509Certificate(Buffer.from(c.rawData));
    expect(() => checkSigningChain([cert])).not.to.throw();
    const paths = configPaths(dir);
    addLocalKey(paths, 'selfsigned', KeyObject.from(keys.privateKey).export({ format: 'pem', type: 'pkcs8' }) as string, cert.toString());
    const s = loadSigner(paths, 'selfsigned');
    expect(s.certificateChain).to.have.length(1);
    const out = await createEnvelope({ payload: { targetArtifact: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'c'.repeat(64)}`, size: 3 } }, format: 'jws', signer: s });
    verifyIntegrity(parseEnvelope(out.bytes, out.mediaType));
  });

  it('imports PEM PKCS#8, PKCS#1, SEC1 and DER keys; key file is 0600; chain stored leaf first', () => {
    const paths = configPaths(dir);
    const chainFile = join(dir, 'chain.pem');
    writeFileSync(chainFile, rsa.chainPem);
    const forms: [string, Buffer | string][] = [
      ['pkcs8', rsa.keyPem],
      ['pkcs1', rsa.privateKey.export({ format: 'pem', type: 'pkcs1' })],
      ['der', rsa.privateKey.export({ format: 'der', type: 'pkcs8' })],
    ];
    for (const [n, data] of forms) {
      const kf = join(dir, `${n}.key`);
      writeFileSync(kf, data);
      const e = importKey(paths, { name: `rsa-${n}`, keyFile: kf, certFile: chainFile });
      expect(statSync(e.keyPath!).mode & 0o777).to.equal(0o600);
      expect(readFileSync(e.keyPath!, 'utf8')).to.match(/^-----BEGIN PRIVATE KEY-----/);
    }
    const ecChain = join(dir, 'ec.pem');
    writeFileSync(ecChain, ec.chainPem);
    const sec1 = join(dir, 'sec1.key');
    writeFileSync(sec1, ec.privateKey.export({ format: 'pem', type: 'sec1' }));
    importKey(paths, { name: 'ec-sec1', keyFile: sec1, certFile: ecChain });
    const sk = readSigningKeys(paths);
    expect(sk.default).to.equal('rsa-pkcs8');
    expect(sk.keys.map((k) => k.name)).to.deep.equal(['rsa-pkcs8', 'rsa-pkcs1', 'rsa-der', 'ec-sec1']);
    const signer = loadSigner(paths, 'ec-sec1');
    expect(signer.algorithm).to.equal('ES384');
    expect(signer.certificateChain.map((c) => c.fingerprint256)).to.deep.equal(ec.chain.map((c) => c.fingerprint256));
  });

  it('imports encrypted keys (PKCS#8 PEM and DER, legacy PEM encryption) with their password; stored decrypted, 0600', () => {
    const paths = configPaths(dir);
    const ecChain = join(dir, 'ec.pem');
    writeFileSync(ecChain, ec.chainPem);
    const forms: [string, Buffer | string][] = [
      ['p8pem', ec.privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' })],
      ['p8der', ec.privateKey.export({ format: 'der', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' })],
      ['sec1', ec.privateKey.export({ format: 'pem', type: 'sec1', cipher: 'aes-128-cbc', passphrase: 'pw' })],
    ];
    for (const [n, data] of forms) {
      const kf = join(dir, `${n}.key`);
      writeFileSync(kf, data);
      const missing = (() => { try { importKey(paths, { name: `enc-${n}`, keyFile: kf, certFile: ecChain }); return undefined; } catch (e) { return e as { code?: string; message: string; hint?: string }; } })();
      expect(missing?.code, n).to.equal('INVALID_KEY');
      expect(missing?.message, n).to.match(/the key is encrypted/);
      expect(missing?.hint).to.match(/--password-stdin/);
      const wrong = (() => { try { importKey(paths, { name: `enc-${n}`, keyFile: kf, certFile: ecChain, password: 'nope' }); return undefined; } catch (e) { return e as { code?: string; message: string }; } })();
      expect(wrong?.message, n).to.match(/the password does not decrypt the key/);
      const e = importKey(paths, { name: `enc-${n}`, keyFile: kf, certFile: ecChain, password: 'pw' });
      expect(statSync(e.keyPath!).mode & 0o777).to.equal(0o600);
      expect(readFileSync(e.keyPath!, 'utf8')).to.match(/^-----BEGIN PRIVATE KEY-----/);
      expect(loadSigner(paths, `enc-${n}`).algorithm).to.equal('ES384');
    }
  });

  it('an encrypted PKCS#8 DER key is recognised by its structure: a wrong password is always "does not decrypt" (garbage that passes the CBC padding check, ~1 in 256, was "not a usable key")', () => {
    // EncryptedPrivateKeyInfo { { PBES2 }, OCTET STRING }: no OpenSSL error about decryption to go by
    const oid = Buffer.from('06092a864886f70d01050d', 'hex');
    const alg = Buffer.concat([Buffer.from([0x30, oid.length]), oid]);
    const oct = Buffer.concat([Buffer.from([0x04, 16]), Buffer.alloc(16, 7)]);
    const der = Buffer.concat([Buffer.from([0x30, alg.length + oct.length]), alg, oct]);
    expect(() => parsePrivateKey(der, 'k.der', 'nope')).to.throw(/k\.der: the password does not decrypt the key/);
    expect(() => parsePrivateKey(der, 'k.der')).to.throw(/k\.der: the key is encrypted/);
  });

  it('import refuses a chain that is not leaf first, a mismatched key, and a duplicate name', () => {
    const paths = configPaths(dir);
    const kf = join(dir, 'k.pem');
    writeFileSync(kf, rsa.keyPem);
    const reversed = join(dir, 'rev.pem');
    writeFileSync(reversed, rsa.chain[1]!.toString() + rsa.chain[0]!.toString());
    expect(messageOf(() => importKey(paths, { name: 'a', keyFile: kf, certFile: reversed }))).to.match(/belongs to certificate #2.*must come first/);
    const other = join(dir, 'other.pem');
    writeFileSync(other, ec.chainPem);
    expect(codeOf(() => importKey(paths, { name: 'a', keyFile: kf, certFile: other }))).to.equal('KEY_CERT_MISMATCH');
    const chain = join(dir, 'chain.pem');
    writeFileSync(chain, rsa.chainPem);
    importKey(paths, { name: 'a', keyFile: kf, certFile: chain });
    expect(codeOf(() => importKey(paths, { name: 'a', keyFile: kf, certFile: chain }))).to.equal('KEY_EXISTS');
    expect(codeOf(() => importKey(paths, { name: '../evil', keyFile: kf, certFile: chain }))).to.equal('INVALID_KEY_NAME');
    const junk = join(dir, 'junk.key');
    writeFileSync(junk, 'not a key');
    expect(codeOf(() => importKey(paths, { name: 'b', keyFile: junk, certFile: chain }))).to.equal('INVALID_KEY');
  });

  it('imports a PKCS#12 file (chain ordered leaf first) and rejects a wrong password', () => {
    const paths = configPaths(dir);
    const kf = join(dir, 'k.pem');
    writeFileSync(kf, ec.keyPem);
    const leafF = join(dir, 'leaf.pem');
    writeFileSync(leafF, ec.chain[0]!.toString());
    const rootF = join(dir, 'root.pem');
    writeFileSync(rootF, ec.chain[1]!.toString());
    const p12 = join(dir, 'k.p12');
    execFileSync('openssl', ['pkcs12', '-export', '-inkey', kf, '-in', leafF, '-certfile', rootF, '-out', p12, '-passout', 'pass:s3cret']);
    const e = importKey(paths, { name: 'p12', p12File: p12, password: 's3cret' });
    expect(e.chainSubjects[0]).to.match(/^CN=wabbit-ec, O=Notary/);
    const s = loadSigner(paths, 'p12');
    expect(s.certificateChain.map((c) => c.fingerprint256)).to.deep.equal(ec.chain.map((c) => c.fingerprint256));
    expect(codeOf(() => importKey(paths, { name: 'p12b', p12File: p12, password: 'wrong' }))).to.equal('INVALID_PKCS12');
  });

  it('loadSigner: default key, missing key, key/cert mismatch; signs verifiable envelopes', async () => {
    const paths = configPaths(dir);
    expect(codeOf(() => loadSigner(paths))).to.equal('NO_SIGNING_KEY');
    addLocalKey(paths, 'r', rsa.keyPem, rsa.chainPem);
    addLocalKey(paths, 'e', ec.keyPem, ec.chainPem);
    expect(loadSigner(paths).keyName).to.equal('r');
    setDefaultKey(paths, 'e');
    const s = loadSigner(paths);
    expect(s.keyName).to.equal('e');
    const out = await createEnvelope({ payload: { targetArtifact: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'b'.repeat(64)}`, size: 1 } }, format: 'cose', signer: s });
    verifyIntegrity(parseEnvelope(out.bytes, out.mediaType));
    expect(codeOf(() => loadSigner(paths, 'nope'))).to.equal('KEY_NOT_FOUND');
    // swap the cert file for another key's chain
    writeFileSync(readSigningKeys(paths).keys[0]!.certPath!, ec.chainPem);
    expect(codeOf(() => loadSigner(paths, 'r'))).to.equal('KEY_CERT_MISMATCH');
    // expired at signing time → requirement error
    expect(codeOf(() => loadSigner(paths, 'e', new Date(Date.now() + 400 * 86_400_000)))).to.equal('CERTIFICATE_REQUIREMENTS');
    const infos = listKeys(paths);
    expect(infos.map((k) => [k.name, k.default])).to.deep.equal([['r', false], ['e', true]]);
    expect(JSON.stringify(infos)).not.to.contain('PRIVATE KEY');
    const r = removeKey(paths, 'e');
    expect(r.deletedFiles).to.have.length(2);
    expect(readSigningKeys(paths).default).to.equal(undefined);
  });

  it('keeps unknown entries of a notation signingkeys.json (e.g. plugin keys) when rewriting', () => {
    const paths = configPaths(dir);
    writeFileSync(paths.signingKeys, JSON.stringify({ default: 'plug', keys: [{ name: 'plug', id: 'arn:x', pluginName: 'aws' }] }));
    addLocalKey(paths, 'mine', ec.keyPem, ec.chainPem);
    const sk = readSigningKeys(paths);
    expect(sk.default).to.equal('plug');
    expect(sk.keys[0]).to.deep.equal({ name: 'plug', id: 'arn:x', pluginName: 'aws' });
    expect(codeOf(() => loadSigner(paths))).to.equal('UNSUPPORTED_KEY');
  });
});
