import { expect } from 'chai';
import { mkdtemp, rm, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { createServer } from 'node:http';
import { OciLayout } from '../../src/oci/layout.js';
import { generateFromSave, generateManifest, storeTagFor, buildManifest, LAYER_CACHE_FILE } from '../../src/docker/generate.js';
import { safeEntryPath } from '../../src/docker/save.js';
import { pgzipBuffer } from '../../src/docker/pgzip.js';
import { MediaType } from '../../src/oci/mediaTypes.js';
import { parseImageManifest } from '../../src/oci/manifest.js';
import { imageConfig, layerTar, legacySave, ociSave, ociSaveParts, makeTar, semiRandom, sha, type ImageParts } from './savefixtures.js';

async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(`${p.slice(dir.length)}:${(await stat(p)).size}:${sha(await readFile(p))}`);
    }
  };
  await walk(dir);
  return out.sort();
}

describe('docker/generate from docker save archives', function () {
  this.timeout(60000);
  let dir: string;
  let store: OciLayout;
  let img: ImageParts;
  before(async () => {
    const big = await layerTar({ 'bin/big': semiRandom(2 * 1024 * 1024 + 333, 5) }); // > 1 MiB: streamed + multi-block
    const small = await layerTar({ 'etc/msg': 'hello' });
    img = imageConfig([big, small]);
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ds-gen-'));
    store = await OciLayout.open(join(dir, 'store'), { create: true });
  });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  const inspect = (i: ImageParts) => ({ Id: i.id, RootFS: { Type: 'layers', Layers: i.diffIds } });
  const gen = (archive: Buffer, i: ImageParts = img, extra: Record<string, unknown> = {}) =>
    generateFromSave(Readable.from([archive]), inspect(i), { store, mediaType: 'oci', image: 'x:1', storeTag: 'docker.io/library/x:1', ...extra });

  async function expectFailure(archive: Buffer, code: string, i: ImageParts = img) {
    const before = await snapshot(join(dir, 'store'));
    let err: any;
    await gen(archive, i).catch((e) => { err = e; });
    expect(err, 'expected an error').to.not.equal(undefined);
    expect(err.code, err.message).to.equal(code);
    expect(err.exitCode).to.be.greaterThan(0);
    expect(await snapshot(join(dir, 'store')), 'store unchanged').to.deep.equal(before);
  }

  it('legacy layout: verified config + gzip layers + OCI manifest stored and tagged', async () => {
    const r = await gen(await legacySave(img));
    const m = parseImageManifest(r.manifest);
    expect(m.mediaType).to.equal(MediaType.OCI_MANIFEST);
    expect(m.config).to.deep.equal({ mediaType: MediaType.OCI_CONFIG, digest: img.id, size: img.config.length });
    expect(m.layers.map((l) => l.mediaType)).to.deep.equal([MediaType.OCI_LAYER_GZIP, MediaType.OCI_LAYER_GZIP]);
    expect((await store.fetchBlob(m.config)).equals(img.config)).to.equal(true);
    for (let i = 0; i < 2; i++) {
      const gz = await store.fetchBlob(m.layers[i], 1 << 30);
      expect(gunzipSync(gz).equals(img.layers[i])).to.equal(true);
    }
    expect(r.descriptor.digest).to.equal(sha(r.manifest));
    expect(await store.resolve('docker.io/library/x:1')).to.deep.equal(r.descriptor);
    expect(r.compressedLayers).to.equal(2);
    // nothing but the blobs we reference (+ the manifest) is left in the store
    const files = (await readdir(join(dir, 'store', 'blobs', 'sha256'))).sort();
    expect(files).to.deep.equal([m.config.digest, ...m.layers.map((l) => l.digest), r.descriptor.digest].map((d) => d.slice(7)).sort());
    const cache = JSON.parse(await readFile(join(dir, 'store', LAYER_CACHE_FILE), 'utf8'));
    expect(Object.keys(cache.layers)).to.have.length(2);
  });

  it('docker media types on request; same image → same digest; changed image → new digest', async () => {
    const a = await gen(await legacySave(img));
    const d = await gen(await legacySave(img), img, { mediaType: 'docker' });
    expect(parseImageManifest(d.manifest).mediaType).to.equal(MediaType.DOCKER_MANIFEST);
    expect(d.layers[0].mediaType).to.equal(MediaType.DOCKER_LAYER_GZIP);
    expect(d.layers.map((l) => l.digest)).to.deep.equal(a.layers.map((l) => l.digest));
    const other = await mkdtemp(join(tmpdir(), 'ds-gen2-'));
    try {
      const s2 = await OciLayout.open(other, { create: true });
      const b = await generateFromSave(Readable.from([await legacySave(img)]), inspect(img), { store: s2, mediaType: 'oci', image: 'x:1', storeTag: 'x:1', force: true });
      expect(b.descriptor.digest).to.equal(a.descriptor.digest);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
    const changed = imageConfig([img.layers[0], await layerTar({ 'etc/msg': 'changed' })]);
    const c = await gen(await legacySave(changed), changed);
    expect(c.descriptor.digest).to.not.equal(a.descriptor.digest);
    expect(c.layers[0].digest).to.equal(a.layers[0].digest);
  });

  it('OCI-layout save (index.json only, uncompressed layers) gives the same manifest as the legacy save', async () => {
    const a = await gen(await legacySave(img));
    const other = await mkdtemp(join(tmpdir(), 'ds-gen3-'));
    try {
      const s2 = await OciLayout.open(other, { create: true });
      const b = await generateFromSave(Readable.from([await ociSave(img)]), inspect(img), { store: s2, mediaType: 'oci', image: 'x:1', storeTag: 'x:1' });
      expect(b.descriptor.digest).to.equal(a.descriptor.digest);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('OCI-layout save with manifest.json and legacy layer.tar symlinks into blobs/', async () => {
    const a = await gen(await ociSave(img, { withCompat: true, symlinks: true }));
    expect(a.layers).to.have.length(2);
    expect(gunzipSync(await store.fetchBlob(a.layers[1])).equals(img.layers[1])).to.equal(true);
  });

  it('OCI-layout save: cached layers (by diff ID) are only hashed, not compressed again', async () => {
    const first = await gen(await ociSave(img));
    expect(first.compressedLayers).to.equal(2);
    const second = await gen(await ociSave(img));
    expect(second.compressedLayers).to.equal(0);
    expect(second.descriptor.digest).to.equal(first.descriptor.digest);
  });

  it('gzip-compressed layers in the save (containerd store) are stored as is after checking their diff ID', async () => {
    const gzBig = await pgzipBuffer(img.layers[0], { level: 1 });
    const gzSmall = await pgzipBuffer(img.layers[1], { level: 1 });
    const r = await gen(await ociSave(img, { compressed: [gzBig, gzSmall] }));
    expect(r.layers[0].digest).to.equal(sha(gzBig));
    expect(r.layers[1].digest).to.equal(sha(gzSmall));
    expect(r.compressedLayers).to.equal(0);
  });

  it('refuses entries escaping the archive (.., absolute, links out) and leaves the store unchanged', async () => {
    expect(() => safeEntryPath('a/../../etc/passwd')).to.throw().with.property('code', 'SAVE_ENTRY_ESCAPES');
    expect(safeEntryPath('./a//b/')).to.equal('a/b');
    const layer = img.layers[1];
    await expectFailure(await legacySave(img, { extra: [{ name: '../evil', data: layer }] }), 'SAVE_ENTRY_ESCAPES');
    await expectFailure(await legacySave(img, { extra: [{ name: '/abs/file', data: layer }] }), 'SAVE_ENTRY_ESCAPES');
    await expectFailure(await legacySave(img, { extra: [{ name: 'zz/layer.tar', type: 'symlink', linkname: '../../etc/passwd' }] }), 'SAVE_ENTRY_ESCAPES');
    await expectFailure(await legacySave(img, { extra: [{ name: 'zz/hard', type: 'link', linkname: '/etc/passwd' }] }), 'SAVE_ENTRY_ESCAPES');
    await expectFailure(await legacySave(img, { extra: [{ name: 'zz/fifo', type: 'fifo' }] }), 'SAVE_UNEXPECTED_ENTRY');
  });

  it('corrupt or truncated save streams → SAVE_CORRUPT, store unchanged', async () => {
    const good = await legacySave(img);
    const flipped = Buffer.from(good);
    flipped[148] ^= 0x01; // the first header's checksum field
    await expectFailure(flipped, 'SAVE_CORRUPT');
    await expectFailure(good.subarray(0, Math.floor(good.length / 2)), 'SAVE_CORRUPT');
    await expectFailure(Buffer.from('this is not a tar stream at all, just text'.repeat(20)), 'SAVE_CORRUPT');
  });

  it('a layer whose sha256 is not the config diff ID → SAVE_DIFF_ID_MISMATCH, nothing written', async () => {
    // config claims other diff IDs than the layers in the archive (inspect agrees with the config)
    const wrongIds = [img.diffIds[0], sha('not the layer')];
    const lying = imageConfig(img.layers, {}, wrongIds);
    await expectFailure(await legacySave(lying), 'SAVE_DIFF_ID_MISMATCH', { ...lying, diffIds: wrongIds });
  });

  it('a config that is not the image ID → SAVE_CONFIG_MISMATCH', async () => {
    await expectFailure(await legacySave(img), 'SAVE_CONFIG_MISMATCH', { ...img, id: sha('another config') });
  });

  it('an engine with the containerd image store (ID = manifest digest) → UNSUPPORTED_IMAGE_STORE with a way out, store unchanged', async () => {
    // A stand-in engine on a unix socket: the containerd image store needs dockerd >= 24 (this machine has 20.10).
    const { tar, manifestDigest } = await ociSaveParts(img, { withCompat: true });
    const info = (containerd: boolean) => ({ Driver: containerd ? 'overlayfs' : 'overlay2', DriverStatus: containerd ? [['driver-type', 'io.containerd.snapshotter.v1']] : [['Backing Filesystem', 'extfs']] });
    let containerd = true;
    const sock = join(dir, 'engine.sock');
    const server = createServer((req, res) => {
      if (req.url === '/info') return void res.end(JSON.stringify(info(containerd)));
      if (req.url === '/images/x%3A1/json') return void res.end(JSON.stringify({ Id: manifestDigest, RepoTags: ['x:1'], RootFS: { Type: 'layers', Layers: img.diffIds }, Os: 'linux', Architecture: 'amd64' }));
      if (req.url === '/images/get?names=x%3A1') return void res.end(tar);
      res.writeHead(404).end('{}');
    });
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const before = await snapshot(join(dir, 'store'));
      const env = { DOCKER_HOST: `unix://${sock}` };
      let err: any;
      await generateManifest('x:1', { store, mediaType: 'oci', env }).catch((e) => { err = e; });
      expect(err?.code, err?.message).to.equal('UNSUPPORTED_IMAGE_STORE');
      expect(err.hint).to.match(/containerd-snapshotter/).and.to.match(/docker sign REGISTRY\/REPO@DIGEST/);
      expect(await snapshot(join(dir, 'store'))).to.deep.equal(before);
      // the same archive on a classic engine is just inconsistent
      containerd = false;
      err = undefined;
      await generateManifest('x:1', { store, mediaType: 'oci', env }).catch((e) => { err = e; });
      expect(err?.code).to.equal('SAVE_CONFIG_MISMATCH');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('engine RootFS disagreeing with the saved config → SAVE_DIFF_ID_MISMATCH', async () => {
    await expectFailure(await legacySave(img), 'SAVE_DIFF_ID_MISMATCH', { ...img, diffIds: [img.diffIds[1], img.diffIds[0]] });
  });

  it('missing manifest.json/index.json → SAVE_CORRUPT', async () => {
    await expectFailure(await makeTar([{ name: 'a/layer.tar', data: img.layers[1] }]), 'SAVE_CORRUPT');
  });

  it('storeTagFor normalizes like docker and keeps image IDs untagged', () => {
    expect(storeTagFor('app')).to.equal('docker.io/library/app:latest');
    expect(storeTagFor('localhost:5000/a/b:2')).to.equal('localhost:5000/a/b:2');
    expect(storeTagFor('abcdef012345', 'sha256:abcdef012345' + '0'.repeat(52))).to.equal(undefined);
    expect(storeTagFor('sha256:' + 'a'.repeat(64))).to.equal(undefined);
  });

  it('buildManifest is compact JSON with a fixed key order', () => {
    const { bytes } = buildManifest('oci', { mediaType: 'x/y', digest: sha('c') as any, size: 1 }, []);
    expect(bytes.toString()).to.equal(`{"schemaVersion":2,"mediaType":"${MediaType.OCI_MANIFEST}","config":{"mediaType":"${MediaType.OCI_CONFIG}","digest":"${sha('c')}","size":1},"layers":[]}`);
  });
});
