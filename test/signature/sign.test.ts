import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configPaths } from '../../src/config/dir.js';
import { OciLayout } from '../../src/oci/layout.js';
import { generateTestKey, type GeneratedKey } from '../../src/pki/generate.js';
import { addLocalKey } from '../../src/pki/keystore.js';
import { parseRequiredMetadata, parseUserMetadata } from '../../src/signature/annotations.js';
import { parseAnnotations, parseDuration, parseExpiry, signLayout, signTarget, signRemote, hasDigest, selectorOf } from '../../src/signature/sign.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeConnections } from '../../src/registry/index.js';
import { inspectSignatures, listSignatures } from '../../src/signature/list.js';
import { parseEnvelope, verifyIntegrity } from '../../src/signature/index.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { makeLayout } from '../support/layout.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Descriptor['digest'];

describe('signature/sign: signing flow into a real OCI layout', () => {
  let dir: string;
  let rsa: GeneratedKey;
  let ec: GeneratedKey;
  before(async function () {
    this.timeout(30000);
    rsa = await generateTestKey({ name: 'flow-rsa', type: 'rsa-3072' });
    ec = await generateTestKey({ name: 'flow-ec', type: 'ec-p256' });
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ds-signflow-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('signs with two keys independently; ls/inspect see both; payload = subject + user metadata', async () => {
    const layoutDir = join(dir, 'layout');
    const subject = makeLayout(layoutDir);
    const paths = configPaths(join(dir, 'cfg'));
    addLocalKey(paths, 'r', rsa.keyPem, rsa.chainPem);
    addLocalKey(paths, 'e', ec.keyPem, ec.chainPem);
    const a = await signLayout({ configPaths: paths, layoutPath: layoutDir, reference: 'v1' });
    const b = await signLayout({ configPaths: paths, layoutPath: layoutDir, reference: subject.digest, keyName: 'e', format: 'cose', annotations: { team: 'wabbit' }, expiry: 3_600_000 });
    expect(a.keyName).to.equal('r');
    expect(a.subject).to.deep.equal(subject);
    expect(b.expiry).to.equal(new Date(Date.parse(b.signingTime) + 3_600_000).toISOString().replace('.000Z', 'Z'));
    const layout = await OciLayout.open(layoutDir);
    const list = await listSignatures(layout, subject);
    expect(list.map((s) => [s.digest, s.envelopeMediaType])).to.have.deep.members([
      [a.signatureManifest.digest, 'application/jose+json'],
      [b.signatureManifest.digest, 'application/cose'],
    ]);
    const details = await inspectSignatures(layout, subject);
    const eb = details.find((d) => d.digest === b.signatureManifest.digest)!.envelope!;
    expect(eb.integrity).to.equal('ok');
    expect(eb.matchesSubject).to.equal(true);
    expect(eb.userMetadata).to.deep.equal({ team: 'wabbit' });
    expect(eb.signatureAlgorithm).to.equal('ES256');
    expect(eb.certificateChain.map((c) => c.sha256Fingerprint)).to.deep.equal(ec.chain.map((c) => c.fingerprint256));
    // the stored envelope itself
    const m = JSON.parse((await layout.fetchManifest({ mediaType: b.signatureManifest.mediaType, digest: b.signatureManifest.digest, size: b.signatureManifest.size })).bytes.toString());
    const env = parseEnvelope(await layout.fetchBlob(m.layers[0]), 'application/cose');
    verifyIntegrity(env);
    expect(env.payload.targetArtifact).to.deep.equal({ ...subject, annotations: { team: 'wabbit' } });
  });

  it('inspect reports a tampered envelope in the target instead of trusting it', async () => {
    const layoutDir = join(dir, 'layout');
    const subject = makeLayout(layoutDir);
    const paths = configPaths(join(dir, 'cfg'));
    addLocalKey(paths, 'e', ec.keyPem, ec.chainPem);
    const layout = await OciLayout.open(layoutDir);
    const r = await signTarget(layout, subject, { configPaths: paths });
    // overwrite the envelope blob on disk: the digest check must catch it
    writeFileSync(join(layoutDir, 'blobs', 'sha256', r.envelope.digest.slice(7)), Buffer.from('{"payload":"x"}'));
    const d = await inspectSignatures(layout, subject);
    expect(d[0]!.envelope).to.equal(undefined);
    expect(d[0]!.problem).to.match(/digest|size/i);
  });

  it('refuses to sign with an expired certificate (checked at signing time)', async () => {
    const layoutDir = join(dir, 'layout');
    const subject = makeLayout(layoutDir);
    const paths = configPaths(join(dir, 'cfg'));
    addLocalKey(paths, 'e', ec.keyPem, ec.chainPem);
    const layout = await OciLayout.open(layoutDir);
    let err: unknown;
    try {
      await signTarget(layout, subject, { configPaths: paths, now: new Date(Date.now() + 5 * 365 * 86_400_000) });
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).to.equal('CERTIFICATE_REQUIREMENTS');
    expect(await listSignatures(layout, subject)).to.deep.equal([]);
  });

  it('parses durations, annotations and reference selectors', () => {
    expect(parseDuration('24h')).to.equal(86_400_000);
    expect(parseDuration('30d')).to.equal(30 * 86_400_000);
    expect(parseDuration('1h30m')).to.equal(5_400_000);
    for (const bad of ['', '3 days', '-1h', '10', 'h', '0s']) expect(() => parseDuration(bad), bad).to.throw().with.property('code', 'INVALID_DURATION');
    // notation's --expiry is a Go time.Duration: up to 2^63-1 ns (~292 years); beyond it the expiry is refused up front
    expect(parseDuration('106751d')).to.equal(106_751 * 86_400_000);
    expect(() => parseDuration('106752d')).to.throw(/longer than ~292 years/).with.property('code', 'INVALID_DURATION');
    expect(() => parseDuration('10000000d')).to.throw().with.property('code', 'INVALID_DURATION');
    // notation's ParseFlagMap: first "=" splits, no comma splitting, empty key or value refused, the later value wins
    expect(parseAnnotations(['a=b', 'c=d=e', 'url=x,y'])).to.deep.equal({ a: 'b', c: 'd=e', url: 'x,y' });
    expect(parseAnnotations([])).to.equal(undefined);
    expect(parseRequiredMetadata(['a=1,b=2', 'c=3'])).to.deep.equal({ a: '1,b=2', c: '3' });
    expect(parseRequiredMetadata(undefined)).to.equal(undefined);
    expect(parseAnnotations(['a=1', 'a=2'])).to.deep.equal({ a: '2' });
    for (const bad of ['=x', 'empty=', 'novalue']) expect(() => parseAnnotations([bad]), bad).to.throw().with.property('code', 'INVALID_ANNOTATION');
    // "__proto__" is a key like any other; notation's reserved prefix is refused for signed metadata
    expect(Object.entries(parseUserMetadata(['__proto__=x', 'b=2'])!)).to.deep.equal([['__proto__', 'x'], ['b', '2']]);
    expect(() => parseUserMetadata(['io.cncf.notary.x=1'])).to.throw(/reserved prefix/).with.property('code', 'INVALID_ANNOTATION');
    expect(parseRequiredMetadata(['io.cncf.notary.x=1'])).to.deep.equal({ 'io.cncf.notary.x': '1' });
    // --expiry is whole seconds, as notation's
    expect(parseExpiry('1h')).to.equal(3_600_000);
    expect(() => parseExpiry('1500ms')).to.throw(/whole number of seconds/).with.property('code', 'INVALID_DURATION');
    expect(hasDigest(`h:5000/a@sha256:${'a'.repeat(64)}`)).to.equal(true);
    expect(hasDigest('h:5000/a:v1')).to.equal(false);
    expect(selectorOf({ tag: 'v1', digest: `sha256:${'a'.repeat(64)}` })).to.equal(`sha256:${'a'.repeat(64)}`);
    expect(selectorOf({})).to.equal('latest');
  });

  describe('remote signing: what reaches the registry when signing stops early', () => {
    let server: Server;
    let host: string;
    let log: string[];
    const thing = Buffer.from('{"not":"an image"}');
    before(async () => {
      server = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          log.push(`${req.method} ${req.url!.split('?')[0]}`);
          if (req.url === '/v2/app/manifests/v1') {
            res.writeHead(200, { 'content-type': 'application/vnd.example.thing+json', 'content-length': String(thing.length), 'docker-content-digest': sha(thing) });
            res.end(req.method === 'HEAD' ? undefined : thing);
          } else if (req.method === 'POST' && req.url!.startsWith('/v2/app/blobs/uploads/')) {
            res.writeHead(202, { location: '/v2/app/blobs/uploads/s1', 'content-length': '0' });
            res.end();
          } else if (req.method === 'DELETE') {
            res.writeHead(204);
            res.end();
          } else {
            res.writeHead(404, { 'content-type': 'application/json' });
            res.end('{"errors":[{"code":"BLOB_UNKNOWN","message":"no"}]}');
          }
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    beforeEach(() => { log = []; });
    after(async () => {
      await closeConnections();
      server.close();
    });

    it('a subject that is not an image: NOT_SIGNABLE, and the envelope upload session opened early is cancelled', async () => {
      const paths = configPaths(join(dir, 'cfg'));
      addLocalKey(paths, 'e', ec.keyPem, ec.chainPem, { setDefault: true });
      const e = await signRemote({ configPaths: paths, reference: `${host}/app:v1` }).catch((x: unknown) => x);
      expect(e).to.have.property('code', 'NOT_SIGNABLE');
      expect(log.filter((l) => !l.startsWith('GET') && !l.startsWith('HEAD'))).to.deep.equal(['POST /v2/app/blobs/uploads/', 'DELETE /v2/app/blobs/uploads/s1']);
    });

    it('a missing key fails before anything is written: reads, and the upload session opened early is cancelled', async () => {
      const e = await signRemote({ configPaths: configPaths(join(dir, 'empty')), reference: `${host}/app:v1` }).catch((x: unknown) => x);
      expect(e).to.have.property('code').that.matches(/KEY/);
      await new Promise((r) => setTimeout(r, 50)); // the early reads may still be answered
      expect(log.filter((l) => !l.startsWith('GET') && !l.startsWith('HEAD')), log.join(', ')).to.deep.equal(['POST /v2/app/blobs/uploads/', 'DELETE /v2/app/blobs/uploads/s1']);
    });
  });
});
