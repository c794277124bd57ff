import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { requireServices, uid, cli, sh, mustSh, tempDir, root } from './push.helpers.js';
import { sha256Digest } from '../src/oci/digest.js';
import { closeConnections } from '../src/registry/index.js';

/**
 * `docker sign store prune` on a real engine: what goes (images the engine dropped, their signatures, blobs no entry
 * needs, stale layer-cache entries), what stays (images still there, signatures of images still there, fresh
 * orphans), and that push/generate work from the pruned store.
 */
describe('integration: docker sign store prune (real dockerd)', function () {
  this.timeout(600_000);
  let services: { dockerHost: string; registry: string };
  let cfg: string;
  const images: string[] = [];
  const env = () => ({ DOCKER_SIGN_CONFIG: cfg });
  const store = () => join(cfg, 'store');
  const blobsDir = () => join(store(), 'blobs', 'sha256');
  const blobSet = () => new Set(readdirSync(blobsDir()).filter((f) => !f.startsWith('.')).map((f) => `sha256:${f}`));
  const index = () => JSON.parse(readFileSync(join(store(), 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  const layerCache = () => JSON.parse(readFileSync(join(store(), 'layer-cache.json'), 'utf8')) as { layers: Record<string, { digest: string }> };
  const manifestOf = (digest: string) => JSON.parse(readFileSync(join(blobsDir(), digest.slice(7)), 'utf8'));
  const needs = (digest: string) => { const m = manifestOf(digest); return [digest, m.config.digest, ...m.layers.map((l: { digest: string }) => l.digest)]; };
  const imageId = (ref: string) => mustSh('docker', ['image', 'inspect', '--format', '{{.Id}}', ref]).trim();
  /** Every blob (and temp file) an hour old: past the prune's grace period. */
  const ageStore = () => {
    const old = new Date(Date.now() - 3600_000);
    for (const f of readdirSync(blobsDir())) utimesSync(join(blobsDir(), f), old, old);
  };
  const mkImage = (name: string, text: string) => {
    const tag = `${services.registry}/${name}:1`;
    mustSh('bash', [join(root, 'scripts', 'test-image.sh'), tag, text]);
    images.push(tag);
    return tag;
  };
  const ok = (args: string[]) => {
    const r = cli(args, env());
    expect(r.status, `${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };

  before(() => { services = requireServices(); });
  beforeEach(() => {
    cfg = tempDir('ds-prune-');
    ok(['key', 'generate', 'k', '--type', 'ec-p256']);
  });
  afterEach(() => rmSync(cfg, { recursive: true, force: true }));
  after(async () => {
    for (const i of images) sh('docker', ['rmi', '-f', i]);
    await closeConnections();
  });

  it('removes what images the engine dropped leave behind, keeps the rest; push works from the pruned store', () => {
    const u = uid();
    const a = mkImage(`prune-a-${u}`, `a ${u}`);
    const b = mkImage(`prune-b-${u}`, `b ${u}`);
    const a1 = ok(['generate', 'manifest', a]).trim();
    const b1 = ok(['generate', 'manifest', b]).trim();
    const sigOld = JSON.parse(ok(['--local', a, '-o', 'json'])).signature.digest as string;
    const oldAId = imageId(a);
    // rebuild a: its name moves to a new manifest; the old image stays in the engine (dangling) for now
    mkImage(`prune-a-${u}`, `a again ${u}`);
    const a2 = ok(['generate', 'manifest', a]).trim();
    const sigNew = JSON.parse(ok(['--local', a, '-o', 'json'])).signature.digest as string;
    expect(a2).to.not.equal(a1);
    mustSh('docker', ['rmi', '-f', b, oldAId]); // b and the first build of a leave the engine
    ageStore();
    // an old orphan (a crashed run's blob) and a fresh one (a run in progress), and an old temp file of a dead writer
    const orphan = (t: string) => { const d = Buffer.from(`${t} ${randomBytes(8).toString('hex')}`); writeFileSync(join(blobsDir(), sha256Digest(d).slice(7)), d); return sha256Digest(d); };
    const oldOrphan = orphan('old');
    const old = new Date(Date.now() - 3600_000);
    utimesSync(join(blobsDir(), oldOrphan.slice(7)), old, old);
    const freshOrphan = orphan('fresh');
    const temp = join(blobsDir(), '.ingest.999999.0123456789ab.tmp');
    writeFileSync(temp, 'partial');
    utimesSync(temp, old, old);

    const keepA = needs(a2);
    const goneB = needs(b1).filter((d) => !keepA.includes(d)); // the busybox layer is shared with a: it stays
    const goneA1 = needs(a1).filter((d) => !keepA.includes(d));
    expect(goneB.length).to.be.greaterThan(1);
    const before = blobSet();
    const indexBefore = readFileSync(join(store(), 'index.json'));

    // store ls: the states as the engine sees them, the signatures, what prune would free
    const ls = JSON.parse(ok(['store', 'ls', '-o', 'json']));
    expect(ls.engine).to.equal(true);
    expect(ls.images.map((i: any) => [i.name, i.digest, i.state, i.signatures]).sort()).to.deep.equal([[a, a2, 'current', [sigNew]], [b, b1, 'gone', []]].sort());
    expect(ls.otherSignatures).to.deep.equal([{ digest: sigOld, subject: a1, live: false }]);
    expect(ls.blobs.count).to.equal(before.size);
    expect(ok(['store', 'ls'])).to.match(new RegExp(`^NAME +DIGEST +STATE +SIGNATURES +SIZE\n(.*\n)*${b.replace(/[.]/g, '\\.')} +${b1.slice(0, 19)} +gone +0 +`));

    // no terminal, no --force: refused, nothing touched
    const refused = cli(['store', 'prune'], env());
    expect(refused.status).to.equal(2);
    expect(refused.stderr).to.match(/CONFIRMATION_REQUIRED|without a terminal/).and.to.match(/--force/);
    // --dry-run reports and changes nothing
    const dryText = ok(['store', 'prune', '--dry-run']);
    expect(dryText).to.contain(`Would remove image manifests:\n  ${b}  ${b1}  (image no longer in the engine)`);
    expect(dryText).to.contain('Kept 1 signature of images no longer in the engine (--all removes them)');
    expect(dryText).to.match(/\nReclaimable space: \d+(\.\d+)?[kM]B\n$/);
    const dry = JSON.parse(ok(['store', 'prune', '--dry-run', '-o', 'json']));
    expect(dry.dryRun).to.equal(true);
    expect(dry.removed.bytes).to.equal(ls.reclaimable.prune);
    expect(dry.removed.images).to.deep.equal([{ name: b, digest: b1, reason: 'gone' }]);
    expect(dry.removed.signatures).to.deep.equal([]); // signatures stay unless --all
    expect(blobSet()).to.deep.equal(before);
    expect(readFileSync(join(store(), 'index.json')).equals(indexBefore)).to.equal(true);
    expect(existsSync(temp)).to.equal(true);

    const r = JSON.parse(ok(['store', 'prune', '--force', '-o', 'json']));
    expect(r.removed.images).to.deep.equal(dry.removed.images);
    expect(r.removed.signatures).to.deep.equal(dry.removed.signatures);
    expect(r.kept).to.include({ images: 1, signatures: 2, orphanSignatures: 1, recentBlobs: 1 });
    expect(r.removed.tempFiles).to.equal(1);
    const after = blobSet();
    for (const d of [...keepA, ...needs(sigNew), ...needs(sigOld), freshOrphan]) expect(after.has(d), `kept ${d}`).to.equal(true);
    for (const d of [...goneB, ...goneA1, oldOrphan]) expect(after.has(d), `removed ${d}`).to.equal(false);
    expect(existsSync(temp)).to.equal(false);
    expect(r.removed.blobs).to.equal(before.size - after.size);
    const idx = index().manifests.map((d) => d.digest).sort();
    expect(idx).to.deep.equal([a2, sigNew, sigOld].sort());
    // the layer cache only names blobs that are still there
    const cached = Object.values(layerCache().layers).map((v) => v.digest);
    expect(cached.length).to.be.greaterThan(0);
    for (const d of cached) expect(after.has(d), `cache entry ${d}`).to.equal(true);
    expect(r.removed.layerCacheEntries).to.be.greaterThan(0);

    const lsAfter = JSON.parse(ok(['store', 'ls', '-o', 'json']));
    expect(lsAfter.images.map((i: any) => i.digest)).to.deep.equal([a2]);
    expect(lsAfter.otherSignatures).to.deep.equal([{ digest: sigOld, subject: a1, live: false }]);
    expect(lsAfter.reclaimable.prune).to.equal(0);
    expect(lsAfter.reclaimable.all).to.be.greaterThan(0); // the old signature's manifest and envelope
    // --all: the signature of the image that is gone goes too; the signed image and its signature stay
    const oldSigOnly = needs(sigOld).filter((x) => !needs(sigNew).includes(x)); // its manifest and envelope (the {} config is shared)
    const all = JSON.parse(ok(['store', 'prune', '--all', '-f', '-o', 'json']));
    expect(all.removed.signatures).to.deep.equal([{ digest: sigOld, subject: a1 }]);
    expect(all.removed.images).to.deep.equal([]);
    expect(index().manifests.map((d) => d.digest).sort()).to.deep.equal([a2, sigNew].sort());
    const afterAll = blobSet();
    expect(oldSigOnly).to.have.length(2);
    for (const d of oldSigOnly) expect(afterAll.has(d), `removed ${d}`).to.equal(false);
    // a second prune finds nothing more (the fresh orphan is still within the grace period)
    const again = JSON.parse(ok(['store', 'prune', '-f', '-o', 'json']));
    expect(again.removed).to.include({ blobs: 0, tempFiles: 0, bytes: 0 });
    expect(again.removed.images).to.deep.equal([]);

    // the store still serves push: the stored manifest and the kept signature go up as they are
    const pushed = JSON.parse(ok(['push', '-o', 'json', a]));
    expect(pushed.generated).to.equal(false);
    expect(pushed.digest).to.equal(a2);
    expect(pushed.signatures.map((s: { digest: string }) => s.digest)).to.deep.equal([sigNew]);
  });

  it('--all drops what live images can regenerate (same digest again), never a signed image or its signature', () => {
    const u = uid();
    const s = mkImage(`prune-s-${u}`, `s ${u}`);
    const c = mkImage(`prune-c-${u}`, `c ${u}`);
    const sig = JSON.parse(ok(['--local', s, '-o', 'json']));
    const sDigest = sig.subject.digest as string;
    const cDigest = ok(['generate', 'manifest', c]).trim();
    ageStore();
    const keep = [...needs(sDigest), ...needs(sig.signature.digest)];
    const plain = JSON.parse(ok(['store', 'prune', '-f', '-o', 'json']));
    expect(plain.removed.images).to.deep.equal([]); // both images are in the engine

    const r = JSON.parse(ok(['store', 'prune', '--all', '-f', '-o', 'json']));
    expect(r.removed.images).to.deep.equal([{ name: c, digest: cDigest, reason: 'regenerable' }]);
    expect(r.removed.signatures).to.deep.equal([]);
    expect(r.kept).to.include({ images: 1, signatures: 1 });
    const after = blobSet();
    for (const d of keep) expect(after.has(d), `kept ${d}`).to.equal(true);
    expect(after.has(cDigest)).to.equal(false);
    // c is made again, to the same digest
    const regen = JSON.parse(ok(['generate', 'manifest', c, '-o', 'json']));
    expect(regen.digest).to.equal(cDigest);
    expect(regen.compressedLayers).to.be.greaterThan(0);
  });

  it('fails closed when the engine cannot be asked: nothing is removed', () => {
    const u = uid();
    const g = mkImage(`prune-g-${u}`, `g ${u}`);
    ok(['generate', 'manifest', g]);
    mustSh('docker', ['rmi', g]);
    ageStore();
    const before = blobSet();
    const r = cli(['store', 'prune', '-f'], { ...env(), DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(r.status).to.equal(3);
    expect(r.stderr).to.match(/cannot connect to the Docker daemon/);
    expect(blobSet()).to.deep.equal(before);
    // an empty config (no store yet) has nothing to prune
    const empty = tempDir('ds-prune-empty-');
    try {
      const e = cli(['store', 'prune', '-f', '-o', 'json'], { DOCKER_SIGN_CONFIG: empty });
      expect(e.status, e.stderr).to.equal(0);
      expect(JSON.parse(e.stdout).removed.blobs).to.equal(0);
      expect(existsSync(join(empty, 'store'))).to.equal(false);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    expect(statSync(blobsDir()).isDirectory()).to.equal(true);
  });
});
