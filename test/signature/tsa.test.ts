import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { configPaths } from '../../src/config/dir.js';
import { OciLayout } from '../../src/oci/layout.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { generateTestKey, type GeneratedKey } from '../../src/pki/generate.js';
import { addLocalKey } from '../../src/pki/keystore.js';
import { signLayout } from '../../src/signature/sign.js';
import { parseEnvelope } from '../../src/signature/index.js';
import { parseRootCertificates, requestNonce, timestampHash, timestampRequest, timestampSignature, tokenOfResponse } from '../../src/signature/tsa.js';
import { parseTimestampToken, rfc3161TimestampVerifier } from '../../src/trust/timestamp.js';
import { EXT, makeOpensslTsa, makeTsa, opensslCert, serveTsa, type Tsa } from '../support/tsa.js';
import { makeLayout } from '../support/layout.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Descriptor['digest'];

/**
 * Signing with a timestamp (notation's --timestamp-url/--timestamp-root-cert) against a real RFC 3161 TSA:
 * `openssl ts -reply` behind a small HTTP server.
 */
describe('signature/tsa: timestamping at signing time (openssl TSA over HTTP)', function () {
  this.timeout(60_000);
  let tsa: Tsa;
  let otherTsa: Tsa;
  let server: Awaited<ReturnType<typeof serveTsa>>;
  let ec: GeneratedKey;
  let rsa: GeneratedKey;
  let dir: string;

  before(async () => {
    [tsa, otherTsa, ec, rsa] = await Promise.all([makeTsa(), makeTsa(), generateTestKey({ name: 'tsa-ec', type: 'ec-p384' }), generateTestKey({ name: 'tsa-rsa', type: 'rsa-3072' })]);
    server = await serveTsa(tsa);
  });
  after(async () => {
    await server?.close();
    for (const t of [tsa, otherTsa]) if (t) rmSync(t.dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ds-tsa-sign-'));
    makeLayout(join(dir, 'layout'));
    server.mode = 'ok';
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const paths = () => {
    const p = configPaths(join(dir, 'cfg'));
    try {
      addLocalKey(p, 'ec', ec.keyPem, ec.chainPem, { setDefault: true });
      addLocalKey(p, 'rsa', rsa.keyPem, rsa.chainPem);
    } catch { /* added by an earlier call in this test */ }
    return p;
  };
  const signatures = async () => {
    const layout = await OciLayout.open(join(dir, 'layout'));
    return (await layout.referrers(await layout.fetchManifest('v1').then((m) => m.descriptor)));
  };

  for (const [format, key] of [['jws', 'ec'], ['cose', 'rsa']] as const) {
    it(`${format} (${key}): the envelope carries a token over its own signature value, which verifies against the TSA root`, async () => {
      const r = await signLayout({ configPaths: paths(), keyName: key, format, layoutPath: join(dir, 'layout'), reference: 'v1', timestamp: { url: server.url, roots: [tsa.root] } });
      const layout = await OciLayout.open(join(dir, 'layout'));
      const env = parseEnvelope(await layout.fetchBlob(r.envelope), r.envelope.mediaType);
      const token = env.unsignedAttributes.timestampSignature;
      expect(token, 'timestampSignature').to.be.instanceOf(Buffer);
      const parsed = parseTimestampToken(token!);
      const hash = timestampHash(r.signatureAlgorithm as Parameters<typeof timestampHash>[0]);
      expect(hash).to.equal('sha384'); // ES384 (P-384) / PS384 (RSA-3072): the signing algorithm's hash
      expect(parsed.hashedMessage.equals(createHash(hash).update(env.signature).digest())).to.equal(true);
      const range = await rfc3161TimestampVerifier.verify(token!, env.signature, [tsa.root], { now: new Date() });
      expect(range.lower.getTime()).to.be.at.most(Date.now());
    });
  }

  it('the request nonce is always a minimal positive DER INTEGER (a leading zero byte made OpenSSL TSAs refuse 1 request in 256)', () => {
    for (let i = 0; i < 20_000; i++) {
      const n = requestNonce();
      expect(n.length).to.equal(8);
      expect(n[0], n.toString('hex')).to.be.within(0x01, 0x7f);
    }
    // what openssl says of the two encodings
    const digest = createHash('sha384').update('x').digest();
    const parses = (nonce: Buffer) => {
      const f = join(dir, 'q.tsq');
      writeFileSync(f, timestampRequest(digest, 'sha384', nonce));
      return spawnSync('openssl', ['ts', '-query', '-in', f, '-text'], { encoding: 'utf8' }).status === 0;
    };
    expect(parses(Buffer.from('0012030405060708', 'hex'))).to.equal(false);
    expect(parses(requestNonce())).to.equal(true);
  });

  it('a TSA that is not the given root: TIMESTAMP_FAILED and no signature is stored', async () => {
    const e = await signLayout({ configPaths: paths(), layoutPath: join(dir, 'layout'), reference: 'v1', timestamp: { url: server.url, roots: [otherTsa.root] } }).catch((x: unknown) => x);
    expect(e).to.have.property('code', 'TIMESTAMP_FAILED');
    expect((e as Error).message).to.match(/does not verify/);
    expect(await signatures()).to.have.length(0);
  });

  it('a TSA whose answers cannot come after the whole-second signing time (1 s accuracy) fails the signing, not the verification later', async () => {
    const coarse = await makeTsa({ coarse: true });
    const srv = await serveTsa(coarse);
    try {
      let e: any;
      await signLayout({ configPaths: paths(), layoutPath: join(dir, 'layout'), reference: 'v1', timestamp: { url: srv.url, roots: [coarse.root] } }).catch((x) => { e = x; });
      expect(e?.code).to.equal('TIMESTAMP_FAILED');
      expect(e?.message).to.match(/is not after the signing time .*every verifier would refuse this signature/);
      expect(await signatures()).to.deep.equal([]);
    } finally {
      await srv.close();
      rmSync(coarse.dir, { recursive: true, force: true });
    }
  });

  it('a refusing TSA, a replayed answer (wrong nonce) and an unreachable TSA all fail the signing', async () => {
    server.mode = 'reject';
    const refused = await signLayout({ configPaths: paths(), layoutPath: join(dir, 'layout'), reference: 'v1', timestamp: { url: server.url, roots: [tsa.root] } }).catch((x: unknown) => x);
    expect(refused).to.have.property('code', 'TIMESTAMP_FAILED');
    expect((refused as Error).message).to.match(/refused the request \(rejection\)/);
    server.mode = 'ok';
    await signLayout({ configPaths: paths(), layoutPath: join(dir, 'layout'), reference: 'v1', timestamp: { url: server.url, roots: [tsa.root] } });
    server.mode = 'replay'; // the previous answer again: right TSA, other signature and nonce
    const replayed = await signLayout({ configPaths: paths(), layoutPath: join(dir, 'layout'), reference: 'v1', timestamp: { url: server.url, roots: [tsa.root] } }).catch((x: unknown) => x);
    expect(replayed).to.have.property('code', 'TIMESTAMP_FAILED');
    const down = await signLayout({ configPaths: paths(), layoutPath: join(dir, 'layout'), reference: 'v1', timestamp: { url: 'http://127.0.0.1:9/tsa', roots: [tsa.root] } }).catch((x: unknown) => x);
    expect(down).to.have.property('code', 'TIMESTAMP_FAILED');
    expect(down).to.have.property('exitCode', 3);
    expect(await signatures()).to.have.length(1); // only the one that got a good token
  });

  it('docker sign --timestamp-url/--timestamp-root-cert (CLI, JWS and COSE): inspect reports the signatures as timestamped', async () => {
    const root = resolve(import.meta.dirname, '..', '..');
    // async: the TSA answers from this process, so it must not be blocked while the CLI runs
    const cli = async (args: string[]) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e',
        // a first word that is not ours: `node … -- inspect …` would otherwise start node's own debugger
        `import(${JSON.stringify(join(root, 'src', 'cli.ts'))}).then((m) => m.main('sign', process.argv.slice(2)))`, '--', 'docker-sign', ...args], {
        cwd: root, env: { ...process.env, DOCKER_SIGN_CONFIG: join(dir, 'cfg') }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => { stdout += c; });
      child.stderr.on('data', (c) => { stderr += c; });
      const [status] = (await once(child, 'exit')) as [number];
      return { status, stdout, stderr };
    };
    paths();
    writeFileSync(join(dir, 'tsa-root.pem'), tsa.root.toString());
    for (const format of ['jws', 'cose']) {
      const r = await cli(['--oci-layout', join(dir, 'layout'), 'v1', '--signature-format', format, '--timestamp-url', server.url, '--timestamp-root-cert', join(dir, 'tsa-root.pem')]);
      expect(r.status, r.stderr).to.equal(0);
    }
    const bad = await cli(['--oci-layout', join(dir, 'layout'), 'v1', '--timestamp-url', server.url, '--timestamp-root-cert', join(dir, 'cfg', 'signingkeys.json')]);
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.match(/is not a certificate/);
    const shown = await cli(['inspect', '-o', 'json', '--oci-layout', join(dir, 'layout'), 'v1']);
    expect(shown.status, shown.stderr).to.equal(0);
    const sigs = JSON.parse(shown.stdout).signatures as { envelope: { mediaType: string; timestamped: boolean } }[];
    expect(sigs.map((x) => [x.envelope.mediaType, x.envelope.timestamped]).sort()).to.deep.equal([['application/cose', true], ['application/jose+json', true]]);
  });

  it('the TSA answer must be HTTP 200 (no redirect followed) with Content-Type application/timestamp-reply (tspclient-go)', async () => {
    const sig = createHash('sha512').update('a signature value').digest();
    expect(await timestampSignature(sig, 'ES384', { url: server.url, roots: [tsa.root] })).to.be.instanceOf(Buffer);
    const cases: [typeof server.mode, RegExp, number][] = [
      ['content-type', /answered with content type "text\/plain", not application\/timestamp-reply/, 1],
      ['status', /failed: HTTP 203/, 3],
      ['redirect', /failed: HTTP 307 .*redirects are not followed/, 3],
    ];
    for (const [mode, re, exitCode] of cases) {
      server.mode = mode;
      const e = await timestampSignature(sig, 'ES384', { url: server.url, roots: [tsa.root] }).catch((x: unknown) => x);
      expect(e, mode).to.have.property('code', 'TIMESTAMP_FAILED');
      expect((e as Error).message, mode).to.match(re);
      expect(e, mode).to.have.property('exitCode', exitCode);
    }
  });

  it('after timestamping, the TSA chain\'s revocation is checked (notation\'s signer): revoked or unknown fail the signing', async () => {
    const sig = createHash('sha512').update('a signature value to revoke').digest();
    const seen: { purpose: string; subjects: string[] }[] = [];
    const checker = (status: 'ok' | 'revoked' | 'unknown') => ({
      async check(chain: import('node:crypto').X509Certificate[], o: { purpose: string }) {
        seen.push({ purpose: o.purpose, subjects: chain.map((c) => c.subject) });
        return chain.map((_, i) => (i === chain.length - 1 ? { status: 'nonRevokable' as const } : { status, detail: `test ${status}` }));
      },
    });
    expect(await timestampSignature(sig, 'ES384', { url: server.url, roots: [tsa.root], revocation: checker('ok') })).to.be.instanceOf(Buffer);
    expect(seen[0]!.purpose).to.equal('timestamping');
    expect(seen[0]!.subjects.at(-1)).to.equal(tsa.root.subject); // the whole TSA chain, up to the root
    for (const [status, re] of [['revoked', /after timestamping: timestamping certificate with subject ".*" is revoked/], ['unknown', /after timestamping: .* revocation status is unknown \(test unknown\)/]] as const) {
      const e = await timestampSignature(sig, 'ES384', { url: server.url, roots: [tsa.root], revocation: checker(status) }).catch((x: unknown) => x);
      expect(e, status).to.have.property('code', 'TIMESTAMP_FAILED');
      expect((e as Error).message, status).to.match(re);
    }
  });

  it('a token over another hash algorithm than the request\'s is refused, even with the right nonce and a matching imprint', async () => {
    const sig = createHash('sha512').update('another signature value').digest();
    server.mode = 'other-hash';
    server.data = sig;
    const e = await timestampSignature(sig, 'ES384', { url: server.url, roots: [tsa.root] }).catch((x: unknown) => x);
    expect(e).to.have.property('code', 'TIMESTAMP_FAILED');
    expect((e as Error).message).to.match(/is over a sha256 message imprint, the request was for sha384/);
  });

  it('--timestamp-root-cert: exactly one certificate, a self-signed root CA (notation NewRootCertPool)', () => {
    const mid = makeOpensslTsa({ intermediates: [EXT.ca] });
    try {
      const selfSignedLeaf = opensslCert(mid.dir, 'self-signed-leaf', { subject: '/CN=Self-signed TSA', ext: EXT.tsa.filter((l) => !l.startsWith('authorityKeyIdentifier')) });
      const bad: [Buffer, RegExp][] = [
        [Buffer.from(tsa.root.toString() + otherTsa.root.toString()), /holds 2 certificates: expecting a single x509 root certificate/],
        [Buffer.from(mid.cas[0]!.cert.toString()), /CN=Test TSA CA 1.*is not a root certificate: .*does not verify with its own key/],
        [mid.leaf.cert.raw, /is not a root certificate: .*is not a CA certificate/],
        [Buffer.from(selfSignedLeaf.cert.toString()), /is not a root certificate: .*is not a CA certificate/],
      ];
      for (const [bytes, re] of bad) {
        let e: unknown;
        try {
          parseRootCertificates(bytes, 'tsa-root.pem');
        } catch (x) {
          e = x;
        }
        expect(e, String(re)).to.have.property('code', 'INVALID_TIMESTAMP_ROOT');
        expect(e).to.have.property('exitCode', 2);
        expect((e as Error).message).to.match(re);
      }
      expect(parseRootCertificates(Buffer.from(mid.root.toString()), 'root.pem')).to.have.length(1);
    } finally {
      rmSync(mid.dir, { recursive: true, force: true });
    }
  });

  it('parses TSA answers and root files strictly', () => {
    expect(() => tokenOfResponse(Buffer.from('not der'))).to.throw(/not a TimeStampResp/);
    expect(() => tokenOfResponse(Buffer.from([0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00]))).to.throw(/no token/);
    // malformed inside (a broken or hostile TSA): TIMESTAMP_FAILED, never an internal error
    for (const bytes of [[0x30, 0x03, 0x30, 0x01, 0xff], [0x30, 0x04, 0x30, 0x02, 0x02, 0x00], [0x30, 0x09, 0x30, 0x07, 0x02, 0x05, 1, 2, 3, 4, 5]]) {
      let e: any;
      try {
        tokenOfResponse(Buffer.from(bytes));
      } catch (x) {
        e = x;
      }
      expect(e?.code, Buffer.from(bytes).toString('hex')).to.equal('TIMESTAMP_FAILED');
    }
    expect(parseRootCertificates(Buffer.from(tsa.root.toString()), 'root.pem')[0]!.fingerprint256).to.equal(tsa.root.fingerprint256);
    expect(parseRootCertificates(tsa.root.raw, 'root.der')[0]!.fingerprint256).to.equal(tsa.root.fingerprint256);
    expect(() => parseRootCertificates(Buffer.from('junk'), 'x.pem')).to.throw(/not a certificate/);
  });
});
