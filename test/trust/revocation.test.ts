import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { networkRevocationChecker, REVOCATION_DEFAULTS, offlineRevocationChecker, type NetworkRevocationOptions, type CertRevocationResult, type RevocationCheckOptions } from '../../src/trust/revocation.js';
import { httpFetch, type RevocationFetch } from '../../src/trust/revocation-http.js';
import { ocspRequest, parseOcspResponse } from '../../src/trust/ocsp.js';
import { crlStatus, verifyCrl } from '../../src/trust/crl.js';
import { children, readTlv } from '../../src/pki/der.js';
import { Verifier } from '../../src/trust/verifier.js';
import { validateTrustPolicy } from '../../src/trust/policy.js';
import { MemoryTrustStore } from '../../src/trust/truststore.js';
import { signerFromKey } from '../../src/pki/keys.js';
import { createEnvelope, buildSignatureManifest } from '../../src/signature/index.js';
import { MediaType } from '../../src/oci/mediaTypes.js';
import { MemoryTarget } from './memory-target.js';
import { RevocationPki, COMPROMISED_AT, type LeafName } from './revocation-pki.js';
import { startProxy, type Proxy } from '../support/proxy.js';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

describe('revocation: OCSP and CRL against a real openssl PKI', function () {
  this.timeout(60_000);
  const pki = new RevocationPki();
  const calls: string[] = [];
  /** The limits each request went out with, by URL. */
  const limits = new Map<string, { maxBytes: number; timeoutMs: number }>();
  const counting: RevocationFetch = (req) => {
    calls.push(`${req.method} ${req.url}`);
    limits.set(req.url, { maxBytes: req.maxBytes, timeoutMs: req.timeoutMs });
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
    limits.clear();
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

    it('good signed by the CA itself → ok (openssl embeds the self-signed CA certificate, which the CA signed)', async () => {
      expect((await check('caSigned'))[0]).to.include({ status: 'ok' });
    });

    it('signed by an intermediate CA: refused when it embeds its own certificate (as notation), ok without it or from its delegated responder', async () => {
      const [embedded, int, root] = await check('intCaSigned');
      expect(embedded!.status).to.equal('unknown');
      expect(embedded!.detail).to.match(/embeds the issuer's own certificate "CN=Revocation Test Intermediate,.*" as its signer, which is accepted only when the issuer is self-signed/);
      expect(int).to.deep.equal({ status: 'nonRevokable' });
      expect(root).to.deep.equal({ status: 'nonRevokable' });
      expect((await check('intNoCerts'))[0]).to.include({ status: 'ok' });
      const [delegated] = await check('intDelegated');
      expect(delegated).to.include({ status: 'ok' });
    });

    it('the next certificate is the issuer by name and signature, whatever its subject key identifier (AKI/SKI mismatch → still ok)', async () => {
      const { cert } = pki.leaf('good');
      // caAltSki: the CA's name and key, another subjectKeyIdentifier; OpenSSL's checkIssued() would refuse the link
      expect(cert.checkIssued(pki.caAltSki)).to.equal(false);
      const r = await networkRevocationChecker({ cache: false, fetch: counting }).check([cert, pki.caAltSki], { purpose: 'codeSigning', now: new Date() });
      expect(r[0]).to.include({ status: 'ok' });
      // the delegated responder's certificate is issued by the CA the same way
      const body = await httpFetch({ url: `http://127.0.0.1:${pki.ports.delegated}/`, method: 'POST', body: ocspRequest(cert, pki.caAltSki), contentType: 'application/ocsp-request', maxBytes: 1 << 20, timeoutMs: 2000 });
      expect(parseOcspResponse(body, cert, pki.caAltSki, new Date()).signer).to.match(/Delegated OCSP Responder/);
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
      expect(leaf!.detail).to.match(/responder certificate "CN=Revocation Test CA,.*" is not issued by the certificate's issuer/);
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

    it('a response without nextUpdate counts as expired → unknown (notation compares with Go\'s zero time)', () => {
      const { cert } = pki.leaf('good');
      const withNext = pki.ocspResponse(cert, pki.ca, pki.key('ca'));
      expect(parseOcspResponse(withNext, cert, pki.ca, new Date())).to.include({ status: 'good', signer: 'issuer' });
      const noNext = pki.ocspResponse(cert, pki.ca, pki.key('ca'), { nextUpdate: null });
      expect(() => parseOcspResponse(noNext, cert, pki.ca, new Date())).to.throw(/expired OCSP response \(it has no nextUpdate/);
    });

    it('a critical single-response extension → refused (x/crypto/ocsp); a non-critical one is ignored', () => {
      const { cert } = pki.leaf('good');
      const ext = { oid: '1.3.6.1.4.1.55555.1', value: Buffer.from([0x05, 0x00]) };
      expect(parseOcspResponse(pki.ocspResponse(cert, pki.ca, pki.key('ca'), { singleExtensions: [{ ...ext, critical: false }] }), cert, pki.ca, new Date()).status).to.equal('good');
      const critical = pki.ocspResponse(cert, pki.ca, pki.key('ca'), { singleExtensions: [{ ...ext, critical: true }] });
      expect(() => parseOcspResponse(critical, cert, pki.ca, new Date())).to.throw(/unsupported critical extension 1\.3\.6\.1\.4\.1\.55555\.1 in the OCSP single response/);
    });

    it('the first embedded certificate is the signer (x/crypto/ocsp), whatever the responderID says; the others are ignored', () => {
      const { cert } = pki.leaf('good');
      const delegated = new X509Certificate(readFileSync(join(pki.dir, 'ocsp.pem')));
      // signed by the delegated responder, the embedded certificate: ok
      const ok = pki.ocspResponse(cert, pki.ca, pki.key('ocsp'), { certs: [delegated] });
      expect(parseOcspResponse(ok, cert, pki.ca, new Date()).signer).to.match(/Delegated OCSP Responder/);
      // signed by the CA, but the embedded certificate is the delegated responder's: refused
      const bad = pki.ocspResponse(cert, pki.ca, pki.key('ca'), { certs: [delegated] });
      expect(() => parseOcspResponse(bad, cert, pki.ca, new Date())).to.throw(/does not verify with the key of responder "CN=Delegated OCSP Responder/);
      // more than one embedded certificate: the first is the signer, the others are ignored (x/crypto/ocsp)
      const two = pki.ocspResponse(cert, pki.ca, pki.key('ocsp'), { certs: [delegated, pki.ca] });
      expect(parseOcspResponse(two, cert, pki.ca, new Date()).signer).to.match(/Delegated OCSP Responder/);
      const caFirst = pki.ocspResponse(cert, pki.ca, pki.key('ocsp'), { certs: [pki.ca, delegated] });
      expect(() => parseOcspResponse(caFirst, cert, pki.ca, new Date())).to.throw(/does not verify/);
    });

    it('OCSP responses are limited to 20480 bytes (notation\'s limit): one byte more → unknown', async () => {
      expect(REVOCATION_DEFAULTS.maxOcspResponseBytes).to.equal(20480);
      const { cert } = pki.leaf('good');
      // a good response padded with a non-critical extension to exactly `size` bytes
      // (an ECDSA signature's DER length varies by a byte or two, hence the retries)
      const padded = (size: number): Buffer => {
        const ext = (n: number) => [{ oid: '1.3.6.1.4.1.55555.2', critical: false, value: Buffer.alloc(n, 0x41) }];
        for (let i = 0; i < 50; i++) {
          const base = pki.ocspResponse(cert, pki.ca, pki.key('ca'), { singleExtensions: ext(size - 600) }).length;
          const out = pki.ocspResponse(cert, pki.ca, pki.key('ca'), { singleExtensions: ext(size - 600 + (size - base)) });
          if (out.length === size) return out;
        }
        throw new Error(`could not make a ${size}-byte response`);
      };
      let body: Buffer = Buffer.alloc(0);
      const server: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(body));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      try {
        const toServer: RevocationFetch = (req) => httpFetch({ ...req, url: `http://127.0.0.1:${port}/` });
        body = padded(20480);
        expect(body.length).to.equal(20480);
        expect((await check('good', {}, { fetch: toServer }))[0]).to.include({ status: 'ok' });
        body = padded(20481);
        expect(body.length).to.equal(20481);
        const [big] = await check('good', {}, { fetch: toServer });
        expect(big!.status).to.equal('unknown');
        expect(big!.detail).to.match(/response larger than 20480 bytes/);
      } finally {
        await new Promise<void>((r) => server.close(() => r()));
      }
    });

    it('time limits: 2 s for an OCSP request, 5 s for a CRL download (notation\'s)', async () => {
      expect((await check('fbGood'))[0]).to.include({ status: 'ok' });
      const ocspUrl = [...limits.keys()].find((u) => u.includes(`:${pki.ports.dead}/`))!;
      expect(limits.get(ocspUrl)).to.deep.equal({ maxBytes: 20480, timeoutMs: 2000 });
      expect(limits.get(`http://127.0.0.1:${pki.ports.crl}/ca.crl`)).to.deep.equal({ maxBytes: 32 << 20, timeoutMs: 5000 });
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

    it('CRL only (DER) → ok; PEM → unknown (notation reads DER only); stale (nextUpdate passed) → unknown; signed by a look-alike CA → unknown; 404 or garbage → unknown', async () => {
      try {
        pki.switchCrl = pki.crl.der;
        expect((await check('crlOnly'))[0]).to.include({ status: 'ok' });
        pki.switchCrl = pki.crl.pem;
        const [pem] = await check('crlOnly');
        expect(pem!.status).to.equal('unknown');
        expect(pem!.detail).to.match(/the CRL is PEM; only DER CRLs are accepted/);
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
        pki.switchCrl = pki.crl.der;
      }
    });

    it('delta CRLs as in notation v1.3: a freshestCRL pointer on the certificate is ignored; a base CRL carrying freshestCRL → unknown', async () => {
      const [leaf] = await check('freshest');
      expect(leaf!.status).to.equal('ok');
      expect(leaf!.detail).to.match(/ca\.crl: not listed$/);
      expect(calls).to.deep.equal([`GET http://127.0.0.1:${pki.ports.crl}/ca.crl`]);
      try {
        pki.switchCrl = pki.crl.fresh;
        const [fresh] = await check('crlOnly');
        expect(fresh!.status).to.equal('unknown');
        expect(fresh!.detail).to.match(/delta CRL is not supported \(the CRL carries a freshestCRL extension\)/);
      } finally {
        pki.switchCrl = pki.crl.der;
      }
    });

    it('the CRL of another issuer is refused; invalidity date vs signing time as for OCSP', () => {
      const { cert } = pki.leaf('compromised');
      const crl = verifyCrl(pki.crl.der, pki.ca, new Date());
      expect(crlStatus(crl, cert).status).to.equal('revoked');
      expect(crlStatus(crl, cert, new Date(COMPROMISED_AT.getTime() - 60_000)).status).to.equal('ok');
      expect(crlStatus(crl, pki.leaf('good').cert).status).to.equal('ok');
      // the CRL is verified with the issuer's key (and the issuer must be a CA that may sign CRLs), as by notation
      expect(() => verifyCrl(pki.crl.der, pki.leaf('none').cert, new Date())).to.throw(/may not sign CRLs|is not a CA/);
      expect(() => verifyCrl(pki.crl.rogue, pki.ca, new Date())).to.throw(/CRL signature does not verify/);
      // a v1 CRL (no version field) is not read, as Go's x509.ParseRevocationList does not read it
      const tbs = children(pki.crl.v1, readTlv(pki.crl.v1, 0))[0]!;
      expect(children(pki.crl.v1, tbs)[0]!.tag).to.equal(0x30); // the tbsCertList starts with the signature algorithm: no version
      expect(() => verifyCrl(pki.crl.v1, pki.ca, new Date())).to.throw(/unsupported CRL version: v1/);
      // the same key under the same name with another subject key identifier is the same issuer
      expect(crlStatus(verifyCrl(pki.crl.der, pki.caAltSki, new Date()), cert).status).to.equal('revoked');
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
