import { expect } from 'chai';
import { mkdtemp, rm, readdir, writeFile, utimes, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configPaths, type ConfigPaths } from '../../src/config/dir.js';
import { OciLayout, REF_NAME_ANNOTATION } from '../../src/oci/layout.js';
import { sha256Digest, type Digest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/mediaTypes.js';
import { encodeJson } from '../../src/oci/manifest.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { pruneStore, listStore, PRUNE_GRACE_MS } from '../../src/docker/prune.js';

/** The prune decisions on a hand-made store, with the engine's image list given (the real engine: integration/store-prune.test.ts). */
describe('docker/prune pruneStore', () => {
  let dir: string;
  let paths: ConfigPaths;
  let store: OciLayout;
  const now = Date.now();
  const old = new Date(now - 2 * PRUNE_GRACE_MS);

  const put = async (bytes: Buffer | string, mediaType: string): Promise<Descriptor> => {
    const b = Buffer.from(bytes);
    const d: Descriptor = { mediaType, digest: sha256Digest(b), size: b.length };
    await store.pushBlob(d, b);
    return d;
  };
  /** An image manifest with its config (the image ID) and one layer, listed under `name`. */
  const image = async (name: string | undefined, text: string) => {
    const config = await put(`{"config":{},"x":"${text}"}`, MediaType.OCI_CONFIG);
    const layer = await put(`layer ${text}`, MediaType.OCI_LAYER_GZIP);
    const bytes = encodeJson({ schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config, layers: [layer] });
    const desc: Descriptor = { mediaType: MediaType.OCI_MANIFEST, digest: sha256Digest(bytes), size: bytes.length };
    await store.pushManifest(desc, bytes, name);
    return { desc, config, layer, id: config.digest };
  };
  const signature = async (subject: Descriptor, text: string) => {
    const config = await put('{}', MediaType.NOTARY_SIGNATURE);
    const env = await put(`envelope ${text}`, MediaType.JWS);
    const bytes = encodeJson({ schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config, layers: [env], subject });
    const desc: Descriptor = { mediaType: MediaType.OCI_MANIFEST, digest: sha256Digest(bytes), size: bytes.length };
    await store.pushReferrer(desc, bytes, subject);
    return { desc, env };
  };
  const blobs = async () => new Set((await readdir(join(store.dir, 'blobs', 'sha256'))).filter((f) => !f.startsWith('.')).map((f) => `sha256:${f}` as Digest));
  const ageAll = async () => {
    const d = join(store.dir, 'blobs', 'sha256');
    for (const f of await readdir(d)) await utimes(join(d, f), old, old);
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ds-prune-unit-'));
    paths = configPaths(dir);
    store = await OciLayout.open(paths.store, { create: true, blobsRequired: true });
  });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('keeps live images, indexes and what they list; drops gone images, their signatures, damaged entries, old orphans and dead writers\' temp files', async () => {
    const live = await image('docker.io/library/live:1', 'live');
    const stale = await image('docker.io/library/stale:1', 'stale'); // the name now points at another image
    const gone = await image('docker.io/library/gone:1', 'gone');
    const untagged = await image(undefined, 'by-id');
    const liveSig = await signature(live.desc, 'live');
    const goneSig = await signature(gone.desc, 'gone');
    // an index (not ours to judge) and the manifest it lists, which is no entry of its own
    const child = await image(undefined, 'child');
    await store.updateIndex((idx) => { idx.manifests = idx.manifests.filter((d) => d.digest !== child.desc.digest); });
    const ib = encodeJson({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [child.desc] });
    const index: Descriptor = { mediaType: MediaType.OCI_INDEX, digest: sha256Digest(ib), size: ib.length };
    await store.pushBlob(index, ib);
    await store.pushManifest(index, ib, 'docker.io/library/multi:1');
    // an entry whose manifest blob is gone (a crash before the regenerable blob reached the disk)
    const damaged = await image('docker.io/library/damaged:1', 'damaged');
    await rm(store.blobPath(damaged.desc.digest));
    // a signature of the live image whose envelope was altered on disk: it could never be pushed or verified
    const badSig = await signature(live.desc, 'altered');
    await writeFile(store.blobPath(badSig.env.digest), 'altered bytes');
    await ageAll();
    const blobsDir = join(store.dir, 'blobs', 'sha256');
    const orphanOld = await put('orphan old', 'application/octet-stream');
    await utimes(store.blobPath(orphanOld.digest), old, old);
    const orphanNew = await put('orphan new', 'application/octet-stream');
    const tempDead = join(blobsDir, '.ingest.999999.aaaaaaaaaaaa.tmp');
    const tempLive = join(blobsDir, `.ingest.${process.pid}.bbbbbbbbbbbb.tmp`);
    const tempNew = join(blobsDir, '.ingest.999999.cccccccccccc.tmp');
    for (const t of [tempDead, tempLive, tempNew]) await writeFile(t, 'partial');
    await utimes(tempDead, old, old);
    await utimes(tempLive, old, old);

    const images = [
      { Id: live.id, RepoTags: ['live:1'] },
      { Id: stale.id, RepoTags: [] },
      { Id: 'sha256:' + 'f'.repeat(64), RepoTags: ['stale:1'] },
      { Id: untagged.id, RepoTags: [] },
    ];
    const before = await blobs();
    const indexBefore = await readFile(join(store.dir, 'index.json'));
    const dry = await pruneStore(paths, { images, now, dryRun: true });
    expect(await blobs()).to.deep.equal(before); // a dry run changes nothing
    expect((await readFile(join(store.dir, 'index.json'))).equals(indexBefore)).to.equal(true);
    expect([existsSync(tempDead), existsSync(tempLive), existsSync(tempNew)]).to.deep.equal([true, true, true]);

    const r = await pruneStore(paths, { images, now });
    expect(r.removed.images).to.deep.equal(dry.removed.images);
    expect(r.removed.images).to.have.deep.members([
      { name: 'docker.io/library/gone:1', digest: gone.desc.digest, reason: 'gone' },
      { name: 'docker.io/library/damaged:1', digest: damaged.desc.digest, reason: 'unreadable' },
      { digest: badSig.desc.digest, reason: 'unreadable' },
    ]);
    expect(r.removed.signatures).to.deep.equal([]); // the signature of the gone image stays (without --all)
    expect(r.kept).to.deep.equal({ images: 3, signatures: 2, orphanSignatures: 1, other: 1, recentBlobs: 1, recentBytes: 'orphan new'.length });
    expect(r.removed.tempFiles).to.equal(1);
    const after = await blobs();
    const kept = [live, stale, untagged, child].flatMap((i) => [i.desc.digest, i.config.digest, i.layer.digest]);
    for (const d of [...kept, liveSig.desc.digest, liveSig.env.digest, goneSig.desc.digest, goneSig.env.digest, index.digest, orphanNew.digest]) expect(after.has(d), d).to.equal(true);
    for (const d of [gone.desc.digest, gone.layer.digest, gone.config.digest, orphanOld.digest, damaged.layer.digest, badSig.desc.digest, badSig.env.digest]) expect(after.has(d), d).to.equal(false);
    expect(r.removed.blobs).to.equal(before.size - after.size);
    expect([existsSync(tempDead), existsSync(tempLive), existsSync(tempNew)]).to.deep.equal([false, true, true]);
    const names = JSON.parse(await readFile(join(store.dir, 'index.json'), 'utf8')).manifests.map((d: Descriptor) => d.annotations?.[REF_NAME_ANNOTATION] ?? d.digest);
    expect(names).to.have.members(['docker.io/library/live:1', 'docker.io/library/stale:1', untagged.desc.digest, liveSig.desc.digest, goneSig.desc.digest, 'docker.io/library/multi:1']);
    // --all takes it
    const r2 = await pruneStore(paths, { images, now, all: true });
    expect(r2.removed.signatures).to.deep.equal([{ digest: goneSig.desc.digest, subject: gone.desc.digest }]);
    expect((await blobs()).has(goneSig.env.digest)).to.equal(false);
  });

  it('--all: regenerable images go, a signed image keeps its manifest, blobs and signature; a signature whose image is no entry but still in the engine stays', async () => {
    const signed = await image('docker.io/library/signed:1', 'signed');
    const plain = await image('docker.io/library/plain:1', 'plain');
    const sig = await signature(signed.desc, 'signed');
    // a rebuild moved the name of `moved` off its first manifest; the first image is still in the engine (dangling)
    const first = await image('docker.io/library/moved:1', 'first');
    const firstSig = await signature(first.desc, 'first');
    const second = await image('docker.io/library/moved:1', 'second');
    await ageAll();
    const images = [signed, plain, first, second].map((i) => ({ Id: i.id, RepoTags: [] as string[] }));
    images[0]!.RepoTags = ['signed:1'];
    images[1]!.RepoTags = ['plain:1'];
    images[3]!.RepoTags = ['moved:1'];
    const r = await pruneStore(paths, { images, now, all: true });
    expect(r.removed.images).to.have.deep.members([
      { name: 'docker.io/library/plain:1', digest: plain.desc.digest, reason: 'regenerable' },
      { name: 'docker.io/library/moved:1', digest: second.desc.digest, reason: 'regenerable' },
    ]);
    expect(r.removed.signatures).to.deep.equal([]);
    const after = await blobs();
    for (const d of [signed.desc.digest, signed.config.digest, signed.layer.digest, sig.desc.digest, sig.env.digest,
      first.desc.digest, first.config.digest, first.layer.digest, firstSig.desc.digest]) expect(after.has(d), d).to.equal(true);
    for (const d of [plain.desc.digest, plain.layer.digest, second.desc.digest, second.layer.digest]) expect(after.has(d), d).to.equal(false);

    // once the first build leaves the engine, --all takes its signature too, with the manifest it kept
    const r2 = await pruneStore(paths, { images: images.filter((i) => i.Id !== first.id), now, all: true });
    expect(r2.removed.signatures).to.deep.equal([{ digest: firstSig.desc.digest, subject: first.desc.digest }]);
    const after2 = await blobs();
    for (const d of [first.desc.digest, first.layer.digest, firstSig.desc.digest]) expect(after2.has(d), d).to.equal(false);
  });

  // A stand-in engine on a unix socket: the containerd image store needs dockerd >= 24 (this machine has 20.10); the
  // classic case runs against the real engine in integration/store-prune.test.ts.
  describe('the engine is asked for its images and its image store', () => {
    let server: Server;
    let sock: string;
    let info: unknown;
    let list: unknown;
    beforeEach(async () => {
      sock = join(dir, 'engine.sock');
      server = createServer((req, res) => {
        const body = req.url === '/info' ? info : req.url === '/images/json?all=1' ? list : undefined;
        res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body ?? { message: `no ${req.url}` }));
      });
      await new Promise<void>((r) => server.listen(sock, r));
    });
    afterEach(async () => { await new Promise((r) => server.close(r)); });

    it('classic image store: image IDs are config digests, dangling names are no names', async () => {
      const kept = await image('docker.io/library/kept:1', 'kept');
      const gone = await image('docker.io/library/gone:1', 'gone');
      info = { Driver: 'overlay2', DriverStatus: [['Backing Filesystem', 'extfs']] };
      list = [{ Id: kept.id, RepoTags: ['kept:1'] }, { Id: 'sha256:' + 'e'.repeat(64), RepoTags: ['<none>:<none>'] }];
      const r = await pruneStore(paths, { env: { DOCKER_HOST: `unix://${sock}` }, now });
      expect(r.removed.images).to.deep.equal([{ name: 'docker.io/library/gone:1', digest: gone.desc.digest, reason: 'gone' }]);
      const ls = await listStore(paths, { DOCKER_HOST: `unix://${sock}` });
      expect(ls.images).to.deep.equal([{ name: 'docker.io/library/kept:1', digest: kept.desc.digest, state: 'current', signatures: [], size: kept.desc.size + kept.config.size + kept.layer.size }]);
    });

    it('containerd image store: IDs cannot be matched, so nothing is judged and nothing removed (ls lists without states)', async () => {
      const a = await image('docker.io/library/a:1', 'a');
      await ageAll();
      info = { Driver: 'overlayfs', DriverStatus: [['driver-type', 'io.containerd.snapshotter.v1']] };
      list = [{ Id: 'sha256:' + 'd'.repeat(64), RepoTags: ['a:1'] }];
      const before = await blobs();
      let err: any;
      await pruneStore(paths, { env: { DOCKER_HOST: `unix://${sock}` }, now }).catch((e) => { err = e; });
      expect(err?.code).to.equal('UNSUPPORTED_IMAGE_STORE');
      expect(err?.exitCode).to.equal(3);
      expect(await blobs()).to.deep.equal(before);
      const ls = await listStore(paths, { DOCKER_HOST: `unix://${sock}` });
      expect(ls.engine).to.equal(false);
      expect(ls.engineError).to.match(/containerd image store/);
      expect(ls.images.map((i) => [i.digest, i.state])).to.deep.equal([[a.desc.digest, undefined]]);
      expect(ls.reclaimable).to.equal(undefined);
    });
  });

  it('a store that does not exist has nothing to prune (and is not created)', async () => {
    const p = configPaths(join(dir, 'none'));
    const r = await pruneStore(p, { images: [], now });
    expect(r.removed).to.include({ blobs: 0, bytes: 0 });
    expect(existsSync(p.store)).to.equal(false);
  });
});
