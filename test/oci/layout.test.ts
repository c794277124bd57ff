import { expect } from 'chai';
import { mkdtemp, readFile, writeFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { OciLayout, REF_NAME_ANNOTATION, withFileLock } from '../../src/oci/layout.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/mediaTypes.js';
import { encodeJson } from '../../src/oci/manifest.js';
import type { Descriptor } from '../../src/oci/descriptor.js';

function blob(content: string | Buffer, mediaType = 'application/octet-stream'): { desc: Descriptor; bytes: Buffer } {
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
  return { desc: { mediaType, digest: sha256Digest(bytes), size: bytes.length }, bytes };
}

function manifest(extra: Record<string, unknown> = {}) {
  const cfg = blob('{}', MediaType.OCI_CONFIG);
  const m = encodeJson({ schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config: cfg.desc, layers: [], ...extra });
  return { cfg, ...blob(m, MediaType.OCI_MANIFEST) };
}

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'ds-layout-'));
}

describe('oci/layout OciLayout', () => {
  let dir: string;
  beforeEach(async () => { dir = await tmp(); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('creates the layout files on open({create}) and refuses a non-layout dir without it', async () => {
    let err: any;
    await OciLayout.open(join(dir, 'x')).catch((e) => { err = e; });
    expect(err?.code).to.equal('LAYOUT_NOT_FOUND');
    const l = await OciLayout.open(join(dir, 'x'), { create: true });
    expect(JSON.parse(await readFile(join(dir, 'x', 'oci-layout'), 'utf8'))).to.deep.equal({ imageLayoutVersion: '1.0.0' });
    const idx = JSON.parse(await readFile(join(dir, 'x', 'index.json'), 'utf8'));
    expect(idx).to.deep.include({ schemaVersion: 2, manifests: [] });
    expect(l.location).to.equal(`oci-layout:${join(dir, 'x')}`);
    await OciLayout.open(join(dir, 'x')); // re-open works
  });

  it('rejects an unsupported imageLayoutVersion', async () => {
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    let err: any;
    await OciLayout.open(dir).catch((e) => { err = e; });
    expect(err?.code).to.equal('LAYOUT_INVALID');
  });

  it('stores blobs at blobs/<alg>/<hex>, verifies on write and on every read', async () => {
    const l = await OciLayout.open(dir, { create: true });
    const b = blob('hello world');
    await l.pushBlob(b.desc, b.bytes);
    expect(await l.hasBlob(b.desc)).to.equal(true);
    expect(await readFile(join(dir, 'blobs', 'sha256', b.desc.digest.slice(7)), 'utf8')).to.equal('hello world');
    expect((await l.fetchBlob(b.desc)).toString()).to.equal('hello world');

    // wrong content for a descriptor → nothing written
    const wrong = { ...b.desc, digest: sha256Digest('other') };
    let err: any;
    await l.pushBlob(wrong, b.bytes).catch((e) => { err = e; });
    expect(err?.code).to.equal('DIGEST_MISMATCH');
    expect(await l.hasBlob(wrong)).to.equal(false);

    // streamed write with wrong content → error, no blob, no temp file left
    err = undefined;
    await l.pushBlob(wrong, () => Readable.from([Buffer.from('hello '), Buffer.from('world')])).catch((e) => { err = e; });
    expect(err?.code).to.equal('DIGEST_MISMATCH');
    expect((await readdir(join(dir, 'blobs', 'sha256'))).filter((f) => f.startsWith('.'))).to.deep.equal([]);

    // tamper with the stored file → reads fail
    await writeFile(l.blobPath(b.desc.digest), 'hello World');
    err = undefined;
    await l.fetchBlob(b.desc).catch((e) => { err = e; });
    expect(err?.code).to.equal('DIGEST_MISMATCH');
    err = undefined;
    const s = await l.fetchBlobStream(b.desc);
    await (async () => { for await (const _ of s) { /* drain */ } })().catch((e) => { err = e; });
    expect(err?.code).to.equal('DIGEST_MISMATCH');
  });

  it('missing blobs are NOT_FOUND', async () => {
    const l = await OciLayout.open(dir, { create: true });
    let err: any;
    await l.fetchBlob(blob('nope').desc).catch((e) => { err = e; });
    expect(err?.code).to.equal('NOT_FOUND');
  });

  it('openBlobWriter computes the digest while writing and publishes only on commit', async () => {
    const l = await OciLayout.open(dir, { create: true });
    const w = await l.openBlobWriter();
    await w.write(Buffer.from('abc'));
    await w.write(Buffer.from('def'));
    expect((await readdir(join(dir, 'blobs', 'sha256'))).filter((f) => !f.startsWith('.'))).to.deep.equal([]);
    const d = await w.commit('application/x-test');
    expect(d).to.deep.equal({ mediaType: 'application/x-test', digest: sha256Digest('abcdef'), size: 6 });
    expect((await l.fetchBlob(d)).toString()).to.equal('abcdef');

    const w2 = await l.openBlobWriter();
    await w2.write(Buffer.from('xyz'));
    let err: any;
    await w2.commit('application/x-test', { digest: sha256Digest('xyZ'), size: 3 }).catch((e) => { err = e; });
    expect(err?.code).to.equal('DIGEST_MISMATCH');
    expect(await l.hasBlob({ digest: sha256Digest('xyz'), size: 3 })).to.equal(false);
    expect((await readdir(join(dir, 'blobs', 'sha256'))).filter((f) => f.startsWith('.'))).to.deep.equal([]);
  });

  it('tags manifests with ref.name annotations, moves tags, resolves tags and digests', async () => {
    const l = await OciLayout.open(dir, { create: true });
    const m1 = manifest({ annotations: { n: '1' } });
    const m2 = manifest({ annotations: { n: '2' } });
    await l.pushBlob(m1.cfg.desc, m1.cfg.bytes);
    await l.pushManifest(m1.desc, m1.bytes, '127.0.0.1:5000/app:1');
    await l.pushManifest(m2.desc, m2.bytes, 'app:2');
    expect(await l.resolve('127.0.0.1:5000/app:1')).to.deep.equal(m1.desc);
    expect(await l.resolve(m2.desc.digest)).to.deep.equal(m2.desc);
    expect((await l.fetchManifest('app:2')).bytes.equals(m2.bytes)).to.equal(true);

    await l.pushManifest(m2.desc, m2.bytes, '127.0.0.1:5000/app:1'); // move the tag
    expect((await l.resolve('127.0.0.1:5000/app:1')).digest).to.equal(m2.desc.digest);
    const idx = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    const names = idx.manifests.map((d: Descriptor) => d.annotations?.[REF_NAME_ANNOTATION]).sort();
    expect(names).to.deep.equal(['127.0.0.1:5000/app:1', 'app:2']);
    // m1 is no longer referenced by a tag
    expect(idx.manifests.some((d: Descriptor) => d.digest === m1.desc.digest)).to.equal(false);

    let err: any;
    await l.resolve('app:nope').catch((e) => { err = e; });
    expect(err?.code).to.equal('NOT_FOUND');
    expect(await l.untag('app:2')).to.equal(true);
    expect((await l.tags()).map((t) => t.name)).to.deep.equal(['127.0.0.1:5000/app:1']);
  });

  it('a tag that index.json gives to two different manifests resolves to neither (AMBIGUOUS_REFERENCE)', async () => {
    const l = await OciLayout.open(dir, { create: true });
    const m1 = manifest({ annotations: { n: '1' } });
    const m2 = manifest({ annotations: { n: '2' } });
    await l.pushBlob(m1.cfg.desc, m1.cfg.bytes);
    await l.pushManifest(m1.desc, m1.bytes, 'v1');
    await l.pushManifest(m2.desc, m2.bytes, 'v2');
    // as another tool could write it: both entries named v1 (oras-go would take the last, skopeo the first)
    const idx = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    for (const d of idx.manifests) d.annotations[REF_NAME_ANNOTATION] = 'v1';
    await writeFile(join(dir, 'index.json'), JSON.stringify(idx));
    let err: any;
    await l.resolve('v1').catch((e) => { err = e; });
    expect(err?.code).to.equal('AMBIGUOUS_REFERENCE');
    expect(err?.message).to.include(m1.desc.digest).and.include(m2.desc.digest);
    expect((await l.resolve(m2.desc.digest)).digest).to.equal(m2.desc.digest); // a digest still names one
    // the same manifest listed twice under one tag is not ambiguous
    idx.manifests = [idx.manifests[0], idx.manifests[0]];
    await writeFile(join(dir, 'index.json'), JSON.stringify(idx));
    expect((await l.resolve('v1')).digest).to.equal(idx.manifests[0].digest);
  });

  it('pushManifest refuses bytes that do not match the descriptor, leaving the index unchanged', async () => {
    const l = await OciLayout.open(dir, { create: true });
    const m = manifest();
    const before = await readFile(join(dir, 'index.json'));
    let err: any;
    await l.pushManifest({ ...m.desc, digest: sha256Digest('x') }, m.bytes, 'a:1').catch((e) => { err = e; });
    expect(err?.code).to.equal('DIGEST_MISMATCH');
    expect((await readFile(join(dir, 'index.json'))).equals(before)).to.equal(true);
  });

  it('blobsRequired (the local store): pushManifest lists a manifest only when its config and layers are there', async () => {
    // a plain layout may be sparse (image-layout spec: missing blobs may come from an external blob store)
    const sparse = await OciLayout.open(join(dir, 'sparse'), { create: true });
    const s = manifest({ layers: [blob('not stored', MediaType.OCI_LAYER_GZIP).desc] });
    await sparse.pushManifest(s.desc, s.bytes, 'app:1');
    expect((await sparse.resolve('app:1')).digest).to.equal(s.desc.digest);

    const l = await OciLayout.open(dir, { create: true, blobsRequired: true });
    const layer = blob('layer bytes', MediaType.OCI_LAYER_GZIP);
    const foreign = { ...blob('elsewhere', MediaType.DOCKER_FOREIGN_LAYER_GZIP).desc, urls: ['https://example.com/layer'] };
    const m = manifest({ layers: [layer.desc, foreign] });
    await l.pushBlob(m.cfg.desc, m.cfg.bytes);
    const before = await readFile(join(dir, 'index.json'));
    let err: any;
    await l.pushManifest(m.desc, m.bytes, 'app:1').catch((e) => { err = e; });
    expect(err?.code).to.equal('MANIFEST_BLOB_UNKNOWN');
    expect(err?.message).to.contain(layer.desc.digest);
    expect((await readFile(join(dir, 'index.json'))).equals(before)).to.equal(true);
    // with the layer there it is listed (the non-distributable layer lives at its URLs and is not asked for)
    await l.pushBlob(layer.desc, layer.bytes);
    await l.pushManifest(m.desc, m.bytes, 'app:1');
    expect((await l.resolve('app:1')).digest).to.equal(m.desc.digest);
  });

  it('a damaged index.json is LAYOUT_INVALID (never taken for a damaged manifest or an empty store), and is left as it is', async () => {
    for (const [text, why] of [['{"schemaVersion":2,', /not valid JSON/], ['[]', /must be a JSON object/], ['{"schemaVersion":1,"manifests":[]}', /not an OCI image index/], ['{"schemaVersion":2,"manifests":[{"digest":"x"}]}', /manifests\[0\]/]] as const) {
      for (const blobsRequired of [false, true]) {
        const d = join(dir, `damaged-${blobsRequired}`);
        await OciLayout.open(d, { create: true });
        await writeFile(join(d, 'index.json'), text);
        const l = await OciLayout.open(d, { blobsRequired });
        let err: any;
        await l.resolve('app:1').catch((e) => { err = e; });
        expect(err?.code, text).to.equal('LAYOUT_INVALID');
        expect(err?.message).to.match(why);
        expect(err?.hint).to.match(blobsRequired ? /move .* aside to start a new store/ : /OCI image index/);
        err = undefined;
        await l.updateIndex(() => undefined).catch((e) => { err = e; });
        expect(err?.code).to.equal('LAYOUT_INVALID');
        expect(await readFile(join(d, 'index.json'), 'utf8')).to.equal(text);
      }
    }
  });

  it('finds referrers by scanning index manifests for a matching subject, filtered by artifactType', async () => {
    const l = await OciLayout.open(dir, { create: true });
    const img = manifest();
    await l.pushBlob(img.cfg.desc, img.cfg.bytes);
    await l.pushManifest(img.desc, img.bytes, 'app:1');
    const sig = manifest({ artifactType: MediaType.NOTARY_SIGNATURE, subject: img.desc, annotations: { a: 'b' } });
    const other = manifest({ artifactType: 'application/x-sbom', subject: img.desc });
    const unrelated = manifest({ artifactType: MediaType.NOTARY_SIGNATURE, subject: manifest({ x: 1 }).desc });
    await l.pushReferrer(sig.desc, sig.bytes, img.desc);
    await l.pushReferrer(other.desc, other.bytes, img.desc);
    await l.pushReferrer(unrelated.desc, unrelated.bytes, unrelated.desc).catch(() => undefined); // wrong subject: refused
    const all = await l.referrers(img.desc);
    expect(all.map((d) => d.digest).sort()).to.deep.equal([sig.desc.digest, other.desc.digest].sort());
    const sigs = await l.referrers(img.desc, MediaType.NOTARY_SIGNATURE);
    expect(sigs).to.have.length(1);
    expect(sigs[0]).to.deep.include({ digest: sig.desc.digest, artifactType: MediaType.NOTARY_SIGNATURE });
    expect(sigs[0].annotations).to.deep.equal({ a: 'b' });
    // the referrer is in index.json untagged
    const idx = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    const entry = idx.manifests.find((d: Descriptor) => d.digest === sig.desc.digest);
    expect(entry.annotations).to.equal(undefined);
    expect(entry.artifactType).to.equal(MediaType.NOTARY_SIGNATURE);
  });

  it('concurrent processes updating index.json do not lose entries', async function () {
    this.timeout(60000);
    await OciLayout.open(dir, { create: true });
    const script = fileURLToPath(new URL('./layout-writer.fixture.ts', import.meta.url));
    const run = (id: number) => new Promise<void>((res, rej) => {
      const c = fork(script, [dir, String(id), '15'], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
      c.on('exit', (code) => (code === 0 ? res() : rej(new Error(`writer ${id} exited ${code}`))));
    });
    await Promise.all([run(1), run(2), run(3), run(4)]);
    const l = await OciLayout.open(dir);
    const tags = (await l.tags()).map((t) => t.name);
    expect(tags).to.have.length(60);
    expect(new Set(tags).size).to.equal(60);
  });

  it('a process interrupted (SIGINT, SIGTERM) while writing blobs removes its temp files and still dies of the signal', async function () {
    this.timeout(60_000);
    const script = fileURLToPath(new URL('./layout-interrupt.fixture.ts', import.meta.url));
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const d = join(dir, signal);
      const c = fork(script, [d], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      await new Promise<void>((res, rej) => { c.once('message', () => res()); c.once('exit', (code) => rej(new Error(`child exited ${code}`))); });
      const files = () => readdir(join(d, 'blobs', 'sha256'));
      expect((await files()).filter((f) => f.endsWith('.tmp'))).to.have.length(2);
      const [code, sig] = await new Promise<[number | null, string | null]>((res) => { c.once('exit', (co, si) => res([co, si])); c.kill(signal); });
      expect(sig, `exit code ${code}`).to.equal(signal);
      const left = await files();
      expect(left.filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
      expect(left).to.have.length(1); // the committed blob
    }
  });

  it('breaks a stale lock whose owner process is gone', async () => {
    const file = join(dir, 'x.json');
    await writeFile(`${file}.lock`, '999999999\n');
    const v = await withFileLock(file, async () => 42, 2000);
    expect(v).to.equal(42);
  });

  it('breaks a lock that names no owner (empty or garbage) once it is seconds old, not while it may be being written', async () => {
    const { utimes } = await import('node:fs/promises');
    for (const content of ['', 'garbage\n']) {
      const file = join(dir, `y${content.length}.json`);
      await writeFile(`${file}.lock`, content);
      let err: any;
      await withFileLock(file, async () => 1, 100).catch((e) => { err = e; });
      expect(err?.code, 'a fresh ownerless lock is waited for').to.equal('STORE_LOCKED');
      const old = new Date(Date.now() - 6_000);
      await utimes(`${file}.lock`, old, old);
      expect(await withFileLock(file, async () => 42, 2000)).to.equal(42);
    }
  });

  it('times out on a lock held by a live process', async () => {
    const file = join(dir, 'x.json');
    await writeFile(`${file}.lock`, `${process.ppid}\n`);
    let err: any;
    await withFileLock(file, async () => 1, 200).catch((e) => { err = e; });
    expect(err?.code).to.equal('STORE_LOCKED');
  });

  it('sidecar JSON files are updated under a lock', async () => {
    const l = await OciLayout.open(dir, { create: true });
    expect(await l.readSidecar('cache.json')).to.equal(undefined);
    await Promise.all(Array.from({ length: 20 }, (_, i) => l.updateSidecar<Record<string, number>>('cache.json', (c) => ({ ...(c ?? {}), [`k${i}`]: i }))));
    expect(Object.keys((await l.readSidecar<Record<string, number>>('cache.json'))!)).to.have.length(20);
    let err: any;
    await l.updateSidecar('../x.json', () => 1).catch((e) => { err = e; });
    expect(err?.code).to.equal('INVALID_NAME');
  });
});
