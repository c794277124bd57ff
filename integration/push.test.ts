import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { requireServices, uid, cli, sh, mustSh, tempDir, root, buildImage, startRegistry, type Registry } from './push.helpers.js';
import { OciLayout } from '../src/oci/layout.js';
import { sha256Digest } from '../src/oci/digest.js';
import { MediaType } from '../src/oci/mediaTypes.js';
import { encodeJson } from '../src/oci/manifest.js';
import { openRepository, closeConnections } from '../src/registry/index.js';

describe('integration: docker sign push (real dockerd + Distribution 2.8)', function () {
  this.timeout(600_000);
  let services: { dockerHost: string; registry: string };
  let cfg: string;
  const env = () => ({ DOCKER_SIGN_CONFIG: cfg });
  const images: string[] = [];
  const mkImage = (name: string, text = `push ${uid()}`) => {
    const tag = `${services.registry}/${name}-${uid()}:1`;
    mustSh('bash', [join(root, 'scripts', 'test-image.sh'), tag, text]);
    images.push(tag);
    return tag;
  };

  /**
   * Upload sessions the registry still holds open for the repository of `ref`, read from Distribution's storage
   * (DS_REGISTRY_DATA): a live session has its `startedat` file; a cancelled one (DELETE) keeps only a hash state
   * (a Distribution 2.8 quirk), a completed one nothing.
   */
  const openUploads = (ref: string): string[] => {
    const data = process.env.DS_REGISTRY_DATA;
    if (!data) throw new Error('DS_REGISTRY_DATA is not set: eval "$(bash scripts/services.sh env)"');
    const dir = join(data, 'docker', 'registry', 'v2', 'repositories', ref.slice(ref.indexOf('/') + 1).replace(/:[^/]*$/, ''), '_uploads');
    return existsSync(dir) ? readdirSync(dir).filter((u) => existsSync(join(dir, u, 'startedat'))) : [];
  };

  before(() => { services = requireServices(); });
  beforeEach(() => { cfg = tempDir('ds-pushcfg-'); });
  afterEach(() => rmSync(cfg, { recursive: true, force: true }));
  after(async () => {
    for (const i of images) sh('docker', ['rmi', '-f', i]);
    await closeConnections();
  });

  it('pushes the generated manifest: docker pull REPO@DIGEST + docker run work, skopeo reports the same digest', () => {
    const img = mkImage('dspush');
    const gen = cli(['generate', 'manifest', img], env());
    expect(gen.status, gen.stderr).to.equal(0);
    const r = cli(['push', '-o', 'json', img], env());
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout);
    expect(out.digest).to.equal(gen.stdout.trim()); // what was generated (and would be signed) is what was pushed
    expect(out.reference).to.equal(img);
    expect(out.generated).to.equal(false);
    expect(out.blobs.map((b: any) => b.action)).to.deep.equal(['uploaded', 'uploaded', 'uploaded']);
    const repo = img.slice(0, img.lastIndexOf(':'));
    const skopeo = mustSh('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${img}`]).trim();
    expect(skopeo).to.equal(out.digest);
    // pull into the engine by digest after removing the local image, and run it
    mustSh('docker', ['rmi', img]);
    mustSh('docker', ['pull', '-q', `${repo}@${out.digest}`]);
    const run = mustSh('docker', ['run', '--rm', `${repo}@${out.digest}`]);
    expect(run).to.match(/^push [a-f0-9]{8}\n$/);
    const repoDigests = JSON.parse(mustSh('docker', ['image', 'inspect', `${repo}@${out.digest}`]))[0].RepoDigests;
    expect(repoDigests).to.include(`${repo}@${out.digest}`);
    // tag the pulled image again (same image Id) and push once more: text output, every blob already there
    mustSh('docker', ['tag', `${repo}@${out.digest}`, img]);
    const again = cli(['push', '-q', img], env());
    expect(again.status, again.stderr).to.equal(0);
    expect(again.stdout.trim()).to.equal(`${img}: digest: ${out.digest} size: ${out.size}`);
  });

  it('generates first when the image was never generated or changed since; mounts blobs into sibling repos', () => {
    const img = mkImage('dspush-gen', 'first');
    const a = cli(['push', '-o', 'json', img], env());
    expect(a.status, a.stderr).to.equal(0);
    const ja = JSON.parse(a.stdout);
    expect(ja.generated).to.equal(true);
    // upload sessions opened ahead for small blobs and not used were cancelled
    expect(openUploads(img)).to.deep.equal([]);
    // cold push: layers were uploaded while being compressed; the registry holds exactly the generated blobs
    const copyDir = join(cfg, 'copy');
    mustSh('skopeo', ['copy', '--src-tls-verify=false', `docker://${img}`, `oci:${copyDir}:x`]);
    const idx = JSON.parse(readFileSync(join(copyDir, 'index.json'), 'utf8'));
    expect(idx.manifests[0].digest).to.equal(ja.digest);
    for (const l of JSON.parse(readFileSync(join(copyDir, 'blobs', 'sha256', ja.digest.slice(7)), 'utf8')).layers) {
      const blob = readFileSync(join(copyDir, 'blobs', 'sha256', l.digest.slice(7)));
      expect(blob.length).to.equal(l.size);
      expect(gunzipSync(blob).length).to.be.greaterThan(0);
    }
    // same content under another repository in the same registry → mounted, same digest
    const sibling = `${services.registry}/dspush-sib-${uid()}:1`;
    mustSh('docker', ['tag', img, sibling]);
    images.push(sibling);
    const s = cli(['push', '-o', 'json', sibling], env());
    expect(s.status, s.stderr).to.equal(0);
    const js = JSON.parse(s.stdout);
    expect(js.digest).to.equal(ja.digest);
    expect(js.generated).to.equal(false); // rebuilt from the store (the save stream asked for ahead is dropped)
    expect(openUploads(sibling)).to.deep.equal([]);
    expect(js.blobs.map((b: any) => b.action)).to.deep.equal(['mounted', 'mounted', 'mounted']);
    // the image changes → push regenerates, new digest; the unchanged busybox layer already exists
    mustSh('bash', [join(root, 'scripts', 'test-image.sh'), img, 'second']);
    const b = cli(['push', '-o', 'json', img], env());
    expect(b.status, b.stderr).to.equal(0);
    const jb = JSON.parse(b.stdout);
    expect(jb.generated).to.equal(true);
    expect(jb.digest).to.not.equal(ja.digest);
    expect(jb.blobs[1].action).to.equal('exists');
    expect(mustSh('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${img}`]).trim()).to.equal(jb.digest);
  });

  it('cold push of an image with big layers only: the upload session opened ahead for a small layer is cancelled', () => {
    const img = `${services.registry}/dspush-big-${uid()}:1`;
    buildImage(img, { 'message.txt': randomBytes(1 << 20) });
    images.push(img);
    const r = cli(['push', '-o', 'json', img], env());
    expect(r.status, r.stderr).to.equal(0);
    const j = JSON.parse(r.stdout);
    expect(j.blobs.map((b: { action: string }) => b.action)).to.deep.equal(['uploaded', 'uploaded', 'uploaded']);
    expect(openUploads(img)).to.deep.equal([]);
    expect(mustSh('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${img}`]).trim()).to.equal(j.digest);
  });

  it('pushes the local signatures (referrers in the store) after the image; found through the referrers tag schema', async () => {
    const img = mkImage('dspush-sig');
    const gen = cli(['generate', 'manifest', '-o', 'json', img], env());
    expect(gen.status, gen.stderr).to.equal(0);
    const subject = JSON.parse(gen.stdout);
    // a signature-shaped referrer, as `docker sign` stores it for a local image
    const store = await OciLayout.open(join(cfg, 'store'));
    const cfgBytes = Buffer.from('{}');
    const envelope = Buffer.from(JSON.stringify({ payload: 'x', signatures: [randomBytes(8).toString('hex')] }));
    const cfgDesc = { mediaType: MediaType.NOTARY_SIGNATURE, digest: sha256Digest(cfgBytes), size: 2 };
    const envDesc = { mediaType: MediaType.JWS, digest: sha256Digest(envelope), size: envelope.length };
    await store.pushBlob(cfgDesc, cfgBytes);
    await store.pushBlob(envDesc, envelope);
    const sigBytes = encodeJson({ schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config: cfgDesc, layers: [envDesc],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size }, annotations: { 'io.cncf.notary.x509chain.thumbprint#S256': '["00"]' } });
    const sigDesc = { mediaType: MediaType.OCI_MANIFEST, digest: sha256Digest(sigBytes), size: sigBytes.length };
    await store.pushReferrer(sigDesc, sigBytes, subject);

    const r = cli(['push', '-o', 'json', img], env());
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout);
    expect(out.digest).to.equal(subject.digest);
    expect(out.signatures).to.deep.equal([{ digest: sigDesc.digest, size: sigDesc.size, mediaType: MediaType.OCI_MANIFEST, artifactType: MediaType.NOTARY_SIGNATURE }]);
    const repo = openRepository(img);
    const refs = await repo.referrers(subject);
    expect(refs.map((d) => d.digest)).to.deep.equal([sigDesc.digest]);
    expect((await repo.fetchBlob(envDesc)).equals(envelope)).to.equal(true);
    // Distribution 2.8 has no Referrers API: the tag-schema index exists
    const tagIdx = mustSh('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${img.replace(/:1$/, '')}:${subject.digest.replace(':', '-')}`]);
    expect(JSON.parse(tagIdx).manifests.map((d: any) => d.digest)).to.include(sigDesc.digest);
  });

  /** A new default key, `docker sign --local IMG`, then `docker sign push -o json IMG`: its JSON (one signature pushed). */
  function signLocallyThenPush(img: string, keyName: string) {
    const k = cli(['key', 'generate', keyName, '--type', 'ec-p256', '--default'], env());
    expect(k.status, k.stderr).to.equal(0);
    const s = cli(['sign', '--local', img], env());
    expect(s.status, s.stderr + s.stdout).to.equal(0);
    const r = cli(['push', '-o', 'json', img], env());
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout);
    expect(out.signatures).to.have.length(1);
    return out;
  }

  it('to a registry with the Referrers API (go-containerregistry): the pushed signature is listed by the API', async () => {
    const refsRegistry = process.env.DS_REFERRERS_REGISTRY;
    if (!refsRegistry) throw new Error('DS_REFERRERS_REGISTRY is not set: eval "$(bash scripts/services.sh env)"');
    const img = `${refsRegistry}/dspush-api-${uid()}:1`;
    mustSh('bash', [join(root, 'scripts', 'test-image.sh'), img, `api ${uid()}`]);
    images.push(img);
    const out = signLocallyThenPush(img, 'apitest');
    const repo = openRepository(img);
    expect(await repo.supportsReferrersApi()).to.equal(true);
    const refs = await repo.referrers({ mediaType: out.mediaType, digest: out.digest, size: out.size });
    expect(refs.map((d) => d.digest)).to.deep.equal([out.signatures[0].digest]);
  });

  it('a real `docker sign` of the local image, then push: the signature lands as a referrer of the pushed digest', async () => {
    const img = mkImage('dspush-realsig');
    const out = signLocallyThenPush(img, 'pushtest');
    expect(out.signatures[0].artifactType).to.equal(MediaType.NOTARY_SIGNATURE);
    const refs = await openRepository(img).referrers({ mediaType: out.mediaType, digest: out.digest, size: out.size }, MediaType.NOTARY_SIGNATURE);
    expect(refs.map((d) => d.digest)).to.deep.equal([out.signatures[0].digest]);
  });

  it('--sign (what `docker push --sign` runs): signs with the key first, once per image and key; a push without a signature warns', async () => {
    const img = mkImage('dspush-sign');
    // no signing key yet: refused before anything is pushed
    const nokey = cli(['push', '--sign', img], env());
    expect(nokey.status, nokey.stderr).to.equal(2);
    expect(nokey.stderr).to.match(/Error: .*key/i);
    expect(sh('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${img}`]).status).to.not.equal(0);
    // an unsigned push goes through, with a warning
    const plain = cli(['push', img], env());
    expect(plain.status, plain.stderr).to.equal(0);
    expect(plain.stderr).to.contain(`Warning: no signature went with ${img}`);

    expect(cli(['key', 'generate', 'k1', '--type', 'ec-p256', '--default'], env()).status).to.equal(0);
    const a = cli(['push', '--sign', '-o', 'json', img], env());
    expect(a.status, a.stderr).to.equal(0);
    const ja = JSON.parse(a.stdout);
    expect(ja.signed).to.deep.include({ key: 'k1', new: true });
    expect(ja.signatures.map((x: any) => x.digest)).to.deep.equal([ja.signed.signature]);
    const subject = { mediaType: ja.mediaType, digest: ja.digest, size: ja.size };
    expect((await openRepository(img).referrers(subject, MediaType.NOTARY_SIGNATURE)).map((d) => d.digest)).to.deep.equal([ja.signed.signature]);
    // the same key again: no second signature
    const b = cli(['push', '--sign', img], env());
    expect(b.status, b.stderr).to.equal(0);
    expect(b.stderr).to.contain(`is already signed with key k1 (signature ${ja.signed.signature})`);
    expect(b.stderr).to.not.contain('Warning');
    // another key adds its own
    expect(cli(['key', 'generate', 'k2', '--type', 'ec-p256'], env()).status).to.equal(0);
    const c = JSON.parse(cli(['push', '--sign', '--key', 'k2', '-o', 'json', img], env()).stdout);
    expect(c.signed).to.deep.include({ key: 'k2', new: true });
    expect(c.digest).to.equal(ja.digest);
    const listed = (await openRepository(img).referrers(subject, MediaType.NOTARY_SIGNATURE)).map((d) => d.digest).sort();
    expect(listed).to.deep.equal([ja.signed.signature, c.signed.signature].sort());
    // --sign and --no-signatures contradict each other
    expect(cli(['push', '--sign', '--no-signatures', img], env()).status).to.equal(2);
  });

  it('a signature damaged in the store stops the push before the image goes up; store prune drops it, then it pushes', async () => {
    const img = mkImage('dspush-damaged');
    expect(cli(['key', 'generate', 'dk', '--type', 'ec-p256', '--default'], env()).status).to.equal(0);
    const signed = cli(['sign', '--local', '-o', 'json', img], env());
    expect(signed.status, signed.stderr).to.equal(0);
    const sig = JSON.parse(signed.stdout).signature.digest;
    const store = await OciLayout.open(join(cfg, 'store'));
    const envelope = JSON.parse(readFileSync(store.blobPath(sig), 'utf8')).layers[0].digest;
    const bytes = readFileSync(store.blobPath(envelope));
    bytes[bytes.length - 3]! ^= 1; // one bit on disk
    writeFileSync(store.blobPath(envelope), bytes);

    const r = cli(['push', img], env());
    expect(r.status, r.stderr).to.equal(2);
    expect(r.stderr).to.contain(`Error: the signature ${sig} kept in the local store for ${img} is damaged (blob ${envelope}`);
    expect(r.stderr).to.match(/nothing was pushed\nHint: `docker sign store prune` drops it/);
    expect(sh('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${img}`]).status).to.not.equal(0);

    const p = cli(['store', 'prune', '-f', '-o', 'json'], env());
    expect(p.status, p.stderr).to.equal(0);
    expect(JSON.parse(p.stdout).removed.images).to.deep.include({ digest: sig, reason: 'unreadable' });
    const ok = cli(['push', '--sign', '-o', 'json', img], env());
    expect(ok.status, ok.stderr).to.equal(0);
    const out = JSON.parse(ok.stdout);
    expect(out.signed).to.deep.include({ key: 'dk', new: true });
    expect(out.signatures.map((x: any) => x.digest)).to.deep.equal([out.signed.signature]);
  });

  it('a layer damaged in the store fails the push with the way out (generate --force), which then pushes', async () => {
    const img = mkImage('dspush-damaged-layer');
    const gen = cli(['generate', 'manifest', '-o', 'json', img], env());
    expect(gen.status, gen.stderr).to.equal(0);
    const layer = JSON.parse(gen.stdout).layers[0].digest as string;
    const store = await OciLayout.open(join(cfg, 'store'));
    const bytes = readFileSync(store.blobPath(layer as never));
    bytes[Math.floor(bytes.length / 2)]! ^= 1; // one bit on disk, same size
    writeFileSync(store.blobPath(layer as never), bytes);
    const r = cli(['push', img], env());
    expect(r.status, r.stderr).to.not.equal(0);
    expect(r.stderr).to.match(/Hint: .*docker generate manifest --force/);
    expect(cli(['generate', 'manifest', '--force', img], env()).status).to.equal(0);
    const ok = cli(['push', '-o', 'json', img], env());
    expect(ok.status, ok.stderr).to.equal(0);
    expect(JSON.parse(ok.stdout).digest).to.equal(JSON.parse(gen.stdout).digest);
  });

  it('unknown image / unreachable engine / unreachable registry → clear errors, non-zero exit', () => {
    const nf = cli(['push', `${services.registry}/nope-${uid()}:1`], env());
    expect(nf.status).to.equal(2);
    expect(nf.stderr).to.include('not found in the Docker engine');
    const img = mkImage('dspush-err');
    const ne = cli(['push', img], { ...env(), DOCKER_HOST: 'unix:///tmp/ds-none/docker.sock' });
    expect(ne.status).to.equal(3);
    expect(ne.stderr).to.include('/tmp/ds-none/docker.sock');
    // registry that does not exist (port 9 on loopback)
    const other = `127.0.0.1:9/dspush-noreg-${uid()}:1`;
    mustSh('docker', ['tag', img, other]);
    images.push(other);
    const nr = cli(['push', other], env());
    expect(nr.status).to.not.equal(0);
    expect(nr.stderr).to.match(/Error: /);
    expect(nr.stderr).to.not.match(/\n\s+at /);
  });

  describe('resumability: registry killed mid-upload, push re-run', () => {
    let reg: Registry;
    let img: string;
    before(async () => {
      reg = await startRegistry();
      img = `${reg.addr}/dsresume-${uid()}:1`;
      // two big incompressible layers so the upload takes long enough to be interrupted
      buildImage(img, { 'a.bin': randomBytes(48 << 20), 'b.bin': randomBytes(48 << 20), 'message.txt': 'resumed\n' }, [['a.bin'], ['b.bin'], ['message.txt']]);
      images.push(img);
    });
    after(async () => {
      await reg?.stop();
      if (reg) rmSync(reg.dir, { recursive: true, force: true });
    });

    it('completes on the second run without re-uploading the blobs that made it', async () => {
      const gen = cli(['generate', 'manifest', '-o', 'json', img], env());
      expect(gen.status, gen.stderr).to.equal(0);
      const layers: { digest: string; size: number }[] = JSON.parse(gen.stdout).layers;
      // finished = linked into the repository (Distribution writes the blob data first, then the link)
      const repoName = img.slice(reg.addr.length + 1, img.lastIndexOf(':'));
      const blobDone = (d: string) => existsSync(join(reg.dir, 'data', 'docker', 'registry', 'v2', 'repositories', repoName, '_layers', 'sha256', d.slice(7), 'link'));
      // first push: one blob at a time; kill the registry once the first big layer is stored
      const child = spawn(process.execPath, [join(root, 'bin', 'docker-sign.js'), 'push', '--concurrency', '1', '-q', img], { env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c) => { stderr += c; });
      const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
      const t0 = Date.now();
      while (!blobDone(layers[1].digest) && !blobDone(layers[0].digest) && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 20));
      await reg.stop();
      const code = await exit;
      expect(code, `first push should fail when the registry dies; stderr: ${stderr}`).to.not.equal(0);
      const stored = layers.filter((l) => blobDone(l.digest)).map((l) => l.digest);
      expect(stored.length).to.be.greaterThan(0);
      expect(stored.length).to.be.lessThan(layers.length);
      // registry back (same storage), push again
      await reg.start();
      const again = cli(['push', '-o', 'json', img], env());
      expect(again.status, again.stderr).to.equal(0);
      const out = JSON.parse(again.stdout);
      for (const b of out.blobs) {
        if (stored.includes(b.digest)) expect(b.action, b.digest).to.equal('exists');
      }
      expect(out.blobs.filter((b: any) => b.action === 'uploaded').length).to.be.greaterThan(0);
      expect(mustSh('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${img}`]).trim()).to.equal(out.digest);
      // the registry holds no leftover of our own store temp files
      expect(readdirSync(join(cfg, 'store', 'blobs', 'sha256')).filter((f) => f.startsWith('.'))).to.deep.equal([]);
    });

    it('cold push (layers streamed while compressed) interrupted by the registry dying: the re-run completes', async () => {
      const cold = `${reg.addr}/dsresume-cold-${uid()}:1`;
      buildImage(cold, { 'c.bin': randomBytes(40 << 20), 'd.bin': randomBytes(40 << 20), 'message.txt': 'cold\n' }, [['c.bin'], ['d.bin'], ['message.txt']]);
      images.push(cold);
      // a blob is finished once the repository links it (Distribution writes the data first, then the link; a
      // registry killed in between has the bytes but not the blob, which the re-run must upload again)
      const repoName = cold.slice(reg.addr.length + 1, cold.lastIndexOf(':'));
      const linksDir = join(reg.dir, 'data', 'docker', 'registry', 'v2', 'repositories', repoName, '_layers', 'sha256');
      const countBlobs = () => (existsSync(linksDir) ? readdirSync(linksDir).filter((d) => existsSync(join(linksDir, d, 'link'))).length : 0);
      const before = countBlobs();
      const child = spawn(process.execPath, [join(root, 'bin', 'docker-sign.js'), 'push', '-q', cold], { env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c) => { stderr += c; });
      const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
      const t0 = Date.now();
      while (countBlobs() === before && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 10));
      await reg.stop();
      const code = await exit;
      expect(code, `the interrupted push must fail; stderr: ${stderr}`).to.not.equal(0);
      expect(stderr).to.match(/Error: /);
      await reg.start();
      const again = cli(['push', '-o', 'json', cold], env());
      expect(again.status, again.stderr).to.equal(0);
      const out = JSON.parse(again.stdout);
      expect(out.generated, `first run stderr: ${stderr}`).to.equal(false); // the first run completed generation into the store
      expect(out.blobs.some((b: any) => b.action === 'exists')).to.equal(true);
      expect(mustSh('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${cold}`]).trim()).to.equal(out.digest);
    });
  });
});
