import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { generateTestKey, type GeneratedKey } from '../src/pki/generate.js';
import { openRepository } from '../src/registry/index.js';
import { verifyReference } from '../src/trust/index.js';
import { configPaths } from '../src/config/dir.js';
import { OciLayout } from '../src/oci/layout.js';
import { createEnvelope, buildSignatureManifest } from '../src/signature/index.js';
import { signerFromKey } from '../src/pki/keys.js';
import type { ArtifactTarget } from '../src/oci/target.js';
import { loadCase } from '../test/trust/vectors.js';
import {
  ROOT, requireEnv, uniqueRepo, pushVectorCase, vectorConfig, makeConfig, runCli, pushTestImage, signRemote, signRemoteAt,
  generateChainValidBetween, registryBlobPath,
} from './verify-helpers.js';

const WABBIT_DN = 'C=US, ST=WA, L=Seattle, O=Wabbit Networks, CN=Wabbit Networks Signer';
const ACME_DN = 'C=US, ST=WA, L=Seattle, O=Acme Rockets, CN=Acme Rockets Release';
const DAY = 86_400_000;

function statement(name: string, scopes: string[], level: string, stores: string[], identities: string[], extra: Record<string, unknown> = {}) {
  return { name, registryScopes: scopes, signatureVerification: { level, ...extra }, trustStores: stores, trustedIdentities: identities };
}

describe('integration: docker sign verify against Distribution 2.8 (DS_REGISTRY)', function () {
  this.timeout(180_000);
  let registry: string;
  let wabbit: GeneratedKey;
  let acme: GeneratedKey;

  before(async () => {
    registry = requireEnv('DS_REGISTRY');
    requireEnv('DS_REGISTRY_DATA');
    if (!existsSync(join(ROOT, 'dist', 'cli.cjs'))) throw new Error('dist/ missing: run npm run build');
    const ping = await fetch(`http://${registry}/v2/`).catch((e: Error) => e);
    if (ping instanceof Error || ping.status !== 200) throw new Error(`registry ${registry} is not reachable`);
    [wabbit, acme] = await Promise.all([
      generateTestKey({ name: 'Wabbit Networks', type: 'ec-p256', subject: WABBIT_DN }),
      generateTestKey({ name: 'Acme Rockets', type: 'rsa-3072', subject: ACME_DN }),
    ]);
  });

  describe('the notation vectors, pushed as exact bytes, verified through the CLI', () => {
    const reasons: Record<string, RegExp> = {
      'jws-tampered-payload': /\(integrity: .*signature/,
      'jws-wrong-digest': /\(integrity: content descriptor mismatch/,
      'jws-untrusted-root': /\(authenticity: the signature's certificate chain does not contain any trusted certificate\)/,
    };
    for (const name of ['jws-valid', 'cose-valid', 'jws-tampered-payload', 'jws-wrong-digest', 'jws-untrusted-root']) {
      it(`${name}: same exit code and message as notation 1.3.2`, async () => {
        const c = loadCase(name);
        const repo = uniqueRepo(name);
        await pushVectorCase(registry, repo, name);
        const cfg = await vectorConfig();
        const pinned = `${registry}/${repo}@${c.subject.digest}`;
        const r = await runCli(['verify', '--config-dir', cfg, `${registry}/${repo}:v1`]);
        expect(r.code, r.stderr).to.equal(c.expected.notationVerify.exit);
        if (c.expected.notationVerify.exit === 0) {
          expect(r.stdout.trim()).to.equal(`Successfully verified signature for ${pinned}`);
        } else {
          expect(r.stderr).to.include(`Error: signature verification failed for all the signatures associated with ${pinned}`);
          expect(r.stderr).to.match(reasons[name]!);
        }
        const j = await runCli(['verify', '--config-dir', cfg, pinned, '-o', 'json']);
        const report = JSON.parse(j.stdout);
        expect(report.verified).to.equal(c.expected.expect === 'valid');
        expect(report.digest).to.equal(c.subject.digest);
        expect(report.signatures[0].digest).to.equal(c.signatureDescriptor.digest);
      });
    }
  });

  it('multi-party: a policy requiring the second party passes only after its signature exists', async () => {
    const repo = uniqueRepo('multi');
    const subject = await pushTestImage(registry, repo);
    const cfg = await makeConfig(
      { version: '1.0', trustPolicies: [statement('acme-required', [`${registry}/${repo}`], 'strict', ['ca:wabbit', 'ca:acme'], [`x509.subject: ${ACME_DN}`])] },
      { 'ca:wabbit': [wabbit.rootPem], 'ca:acme': [acme.rootPem] },
    );
    await signRemote(registry, repo, subject, wabbit);
    const only = await runCli(['verify', '--config-dir', cfg, `${registry}/${repo}:v1`, '-o', 'json']);
    expect(only.code).to.equal(1);
    const r1 = JSON.parse(only.stdout);
    expect(r1.code).to.equal('TRUSTED_IDENTITY');
    expect(r1.signatures).to.have.length(1);
    expect(only.stderr).to.match(/authenticity: signing certificate .* does not match the X\.509 trusted identities/);
    const second = await signRemote(registry, repo, subject, acme, { format: 'cose' });
    const both = await runCli(['verify', '--config-dir', cfg, `${registry}/${repo}:v1`, '-o', 'json']);
    expect(both.code, both.stderr).to.equal(0);
    const r2 = JSON.parse(both.stdout);
    expect(r2.verified).to.equal(true);
    expect(r2.verifiedBy).to.equal(second.signature.digest);
  });

  it('audit level logs the failed authenticity and allows', async () => {
    const repo = uniqueRepo('audit');
    const subject = await pushTestImage(registry, repo);
    await signRemote(registry, repo, subject, wabbit);
    const cfg = await makeConfig(
      { version: '1.0', trustPolicies: [statement('audit', [`${registry}/${repo}`], 'audit', ['ca:acme'], [`x509.subject: ${ACME_DN}`])] },
      { 'ca:acme': [acme.rootPem] },
    );
    const r = await runCli(['verify', '--config-dir', cfg, `${registry}/${repo}:v1`]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('Successfully verified signature for');
    expect(r.stderr).to.match(/Warning: authenticity was set to "log" and failed with error: the signature.s certificate chain does not contain any trusted certificate/);
  });

  it('skip level does not fetch signatures (no referrers or signature request reaches the registry)', async () => {
    const repo = uniqueRepo('skip');
    const subject = await pushTestImage(registry, repo);
    await signRemote(registry, repo, subject, wabbit);
    const real = openRepository(`${registry}/${repo}`);
    const touched: string[] = [];
    const spy = new Proxy(real, {
      get(t, p, recv) {
        const v = Reflect.get(t, p, recv);
        if (typeof v !== 'function') return v;
        return (...a: unknown[]) => {
          touched.push(String(p));
          return (v as (...x: unknown[]) => unknown).apply(t, a);
        };
      },
    }) as ArtifactTarget;
    const cfg = await makeConfig({ version: '1.0', trustPolicies: [{ name: 'unsigned', registryScopes: [`${registry}/${repo}`], signatureVerification: { level: 'skip' } }] });
    const report = await verifyReference(`${registry}/${repo}:v1`, { configPaths: configPaths(cfg), target: spy });
    expect(report.verified).to.equal(true);
    expect(report.level).to.equal('skip');
    expect(report.signatures).to.deep.equal([]);
    expect(touched).to.deep.equal(['fetchManifest']);
    const cli = await runCli(['verify', '--config-dir', cfg, `${registry}/${repo}:v1`]);
    expect(cli.code).to.equal(0);
    expect(cli.stdout).to.match(/Trust policy is configured to skip signature verification/);
  });

  it('a corrupted envelope blob in the registry storage → denied with DIGEST_MISMATCH', async () => {
    const repo = uniqueRepo('corrupt');
    const subject = await pushTestImage(registry, repo);
    const s = await signRemote(registry, repo, subject, wabbit);
    const cfg = await makeConfig({ version: '1.0', trustPolicies: [statement('p', ['*'], 'audit', ['ca:wabbit'], ['*'])] }, { 'ca:wabbit': [wabbit.rootPem] });
    expect((await runCli(['verify', '--config-dir', cfg, `${registry}/${repo}:v1`])).code).to.equal(0);
    const file = registryBlobPath(s.envelope.digest);
    const bytes = await readFile(file);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0x01;
    await writeFile(file, bytes);
    const r = await runCli(['verify', '--config-dir', cfg, `${registry}/${repo}:v1`, '-o', 'json']);
    expect(r.code).to.equal(1);
    const report = JSON.parse(r.stdout);
    expect(report.verified).to.equal(false);
    expect(report.code).to.equal('DIGEST_MISMATCH');
    expect(report.reason).to.match(/digest mismatch/i);
  });

  it('an expired signing certificate → denied (authenticTimestamp) under strict, logged under permissive', async () => {
    const repo = uniqueRepo('expired');
    const subject = await pushTestImage(registry, repo);
    const now = Date.now();
    const old = await generateChainValidBetween(WABBIT_DN, new Date(now - 10 * DAY), new Date(now - 2 * DAY));
    await signRemoteAt(registry, repo, subject, old, new Date(now - 5 * DAY));
    const strict = await makeConfig({ version: '1.0', trustPolicies: [statement('p', ['*'], 'strict', ['ca:old'], ['*'])] }, { 'ca:old': [old.rootPem] });
    const r = await runCli(['verify', '--config-dir', strict, `${registry}/${repo}:v1`, '-o', 'json']);
    expect(r.code).to.equal(1);
    const rep = JSON.parse(r.stdout);
    expect(rep.code).to.equal('AUTHENTIC_TIMESTAMP');
    expect(rep.signatures[0].reason).to.match(/verification time is after certificate .* validity period/);
    const perm = await makeConfig({ version: '1.0', trustPolicies: [statement('p', ['*'], 'permissive', ['ca:old'], ['*'])] }, { 'ca:old': [old.rootPem] });
    expect((await runCli(['verify', '--config-dir', perm, `${registry}/${repo}:v1`])).code).to.equal(0);
  });

  it('no matching registry scope → denied with the reason', async () => {
    const repo = uniqueRepo('noscope');
    const subject = await pushTestImage(registry, repo);
    await signRemote(registry, repo, subject, wabbit);
    const cfg = await makeConfig({ version: '1.0', trustPolicies: [statement('other', [`${registry}/somewhere/else`], 'strict', ['ca:wabbit'], ['*'])] }, { 'ca:wabbit': [wabbit.rootPem] });
    const r = await runCli(['verify', '--config-dir', cfg, `${registry}/${repo}:v1`]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/signature verification failed: artifact ".*" has no applicable trust policy statement/);
  });

  it('a missing trust store → denied naming the store', async () => {
    const repo = uniqueRepo('nostore');
    const subject = await pushTestImage(registry, repo);
    await signRemote(registry, repo, subject, wabbit);
    const cfg = await makeConfig({ version: '1.0', trustPolicies: [statement('p', ['*'], 'strict', ['ca:absent'], ['*'])] });
    const r = await runCli(['verify', '--config-dir', cfg, `${registry}/${repo}:v1`]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/trust store "ca:absent" does not exist/);
  });

  it('--oci-layout: verifies offline from a layout directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ds-verify-layout-'));
    const layout = await OciLayout.open(dir, { create: true });
    const c = loadCase('cose-valid');
    // subject manifest bytes exactly as in the vectors; the layout does not require its blobs for verification
    await layout.pushManifest(c.subject, c.subjectBytes, 'v1');
    const env = await createEnvelope({ payload: { targetArtifact: c.subject }, format: 'jws', signer: signerFromKey(wabbit.privateKey, wabbit.chain) });
    const built = buildSignatureManifest(c.subject, env, wabbit.chain);
    await layout.pushBlob(built.config.descriptor, built.config.bytes);
    await layout.pushBlob(built.envelopeDescriptor, env.bytes);
    await layout.pushReferrer(built.descriptor, built.manifest, c.subject);
    const cfg = await makeConfig({ version: '1.0', trustPolicies: [statement('local', ['local/app'], 'strict', ['ca:wabbit'], [`x509.subject: ${WABBIT_DN}`])] }, { 'ca:wabbit': [wabbit.rootPem] });
    const r = await runCli(['verify', '--config-dir', cfg, '--oci-layout', dir, 'local/app:v1'], { DOCKER_SIGN_INSECURE_REGISTRIES: '' });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal(`Successfully verified signature for local/app@${c.subject.digest}`);
  });

  it('a registry with the Referrers API (DS_REFERRERS_REGISTRY): same verification', async () => {
    const refs = requireEnv('DS_REFERRERS_REGISTRY');
    const repo = uniqueRepo('refapi');
    const subject = await pushTestImage(refs, repo);
    await signRemote(refs, repo, subject, wabbit);
    const cfg = await makeConfig({ version: '1.0', trustPolicies: [statement('p', ['*'], 'strict', ['ca:wabbit'], [`x509.subject: ${WABBIT_DN}`])] }, { 'ca:wabbit': [wabbit.rootPem] });
    const r = await runCli(['verify', '--config-dir', cfg, `${refs}/${repo}:v1`]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal(`Successfully verified signature for ${refs}/${repo}@${subject.digest}`);
    const bad = await makeConfig({ version: '1.0', trustPolicies: [statement('p', ['*'], 'strict', ['ca:acme'], ['*'])] }, { 'ca:acme': [acme.rootPem] });
    expect((await runCli(['verify', '--config-dir', bad, `${refs}/${repo}:v1`])).code).to.equal(1);
  });

  describe('docker sign pull', () => {
    before(function () {
      requireEnv('DOCKER_HOST');
    });

    it('pulls by the verified digest and tags; a failed verification pulls nothing', async () => {
      const repo = uniqueRepo('pull');
      const image = `${registry}/${repo}`;
      execFileSync('bash', [join(ROOT, 'scripts', 'test-image.sh'), `${image}:1`, `verify pull ${repo}`], { stdio: 'pipe' });
      execFileSync('docker', ['push', '-q', `${image}:1`], { stdio: 'pipe' });
      execFileSync('docker', ['rmi', `${image}:1`], { stdio: 'pipe' });
      const { descriptor } = await openRepository(image).fetchManifest('1');
      const cfgWabbit = await makeConfig({ version: '1.0', trustPolicies: [statement('p', ['*'], 'strict', ['ca:wabbit'], [`x509.subject: ${WABBIT_DN}`])] }, { 'ca:wabbit': [wabbit.rootPem] });
      // unsigned: nothing pulled
      const denied = await runCli(['pull', '--config-dir', cfgWabbit, `${image}:1`]);
      expect(denied.code).to.equal(1);
      expect(denied.stderr).to.match(/no signature is associated with/);
      let absent = true;
      try {
        execFileSync('docker', ['image', 'inspect', `${image}:1`], { stdio: 'pipe' });
        absent = false;
      } catch {
        absent = true;
      }
      expect(absent, 'image must not be pulled when verification fails').to.equal(true);
      await signRemote(registry, repo, descriptor, wabbit);
      const ok = await runCli(['pull', '--config-dir', cfgWabbit, `${image}:1`, '-o', 'json']);
      expect(ok.code, ok.stderr).to.equal(0);
      const out = JSON.parse(ok.stdout);
      expect(out.pulled).to.equal(`${image}@${descriptor.digest}`);
      expect(out.tagged).to.equal(`${image}:1`);
      const inspect = JSON.parse(execFileSync('docker', ['image', 'inspect', `${image}:1`]).toString())[0];
      expect(inspect.RepoDigests).to.include(`${image}@${descriptor.digest}`);
      execFileSync('docker', ['rmi', '-f', `${image}:1`], { stdio: 'pipe' });
    });
  });
});
