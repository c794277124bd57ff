import { expect } from 'chai';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireEnv, runCli, uniqueRepo, pushTestImage } from './verify-helpers.js';

// Everything through the CLI, as two signing parties and one consumer would do it: key generate, sign (remote),
// cert add, policy init / validate / show / explain, verify.
describe('integration: multi-party signing and verification through the docker-sign CLI', function () {
  this.timeout(180_000);
  const WABBIT = 'C=US, ST=WA, L=Seattle, O=Wabbit Networks, CN=Wabbit Networks Signer';
  const ACME = 'C=US, ST=WA, L=Seattle, O=Acme Rockets, CN=Acme Rockets Release';

  async function ok(args: string[]) {
    const r = await runCli(args);
    expect(r.code, `docker-sign ${args.join(' ')}\n${r.stderr}`).to.equal(0);
    return r;
  }

  it('a policy requiring the second party passes only after that party signed; audit allows before', async () => {
    const registry = requireEnv('DS_REGISTRY');
    const repo = uniqueRepo('cli-multi');
    await pushTestImage(registry, repo);
    const ref = `${registry}/${repo}:v1`;
    const wabbitCfg = await mkdtemp(join(tmpdir(), 'ds-wabbit-'));
    const acmeCfg = await mkdtemp(join(tmpdir(), 'ds-acme-'));
    const consumer = await mkdtemp(join(tmpdir(), 'ds-consumer-'));
    await ok(['key', 'generate', 'wabbit', '--type', 'ec-p256', '--subject', WABBIT, '--default', '--config-dir', wabbitCfg]);
    await ok(['key', 'generate', 'acme', '--type', 'ec-p256', '--subject', ACME, '--default', '--config-dir', acmeCfg]);
    // the consumer trusts both roots (copied from the parties' trust stores), but requires Acme's identity
    for (const [cfg, name] of [[wabbitCfg, 'wabbit'], [acmeCfg, 'acme']] as const) {
      const dir = join(cfg, 'truststore', 'x509', 'ca', name);
      const files = await readdir(dir);
      expect(files.length).to.be.greaterThan(0);
      if (name === 'wabbit') {
        // a file that is no certificate, given with a good one: exit 2, named, and neither is added
        const notCert = join(consumer, 'notes.txt');
        await writeFile(notCert, 'root:x:0:0:root:/root:/bin/bash\n');
        const bad = await runCli(['cert', 'add', '--type', 'ca', '--store', name, join(dir, files[0]!), notCert, '--config-dir', consumer]);
        expect(bad.code, bad.stderr).to.equal(2);
        expect(bad.stderr).to.match(/could not parse a certificate from ".*notes\.txt": neither PEM nor DER certificates/);
        expect(bad.stderr).to.not.match(/internal error|\n\s+at /);
        expect(await readdir(join(consumer, 'truststore')).catch(() => [])).to.deep.equal([]);
      }
      await ok(['cert', 'add', '--type', 'ca', '--store', name, ...files.map((f) => join(dir, f)), '--config-dir', consumer]);
    }
    await ok(['policy', 'init', '--name', 'acme-required', '--scope', `${registry}/${repo}`, '--store', 'ca:wabbit', '--store', 'ca:acme', '--identity', `x509.subject: ${ACME}`, '--config-dir', consumer]);
    const v = await ok(['policy', 'validate', '--config-dir', consumer, '-o', 'json']);
    expect(JSON.parse(v.stdout).statements[0].name).to.equal('acme-required');

    await ok(['sign', '--remote', ref, '--config-dir', wabbitCfg]);
    const first = await runCli(['verify', ref, '--config-dir', consumer]);
    expect(first.code).to.equal(1);
    expect(first.stderr).to.match(/signature verification failed for all the signatures associated with .*\(authenticity: signing certificate .*Wabbit Networks Signer.* does not match the X\.509 trusted identities/);
    const explain = await ok(['policy', 'explain', ref, '--config-dir', consumer]);
    expect(explain.stdout).to.match(/authenticity:\s+FAIL/);
    expect(explain.stdout).to.match(/Result: NOT VERIFIED/);

    // audit: the same state is allowed, the failure logged
    const audit = await mkdtemp(join(tmpdir(), 'ds-consumer-audit-'));
    for (const name of ['wabbit', 'acme']) {
      const cfg = name === 'wabbit' ? wabbitCfg : acmeCfg;
      const dir = join(cfg, 'truststore', 'x509', 'ca', name);
      await ok(['cert', 'add', '--type', 'ca', '--store', name, ...(await readdir(dir)).map((f) => join(dir, f)), '--config-dir', audit]);
    }
    await ok(['policy', 'init', '--level', 'audit', '--store', 'ca:wabbit', '--store', 'ca:acme', '--identity', `x509.subject: ${ACME}`, '--config-dir', audit]);
    const a = await ok(['verify', ref, '--config-dir', audit]);
    expect(a.stderr).to.match(/Warning: authenticity was set to "log" and failed with error: signing certificate .* does not match the X\.509 trusted identities/);

    await ok(['sign', '--remote', ref, '--signature-format', 'cose', '--config-dir', acmeCfg]);
    const second = await ok(['verify', ref, '--config-dir', consumer, '-o', 'json']);
    const report = JSON.parse(second.stdout);
    expect(report.verified).to.equal(true);
    expect(report.signatures.length).to.equal(2);
    expect(report.signatures[1].signer.subject).to.match(/Acme Rockets Release/);
    expect(report.signatures[1].envelopeMediaType).to.equal('application/cose');
  });

  it('policy validate / import / show report the exact reason for invalid policies (exit 2) and round-trip valid ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ds-policy-cli-'));
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ version: '1.0', trustPolicies: [
      { name: 'a', registryScopes: ['reg.io/app'], signatureVerification: { level: 'strict' }, trustStores: ['ca:x'], trustedIdentities: ['*'] },
      { name: 'b', registryScopes: ['reg.io/app'], signatureVerification: { level: 'audit' }, trustStores: ['ca:x'], trustedIdentities: ['*'] },
    ] }));
    const v = await runCli(['policy', 'validate', bad]);
    expect(v.code).to.equal(2);
    expect(v.stderr).to.match(/registry scope "reg.io\/app" is present in multiple trust policy statements \("a" and "b"\)/);
    const cfg = await mkdtemp(join(tmpdir(), 'ds-policy-cfg-'));
    const imp = await runCli(['policy', 'import', bad, '--config-dir', cfg]);
    expect(imp.code).to.equal(2);
    const good = join(dir, 'good.json');
    await writeFile(good, JSON.stringify({ version: '1.0', trustPolicies: [{ name: 'a', registryScopes: ['*'], signatureVerification: { level: 'permissive', override: { revocation: 'skip' } }, trustStores: ['ca:x'], trustedIdentities: ['*'] }] }));
    await ok(['policy', 'import', good, '--config-dir', cfg]);
    expect((await runCli(['policy', 'import', good, '--config-dir', cfg])).code).to.equal(2); // exists, no --force
    const show = await ok(['policy', 'show', '--config-dir', cfg, '-o', 'json']);
    const j = JSON.parse(show.stdout);
    expect(j.valid).to.equal(true);
    expect(j.policy.trustPolicies[0].signatureVerification.override).to.deep.equal({ revocation: 'skip' });
    const val = await ok(['policy', 'validate', '--config-dir', cfg, '-o', 'json']);
    expect(JSON.parse(val.stdout).statements[0].enforcement).to.deep.equal({ integrity: 'enforce', authenticity: 'enforce', authenticTimestamp: 'log', expiry: 'log', revocation: 'skip' });
    // read as notation reads it (Go's encoding/json): key names in any case; unknown fields and data after the
    // document are ignored, with a warning each
    const lax = join(dir, 'lax.json');
    await writeFile(lax, '{"Version":"1.0","TrustPolicies":[{"Name":"a","registryScopes":["*"],"signatureVerification":{"Level":"audit"},"trustStores":["ca:x"],"trustedIdentities":["*"],"comment":"x"}]}\n# notes\n');
    const imp2 = await runCli(['policy', 'import', lax, '--config-dir', cfg, '--force']);
    expect(imp2.code, imp2.stderr).to.equal(0);
    expect(imp2.stderr).to.match(/Warning: .*unknown field "comment"/).and.match(/Warning: the data after the JSON document/);
    const installed = JSON.parse(await readFile(join(cfg, 'trustpolicy.json'), 'utf8'));
    expect(installed.trustPolicies[0]).to.include({ name: 'a' }).and.not.have.property('comment');
    await writeFile(join(cfg, 'trustpolicy.json'), await readFile(lax)); // as written, for show
    const show2 = JSON.parse((await ok(['policy', 'show', '--config-dir', cfg, '-o', 'json'])).stdout);
    expect(show2.valid).to.equal(true);
    expect(show2.policy.TrustPolicies[0].comment).to.equal('x');
    expect(show2.warnings).to.have.length(2);
  });
});
