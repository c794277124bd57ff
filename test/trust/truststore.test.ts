import { expect } from 'chai';
import { mkdtemp, mkdir, writeFile, symlink, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTrustStore, loadStores } from '../../src/trust/truststore.js';
import { PolicyError } from '../../src/trust/errors.js';
import { certInfo, parseCertificates } from '../../src/trust/x509.js';
import { generateTestKey, type GeneratedKey } from '../../src/pki/generate.js';
import { EXT, opensslCert, type PkiCert } from '../support/tsa.js';

import { VECTORS } from './vectors.js';

const ROOT_CRT = join(VECTORS, 'truststore/x509/ca/example/root.crt');
const UNTRUSTED = join(VECTORS, 'jws-untrusted-root/not-trusted-root.crt');

async function expectPolicyError(p: Promise<unknown>, code: string, msg: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(PolicyError);
    expect((e as PolicyError).code).to.equal(code);
    expect((e as Error).message).to.match(msg);
    return;
  }
  throw new Error('expected a PolicyError');
}

describe('trust store (notation layout truststore/x509/<type>/<name>/*)', function () {
  this.timeout(30_000);
  let key: GeneratedKey;
  before(async () => {
    key = await generateTestKey({ name: 'TS', type: 'ec-p256' });
  });

  async function store(): Promise<{ root: string; ts: FileTrustStore }> {
    const root = await mkdtemp(join(tmpdir(), 'ds-ts-'));
    return { root, ts: new FileTrustStore(root) };
  }

  it('loads PEM and DER files, several certificates per file, from the named store', async () => {
    const { root, ts } = await store();
    const dir = join(root, 'x509', 'ca', 'multi');
    await mkdir(dir, { recursive: true });
    const pem = await readFile(ROOT_CRT);
    await writeFile(join(dir, 'both.pem'), Buffer.concat([pem, await readFile(UNTRUSTED)]));
    await writeFile(join(dir, 'test.cer'), key.chain[1]!.raw);
    const certs = await ts.getCertificates('ca', 'multi');
    expect(certs.map((c) => certInfo(c).subject)).to.deep.equal([
      'CN=Example Root CA,O=Notary Interop Test,L=Seattle,ST=WA,C=US',
      certInfo(parseCertificates(await readFile(UNTRUSTED))[0]!).subject,
      certInfo(key.chain[1]!).subject,
    ]);
    expect(await loadStores(ts, [{ type: 'ca', name: 'multi' }, { type: 'tsa', name: 'other' }], 'ca')).to.have.length(3);
  });

  it('a store the policy names but that does not exist → TRUST_STORE_MISSING naming it', async () => {
    const { ts } = await store();
    await expectPolicyError(ts.getCertificates('ca', 'wabbit'), 'TRUST_STORE_MISSING', /trust store "ca:wabbit" does not exist/);
  });

  it('refuses symlinked stores, sub-directories, non-certificate files, leaf (non-CA, not self-signed) certificates, empty stores', async () => {
    const { root, ts } = await store();
    const base = join(root, 'x509', 'ca');
    await mkdir(join(base, 'real'), { recursive: true });
    await writeFile(join(base, 'real', 'root.crt'), await readFile(ROOT_CRT));
    await symlink(join(base, 'real'), join(base, 'link'));
    await expectPolicyError(ts.getCertificates('ca', 'link'), 'TRUST_STORE_INVALID', /not a regular directory/);
    await mkdir(join(base, 'sub', 'nested'), { recursive: true });
    await writeFile(join(base, 'sub', 'root.crt'), await readFile(ROOT_CRT));
    await expectPolicyError(ts.getCertificates('ca', 'sub'), 'TRUST_STORE_INVALID', /is not a regular file/);
    await mkdir(join(base, 'junk'), { recursive: true });
    await writeFile(join(base, 'junk', 'notes.txt'), 'hello');
    await expectPolicyError(ts.getCertificates('ca', 'junk'), 'TRUST_STORE_INVALID', /error while reading certificates|could not parse a certificate/);
    await mkdir(join(base, 'leaf'), { recursive: true });
    await writeFile(join(base, 'leaf', 'leaf.pem'), key.chain[0]!.toString());
    await expectPolicyError(ts.getCertificates('ca', 'leaf'), 'TRUST_STORE_INVALID', /is not a CA certificate or self-signed signing certificate/);
    await mkdir(join(base, 'empty'), { recursive: true });
    await expectPolicyError(ts.getCertificates('ca', 'empty'), 'TRUST_STORE_INVALID', /has no x509 certificates/);
    await expectPolicyError(ts.getCertificates('ca', '../x'), 'TRUST_STORE_INVALID', /not valid/);
  });

  it('add / list / remove (cert add|ls|rm)', async () => {
    const { ts } = await store();
    const r = await ts.add('ca', 'example', await readFile(ROOT_CRT), 'root.crt');
    expect(r.certificates).to.have.length(1);
    await expectPolicyError(ts.add('ca', 'example', await readFile(ROOT_CRT), 'root.crt'), 'TRUST_STORE_INVALID', /already exists/);
    await expectPolicyError(ts.add('ca', 'example', Buffer.from(key.chain[0]!.toString()), 'leaf.pem'), 'TRUST_STORE_INVALID', /not a CA certificate/);
    await ts.add('tsa', 'stamps', key.chain[1]!.raw, 'tsa.der');
    // files that hold no certificate: a clear TRUST_STORE_INVALID naming the file, and nothing written
    await expectPolicyError(ts.add('ca', 'bad', Buffer.from('root:x:0:0:root:/root:/bin/bash\n'), '/etc/passwd'), 'TRUST_STORE_INVALID', /"\/etc\/passwd": neither PEM nor DER/);
    await expectPolicyError(ts.add('ca', 'bad', Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), 'x.pem'), 'TRUST_STORE_INVALID', /"x\.pem": certificate #1 is not a valid X\.509/);
    await expectPolicyError(ts.add('ca', 'bad', Buffer.concat([key.chain[1]!.raw, Buffer.from('trailing')]), 'two.der'), 'TRUST_STORE_INVALID', /after certificate #1 are not a DER certificate/);
    await expectPolicyError(ts.add('ca', 'bad', Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]), 'seq.der'), 'TRUST_STORE_INVALID', /certificate #1 is not a valid X\.509/);
    const ls = await ts.list();
    expect(ls.map((s) => `${s.type}:${s.name}:${s.certificates.length}`)).to.deep.equal(['ca:example:1', 'tsa:stamps:1']);
    expect(ls[0]!.certificates[0]!.sha256).to.equal('73525506a4ad8236369a0c7811e8a21b7e030bbf8a437d0917379cdce2b1802d');
    expect(await ts.getCertificates('ca', 'example')).to.have.length(1);
    await ts.remove('ca', 'example', '73:52:55:06:A4:AD:82:36:36:9A:0C:78:11:E8:A2:1B:7E:03:0B:BF:8A:43:7D:09:17:37:9C:DC:E2:B1:80:2D');
    await expectPolicyError(ts.getCertificates('ca', 'example'), 'TRUST_STORE_INVALID', /has no x509 certificates/);
    await ts.remove('tsa', 'stamps');
    await expectPolicyError(ts.getCertificates('tsa', 'stamps'), 'TRUST_STORE_MISSING', /does not exist/);
  });

  it('certificate facts from DER: key usage bits, EKU, basic constraints, validity, subject as notation prints it', async () => {
    const leaf = certInfo(key.chain[0]!);
    expect(leaf.basicConstraints).to.deep.equal({ ca: false });
    expect([...leaf.keyUsage!]).to.deep.equal(['digitalSignature']);
    expect(leaf.extKeyUsage).to.deep.equal(['1.3.6.1.5.5.7.3.3']);
    expect(leaf.notAfter.getTime()).to.be.greaterThan(Date.now());
    expect(leaf.subject).to.equal('CN=TS,O=Notary,L=Seattle,ST=WA,C=US');
    const root = certInfo(key.chain[1]!);
    expect(root.selfIssued).to.equal(true);
    expect(root.basicConstraints?.ca).to.equal(true);
    expect(root.keyUsage?.has('keyCertSign')).to.equal(true);
  });
});

describe('tsa trust stores hold self-signed root CA certificates only (notation-go isRootCACertificate)', function () {
  this.timeout(60_000);
  let dir: string;
  let certs: Record<string, PkiCert>;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ds-ts-tsa-'));
    const root = opensslCert(dir, 'root', { subject: '/O=TSA Roots/CN=Root', ext: EXT.root });
    certs = {
      root,
      // a v1 certificate has no basic constraints: Go's CheckSignatureFrom takes it as a CA
      v1: opensslCert(dir, 'v1', { subject: '/O=TSA Roots/CN=V1 Root' }),
      intermediate: opensslCert(dir, 'intermediate', { subject: '/O=TSA Roots/CN=Intermediate', issuer: root, ext: EXT.ca }),
      // issuer name = subject name, but signed by the root's key
      selfIssued: opensslCert(dir, 'self-issued', { subject: '/O=TSA Roots/CN=Root', issuer: root, ext: EXT.root }),
      selfSignedLeaf: opensslCert(dir, 'self-signed-leaf', { subject: '/O=TSA Roots/CN=Self-signed TSA', ext: EXT.tsa.filter((l) => !l.startsWith('authorityKeyIdentifier')) }),
      noCertSign: opensslCert(dir, 'no-cert-sign', { subject: '/O=TSA Roots/CN=Root Without keyCertSign', ext: ['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, digitalSignature, cRLSign'] }),
      sha1: opensslCert(dir, 'sha1', { subject: '/O=TSA Roots/CN=SHA-1 Root', ext: EXT.root, md: 'sha1' }),
    };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function storeWith(type: 'ca' | 'tsa', name: string, which: string[]): Promise<FileTrustStore> {
    const root = join(dir, 'truststore');
    await mkdir(join(root, 'x509', type, name), { recursive: true });
    for (const w of which) await writeFile(join(root, 'x509', type, name, `${w}.pem`), certs[w]!.cert.toString());
    return new FileTrustStore(root);
  }

  it('self-signed root CAs load, v3 and v1', async () => {
    const ts = await storeWith('tsa', 'roots', ['root', 'v1']);
    expect((await ts.getCertificates('tsa', 'roots')).map((c) => c.fingerprint256)).to.deep.equal([certs.root!.cert.fingerprint256, certs.v1!.cert.fingerprint256]);
  });

  const refusals: [string, RegExp][] = [
    ['intermediate', /does not verify with its own key/],
    ['selfIssued', /does not verify with its own key/],
    ['selfSignedLeaf', /is not a CA certificate \(basic constraints CA is false\)/],
    ['noCertSign', /does not allow signing certificates \(keyCertSign\)/],
    ['sha1', /insecure algorithm ECDSA-SHA1/],
  ];
  for (const [which, why] of refusals) {
    it(`${which}: refused in a tsa store (naming the file), loaded from a ca store`, async () => {
      const ts = await storeWith('tsa', which, ['root', which]);
      await expectPolicyError(ts.getCertificates('tsa', which), 'TRUST_STORE_INVALID', new RegExp(`from file ".*/tsa/${which}/${which}\\.pem" is not a root CA certificate: .*${why.source}`));
      const ca = await storeWith('ca', which, ['root', which]);
      expect(await ca.getCertificates('ca', which)).to.have.length(2);
      // cert add: the same rule for the tsa type only
      const fresh = new FileTrustStore(join(dir, `add-${which}`));
      await expectPolicyError(fresh.add('tsa', 'x', Buffer.from(certs[which]!.cert.toString()), `${which}.pem`), 'TRUST_STORE_INVALID', /is not a root CA certificate/);
      expect((await fresh.add('ca', 'x', Buffer.from(certs[which]!.cert.toString()), `${which}.pem`)).certificates).to.have.length(1);
    });
  }
});
