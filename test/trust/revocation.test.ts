import { expect } from 'chai';
import { networkRevocationChecker, offlineRevocationChecker, type NetworkRevocationOptions, type CertRevocationResult, type RevocationCheckOptions } from '../../src/trust/revocation.js';
import { httpFetch, type RevocationFetch } from '../../src/trust/revocation-http.js';
import { ocspRequest, parseOcspResponse } from '../../src/trust/ocsp.js';
import { crlStatus, verifyCrl } from '../../src/trust/crl.js';
import { Verifier } from '../../src/trust/verifier.js';
import { validateTrustPolicy } from '../../src/trust/policy.js';
import { MemoryTrustStore } from '../../src/trust/truststore.js';
import { signerFromKey } from '../../src/pki/keys.js';
import { createEnvelope, buildSignatureManifest } from '../../src/signature/index.js';
import { MediaType } from '../../src/oci/mediaTypes.js';
import { MemoryTarget } from './memory-target.js';
import { RevocationPki, COMPROMISED_AT, type LeafName } from './revocation-pki.js';
import { startProxy, type Proxy } from '../support/proxy.js';

describe('revocation: OCSP and CRL against a real openssl PKI', function () {
  this.timeout(60_000);
  const pki = new RevocationPki();
  const calls: string[] = [];
  const counting: RevocationFetch = (req) => {
    calls.push(`${req.method} ${req.url}`);
    return httpFetch(req);
  };

  before(async () => {
    await pki.start();
  });
  after(async () => {
    await pki.stop();
  });
  beforeEach(() => {
    calls.length = 0;
  });

  async function check(name: LeafName, opts: Partial<RevocationCheckOptions> = {}, cfg: NetworkRevocationOptions = {}): Promise<CertRevocationResult[]> {
    const checker = networkRevocationChecker({ cache: false, fetch: counting, ...cfg });
    return checker.check(pki.leaf(name).chain, { purpose: 'codeSigning', now: new Date(), ...opts });
  }

  describe('OCSP', () => {
    it('good from a delegated responder → ok; the root is not checked (nonRevokable); one GET request', async () => {
      const r = await check('good');
      expect(r).to.have.length(2);
      expect(r[0]!.status).to.equal('ok');
      expect(r[0]!.detail).to.match(/^OCSP http:\/\/127\.0\.0\.1:\d+\/: good$/);
      expect(r[1]).to.deep.equal({ status: 'nonRevokable' });
      expect(calls).to.have.length(1);
      expect(calls[0]).to.match(new RegExp(`^GET http://127\\.0\\.0\\.1:${pki.ports.delegated}/[A-Za-z0-9%]+$`));
    });

    it('good signed by the CA itself → ok', async () => {
      expect((await check('caSigned'))[0]).to.include({ status: 'ok' });
    });

    it('revoked (openssl ca -revoke) → revoked, with time and reason', async () => {
      const [leaf] = await check('revoked');
      expect(leaf!.status).to.equal('revoked');
      expect(leaf!.detail).to.match(/revoked at \d{4}-\d\d-\d\dT.* \(reason 1\)/);
    });

    it('signingAuthority: an invalidity date after the signing time → ok; signed after it → revoked', async () => {
      const before = await check('compromised', { signingTime: new Date(COMPROMISED_AT.getTime() - 60_000) });
      expect(before[0]!.status).to.equal('ok');
      expect(before[0]!.detail).to.match(/invalid only from .* after the signing time/);
      expect((await check('compromised', { signingTime: new Date() }))[0]!.status).to.equal('revoked');
      expect((await check('compromised'))[0]!.status).to.equal('revoked');
    });

    it('responder down (nothing listens) and no CRL → unknown with the connection error', async () => {
      const [leaf] = await check('down');
      expect(leaf!.status).to.equal('unknown');
      expect(leaf!.detail).to.match(/ECONNREFUSED/);
    });

    it('responder that never answers → unknown once the per-call time limit passes', async () => {
      const t = Date.now();
      const [leaf] = await check('hang', {}, { timeoutMs: 300 });
      expect(leaf!.status).to.equal('unknown');
      expect(leaf!.detail).to.match(/timed out after 300 ms/);
      expect(Date.now() - t).to.be.lessThan(2000);
    });

    it('the whole check is bounded (totalTimeoutMs) and the caller’s AbortSignal is honoured', async () => {
      let t = Date.now();
      const [a] = await check('hang', {}, { timeoutMs: 10_000, totalTimeoutMs: 250 });
      expect(a!.status).to.equal('unknown');
      expect(a!.detail).to.match(/ran out of time/);
      expect(Date.now() - t).to.be.lessThan(2000);
      t = Date.now();
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error('verification cancelled')), 150);
      const [b] = await check('hang', { signal: ac.signal }, { timeoutMs: 10_000 });
      expect(b!.status).to.equal('unknown');
      expect(b!.detail).to.match(/aborted \(verification cancelled\)/);
      expect(Date.now() - t).to.be.lessThan(2000);
    });

    it('response signed by another key under the issuer’s name (look-alike CA) → unknown, never ok', async () => {
      const [leaf] = await check('impostor');
      expect(leaf!.status).to.equal('unknown');
      expect(leaf!.detail).to.match(/signature does not verify with the issuer's key/);
    });

    it('responder certificate not issued by the CA → unknown; CA-issued responder without OCSPSigning → unknown', async () => {
      const [rogue] = await check('rogue');
      expect(rogue!.status).to.equal('unknown');
      expect(rogue!.detail).to.match(/"CN=Rogue Responder,.*" is not issued by the certificate's issuer/);
      const [noEku] = await check('noEku');
      expect(noEku!.status).to.equal('unknown');
      expect(noEku!.detail).to.match(/lacks the OCSPSigning extended key usage/);
    });

    it('a response read at a time past its nextUpdate → unknown (expired)', async () => {
      const [leaf] = await check('good', { now: new Date(Date.now() + 2 * 86_400_000) });
      expect(leaf!.status).to.equal('unknown');
      expect(leaf!.detail).to.match(/expired OCSP response/);
    });

    it('responses bigger than the cap → unknown', async () => {
      const [leaf] = await check('caSigned', {}, { maxOcspResponseBytes: 64 });
      expect(leaf!.status).to.equal('unknown');
      expect(leaf!.detail).to.match(/response larger than 64 bytes/);
    });

    it('POST application/ocsp-request is answered too (used for requests too long for GET)', async () => {
      const { cert } = pki.leaf('revoked');
      const body = await httpFetch({ url: `http://127.0.0.1:${pki.ports.delegated}/`, method: 'POST', body: ocspRequest(cert, pki.ca), contentType: 'application/ocsp-request', maxBytes: 1 << 20, timeoutMs: 2000 });
      const a = parseOcspResponse(body, cert, pki.ca, new Date());
      expect(a.status).to.equal('revoked');
      expect(a.signer).to.match(/Delegated OCSP Responder/);
      expect(a.nextUpdate!.getTime()).to.be.greaterThan(Date.now());
      // the same answer does not stand for another certificate
      expect(() => parseOcspResponse(body, pki.leaf('good').cert, pki.ca, new Date())).to.throw(/no answer for this certificate/);
    });
  });

  describe('CRL', () => {
    it('OCSP down, the CRL (DER) says good → ok by fallback; says revoked → revoked', async () => {
      const [good] = await check('fbGood');
      expect(good!.status).to.equal('ok');
      expect(good!.detail).to.match(/ECONNREFUSED.*fallback to CRL http:\/\/127\.0\.0\.1:\d+\/ca\.crl: not listed/);
      const [revoked] = await check('fbRevoked');
      expect(revoked!.status).to.equal('revoked');
      expect(revoked!.detail).to.match(/fallback to CRL .*: revoked at .*\(reason 1\)/);
    });

    it('CRL only (PEM) → ok; stale (nextUpdate passed) → unknown; signed by a look-alike CA → unknown; 404 or garbage → unknown', async () => {
      try {
        pki.switchCrl = pki.crl.pem;
        expect((await check('crlOnly'))[0]).to.include({ status: 'ok' });
        pki.switchCrl = pki.crl.stale;
        const [stale] = await check('crlOnly');
        expect(stale!.status).to.equal('unknown');
        expect(stale!.detail).to.match(/expired CRL/);
        pki.switchCrl = pki.crl.rogue;
        const [rogue] = await check('crlOnly');
        expect(rogue!.status).to.equal('unknown');
        expect(rogue!.detail).to.match(/CRL signature does not verify/);
        pki.switchCrl = Buffer.from('not a CRL');
        const [junk] = await check('crlOnly');
        expect(junk!.status).to.equal('unknown');
        expect(junk!.detail).to.match(/not DER/);
        pki.switchCrl = Buffer.alloc(0); // served as 404
        const [missing] = await check('crlOnly');
        expect(missing!.status).to.equal('unknown');
        expect(missing!.detail).to.match(/switch\.crl: HTTP 404$/);
      } finally {
        pki.switchCrl = pki.crl.pem;
      }
    });

    it('the CRL of another issuer is refused; invalidity date vs signing time as for OCSP', () => {
      const { cert } = pki.leaf('compromised');
      const crl = verifyCrl(pki.crl.der, cert, pki.ca, new Date());
      expect(crlStatus(crl, cert).status).to.equal('revoked');
      expect(crlStatus(crl, cert, new Date(COMPROMISED_AT.getTime() - 60_000)).status).to.equal('ok');
      expect(crlStatus(crl, pki.leaf('good').cert).status).to.equal('ok');
      expect(() => verifyCrl(pki.crl.der, cert, pki.leaf('none').cert, new Date())).to.throw(/not issued by the certificate issuer/);
    });
  });

  describe('no pointers, cache, offline checker', () => {
    it('a chain without OCSP/CRL pointers → nonRevokable everywhere, with no network request at all', async () => {
      const r = await check('none');
      expect(r).to.deep.equal([{ status: 'nonRevokable' }, { status: 'nonRevokable' }]);
      expect(calls).to.deep.equal([]);
    });

    it('caches good / revoked answers until nextUpdate: a second check makes no request', async () => {
      const checker = networkRevocationChecker({ fetch: counting });
      const opts = { purpose: 'codeSigning' as const, now: new Date() };
      expect((await checker.check(pki.leaf('good').chain, opts))[0]!.status).to.equal('ok');
      expect((await checker.check(pki.leaf('revoked').chain, opts))[0]!.status).to.equal('revoked');
      expect((await checker.check(pki.leaf('fbGood').chain, opts))[0]!.status).to.equal('ok');
      const n = calls.length;
      expect(n).to.equal(4); // good, revoked, fbGood's dead OCSP, the CRL
      expect((await checker.check(pki.leaf('good').chain, opts))[0]).to.deep.equal({ status: 'ok', detail: 'OCSP (cached): good' });
      expect((await checker.check(pki.leaf('revoked').chain, opts))[0]!.status).to.equal('revoked');
      expect(calls.length).to.equal(n);
      // a failed OCSP answer is not cached (asked again), the verified CRL is (not fetched again)
      expect((await checker.check(pki.leaf('fbGood').chain, opts))[0]!.status).to.equal('ok');
      expect(calls.slice(n)).to.have.length(1);
      expect(calls[n]).to.match(new RegExp(`^GET http://127\\.0\\.0\\.1:${pki.ports.dead}/`));
    });

    it('a chain whose next certificate is not the issuer → unknown', async () => {
      const r = await networkRevocationChecker({ fetch: counting }).check([pki.leaf('good').cert, pki.leaf('none').cert], { purpose: 'codeSigning', now: new Date() });
      expect(r[0]).to.deep.equal({ status: 'unknown', detail: 'the certificate is not issued by the next certificate of the chain' });
      expect(calls).to.deep.equal([]);
    });

    it('offlineRevocationChecker still answers unknown for certificates with pointers, without I/O', async () => {
      const r = await offlineRevocationChecker.check(pki.leaf('good').chain, { purpose: 'codeSigning', now: new Date() });
      expect(r[0]!.status).to.equal('unknown');
      expect(r[0]!.detail).to.match(/no revocation checker is configured/);
    });
  });

  describe('Verifier (default checker) end to end', () => {
    const REPO = 'registry.example/revocation';
    const subjectBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config: { mediaType: MediaType.OCI_EMPTY, digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 }, layers: [] }));

    async function signedBy(name: LeafName) {
      const t = new MemoryTarget();
      const subject = t.addManifest(MediaType.OCI_MANIFEST, subjectBytes, 'v1');
      const { key, chain } = pki.leaf(name);
      const env = await createEnvelope({ payload: { targetArtifact: subject }, format: 'jws', signer: signerFromKey(key, chain) });
      const built = buildSignatureManifest(subject, env, chain);
      t.addBlob(built.config.bytes);
      t.addBlob(env.bytes);
      await t.pushReferrer(built.descriptor, built.manifest, subject);
      return { target: t, descriptor: subject, repository: REPO };
    }

    function verifier(level: 'strict' | 'permissive') {
      const policy = validateTrustPolicy({
        version: '1.0',
        trustPolicies: [{ name: 'rev', registryScopes: [REPO], signatureVerification: { level }, trustStores: ['ca:revtest'], trustedIdentities: ['*'] }],
      });
      return new Verifier({ policy, trustStore: new MemoryTrustStore().set('ca', 'revtest', [pki.ca]) });
    }

    it('strict: verifies when the OCSP responder says good', async () => {
      const r = await verifier('strict').verify(await signedBy('good'));
      expect(r.verified, r.reason).to.equal(true);
      expect(r.signatures[0]!.checks.find((c) => c.name === 'revocation')).to.include({ status: 'pass', action: 'enforce' });
    });

    it('strict: fails the REVOCATION check when revoked, and when the status cannot be determined', async () => {
      const revoked = await verifier('strict').verify(await signedBy('revoked'));
      expect(revoked.verified).to.equal(false);
      expect(revoked.code).to.equal('REVOCATION');
      expect(revoked.signatures[0]!.failedCheck).to.equal('revocation');
      expect(revoked.reason).to.match(/signing certificate with subject "CN=Leaf revoked,.*" is revoked/);
      const down = await verifier('strict').verify(await signedBy('down'));
      expect(down.verified).to.equal(false);
      expect(down.code).to.equal('REVOCATION');
      expect(down.reason).to.match(/revocation status is unknown \(OCSP .*ECONNREFUSED/);
    });

    it('permissive: revocation is logged, not enforced', async () => {
      const r = await verifier('permissive').verify(await signedBy('revoked'));
      expect(r.verified).to.equal(true);
      expect(r.signatures[0]!.checks.find((c) => c.name === 'revocation')).to.include({ status: 'fail', action: 'log' });
    });
  });
});

describe('revocation: OCSP and CRL through an HTTP proxy (HTTP_PROXY, as for registries)', function () {
  this.timeout(60_000);
  // the certificates point at pki.ds-proxy.test, a name only the test proxy resolves
  const pki = new RevocationPki('pki.ds-proxy.test');
  let proxy: Proxy;
  const saved = process.env.HTTP_PROXY;

  before(async () => {
    await pki.start();
    proxy = await startProxy();
  });
  after(async () => {
    if (saved === undefined) delete process.env.HTTP_PROXY;
    else process.env.HTTP_PROXY = saved;
    await proxy.close();
    await pki.stop();
  });

  const check = (name: LeafName) => networkRevocationChecker({ cache: false }).check(pki.leaf(name).chain, { purpose: 'codeSigning', now: new Date() });

  it('OCSP good / revoked and the CRL fallback are fetched through the proxy; without it the pointers cannot be reached', async () => {
    process.env.HTTP_PROXY = proxy.url;
    expect((await check('good'))[0]).to.include({ status: 'ok' });
    expect((await check('revoked'))[0]).to.include({ status: 'revoked' });
    expect((await check('crlOnly'))[0]).to.include({ status: 'ok' });
    expect(proxy.log.some((l) => l.startsWith(`GET http://pki.ds-proxy.test:${pki.ports.delegated}/`)), proxy.log.join('\n')).to.equal(true);
    expect(proxy.log).to.include(`GET http://pki.ds-proxy.test:${pki.ports.crl}/switch.crl`);
    delete process.env.HTTP_PROXY;
    const [direct] = await check('good');
    expect(direct!.status).to.equal('unknown');
    expect(direct!.detail).to.match(/ENOTFOUND|EAI_AGAIN/);
  });
});
