import { expect } from 'chai';
import { readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync, existsSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { requireServices, uid, cli, sh, mustSh, tempDir, root } from './push.helpers.js';
import { generateFromSave } from '../src/docker/generate.js';
import { inspectImage } from '../src/docker/engine.js';
import { OciLayout } from '../src/oci/layout.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function snapshot(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${p.slice(dir.length)}:${statSync(p).size}:${sha(readFileSync(p))}`);
    }
  };
  walk(dir);
  return out.sort();
}

/** Re-packs a tar, letting `edit` change / add entries. */
async function repack(src: Buffer, edit: (name: string, data: Buffer) => Buffer | null, extra: { name: string; data: Buffer }[] = []): Promise<Buffer> {
  const ex = tar.extract();
  const pack = tar.pack();
  const parts: Buffer[] = [];
  pack.on('data', (c: unknown) => { parts.push(c as Buffer); });
  const done = new Promise<void>((r) => { pack.on('end', () => r()); });
  Readable.from([src]).pipe(ex);
  for await (const e of ex) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c as Buffer);
    if (e.header.type !== 'file') { pack.entry({ ...e.header, size: 0 }); continue; }
    const data = edit(e.header.name, Buffer.concat(chunks));
    if (data) pack.entry({ name: e.header.name, size: data.length, mtime: e.header.mtime }, data);
  }
  for (const x of extra) pack.entry({ name: x.name, size: x.data.length }, x.data);
  pack.finalize();
  await done;
  return Buffer.concat(parts);
}

describe('integration: docker generate manifest (real dockerd)', function () {
  this.timeout(300_000);
  let services: { dockerHost: string; registry: string };
  let cfg: string;
  let image: string;
  const env = () => ({ DOCKER_SIGN_CONFIG: cfg });

  before(() => {
    services = requireServices();
    image = `${services.registry}/dsgen-${uid()}:1`;
    mustSh('bash', [join(root, 'scripts', 'test-image.sh'), image, `generate ${uid()}`]);
  });
  beforeEach(() => { cfg = tempDir('ds-gencfg-'); });
  afterEach(() => rmSync(cfg, { recursive: true, force: true }));
  after(() => { sh('docker', ['rmi', '-f', image]); });

  it('prints the digest; the second run reuses the cache (no compression) and gives the same digest', () => {
    const a = cli(['generate', 'manifest', '-o', 'json', image], env());
    expect(a.status, a.stderr).to.equal(0);
    const ja = JSON.parse(a.stdout);
    expect(ja.digest).to.match(/^sha256:[a-f0-9]{64}$/);
    expect(ja.mediaType).to.equal('application/vnd.oci.image.manifest.v1+json');
    expect(ja.compressedLayers).to.equal(2);
    expect(ja.reused).to.equal(false);
    const inspect = JSON.parse(mustSh('docker', ['image', 'inspect', image]))[0];
    expect(ja.config.digest).to.equal(inspect.Id);
    // stored manifest bytes hash to the digest, tagged with the normalized reference
    const store = join(cfg, 'store');
    const idx = JSON.parse(readFileSync(join(store, 'index.json'), 'utf8'));
    const entry = idx.manifests.find((d: any) => d.annotations?.['org.opencontainers.image.ref.name'] === image);
    expect(entry.digest).to.equal(ja.digest);
    expect(`sha256:${sha(readFileSync(join(store, 'blobs', 'sha256', ja.digest.slice(7))))}`).to.equal(ja.digest);
    const cache = JSON.parse(readFileSync(join(store, 'layer-cache.json'), 'utf8'));
    for (const diffId of inspect.RootFS.Layers) expect(Object.keys(cache.layers).some((k) => k.endsWith(`|${diffId}`))).to.equal(true);

    const b = cli(['generate', 'manifest', '-o', 'json', image], env());
    expect(b.status, b.stderr).to.equal(0);
    const jb = JSON.parse(b.stdout);
    expect(jb.digest).to.equal(ja.digest);
    expect(jb.reused).to.equal(true);
    expect(jb.compressedLayers).to.equal(0);

    // text output = the digest; --force recompresses and still gives the same digest (deterministic gzip)
    const c = cli(['generate', 'manifest', '--force', image], env());
    expect(c.status, c.stderr).to.equal(0);
    expect(c.stdout.trim()).to.equal(ja.digest);
  });

  it('--file writes the manifest bytes, --media-type docker gives Docker v2 schema 2', () => {
    const f = join(cfg, 'm.json');
    const r = cli(['generate', 'manifest', '--media-type', 'docker', '--file', f, image], env());
    expect(r.status, r.stderr).to.equal(0);
    const bytes = readFileSync(f);
    expect(`sha256:${sha(bytes)}`).to.equal(r.stdout.trim());
    expect(JSON.parse(bytes.toString()).mediaType).to.equal('application/vnd.docker.distribution.manifest.v2+json');
  });

  it('--file - writes the manifest bytes to stdout (digest on stderr); a file inside the local store is refused', () => {
    const r = cli(['generate', 'manifest', '--file', '-', image], env());
    expect(r.status, r.stderr).to.equal(0);
    expect(`sha256:${sha(Buffer.from(r.stdout))}`).to.equal(r.stderr.trim().split('\n').pop());
    const inside = cli(['generate', 'manifest', '-f', join(cfg, 'store', 'index.json'), image], env());
    expect(inside.status).to.equal(2);
    expect(inside.stderr).to.include('is inside the local store');
    expect(JSON.parse(readFileSync(join(cfg, 'store', 'index.json'), 'utf8')).manifests.length).to.be.greaterThan(0);
  });

  it('push --platform is checked against the image also when the stored manifest is reused; --key without --sign is refused', () => {
    expect(cli(['generate', 'manifest', image], env()).status).to.equal(0);
    const wrong = cli(['push', '--platform', 'linux/s390x', image], env());
    expect(wrong.status).to.equal(2);
    expect(wrong.stderr).to.include('not linux/s390x');
    const bad = cli(['push', '--platform', 'foo', image], env());
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.include('invalid platform');
    const key = cli(['push', '--key', 'k', image], env());
    expect(key.status).to.equal(2);
    expect(key.stderr).to.include('--key only applies with --sign');
  });

  // Generated blobs and the layer cache are not fsync'd (they can be made again); a crash may leave them empty.
  it('generated blobs and the layer cache left empty (as a crash can leave them) are made again by generate and push', () => {
    const ok = (args: string[]) => {
      const r = cli(args, env());
      expect(r.status, r.stderr).to.equal(0);
      return JSON.parse(r.stdout);
    };
    const ja = ok(['generate', 'manifest', '-o', 'json', image]);
    const store = join(cfg, 'store');
    const blobs = join(store, 'blobs', 'sha256');
    const emptyAll = () => {
      for (const f of readdirSync(blobs)) writeFileSync(join(blobs, f), '');
      writeFileSync(join(store, 'layer-cache.json'), '');
    };
    emptyAll();
    const jb = ok(['generate', 'manifest', '-o', 'json', image]);
    expect(jb.digest).to.equal(ja.digest);
    expect(jb.reused).to.equal(false);
    expect(jb.compressedLayers).to.equal(2);
    for (const d of [jb.digest, jb.config.digest, ...jb.layers.map((l: { digest: string }) => l.digest)]) {
      expect(`sha256:${sha(readFileSync(join(blobs, d.slice(7))))}`).to.equal(d);
    }
    // push finds the damaged store on its own (it does not go through generate's reuse check first)
    emptyAll();
    const jp = ok(['push', '-q', '-o', 'json', image]);
    expect(jp.digest).to.equal(ja.digest);
    expect(jp.generated).to.equal(true);
    expect(JSON.parse(mustSh('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${image}`])).layers.map((l: { digest: string }) => l.digest))
      .to.deep.equal(ja.layers.map((l: { digest: string }) => l.digest));
  });

  it('a changed image yields a new digest', () => {
    const tag = `${services.registry}/dsgen-chg-${uid()}:1`;
    try {
      mustSh('bash', [join(root, 'scripts', 'test-image.sh'), tag, 'version one']);
      const a = cli(['generate', 'manifest', tag], env());
      mustSh('bash', [join(root, 'scripts', 'test-image.sh'), tag, 'version two']);
      const b = cli(['generate', 'manifest', tag], env());
      expect(a.status, a.stderr).to.equal(0);
      expect(b.status, b.stderr).to.equal(0);
      expect(a.stdout.trim()).to.not.equal(b.stdout.trim());
      const idx = JSON.parse(readFileSync(join(cfg, 'store', 'index.json'), 'utf8'));
      const tagged = idx.manifests.filter((d: any) => d.annotations?.['org.opencontainers.image.ref.name'] === tag);
      expect(tagged.map((d: any) => d.digest)).to.deep.equal([b.stdout.trim()]);
    } finally {
      sh('docker', ['rmi', '-f', tag]);
    }
  });

  it('the plug-in entry honours docker global flags: -H and --context select the daemon', () => {
    const sock = services.dockerHost;
    const plugin = (args: string[], extraEnv: NodeJS.ProcessEnv) =>
      sh(process.execPath, [join(root, 'bin', 'docker-generate.js'), ...args], { ...env(), DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND: 'docker', ...extraEnv });
    // DOCKER_HOST points nowhere; -H wins
    const ok = plugin(['-H', sock, 'generate', 'manifest', image], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stdout.trim()).to.match(/^sha256:[a-f0-9]{64}$/);
    // and the reverse: a bad -H fails even though DOCKER_HOST is fine
    const bad = plugin(['-H', 'unix:///nonexistent/docker.sock', 'generate', 'manifest', image], {});
    expect(bad.status).to.equal(3);
    expect(bad.stderr).to.include('/nonexistent/docker.sock');
    // --context NAME from the context store of --config DIR
    const dc = join(cfg, 'dockercfg');
    const meta = join(dc, 'contexts', 'meta', sha('dsctx'));
    mkdirSync(meta, { recursive: true });
    writeFileSync(join(meta, 'meta.json'), JSON.stringify({ Name: 'dsctx', Metadata: {}, Endpoints: { docker: { Host: sock, SkipTLSVerify: false } } }));
    const ctx = plugin(['--config', dc, '--context', 'dsctx', 'generate', 'manifest', image], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(ctx.status, ctx.stderr).to.equal(0);
    expect(ctx.stdout.trim()).to.equal(ok.stdout.trim());
    // currentContext from config.json (no flags, no env)
    writeFileSync(join(dc, 'config.json'), JSON.stringify({ currentContext: 'dsctx' }));
    const cur = sh(process.execPath, [join(root, 'bin', 'docker-generate.js'), 'generate', 'manifest', image],
      { ...env(), DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND: 'docker', DOCKER_HOST: '', DOCKER_CONFIG: dc });
    expect(cur.status, cur.stderr).to.equal(0);
    expect(cur.stdout.trim()).to.equal(ok.stdout.trim());
  });

  it('unknown image → IMAGE_NOT_FOUND, exit 2, store unchanged', () => {
    const before = snapshot(join(cfg, 'store'));
    const r = cli(['generate', 'manifest', `${services.registry}/does-not-exist-${uid()}:1`], env());
    expect(r.status).to.equal(2);
    expect(r.stderr).to.match(/not found in the Docker engine/);
    expect(r.stderr).to.not.match(/\n\s+at /); // no stack trace
    const after = snapshot(join(cfg, 'store')).filter((l) => !l.startsWith('/oci-layout') && !l.startsWith('/index.json'));
    expect(after).to.deep.equal(before.filter((l) => !l.startsWith('/oci-layout') && !l.startsWith('/index.json')));
  });

  it('an image without layers (dockerd 20.10 cannot docker save it) → IMAGE_WITHOUT_LAYERS with the way out, store unchanged', () => {
    const ctx = tempDir('ds-zero-');
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCMD ["/nothing"]\nLABEL docker-sign.test=zero\n');
    const zero = `ds-zero-${uid()}:1`;
    mustSh('docker', ['build', '-q', '-t', zero, ctx], { DOCKER_BUILDKIT: '0' });
    try {
      expect(mustSh('docker', ['image', 'inspect', '--format', '{{len .RootFS.Layers}}', zero]).trim()).to.equal('0');
      const before = snapshot(join(cfg, 'store'));
      const r = cli(['generate', 'manifest', '-o', 'json', zero], env());
      expect(r.status, r.stderr).to.equal(2);
      expect(JSON.parse(r.stdout).error).to.equal('IMAGE_WITHOUT_LAYERS');
      expect(r.stderr).to.contain(`Hint: push it with \`docker push ${zero}\`, then sign what was pushed`);
      const after = snapshot(join(cfg, 'store')).filter((l) => !l.startsWith('/oci-layout') && !l.startsWith('/index.json'));
      expect(after).to.deep.equal(before.filter((l) => !l.startsWith('/oci-layout') && !l.startsWith('/index.json')));
    } finally {
      sh('docker', ['rmi', zero]);
      rmSync(ctx, { recursive: true, force: true });
    }
  });

  it('engine not reachable → ENGINE_UNREACHABLE naming the endpoint, exit 3', () => {
    const r = cli(['generate', 'manifest', '-o', 'json', image], { ...env(), DOCKER_HOST: 'unix:///tmp/ds-no-such-dir/docker.sock' });
    expect(r.status).to.equal(3);
    expect(JSON.parse(r.stdout).error).to.equal('ENGINE_UNREACHABLE');
    expect(r.stderr).to.include('unix:///tmp/ds-no-such-dir/docker.sock');
  });

  it('--platform that does not match the image → PLATFORM_MISMATCH, exit 2', () => {
    const r = cli(['generate', 'manifest', '--platform', 'linux/s390x', image], env());
    expect(r.status).to.equal(2);
    expect(r.stderr).to.include('not linux/s390x');
  });

  describe('damaged save streams (the real `docker save` of the image, then altered) leave the store unchanged', () => {
    let saved: Buffer;
    let insp: Awaited<ReturnType<typeof inspectImage>>;
    let store: OciLayout;
    let storeDir: string;
    before(async () => {
      const f = join(tempDir('ds-save-'), 'img.tar');
      mustSh('docker', ['save', '-o', f, image]);
      saved = readFileSync(f);
      rmSync(join(f, '..'), { recursive: true, force: true });
      insp = await inspectImage(image);
    });
    beforeEach(async () => {
      storeDir = join(cfg, 'store');
      store = await OciLayout.open(storeDir, { create: true });
    });
    async function expectCode(archive: Buffer, code: string) {
      const before = snapshot(storeDir);
      let err: any;
      await generateFromSave(Readable.from([archive]), insp, { store, mediaType: 'oci', image, storeTag: image }).catch((e) => { err = e; });
      expect(err?.code, err?.message).to.equal(code);
      expect(snapshot(storeDir)).to.deep.equal(before);
    }

    it('the unmodified save generates the same digest as the CLI', async () => {
      const r = await generateFromSave(Readable.from([saved]), insp, { store, mediaType: 'oci', image, storeTag: image });
      const c = cli(['generate', 'manifest', image], env());
      expect(r.descriptor.digest).to.equal(c.stdout.trim());
    });

    it('a flipped byte inside a layer → SAVE_DIFF_ID_MISMATCH', async () => {
      const bad = await repack(saved, (name, data) => {
        if (name.endsWith('layer.tar') && data.length > 100000) { const d = Buffer.from(data); d[d.length - 2000] ^= 0x55; return d; }
        return data;
      });
      await expectCode(bad, 'SAVE_DIFF_ID_MISMATCH');
    });

    it('a corrupted / truncated tar → SAVE_CORRUPT', async () => {
      const cut = saved.subarray(0, Math.floor(saved.length * 0.6));
      await expectCode(cut, 'SAVE_CORRUPT');
      const hdr = Buffer.from(saved);
      hdr.fill(0x41, 0, 100); // garbage in the first header
      await expectCode(hdr, 'SAVE_CORRUPT');
    });

    it('an entry escaping its folder → SAVE_ENTRY_ESCAPES', async () => {
      const bad = await repack(saved, (_n, d) => d, [{ name: '../../etc/cron.d/evil', data: Buffer.from('x') }]);
      await expectCode(bad, 'SAVE_ENTRY_ESCAPES');
    });

    it('a modified config (not the image ID) → SAVE_CONFIG_MISMATCH', async () => {
      const bad = await repack(saved, (name, data) => (/^[a-f0-9]{64}\.json$/.test(name) ? Buffer.from(data.toString().replace('"os":"linux"', '"os":"linux" ')) : data));
      await expectCode(bad, 'SAVE_CONFIG_MISMATCH');
    });
  });
});
