import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTestKey } from '../src/pki/generate.js';
import { BIN, ROOT, makeConfig, pushTestImage, requireEnv, signRemote, uniqueRepo } from './verify-helpers.js';

/**
 * The built CLI (bin/docker-sign.js → dist/) on the fast path (dist/fast/<command>.cjs, no oclif) and forced through oclif
 * (DOCKER_SIGN_NO_FAST_PATH=1) against a real registry: same stdout, stderr and exit code. A preload records
 * whether oclif was loaded, so the test knows which path ran.
 */
describe('integration: fast path vs oclif (built CLI, real registry)', function () {
  this.timeout(180_000);
  let dir: string;
  let registry: string;
  let repo: string;
  let okCfg: string;
  let badCfg: string;
  let digest: string;

  before(async () => {
    if (!existsSync(join(ROOT, 'dist', 'fast', 'verify.cjs'))) throw new Error('dist/ missing: run npm run build');
    registry = requireEnv('DS_REGISTRY');
    dir = mkdtempSync(join(tmpdir(), 'ds-fastpath-it-'));
    writeFileSync(
      join(dir, 'probe.mjs'),
      "import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => { if (process.env.DS_PROBE_OUT) writeFileSync(process.env.DS_PROBE_OUT, globalThis.oclif ? 'oclif' : 'fast'); });\n",
    );
    const key = await generateTestKey({ name: 'Fast Path', type: 'ec-p256', subject: 'C=US, ST=WA, O=FastPath, CN=Fast Path Signer' });
    repo = uniqueRepo('fastpath');
    const subject = await pushTestImage(registry, repo);
    digest = subject.digest;
    await signRemote(registry, repo, subject, key);
    const statement = (identity: string) => ({
      version: '1.0',
      trustPolicies: [{ name: 'fp', registryScopes: [`${registry}/${repo}`], signatureVerification: { level: 'strict' }, trustStores: ['ca:fp'], trustedIdentities: [identity] }],
    });
    okCfg = await makeConfig(statement('x509.subject: C=US, ST=WA, O=FastPath, CN=Fast Path Signer'), { 'ca:fp': [key.rootPem] });
    badCfg = await makeConfig(statement('x509.subject: C=US, ST=WA, O=Someone Else, CN=Other'), { 'ca:fp': [key.rootPem] });
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
    const out = join(dir, `probe-${Math.random().toString(16).slice(2)}`);
    const r = spawnSync(process.execPath, ['--import', join(dir, 'probe.mjs'), BIN, ...args], {
      encoding: 'utf8',
      env: { ...process.env, DOCKER_SIGN_NO_FAST_PATH: '', ...env, DS_PROBE_OUT: out },
      timeout: 120_000,
    });
    const path = existsSync(out) ? readFileSync(out, 'utf8') : 'none';
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, path };
  }

  function same(args: string[], expectPath: 'fast' | 'oclif', expectCode: number, normalize: (s: string) => string = (s) => s) {
    const fast = cli(args);
    const slow = cli(args, { DOCKER_SIGN_NO_FAST_PATH: '1' });
    expect(slow.path, 'forced run must use oclif').to.equal('oclif');
    expect(fast.path, `docker sign ${args.join(' ')}`).to.equal(expectPath);
    expect({ code: fast.code, stdout: normalize(fast.stdout), stderr: normalize(fast.stderr) }).to.deep.equal({
      code: slow.code,
      stdout: normalize(slow.stdout),
      stderr: normalize(slow.stderr),
    });
    expect(fast.code, fast.stderr).to.equal(expectCode);
    return fast;
  }

  it('verify success, text and -o json (tag and digest)', () => {
    const t = same(['verify', '--config-dir', okCfg, `${registry}/${repo}:v1`], 'fast', 0);
    expect(t.stdout).to.equal(`Successfully verified signature for ${registry}/${repo}@${digest}\n`);
    expect(t.stderr).to.match(/^Warning: Always verify the artifact using digest/);
    const j = same(['verify', `${registry}/${repo}@${digest}`, '-o', 'json', '--config-dir', okCfg], 'fast', 0, (s) => s.replace(/"(signingTime|verifiedAt|checkedAt|time)": "[^"]*"/g, '"$1": "T"'));
    expect(JSON.parse(j.stdout).verified).to.equal(true);
    same(['verify', '-v', '--max-signatures', '5', '--config-dir', okCfg, `${registry}/${repo}@${digest}`], 'fast', 0);
  });

  it('verify failure (identity not trusted), text and -o json: exit 1, same messages', () => {
    const t = same(['verify', '--config-dir', badCfg, `${registry}/${repo}:v1`], 'fast', 1);
    expect(t.stderr).to.match(/Error: signature verification failed/);
    expect(t.stderr).to.match(/Hint: failed check: authenticity/);
    const j = same(['verify', '-o', 'json', '--config-dir', badCfg, `${registry}/${repo}:v1`], 'fast', 1, (s) => s.replace(/"(signingTime|verifiedAt|checkedAt|time)": "[^"]*"/g, '"$1": "T"'));
    expect(JSON.parse(j.stdout).verified).to.equal(false);
  });

  it('DOCKER_SIGN_CONFIG instead of --config-dir', () => {
    const fast = cli(['verify', `${registry}/${repo}@${digest}`], { DOCKER_SIGN_CONFIG: okCfg });
    const slow = cli(['verify', `${registry}/${repo}@${digest}`], { DOCKER_SIGN_CONFIG: okCfg, DOCKER_SIGN_NO_FAST_PATH: '1' });
    expect([fast.path, slow.path]).to.deep.equal(['fast', 'oclif']);
    expect(fast.code, fast.stderr).to.equal(0);
    expect({ code: fast.code, stdout: fast.stdout, stderr: fast.stderr }).to.deep.equal({ code: slow.code, stdout: slow.stdout, stderr: slow.stderr });
  });

  it('registry errors (missing tag): same DockerSignError output and exit code, text and json', () => {
    same(['verify', '--config-dir', okCfg, `${registry}/${repo}:missing`], 'fast', 3);
    same(['ls', '-o', 'json', `${registry}/${repo}:missing`], 'fast', 3);
  });

  it('ls and inspect: same listing on both paths', () => {
    const l = same(['ls', `${registry}/${repo}:v1`], 'fast', 0);
    expect(l.stdout).to.include(`${registry}/${repo}@${digest}`);
    same(['inspect', '-o', 'json', `${registry}/${repo}@${digest}`], 'fast', 0);
  });

  it('sign --remote on both paths: same output apart from the new signature\'s digest and time; both signatures land in the registry', () => {
    const keys = mkdtempSync(join(dir, 'keys-'));
    const gen = cli(['key', 'generate', 'fp', '--type', 'ec-p256', '--config-dir', keys]);
    expect(gen.code, gen.stderr).to.equal(0);
    const norm = (s: string) => s.replace(/sha256:[0-9a-f]{64}/g, 'sha256:D').replace(/"(signingTime|org.opencontainers.image.created)": "[^"]*"/g, '"$1": "T"').replace(/"size": \d+/g, '"size": N');
    const r = same(['--remote', `${registry}/${repo}:v1`, '--config-dir', keys, '-a', 'env=prod', '-a', 'build=42'], 'fast', 0, norm);
    expect(r.stdout).to.match(/^Successfully signed /);
    const j = same(['sign', '-o', 'json', '--signature-format', 'cose', `${registry}/${repo}@${digest}`, '--config-dir', keys], 'fast', 0, norm);
    expect(JSON.parse(j.stdout).envelopeMediaType).to.equal('application/cose');
    const listed = cli(['ls', '-o', 'json', `${registry}/${repo}@${digest}`]);
    expect(JSON.parse(listed.stdout).signatures.length).to.equal(5); // 1 from before() + 2 per `same` call
  });

  it('push of a local image on both paths: same output; the pushed digest is the generated one', () => {
    if (!process.env.DOCKER_HOST) throw new Error('DOCKER_HOST is not set: eval "$(bash scripts/services.sh env)"');
    const tag = `${registry}/${repo}-push:v1`;
    const built = spawnSync('bash', [join(ROOT, 'scripts', 'test-image.sh'), tag, `fast path push ${repo}`], { encoding: 'utf8' });
    expect(built.status, built.stderr).to.equal(0);
    try {
      const cfg = mkdtempSync(join(dir, 'push-'));
      const p = same(['push', '-q', '--config-dir', cfg, tag], 'fast', 0);
      const gen = same(['generate', 'manifest', '-o', 'json', '--config-dir', cfg, tag], 'fast', 0);
      same(['generate', 'manifest', '--config-dir', cfg, tag], 'fast', 0);
      same(['generate', 'manifest', '--config-dir', cfg, `${registry}/${repo}-absent:v1`], 'fast', 2);
      expect(p.stdout).to.equal(`${tag}: digest: ${JSON.parse(gen.stdout).digest} size: ${JSON.parse(gen.stdout).size}\n`);
      const bad = same(['push', '-q', '--config-dir', cfg, `${registry}/${repo}-absent:v1`], 'fast', 2);
      expect(bad.stderr).to.match(/not found in the Docker engine/);
    } finally {
      spawnSync('docker', ['rmi', tag], { encoding: 'utf8' });
    }
  });

  it('unknown flag and --help go to oclif (exit 2 / help text)', () => {
    const u = same(['verify', '--nope', `${registry}/${repo}:v1`], 'oclif', 2);
    expect(u.stderr).to.match(/Nonexistent flag: --nope/);
    const h = same(['sign', '--help'], 'oclif', 0);
    expect(h.stdout).to.include('--signature-format');
    // verify --local needs the Docker engine code, which is not in the fast bundle: oclif runs it
    const l = same(['verify', '--local', `${registry}/${repo}-absent:v1`], 'oclif', 2);
    expect(l.stderr).to.match(/not found in the Docker engine/);
  });
});
