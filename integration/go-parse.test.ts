import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate, webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { root } from './push.helpers.js';
import { parseGoCertificate } from '../src/trust/x509.js';
import { verifyCrl } from '../src/trust/crl.js';
import { parseOcspResponse } from '../src/trust/ocsp.js';
import { parseTrustPolicy } from '../src/trust/policy.js';
import { rfc3161TimestampVerifier } from '../src/trust/timestamp.js';
import { EXT, makeOpensslTsa, stamp, type OpensslTsa } from '../test/support/tsa.js';

/**
 * notation is Go: what Go's x509.ParseCertificate / ParseRevocationList and golang.org/x/crypto/ocsp's
 * ParseResponseForCert accept or refuse is what notation accepts or refuses. Here the real Go parsers
 * (scripts/go-parse, built with Debian's Go) and ours are asked about the same inputs, and must agree; likewise Go's encoding/json for the trust policy file.
 * Debian's Go is 1.19: rules Go added later (negative serial numbers, 1.23) are covered by unit tests instead.
 */
describe('integration: certificates, CRLs and OCSP responses are accepted and refused as by Go\'s parsers', function () {
  this.timeout(120_000);
  let dir: string;
  let goParse: string;
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const file = (name: string, data: Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, data);
    return p;
  };
  const go = (...args: string[]): string => {
    const r = spawnSync(goParse, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`go-parse ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const ours = (f: () => unknown): string => {
    try {
      f();
      return 'ok';
    } catch (e) {
      return `error: ${(e as Error).message}`;
    }
  };
  /** Both accept, or both refuse. */
  const agree = (what: string, goVerdict: string, ourVerdict: string, expectOk: boolean) => {
    expect(goVerdict.startsWith('ok'), `${what}: Go says ${goVerdict}`).to.equal(expectOk);
    expect(ourVerdict.startsWith('ok'), `${what}: Go says "${goVerdict}", we say "${ourVerdict}"`).to.equal(expectOk);
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ds-go-parse-'));
    goParse = join(dir, 'go-parse');
    const b = spawnSync('go', ['build', '-o', goParse, 'main.go'], {
      cwd: join(root, 'scripts', 'go-parse'), encoding: 'utf8',
      env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOCACHE: join(dir, 'gocache'), GOFLAGS: '-mod=mod' },
    });
    if (b.status !== 0) throw new Error(`building scripts/go-parse failed (scripts/install-system.sh installs Go): ${b.stderr || b.error}`);
    // a CA, a leaf, an OCSP index in which the leaf is good
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=go-parse CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=go-parse leaf');
    writeFileSync(join(dir, 'leaf.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n');
    ssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '4660', '-days', '2', '-extfile', 'leaf.ext', '-out', 'leaf.pem');
    for (const n of ['ca', 'leaf']) ssl('x509', '-in', `${n}.pem`, '-outform', 'DER', '-out', `${n}.der`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('certificates (x509.ParseCertificate)', () => {
    const check = (name: string, der: Buffer, expectOk: boolean) =>
      agree(name, go('cert', file(`${name}.der`, der)), ours(() => parseGoCertificate(der)), expectOk);

    it('an openssl leaf and CA: accepted by both', () => {
      check('leaf', readFileSync(join(dir, 'leaf.der')), true);
      check('ca', readFileSync(join(dir, 'ca.der')), true);
    });

    it('an extension twice, inner and outer signature algorithms differing, version 4, a length longer than DER needs: refused by both', async () => {
      const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
      const ku = new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true);
      const make = async (extensions: x509.Extension[]) => Buffer.from((await x509.X509CertificateGenerator.createSelfSigned({
        name: 'CN=crafted', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), keys: keys as never,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' }, extensions,
      })).rawData);
      check('twice', await make([ku, ku]), false);
      const good = await make([ku]);
      check('crafted-good', good, true);
      const alg = Buffer.from('300a06082a8648ce3d040302', 'hex');
      const algs = Buffer.from(good);
      algs[algs.lastIndexOf(alg) + alg.length - 1] = 0x03;
      check('algs', algs, false);
      // version [0] EXPLICIT INTEGER 2 (v3) → 3 (v4): a0 03 02 01 02
      const v4 = Buffer.from(good);
      const at = v4.indexOf(Buffer.from('a003020102', 'hex'));
      expect(at).to.be.greaterThan(0);
      v4[at + 4] = 3;
      check('v4', v4, false);
      // the outer SEQUENCE's length written with one octet more than needed
      const leaf = readFileSync(join(dir, 'leaf.der'));
      expect(leaf[1]).to.equal(0x82);
      check('long-length', Buffer.concat([Buffer.from([0x30, 0x83, 0x00]), leaf.subarray(2)]), false);
    });
  });

  describe('extension values Go reads while parsing (processExtensions): the same certificates accepted and refused', () => {
    const tlv = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag, body.length]), body]).toString('hex');
    /** A SAN extension value with one name. */
    const san = (tag: number, name: string) => tlv(0x30, Buffer.from(tlv(tag, Buffer.from(name, 'latin1')), 'hex'));
    /** A name constraints value permitting one subtree. */
    const nc = (tag: number, base: Buffer) => tlv(0x30, Buffer.from(tlv(0xa0, Buffer.from(tlv(0x30, Buffer.from(tlv(tag, base), 'hex')), 'hex')), 'hex'));
    // [case, extension OID, critical, value (hex DER), accepted by Go]
    const cases: [string, string, boolean, string, boolean][] = [
      ['keyUsage as INTEGER', '2.5.29.15', true, '020105', false],
      ['keyUsage BIT STRING, a padding bit set', '2.5.29.15', true, '03020781', false],
      ['keyUsage BIT STRING, digitalSignature', '2.5.29.15', true, '03020780', true],
      ['keyUsage empty BIT STRING', '2.5.29.15', true, '030100', true],
      ['basicConstraints not a SEQUENCE', '2.5.29.19', true, '0403010203', false],
      ['basicConstraints cA TRUE written 0x01 (BER)', '2.5.29.19', true, '3003010101', false],
      ['basicConstraints pathLen only', '2.5.29.19', true, '3003020101', true],
      ['extKeyUsage with an INTEGER', '2.5.29.37', false, '3003020101', false],
      ['extKeyUsage empty', '2.5.29.37', false, '3000', true],
      ['subjectAltName not a SEQUENCE', '2.5.29.17', false, '0401ff', false],
      ['subjectAltName IP of 3 bytes', '2.5.29.17', false, '30058703010203', false],
      ['subjectAltName IPv6', '2.5.29.17', false, `3012871000${'00'.repeat(15)}`, true],
      ['subjectAltName dNSName with a byte >= 0x80', '2.5.29.17', false, '300482026180', false],
      ['subjectAltName rfc822Name a@b', '2.5.29.17', false, '30058103614062', true],
      ['subjectKeyIdentifier not an OCTET STRING', '2.5.29.14', false, '020101', false],
      ['authorityKeyIdentifier not a SEQUENCE', '2.5.29.35', false, '0401ff', false],
      ['CRL distribution points not a SEQUENCE', '2.5.29.31', false, '0401ff', false],
      ['authority info access not a SEQUENCE', '1.3.6.1.5.5.7.1.1', false, '0401ff', false],
      ['certificate policies not a SEQUENCE', '2.5.29.32', false, '0401ff', false],
      ['name constraints not a SEQUENCE', '2.5.29.30', true, '0401ff', false],
      ['an unknown critical extension (refused when verifying, not parsing)', '1.2.3.4.5', true, '0500', true],
      ['subjectAltName URI https://example.com/x', '2.5.29.17', false, san(0x86, 'https://example.com/x'), true],
      ['subjectAltName URI with a bad %-escape', '2.5.29.17', false, san(0x86, 'https://example.com/%zz'), false],
      ['subjectAltName URI whose host is no domain name', '2.5.29.17', false, san(0x86, 'https://exa..mple.com/'), false],
      ['subjectAltName URI with a space in the host', '2.5.29.17', false, san(0x86, 'https://example .com/'), false],
      ['name constraint dNSName example.com', '2.5.29.30', true, nc(0x82, Buffer.from('example.com')), true],
      ['name constraint dNSName .example.com', '2.5.29.30', true, nc(0x82, Buffer.from('.example.com')), true],
      ['name constraint dNSName with an empty label', '2.5.29.30', true, nc(0x82, Buffer.from('exa..mple.com')), false],
      ['name constraint IP 10.0.0.0/8', '2.5.29.30', true, nc(0x87, Buffer.from([10, 0, 0, 0, 255, 0, 0, 0])), true],
      ['name constraint IP with a non-contiguous mask', '2.5.29.30', true, nc(0x87, Buffer.from([10, 0, 0, 0, 255, 0, 255, 0])), false],
      ['name constraint IP of 5 bytes', '2.5.29.30', true, nc(0x87, Buffer.from([10, 0, 0, 0, 255])), false],
      ['name constraint URI that is an IP address', '2.5.29.30', true, nc(0x86, Buffer.from('10.0.0.1')), false],
      ['name constraint URI domain', '2.5.29.30', true, nc(0x86, Buffer.from('.example.com')), true],
      ['name constraint rfc822Name domain with an empty label', '2.5.29.30', true, nc(0x81, Buffer.from('a..b')), false],
    ];
    let keys: webcrypto.CryptoKeyPair;
    before(async () => {
      keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    });
    const make = async (ext: x509.Extension) => Buffer.from((await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=extension', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), keys: keys as never,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' }, extensions: [ext],
    })).rawData);
    for (const [name, oid, critical, value, ok] of cases) {
      it(`${name}: ${ok ? 'accepted' : 'refused'} by both`, async () => {
        const der = await make(new x509.Extension(oid, critical, Buffer.from(value, 'hex')));
        agree(name, go('cert', file('ext.der', der)), ours(() => parseGoCertificate(der)), ok);
      });
    }

    it('an extension marked critical with BOOLEAN 0x01 (BER, not DER): refused by both', async () => {
      const der = await make(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true));
      const at = der.indexOf(Buffer.from('0603551d0f0101ff', 'hex'));
      expect(at).to.be.greaterThan(0);
      der[at + 7] = 0x01;
      agree('critical 0x01', go('cert', file('crit.der', der)), ours(() => parseGoCertificate(der)), false);
    });
  });

  describe('trust policy JSON (encoding/json Decoder.Decode into notation-go\'s document shape)', () => {
    const S = '{"name":"a","registryScopes":["*"],"signatureVerification":{"level":"strict"},"trustStores":["ca:x"],"trustedIdentities":["*"]}';
    const doc = (stmt: string) => `{"version":"1.0","trustPolicies":[${stmt}]}`;
    // [case, file bytes]: Go decodes it or not; when it does, the document must be the one we read
    const cases: [string, Buffer][] = [
      ['plain', Buffer.from(doc(S))],
      ['keys in other cases', Buffer.from('{"VERSION":"1.0","TrustPolicies":[{"NAME":"a","registryscopes":["*"],"SignatureVerification":{"LEVEL":"strict"},"trustStores":["ca:x"],"trustedIdentities":["*"]}]}')],
      ['a key with U+017F (folds to s)', Buffer.from(doc(S.replace('"trustStores"', '"truſtStores"')))],
      ['an escaped key', Buffer.from(doc(S.replace('"name"', '"\\u006eame"')))],
      ['null override', Buffer.from(doc(S.replace('{"level":"strict"}', '{"level":"strict","override":null}')))],
      ['unknown fields', Buffer.from(doc(S.replace('"name":"a"', '"name":"a","extra":{"deep":[1,{"x":null}]}')))],
      ['data after the document', Buffer.from(`${doc(S)} garbage`)],
      ['a second document after the first', Buffer.from(doc(S) + doc(S))],
      ['a byte order mark', Buffer.from(`\ufeff${doc(S)}`)],
      ['version as a number', Buffer.from(`{"version":1.0,"trustPolicies":[${S}]}`)],
      ['a string for an array', Buffer.from(doc(S.replace('["*"]', '"*"')))],
      ['a lone surrogate escape', Buffer.from(doc(S.replace('"name":"a"', '"name":"a\\ud800"')))],
      ['invalid UTF-8', Buffer.concat([Buffer.from(doc(S).slice(0, 44)), Buffer.from([0xff]), Buffer.from(doc(S).slice(44))])],
      ['a comment', Buffer.from(`/*x*/${doc(S)}`)],
      ['level of the wrong type', Buffer.from(doc(S.replace('"strict"', 'true')))],
      ['a top-level array', Buffer.from(`[${doc(S)}]`)],
      ['an escaped slash', Buffer.from(doc(S.replace('["*"]', '["a.io\\/b"]')))],
    ];
    for (const [name, bytes] of cases) {
      it(`${name}: read as Go reads it`, () => {
        const g = go('policy', file('policy.json', bytes));
        let ourDoc: unknown;
        let ourError: string | undefined;
        try {
          ourDoc = parseTrustPolicy(bytes).document;
        } catch (e) {
          ourError = (e as Error).message;
        }
        if (!g.startsWith('ok ')) {
          expect(ourError, `Go: ${g}`).to.be.a('string');
          expect(ourError).to.match(/malformed trust policy/);
        } else {
          expect(ourError, `Go: ${g}`).to.equal(undefined);
          expect(ourDoc).to.deep.equal(JSON.parse(g.slice(3)));
        }
      });
    }
  });

  describe('the timestamp signer\'s chain (x509.Verify for timeStamping, as tspclient-go checks it)', () => {
    const tsas: OpensslTsa[] = [];
    after(() => {
      for (const t of tsas) rmSync(t.dir, { recursive: true, force: true });
    });
    const UNKNOWN_CRITICAL = '1.2.3.4.5 = critical, ASN1:NULL';
    // [case, TSA options, accepted by Go's Verify]
    const cases: [string, Parameters<typeof makeOpensslTsa>[0], boolean][] = [
      ['root → TSA leaf as required', {}, true],
      ['root → intermediate → TSA leaf', { intermediates: [EXT.ca] }, true],
      ['a TSA leaf with an unknown critical extension', { leafExt: [...EXT.tsa, UNKNOWN_CRITICAL] }, false],
      ['an intermediate with an unknown critical extension', { intermediates: [[...EXT.ca, UNKNOWN_CRITICAL]] }, false],
      ['an intermediate whose extended key usage lacks timeStamping', { intermediates: [[...EXT.ca, 'extendedKeyUsage = codeSigning']] }, false],
      ['an intermediate with anyExtendedKeyUsage', { intermediates: [[...EXT.ca, 'extendedKeyUsage = anyExtendedKeyUsage']] }, true],
      ['an intermediate that is not a CA', { intermediates: [EXT.ca.map((l) => (l.startsWith('basicConstraints') ? 'basicConstraints = critical, CA:FALSE' : l))] }, false],
      ['a root with pathlen 0 above an intermediate', { rootExt: EXT.root.map((l) => (l.startsWith('basicConstraints') ? 'basicConstraints = critical, CA:TRUE, pathlen:0' : l)), intermediates: [EXT.ca] }, false],
      ['a critical SAN with a DNS name on the TSA leaf', { leafExt: [...EXT.tsa, 'subjectAltName = critical, DNS:tsa.example'] }, true],
      ['a critical SAN with only a directory name on the TSA leaf', { leafExt: [...EXT.tsa, 'subjectAltName = critical, dirName:tsa_dn', '[tsa_dn]', 'CN = TSA directory name'] }, false],
    ];
    for (const [name, opts, ok] of cases) {
      it(`${name}: ${ok ? 'accepted' : 'refused'} by both`, async () => {
        const t = makeOpensslTsa(opts);
        tsas.push(t);
        const data = Buffer.from(`go-parse ${name}`);
        const token = stamp(t, data);
        const pem = (certs: { cert: X509Certificate }[]) => certs.map((c) => c.cert.toString()).join('');
        const roots = file('tsa-root.pem', Buffer.from(t.root.toString()));
        const inter = file('tsa-inter.pem', Buffer.from(pem(t.cas.slice(0, -1))));
        const goVerdict = go('verify-tsa', file('tsa-leaf.pem', Buffer.from(t.leaf.cert.toString())), roots, inter);
        let ourVerdict = 'ok';
        await rfc3161TimestampVerifier.verify(token, data, [t.root], { now: new Date() }).catch((e: Error) => { ourVerdict = `error: ${e.message}`; });
        agree(name, goVerdict, ourVerdict, ok);
      });
    }
  });

  describe('CRLs (x509.ParseRevocationList) and OCSP responses (ocsp.ParseResponseForCert)', () => {
    before(() => {
      const conf = (crlnumber: boolean) => [
        '[ ca ]', 'default_ca = CA_default', '[ CA_default ]', `dir = ${dir}`, 'database = $dir/index.txt', 'new_certs_dir = $dir',
        'certificate = $dir/ca.pem', 'private_key = $dir/ca.key', 'serial = $dir/serial', ...(crlnumber ? ['crlnumber = $dir/crlnumber'] : []),
        'default_md = sha256', 'default_days = 2', 'default_crl_days = 1', 'policy = policy_any', '[ policy_any ]', 'commonName = supplied', '',
      ].join('\n');
      writeFileSync(join(dir, 'index.txt'), '');
      writeFileSync(join(dir, 'serial'), '1000\n');
      writeFileSync(join(dir, 'crlnumber'), '01\n');
      writeFileSync(join(dir, 'v2.cnf'), conf(true));
      writeFileSync(join(dir, 'v1.cnf'), conf(false));
      for (const v of ['v1', 'v2']) {
        ssl('ca', '-batch', '-config', `${v}.cnf`, '-gencrl', '-out', `${v}.crl.pem`);
        ssl('crl', '-in', `${v}.crl.pem`, '-outform', 'DER', '-out', `${v}.crl`);
      }
      // the leaf, good, in the index openssl ocsp answers from
      const notAfter = new X509Certificate(readFileSync(join(dir, 'leaf.pem'))).validTo;
      const exp = new Date(notAfter).toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
      writeFileSync(join(dir, 'index.txt'), `V\t${exp}\t\t1234\tunknown\t/CN=go-parse leaf\n`);
      ssl('ocsp', '-issuer', 'ca.pem', '-cert', 'leaf.pem', '-no_nonce', '-reqout', 'req.der');
      const respond = (out: string, ...extra: string[]) =>
        ssl('ocsp', '-index', 'index.txt', '-CA', 'ca.pem', '-rsigner', 'ca.pem', '-rkey', 'ca.key', '-reqin', 'req.der', '-ndays', '1', '-respout', out, ...extra);
      respond('one-cert.ocsp');
      respond('no-certs.ocsp', '-resp_no_certs');
      respond('two-certs.ocsp', '-rother', 'leaf.pem');
    });

    it('a v2 CRL is read by both; a v1 CRL by neither', () => {
      const ca = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
      for (const [v, ok] of [['v2', true], ['v1', false]] as const) {
        const crl = join(dir, `${v}.crl`);
        agree(`${v} CRL`, go('crl', crl), ours(() => verifyCrl(readFileSync(crl), ca, new Date())), ok);
      }
    });

    it('a CRL or an OCSP response whose outer length takes more octets than DER allows is read by neither', () => {
      const ca = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
      const leaf = new X509Certificate(readFileSync(join(dir, 'leaf.pem')));
      // 30 81 LL / 30 82 LL LL → the same length with one more (zero) octet
      const longer = (der: Buffer): Buffer => {
        const n = der[1]! & 0x7f;
        expect(der[1]! & 0x80, 'long-form length').to.equal(0x80);
        return Buffer.concat([Buffer.from([0x30, 0x80 | (n + 1), 0x00]), der.subarray(2)]);
      };
      const crl = longer(readFileSync(join(dir, 'v2.crl')));
      agree('long CRL', go('crl', file('long.crl', crl)), ours(() => verifyCrl(crl, ca, new Date())), false);
      const resp = longer(readFileSync(join(dir, 'one-cert.ocsp')));
      agree('long OCSP', go('ocsp', file('long.ocsp', resp), join(dir, 'leaf.der'), join(dir, 'ca.der')), ours(() => parseOcspResponse(resp, leaf, ca, new Date())), false);
    });

    it('an OCSP response embedding the signer, nothing, or the signer and another certificate is read by both', () => {
      const leaf = new X509Certificate(readFileSync(join(dir, 'leaf.pem')));
      const ca = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
      // x/crypto/ocsp takes the first embedded certificate and ignores the rest (golang/go#21527)
      for (const [name, ok] of [['one-cert', true], ['no-certs', true], ['two-certs', true]] as const) {
        const resp = join(dir, `${name}.ocsp`);
        agree(`${name} OCSP response`, go('ocsp', resp, join(dir, 'leaf.der'), join(dir, 'ca.der')),
          ours(() => parseOcspResponse(readFileSync(resp), leaf, ca, new Date())), ok);
      }
    });
  });
});
