import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSignatureManifest, parseEnvelope, verifyIntegrity } from '../src/signature/index.js';
import type { Descriptor } from '../src/oci/descriptor.js';

// `docker sign`, `ls`, `inspect` through the built CLI against the real registries (Distribution 2.8 without the
// Referrers API, go-containerregistry with it) and the dev dockerd. Registry contents are read back with plain HTTP
// (not our registry client) and checked byte for byte.
const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'docker-sign.js');

function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: start the services (bash scripts/services.sh start) and eval "$(bash scripts/services.sh env)"`);
  return v;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function cliOk(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = cli(args, env);
  expect(r.status, `docker sign ${args.join(' ')}\n${r.stderr}${r.stdout}`).to.equal(0);
  return r.stdout;
}
function sh(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

const MANIFEST_ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json';
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function getManifest(registry: string, repo: string, ref: string): Promise<{ bytes: Buffer; desc: Descriptor }> {
  const res = await fetch(`http://${registry}/v2/${repo}/manifests/${ref}`, { headers: { accept: MANIFEST_ACCEPT } });
  expect(res.status, `GET manifest ${repo}:${ref}`).to.equal(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  const mediaType = res.headers.get('content-type')!.split(';')[0]!.trim();
  return { bytes, desc: { mediaType, digest: sha256(bytes) as Descriptor['digest'], size: bytes.length } };
}
async function getBlob(registry: string, repo: string, d: Descriptor): Promise<Buffer> {
  const res = await fetch(`http://${registry}/v2/${repo}/blobs/${d.digest}`);
  expect(res.status).to.equal(200);
  const b = Buffer.from(await res.arrayBuffer());
  expect(sha256(b)).to.equal(d.digest);
  expect(b.length).to.equal(d.size);
  return b;
}

interface LsJson {
  subject: Descriptor;
  signatures: { digest: string; artifactType: string; envelopeMediaType?: string; mediaType: string; size: number; problem?: string }[];
}

/** Checks one signature manifest in the registry: exact notation shape, rebuilt bytes identical, envelope verifies. */
async function checkSignature(registry: string, repo: string, sigDigest: string, subject: Descriptor, expectMt: string, userMetadata?: Record<string, string>) {
  const { bytes, desc } = await getManifest(registry, repo, sigDigest);
  expect(desc.digest).to.equal(sigDigest);
  expect(desc.mediaType).to.equal('application/vnd.oci.image.manifest.v1+json');
  const m = JSON.parse(bytes.toString());
  expect(Object.keys(m)).to.deep.equal(['schemaVersion', 'mediaType', 'config', 'layers', 'subject', 'annotations']);
  expect(m.config).to.deep.equal({ mediaType: 'application/vnd.cncf.notary.signature', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 });
  expect((await getBlob(registry, repo, m.config)).toString()).to.equal('{}');
  expect(m.layers).to.have.length(1);
  expect(Object.keys(m.layers[0])).to.deep.equal(['mediaType', 'digest', 'size']);
  expect(m.layers[0].mediaType).to.equal(expectMt);
  expect(m.subject).to.deep.equal({ mediaType: subject.mediaType, digest: subject.digest, size: subject.size });
  expect(Object.keys(m.annotations)).to.deep.equal(['io.cncf.notary.x509chain.thumbprint#S256', 'org.opencontainers.image.created']);
  expect(m.annotations['org.opencontainers.image.created']).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const envBytes = await getBlob(registry, repo, m.layers[0]);
  const env = parseEnvelope(envBytes, expectMt);
  verifyIntegrity(env);
  expect({ mediaType: env.payload.targetArtifact.mediaType, digest: env.payload.targetArtifact.digest, size: env.payload.targetArtifact.size }).to.deep.equal({
    mediaType: subject.mediaType,
    digest: subject.digest,
    size: subject.size,
  });
  expect(env.payload.targetArtifact.annotations).to.deep.equal(userMetadata);
  expect(JSON.parse(m.annotations['io.cncf.notary.x509chain.thumbprint#S256'])).to.deep.equal(env.certificateChain.map((c) => createHash('sha256').update(c.raw).digest('hex')));
  const rebuilt = buildSignatureManifest(subject, { bytes: envBytes, mediaType: expectMt }, env.certificateChain, new Date(m.annotations['org.opencontainers.image.created']));
  expect(rebuilt.manifest.equals(bytes), 'signature manifest bytes = notation layout').to.equal(true);
  return { manifest: m, env, descriptor: rebuilt.descriptor };
}

describe('integration: docker sign (remote, OCI layout, local image)', function () {
  this.timeout(300_000);
  let cfg: string;
  let tmp: string;

  before(() => {
    requireEnv('DS_REGISTRY');
    requireEnv('DS_REFERRERS_REGISTRY');
    requireEnv('DOCKER_HOST');
    if (!existsSync(join(ROOT, 'dist', 'cli.cjs'))) throw new Error('dist/ missing: run npm run build');
    tmp = mkdtempSync(join(tmpdir(), 'ds-sign-it-'));
    cfg = join(tmp, 'config');
    cliOk(['key', 'generate', 'it-rsa', '--type', 'rsa-3072', '--config-dir', cfg]);
    cliOk(['key', 'generate', 'it-ec', '--type', 'ec-p256', '--config-dir', cfg]);
  });
  // local images this suite builds (docker rmi'd at the end; the registries keep what was pushed)
  const built: string[] = [];
  const buildTestImage = (image: string, text: string) => {
    sh('bash', [join(ROOT, 'scripts', 'test-image.sh'), image, text]);
    built.push(image);
  };
  /** A new local image in DS_REGISTRY's namespace, signed with plain `docker sign` (local mode: nothing is pushed). */
  const signNewLocalImage = (prefix: string) => {
    const registry = requireEnv('DS_REGISTRY');
    const repo = `sign-it/${prefix}-${randomBytes(4).toString('hex')}`;
    const image = `${registry}/${repo}:v1`;
    buildTestImage(image, `${prefix} ${repo}`);
    const r = JSON.parse(cliOk(['sign', '-o', 'json', image, '--config-dir', cfg]));
    expect(r.mode).to.equal('local');
    return { registry, repo, image, r };
  };
  after(() => {
    for (const image of built) spawnSync('docker', ['rmi', '-f', image], { encoding: 'utf8' });
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const [label, envName, discovery] of [
    ['Distribution 2.8 (referrers tag schema)', 'DS_REGISTRY', 'tag-schema'],
    ['go-containerregistry (Referrers API)', 'DS_REFERRERS_REGISTRY', 'referrers-api'],
  ] as const) {
    it(`${label}: two keys (JWS RSA by tag, COSE EC by digest), ls shows both, manifests have notation's shape`, async () => {
      const registry = requireEnv(envName);
      const repo = `sign-it/app-${randomBytes(4).toString('hex')}`;
      const image = `${registry}/${repo}:v1`;
      buildTestImage(image, `sign-it ${repo}`);
      sh('docker', ['push', '-q', image]);
      const pushed = await getManifest(registry, repo, 'v1');
      const subject = pushed.desc;

      // 1) by tag (resolved once), RSA JWS (default format). Auto mode: the image also exists locally, but docker
      //    pushed it to this repository (RepoDigest), so the registry's manifest is what gets signed.
      const a = JSON.parse(cliOk(['sign', '--key', 'it-rsa', '-o', 'json', image, '--config-dir', cfg]));
      expect(a.mode).to.equal('remote');
      expect(a.subject).to.deep.equal(subject);
      expect(a.envelopeMediaType).to.equal('application/jose+json');
      expect(a.signatureAlgorithm).to.equal('PS384');
      // 2) by digest, EC COSE, user metadata, expiry
      const b = JSON.parse(cliOk(['sign', '--key', 'it-ec', '--signature-format', 'cose', '-a', 'env=prod', '-a', 'build=42', '--expiry', '30d', '-o', 'json', `${registry}/${repo}@${subject.digest}`, '--config-dir', cfg]));
      expect(b.signatureAlgorithm).to.equal('ES256');
      expect(b.envelopeMediaType).to.equal('application/cose');

      const ls = JSON.parse(cliOk(['ls', '-o', 'json', image, '--config-dir', cfg])) as LsJson;
      expect(ls.subject).to.deep.equal(subject);
      expect(ls.signatures.map((s) => s.digest).sort()).to.deep.equal([a.signature.digest, b.signature.digest].sort());
      for (const s of ls.signatures) {
        expect(s.artifactType).to.equal('application/vnd.cncf.notary.signature');
        expect(s.problem).to.equal(undefined);
      }
      expect(ls.signatures.find((s) => s.digest === a.signature.digest)!.envelopeMediaType).to.equal('application/jose+json');
      expect(ls.signatures.find((s) => s.digest === b.signature.digest)!.envelopeMediaType).to.equal('application/cose');
      const lsText = cliOk(['ls', image, '--config-dir', cfg]);
      expect(lsText).to.contain(`${registry}/${repo}@${subject.digest}`).and.contain(a.signature.digest).and.contain(b.signature.digest);

      const ca = await checkSignature(registry, repo, a.signature.digest, subject, 'application/jose+json', undefined);
      const cb = await checkSignature(registry, repo, b.signature.digest, subject, 'application/cose', { env: 'prod', build: '42' });
      expect(cb.env.signedAttributes.expiry!.getTime() - cb.env.signedAttributes.signingTime!.getTime()).to.equal(30 * 86_400_000);
      expect(ca.env.unsignedAttributes.signingAgent).to.match(/^docker-sign\//);

      // discovery exactly as a notation verifier would do it
      if (discovery === 'tag-schema') {
        const idx = await getManifest(registry, repo, `sha256-${subject.digest.slice(7)}`);
        const index = JSON.parse(idx.bytes.toString());
        expect(index.mediaType).to.equal('application/vnd.oci.image.index.v1+json');
        const byDigest = new Map((index.manifests as Descriptor[]).map((d) => [d.digest, d]));
        for (const c of [ca, cb]) {
          const entry = byDigest.get(c.descriptor.digest)!;
          expect(entry, 'listed in the tag-schema index').to.not.equal(undefined);
          expect(entry.artifactType).to.equal('application/vnd.cncf.notary.signature');
          expect(entry.annotations).to.deep.equal(c.descriptor.annotations);
          expect(entry.size).to.equal(c.descriptor.size);
        }
      } else {
        const res = await fetch(`http://${registry}/v2/${repo}/referrers/${subject.digest}`);
        expect(res.status).to.equal(200);
        const index = (await res.json()) as { manifests: Descriptor[] };
        const digests = index.manifests.filter((d) => d.artifactType === 'application/vnd.cncf.notary.signature').map((d) => d.digest);
        expect(digests.sort()).to.deep.equal([ca.descriptor.digest, cb.descriptor.digest].sort());
      }

      const insp = JSON.parse(cliOk(['inspect', '-o', 'json', image, '--config-dir', cfg]));
      expect(insp.signatures).to.have.length(2);
      for (const s of insp.signatures) {
        expect(s.envelope.integrity).to.equal('ok');
        expect(s.envelope.matchesSubject).to.equal(true);
        expect(s.envelope.signingScheme).to.equal('notary.x509');
        expect(s.envelope.certificateChain).to.have.length(2);
      }
      const ecSig = insp.signatures.find((s: { digest: string }) => s.digest === b.signature.digest);
      expect(ecSig.envelope.userMetadata).to.deep.equal({ env: 'prod', build: '42' });
      expect(ecSig.envelope.certificateChain[0].subject).to.equal('CN=it-ec, O=Notary, L=Seattle, ST=WA, C=US');
      expect(ecSig.envelope.expiry).to.equal(b.expiry);
    });
  }

  it('our signatures pass `docker sign verify` with the roots `key generate` put in the trust store', async () => {
    const registry = requireEnv('DS_REGISTRY');
    const repo = `sign-it/verify-${randomBytes(4).toString('hex')}`;
    const image = `${registry}/${repo}:v1`;
    buildTestImage(image, `verify ${repo}`);
    sh('docker', ['push', '-q', image]);
    cliOk(['sign', '--key', 'it-ec', '--signature-format', 'cose', '-m', 'buildId=7', image, '--config-dir', cfg]);
    const vcfg = join(tmp, 'verify-config');
    mkdirSync(vcfg, { recursive: true });
    spawnSync('cp', ['-r', join(cfg, 'truststore'), vcfg]);
    writeFileSync(join(vcfg, 'trustpolicy.json'), JSON.stringify({
      version: '1.0',
      trustPolicies: [{ name: 'it', registryScopes: [`${registry}/${repo}`], signatureVerification: { level: 'strict' }, trustStores: ['ca:it-ec'], trustedIdentities: ['x509.subject: C=US, ST=WA, L=Seattle, O=Notary, CN=it-ec'] }],
    }));
    const ok = JSON.parse(cliOk(['verify', '-o', 'json', image, '--config-dir', vcfg]));
    expect(ok.verified).to.equal(true);
    expect(ok.userMetadata).to.deep.equal({ buildId: '7' });
    // user metadata required at verification (notation verify -m): printed on success, a mismatch fails
    expect(cliOk(['verify', '-m', 'buildId=7', image, '--config-dir', vcfg])).to.include('The artifact was signed with the following user metadata.\n\nKEY      VALUE\nbuildId  7\n');
    const mismatch = cli(['verify', '-m', 'buildId=8', image, '--config-dir', vcfg]);
    expect(mismatch.status).to.equal(1);
    expect(mismatch.stderr).to.include('Error: signature verification failed: unable to find specified metadata in any signatures');
    // trusting only the other key's root must fail
    writeFileSync(join(vcfg, 'trustpolicy.json'), JSON.stringify({
      version: '1.0',
      trustPolicies: [{ name: 'it', registryScopes: [`${registry}/${repo}`], signatureVerification: { level: 'strict' }, trustStores: ['ca:it-rsa'], trustedIdentities: ['*'] }],
    }));
    const bad = cli(['verify', image, '--config-dir', vcfg]);
    expect(bad.status).to.equal(1);
  });

  it('a third signature added later keeps the earlier ones (tag-schema index merged)', async () => {
    const registry = requireEnv('DS_REGISTRY');
    const repo = `sign-it/many-${randomBytes(4).toString('hex')}`;
    const image = `${registry}/${repo}:v1`;
    buildTestImage(image, `many ${repo}`);
    sh('docker', ['push', '-q', image]);
    const digests: string[] = [];
    for (const [key, fmt] of [['it-rsa', 'jws'], ['it-ec', 'cose'], ['it-ec', 'jws']]) {
      digests.push(JSON.parse(cliOk(['sign', '--remote', '--key', key!, '--signature-format', fmt!, '-o', 'json', image, '--config-dir', cfg])).signature.digest);
    }
    const ls = JSON.parse(cliOk(['ls', '-o', 'json', image, '--config-dir', cfg])) as LsJson;
    expect(ls.signatures.map((s) => s.digest).sort()).to.deep.equal([...new Set(digests)].sort());
    expect(new Set(digests).size).to.equal(3);
  });

  it('--oci-layout signs offline (no engine, no registry) into the layout', async () => {
    const layout = join(tmp, 'layout');
    mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
    const put = (b: Buffer) => {
      const d = sha256(b);
      writeFileSync(join(layout, 'blobs', 'sha256', d.slice(7)), b);
      return d;
    };
    const cfgBlob = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: put(cfgBlob), size: cfgBlob.length }, layers: [] }));
    const md = put(manifest);
    const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: md, size: manifest.length };
    writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...subject, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] }));
    const offline = { DOCKER_HOST: 'unix:///nonexistent/docker.sock', HTTP_PROXY: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9' };
    const r = JSON.parse(cliOk(['sign', '--oci-layout', layout, '--key', 'it-ec', '--signature-format', 'cose', '-o', 'json', 'v1', '--config-dir', cfg], offline));
    expect(r.mode).to.equal('layout');
    expect(r.subject).to.deep.equal(subject);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    const entry = index.manifests.find((d: Descriptor) => d.digest === r.signature.digest);
    expect(entry, 'signature manifest listed in index.json').to.not.equal(undefined);
    const sigBytes = readFileSync(join(layout, 'blobs', 'sha256', r.signature.digest.slice(7)));
    expect(sha256(sigBytes)).to.equal(r.signature.digest);
    const m = JSON.parse(sigBytes.toString());
    expect(m.subject).to.deep.equal(subject);
    const envBytes = readFileSync(join(layout, 'blobs', 'sha256', m.layers[0].digest.slice(7)));
    const env = parseEnvelope(envBytes, 'application/cose');
    verifyIntegrity(env);
    expect(env.payload.targetArtifact).to.deep.equal(subject);
    const ls = JSON.parse(cliOk(['ls', '--oci-layout', layout, '-o', 'json', 'v1', '--config-dir', cfg], offline)) as LsJson;
    expect(ls.signatures.map((s) => s.digest)).to.deep.equal([r.signature.digest]);
  });

  it('local image: signed into the local store, listed with --local, pushed with `docker sign push`', async () => {
    const { registry, repo, image, r } = signNewLocalImage('local');
    expect(r.pending).to.equal(true);
    const notThere = await fetch(`http://${registry}/v2/${repo}/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT } });
    expect(notThere.status, 'nothing pushed by signing a local image').to.equal(404);
    const lsLocal = JSON.parse(cliOk(['ls', '--local', '-o', 'json', image, '--config-dir', cfg])) as LsJson;
    expect(lsLocal.subject.digest).to.equal(r.subject.digest);
    expect(lsLocal.signatures.map((s) => s.digest)).to.deep.equal([r.signature.digest]);
    cliOk(['push', '-q', image, '--config-dir', cfg]);
    const pushed = await getManifest(registry, repo, 'v1');
    expect(pushed.desc).to.deep.equal(r.subject);
    await checkSignature(registry, repo, r.signature.digest, r.subject, 'application/jose+json', undefined);
  });

  it('verify --local: the signature kept in the local store, only for the image the engine has now', () => {
    const { registry, repo, image, r } = signNewLocalImage('vlocal');
    const policyFile = join(cfg, 'trustpolicy.json');
    writeFileSync(policyFile, JSON.stringify({
      version: '1.0',
      trustPolicies: [{ name: 'local', registryScopes: [`${registry}/${repo}`], signatureVerification: { level: 'strict' }, trustStores: ['ca:it-ec', 'ca:it-rsa'], trustedIdentities: ['*'] }],
    }));
    try {
      const ok = cli(['verify', '--local', image, '--config-dir', cfg]);
      expect(ok.status, ok.stderr).to.equal(0);
      expect(ok.stdout).to.equal(`Successfully verified signature for ${registry}/${repo}@${r.subject.digest}\n`);
      const json = JSON.parse(cliOk(['verify', '--local', '-o', 'json', image, '--config-dir', cfg]));
      expect(json).to.include({ verified: true, digest: r.subject.digest, verifiedBy: r.signature.digest, policy: 'local' });
      // nothing was pushed: the registry has neither the image nor its signature
      const remote = cli(['verify', image, '--config-dir', cfg]);
      expect(remote.status).to.not.equal(0);
      // rebuilt under the same name: the stored manifest (and its signature) is not for this image
      buildTestImage(image, `vlocal rebuilt ${repo}`);
      const changed = cli(['verify', '--local', image, '--config-dir', cfg]);
      expect(changed.status).to.equal(1);
      expect(changed.stderr).to.include('is not the image its stored manifest was made for').and.include(`Hint: the image was rebuilt or re-tagged since it was signed; sign it again with \`docker sign ${image}\``);
      // a local image never signed here
      const other = `${registry}/${repo}-unsigned:v1`;
      buildTestImage(other, `vlocal unsigned ${repo}`);
      const unsigned = cli(['verify', '--local', other, '--config-dir', cfg]);
      expect(unsigned.status).to.equal(1);
      expect(unsigned.stderr).to.include('has no manifest in the local store');
      sh('docker', ['rmi', '-f', other]);
      expect(cli(['verify', '--local', '--oci-layout', tmp, image, '--config-dir', cfg]).status).to.equal(2);
    } finally {
      rmSync(policyFile, { force: true });
    }
  });

  it('fails cleanly: no key configured, unknown tag, bad flags', () => {
    const empty = join(tmp, 'empty');
    const registry = requireEnv('DS_REGISTRY');
    const noKey = cli(['sign', '--remote', `${registry}/sign-it/none:v1`, '--config-dir', empty]);
    expect(noKey.status).to.equal(2);
    expect(noKey.stderr).to.match(/no signing key is configured/).and.match(/Hint: create one/);
    const missing = cli(['sign', '--remote', `${registry}/sign-it/missing-${randomBytes(3).toString('hex')}:nope`, '--config-dir', cfg]);
    expect(missing.status).to.not.equal(0);
    expect(missing.stderr).to.match(/^Error: /m).and.not.match(/\n\s+at /);
    const badExpiry = cli(['sign', '--remote', '--expiry', '3 days', `${registry}/x:v1`, '--config-dir', cfg]);
    expect(badExpiry.status).to.equal(2);
    expect(badExpiry.stderr).to.match(/invalid duration/);
    const badAnn = cli(['sign', '--remote', '-a', 'novalue', `${registry}/x:v1`, '--config-dir', cfg]);
    expect(badAnn.status).to.equal(2);
    expect(badAnn.stderr).to.match(/invalid annotation/);
  });

  for (const [label, envName] of [['Distribution 2.8 (referrers tag schema)', 'DS_REGISTRY'], ['go-containerregistry (Referrers API)', 'DS_REFERRERS_REGISTRY']] as const) {
    it(`${label}: 6 docker sign processes at once on one image: all 6 signatures are discoverable`, async () => {
      const registry = requireEnv(envName);
      const repo = `sign-it/many-${randomBytes(4).toString('hex')}`;
      const image = `${registry}/${repo}:v1`;
      buildTestImage(image, `sign-it ${repo}`);
      sh('docker', ['push', '-q', image]);
      sh('docker', ['rmi', image]);
      const subject = (await getManifest(registry, repo, 'v1')).desc;
      const runs = Array.from({ length: 6 }, async (_, i) => {
        const child = spawn(process.execPath, [BIN, '--remote', '-o', 'json', '--key', i % 2 ? 'it-ec' : 'it-rsa', `${registry}/${repo}@${subject.digest}`, '--config-dir', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (c) => { out += c; });
        child.stderr.on('data', (c) => { err += c; });
        const [code] = (await once(child, 'exit')) as [number];
        expect(code, err).to.equal(0);
        return JSON.parse(out).signature.digest as string;
      });
      const made = await Promise.all(runs);
      const listed = JSON.parse(cliOk(['ls', '-o', 'json', `${registry}/${repo}@${subject.digest}`, '--config-dir', cfg])) as LsJson;
      expect(listed.signatures.map((x) => x.digest).sort()).to.deep.equal([...made].sort());
    });
  }
});
