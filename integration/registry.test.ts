// RemoteRepository against the real registries from scripts/services.sh: Distribution 2.8 (DS_REGISTRY, no
// Referrers API) and go-containerregistry (DS_REFERRERS_REGISTRY, Referrers API). Repository names are unique.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { openRepository, closeConnections, referrersTag, type RemoteRepository } from '../src/registry/index.js';
import { parseImageIndex, parseImageManifest } from '../src/oci/manifest.js';
import { MediaType } from '../src/oci/mediaTypes.js';
import { EXIT } from '../src/errors.js';
import { startRegistry, type Registry } from './push.helpers.js';
import { service, requireRegistry, repoName, makeImage, makeReferrer, blobOf, EMPTY, startProxy, expectCode, type BuiltImage } from './registry.helpers.js';

async function pushImage(repo: RemoteRepository, img: BuiltImage, tag?: string): Promise<void> {
  for (const b of [img.config, ...img.layers]) await repo.pushBlob(b.desc, b.bytes);
  await repo.pushManifest(img.manifest.desc, img.manifest.bytes, tag);
}

describe('registry client on Distribution 2.8 (DS_REGISTRY)', function () {
  this.timeout(120_000);
  let REG: string;
  before(async () => {
    REG = service('DS_REGISTRY');
    await requireRegistry(REG);
  });
  after(() => closeConnections());

  it('pushes and pulls a manifest + blobs by tag and by digest (monolithic uploads)', async () => {
    const repo = openRepository(`${REG}/${repoName('pushpull')}`);
    const img = makeImage([3000, 70_000]);
    await pushImage(repo, img, 'v1');
    const byTag = await repo.fetchManifest('v1');
    expect(byTag.descriptor).to.deep.equal(img.manifest.desc);
    expect(byTag.bytes.equals(img.manifest.bytes)).to.equal(true);
    expect(await repo.resolve('v1')).to.deep.equal(img.manifest.desc);
    expect(await repo.resolve(img.manifest.desc.digest)).to.deep.equal(img.manifest.desc);
    const byDesc = await repo.fetchManifest(img.manifest.desc);
    const m = parseImageManifest(byDesc.bytes);
    for (const [i, l] of m.layers.entries()) {
      expect((await repo.fetchBlob(l)).equals(img.layers[i]!.bytes)).to.equal(true);
      expect(await repo.hasBlob(l)).to.equal(true);
    }
    expect(await repo.hasBlob(blobOf(randomBytes(10)).desc)).to.equal(false);
    // streaming fetch yields the same bytes
    const chunks: Buffer[] = [];
    for await (const c of await repo.fetchBlobStream(img.layers[1]!.desc)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(img.layers[1]!.bytes)).to.equal(true);
    // pushing again is a no-op for blobs present
    await repo.pushBlob(img.layers[0]!.desc, img.layers[0]!.bytes);
  });

  it('uploads from a stream factory, monolithic and chunked (several PATCHes), and the registry stores the exact bytes', async () => {
    const repo = openRepository(`${REG}/${repoName('chunked')}`);
    const data = randomBytes(300 * 1024 + 17);
    const b = blobOf(data);
    const pieces = (): Readable => Readable.from((function* () {
      for (let i = 0; i < data.length; i += 10_000) yield data.subarray(i, i + 10_000);
    })());
    const proxy = await startProxy(REG);
    try {
      const viaProxy = openRepository(`${proxy.host}/${repo.repository}`);
      await viaProxy.pushBlobChunked(b.desc, pieces, 64 * 1024);
      const patches = proxy.requests.filter((r) => r.method === 'PATCH');
      expect(patches.length).to.equal(5); // 300 KiB + 17 in 64 KiB chunks
    } finally {
      await proxy.close();
    }
    expect((await repo.fetchBlob(b.desc)).equals(data)).to.equal(true);
    const b2 = blobOf(randomBytes(200_000));
    await repo.pushBlob(b2.desc, () => Readable.from([b2.bytes.subarray(0, 50_000), b2.bytes.subarray(50_000)]));
    expect((await repo.fetchBlob(b2.desc)).equals(b2.bytes)).to.equal(true);
    // a Buffer source through the chunked path
    const b3 = blobOf(randomBytes(150_000));
    await repo.pushBlobChunked(b3.desc, b3.bytes, 64 * 1024);
    expect((await repo.fetchBlob(b3.desc)).equals(b3.bytes)).to.equal(true);
  });

  it('a stream whose bytes do not match the descriptor is refused by the registry (DIGEST_MISMATCH)', async () => {
    const repo = openRepository(`${REG}/${repoName('badupload')}`);
    const data = randomBytes(5000);
    const claimed = blobOf(randomBytes(5000)).desc;
    const e = await expectCode(repo.pushBlob(claimed, () => Readable.from([data])), 'DIGEST_MISMATCH');
    expect(e.message).to.match(/digest/i);
  });

  it('detects corrupted blobs and manifests served by a (corrupting) proxy', async () => {
    const name = repoName('corrupt');
    const repo = openRepository(`${REG}/${name}`);
    const img = makeImage([40_000]);
    await pushImage(repo, img, 'v1');
    const proxy = await startProxy(REG);
    try {
      proxy.corrupt = (req, body) => {
        if (req.url!.includes('/blobs/') || req.url!.includes('/manifests/')) {
          const b = Buffer.from(body);
          b[b.length - 2] = b[b.length - 2]! ^ 0x20; // JSON stays parseable for manifests ("}" → "]"… either way bytes differ)
          return b;
        }
        return undefined;
      };
      const bad = openRepository(`${proxy.host}/${name}`);
      const e = await expectCode(bad.fetchBlob(img.layers[0]!.desc), 'DIGEST_MISMATCH');
      expect(e.exitCode).to.equal(EXIT.VERIFICATION_FAILED);
      const stream = await bad.fetchBlobStream(img.layers[0]!.desc);
      const streamErr = await (async () => {
        try {
          for await (const _ of stream) { /* drain */ }
          return undefined;
        } catch (x) {
          return x as { code?: string };
        }
      })();
      expect(streamErr?.code).to.equal('DIGEST_MISMATCH');
      await expectCode(bad.fetchManifest(img.manifest.desc), 'DIGEST_MISMATCH');
      // by tag: the registry's Docker-Content-Digest no longer matches what arrived
      await expectCode(bad.fetchManifest('v1'), 'DIGEST_MISMATCH');
      // sanity: without corruption the proxy path works
      proxy.corrupt = undefined;
      expect((await bad.fetchBlob(img.layers[0]!.desc)).equals(img.layers[0]!.bytes)).to.equal(true);
    } finally {
      await proxy.close();
    }
  });

  it('mounts a blob across repositories, and falls back to an upload when the source lacks it', async () => {
    const a = openRepository(`${REG}/${repoName('mount-src')}`);
    const b = openRepository(`${REG}/${repoName('mount-dst')}`);
    const blob = blobOf(randomBytes(12_345));
    await a.pushBlob(blob.desc, blob.bytes);
    expect(await b.hasBlob(blob.desc)).to.equal(false);
    expect(await b.mountBlob(blob.desc, a.repository)).to.equal('mounted');
    expect(await b.hasBlob(blob.desc)).to.equal(true);
    expect((await b.fetchBlob(blob.desc)).equals(blob.bytes)).to.equal(true);
    const other = blobOf(randomBytes(999));
    expect(await b.mountBlob(other.desc, `${a.repository}-missing`, other.bytes)).to.equal('uploaded');
    expect((await b.fetchBlob(other.desc)).equals(other.bytes)).to.equal(true);
  });

  it('lists tags (Distribution 2.8 ignores n on tags/list: one page, all tags)', async () => {
    const name = repoName('tags');
    const repo = openRepository(`${REG}/${name}`);
    const img = makeImage([100]);
    const tags = ['a1', 'b2', 'c3', 'd4', 'e5', 'f6', 'g7'];
    await pushImage(repo, img);
    for (const t of tags) await repo.pushManifest(img.manifest.desc, img.manifest.bytes, t);
    expect((await repo.tags({ pageSize: 2 })).sort()).to.deep.equal(tags);
    expect((await repo.tags()).sort()).to.deep.equal(tags);
    const e = await expectCode(openRepository(`${REG}/${repoName('nosuch')}`).tags(), 'NAME_UNKNOWN');
    expect(e.message).to.contain('repository name not known to registry');
  });

  it('deletes manifests and blobs; unknown ones are MANIFEST_UNKNOWN / BLOB_UNKNOWN with the registry message', async () => {
    const repo = openRepository(`${REG}/${repoName('delete')}`);
    const img = makeImage([500]);
    await pushImage(repo, img, 'v1');
    await repo.deleteManifest(img.manifest.desc.digest);
    const e = await expectCode(repo.fetchManifest(img.manifest.desc), 'MANIFEST_UNKNOWN');
    expect(e.message).to.contain('manifest unknown');
    await expectCode(repo.fetchManifest('v1'), 'MANIFEST_UNKNOWN');
    await repo.deleteBlob(img.layers[0]!.desc.digest);
    expect(await repo.hasBlob(img.layers[0]!.desc)).to.equal(false);
    await expectCode(repo.deleteBlob(img.layers[0]!.desc.digest), 'BLOB_UNKNOWN');
    await expectCode(repo.fetchBlob(img.layers[0]!.desc), 'BLOB_UNKNOWN');
  });

  it('referrers fall back to the tag schema: discoverable with artifactType + annotations, filterable', async () => {
    const repo = openRepository(`${REG}/${repoName('refs')}`);
    expect(await repo.supportsReferrersApi()).to.equal(false);
    const img = makeImage([100]);
    await pushImage(repo, img, 'v1');
    await repo.pushBlob(EMPTY.desc, EMPTY.bytes);
    const sig = makeReferrer(img.manifest.desc, 'application/vnd.cncf.notary.signature', { 'org.example.k': 'v' });
    const sbom = makeReferrer(img.manifest.desc, 'application/spdx+json');
    const indexDigests: string[] = [];
    for (const r of [sig, sbom]) {
      await repo.pushBlob(r.layer.desc, r.layer.bytes);
      await repo.pushReferrer(r.desc, r.bytes, img.manifest.desc);
      indexDigests.push((await repo.resolve(referrersTag(img.manifest.desc.digest))).digest);
    }
    // the superseded one-entry index was deleted once the tag moved on (it was no longer referenced)
    expect(indexDigests[0]).to.not.equal(indexDigests[1]);
    await expectCode(repo.fetchManifest(indexDigests[0]!), 'MANIFEST_UNKNOWN');
    const all = await repo.referrers(img.manifest.desc);
    expect(all.map((d) => d.digest).sort()).to.deep.equal([sig.desc.digest, sbom.desc.digest].sort());
    const onlySig = await repo.referrers(img.manifest.desc, 'application/vnd.cncf.notary.signature');
    expect(onlySig).to.have.length(1);
    expect(onlySig[0]).to.include({ digest: sig.desc.digest, artifactType: 'application/vnd.cncf.notary.signature' });
    expect(onlySig[0]!.annotations).to.include({ 'org.example.k': 'v' });
    // the index lives under the sha256-<hex> tag
    const idx = await repo.fetchManifest(referrersTag(img.manifest.desc.digest));
    expect(idx.descriptor.mediaType).to.equal(MediaType.OCI_INDEX);
    expect(parseImageIndex(idx.bytes).manifests).to.have.length(2);
    // pushing the same referrer again does not duplicate it
    await repo.pushReferrer(sig.desc, sig.bytes, img.manifest.desc);
    expect(await repo.referrers(img.manifest.desc)).to.have.length(2);
    expect((await repo.resolve(referrersTag(img.manifest.desc.digest))).digest).to.equal(indexDigests[1]);
    // a subject without referrers has none
    expect(await repo.referrers(makeImage().manifest.desc)).to.deep.equal([]);
  });

  it('8 concurrent writers add referrers to one subject on the fallback path: all 8 discoverable', async () => {
    const name = repoName('race');
    const setup = openRepository(`${REG}/${name}`);
    const img = makeImage([100]);
    await pushImage(setup, img, 'v1');
    await setup.pushBlob(EMPTY.desc, EMPTY.bytes);
    const refs = Array.from({ length: 8 }, (_, i) => makeReferrer(img.manifest.desc, 'application/vnd.cncf.notary.signature', { 'org.example.writer': String(i) }));
    for (const r of refs) await setup.pushBlob(r.layer.desc, r.layer.bytes);
    // separate clients = separate connection state, like 8 processes
    await Promise.all(refs.map((r) => openRepository(`${REG}/${name}`).pushReferrer(r.desc, r.bytes, img.manifest.desc)));
    const found = await openRepository(`${REG}/${name}`).referrers(img.manifest.desc);
    expect(found.map((d) => d.digest).sort()).to.deep.equal(refs.map((r) => r.desc.digest).sort());
    const idx = parseImageIndex((await setup.fetchManifest(referrersTag(img.manifest.desc.digest))).bytes);
    expect(idx.manifests).to.have.length(8);
  });

  it('errors carry the registry message: unknown tag, bad references', async () => {
    const repo = openRepository(`${REG}/${repoName('errors')}`);
    const e = await expectCode(repo.fetchManifest('nope'), 'MANIFEST_UNKNOWN');
    expect(e.message).to.match(/registry says: MANIFEST_UNKNOWN: manifest unknown/);
    expect(e.status).to.equal(404);
    expect(e.exitCode).to.equal(EXIT.UNAVAILABLE);
    expect(() => openRepository(`${REG}/Bad_Name`)).to.throw().with.property('code', 'INVALID_REFERENCE');
  });
});

describe('registry client on go-containerregistry with the Referrers API (DS_REFERRERS_REGISTRY)', function () {
  this.timeout(120_000);
  let REG: string;
  before(async () => {
    REG = service('DS_REFERRERS_REGISTRY');
    await requireRegistry(REG);
  });
  after(() => closeConnections());

  it('push/pull round trip and Referrers API detection', async () => {
    const repo = openRepository(`${REG}/${repoName('api')}`);
    const img = makeImage([2000]);
    await pushImage(repo, img, 'v1');
    expect((await repo.fetchManifest('v1')).bytes.equals(img.manifest.bytes)).to.equal(true);
    expect(await repo.supportsReferrersApi()).to.equal(true);
  });

  it('lists tags page by page (n + last; this registry sends no Link header)', async () => {
    const name = repoName('tags');
    const repo = openRepository(`${REG}/${name}`);
    const img = makeImage([100]);
    const tags = ['a1', 'b2', 'c3', 'd4', 'e5', 'f6', 'g7'];
    await pushImage(repo, img);
    for (const t of tags) await repo.pushManifest(img.manifest.desc, img.manifest.bytes, t);
    const proxy = await startProxy(REG);
    try {
      const viaProxy = openRepository(`${proxy.host}/${name}`);
      expect(await viaProxy.tags({ pageSize: 2 })).to.deep.equal(tags);
      const pages = proxy.requests.filter((r) => r.url.includes('/tags/list')).map((r) => r.url);
      expect(pages.length).to.equal(4);
      expect(pages[1]).to.match(/[?&]last=b2/);
    } finally {
      await proxy.close();
    }
    expect(await repo.tags()).to.deep.equal(tags);
  });

  it('8 concurrent writers add referrers to one subject: all 8 discoverable (API and client)', async () => {
    const name = repoName('race-api');
    const setup = openRepository(`${REG}/${name}`);
    const img = makeImage([100]);
    await pushImage(setup, img, 'v1');
    await setup.pushBlob(EMPTY.desc, EMPTY.bytes);
    const refs = Array.from({ length: 8 }, (_, i) => makeReferrer(img.manifest.desc, 'application/vnd.cncf.notary.signature', { 'org.example.writer': String(i) }));
    for (const r of refs) await setup.pushBlob(r.layer.desc, r.layer.bytes);
    await Promise.all(refs.map((r) => openRepository(`${REG}/${name}`).pushReferrer(r.desc, r.bytes, img.manifest.desc)));
    const want = refs.map((r) => r.desc.digest).sort();
    expect((await openRepository(`${REG}/${name}`).referrers(img.manifest.desc)).map((d) => d.digest).sort()).to.deep.equal(want);
    // This registry reports each entry's config media type (here the empty type) as its artifactType, not the
    // manifest's artifactType; the API is what oras-go, so notation, trusts when a registry serves it, and so do we
    // (notation's own signatures carry their type in config.mediaType and are found by it).
    expect((await openRepository(`${REG}/${name}`).referrers(img.manifest.desc, 'application/vnd.cncf.notary.signature')).map((d) => d.digest)).to.deep.equal([]);
    expect((await openRepository(`${REG}/${name}`).referrers(img.manifest.desc, EMPTY.desc.mediaType)).map((d) => d.digest).sort()).to.deep.equal(want);
    // the registry's own Referrers API lists all 8 as well
    const res = await request(`http://${REG}/v2/${name}/referrers/${img.manifest.desc.digest}`, { headers: { accept: MediaType.OCI_INDEX } });
    expect(res.statusCode).to.equal(200);
    const body = (await res.body.json()) as { manifests: { digest: string }[] };
    expect(body.manifests.map((d) => d.digest).sort()).to.deep.equal(want);
  });
});

describe('registry client on a throwaway Distribution 2.8 whose storage the test can touch', function () {
  this.timeout(120_000);
  let reg: Registry;
  before(async () => {
    reg = await startRegistry();
  });
  after(async () => {
    await closeConnections();
    await reg?.stop();
    if (reg) rmSync(reg.dir, { recursive: true, force: true });
  });

  // Distribution rewrites a blob's repository link in place whenever the blob is uploaded again (concurrent
  // `docker sign` runs all upload the `{}` config); a manifest PUT reading the link meanwhile sees it empty.
  it('a manifest PUT refused because a blob link reads empty (torn by a concurrent upload) is tried again', async () => {
    const name = repoName('tornlink');
    const proxy = await startProxy(reg.addr);
    try {
      const repo = openRepository(`${proxy.host}/${name}`);
      const img = makeImage([2000]);
      for (const b of [img.config, ...img.layers]) await repo.pushBlob(b.desc, b.bytes);
      const link = join(reg.dir, 'data', 'docker', 'registry', 'v2', 'repositories', name, '_layers', 'sha256', img.layers[0]!.desc.digest.slice(7), 'link');
      const saved = readFileSync(link);
      const refusals: number[] = [];
      const isManifestPut = (method?: string, url?: string): boolean => method === 'PUT' && /\/manifests\//.test(url ?? '');
      proxy.answered = (req, status) => {
        if (!isManifestPut(req.method, req.url)) return;
        refusals.push(status);
        if (status === 400) writeFileSync(link, saved); // the concurrent upload finishes writing the link
      };
      writeFileSync(link, '');
      await repo.pushManifest(img.manifest.desc, img.manifest.bytes, 'v1');
      expect(refusals).to.deep.equal([400, 201]);
      expect((await repo.fetchManifest('v1')).bytes.equals(img.manifest.bytes)).to.equal(true);

      // a link that stays empty is a blob the registry cannot serve: the PUT fails after its retries
      const other = makeImage([2000]);
      for (const b of [other.config, ...other.layers]) await repo.pushBlob(b.desc, b.bytes);
      const otherLink = join(link, '..', '..', other.layers[0]!.desc.digest.slice(7), 'link');
      refusals.length = 0;
      proxy.answered = (req, status) => {
        if (isManifestPut(req.method, req.url)) refusals.push(status);
      };
      writeFileSync(otherLink, '');
      const e = await expectCode(repo.pushManifest(other.manifest.desc, other.manifest.bytes, 'v2'), 'MANIFEST_BLOB_UNKNOWN');
      expect(e.message).to.contain('blob unknown to registry');
      expect(refusals).to.deep.equal([400, 400, 400]);
    } finally {
      await proxy.close();
    }
  });
});
