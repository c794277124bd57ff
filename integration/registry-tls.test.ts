import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { closeConnections, openRepository } from '../src/registry/index.js';
import { DockerSignError } from '../src/errors.js';
import { startRegistry, tempDir, type Registry } from './push.helpers.js';
import { BIN, pushTestImage, requireEnv } from './verify-helpers.js';
import { install } from '../plugins/cli/install.js';

/**
 * Registries that speak TLS with a private CA, and one that also asks for a client certificate: the CA and the
 * client certificate are found the way the Docker engine finds them, in a certs.d folder named after the registry
 * (here DOCKER_SIGN_CERTS_D instead of /etc/docker/certs.d). Real Distribution 2.8, certificates made by openssl.
 */
describe('integration: registries with a private CA and client certificates (certs.d)', function () {
  this.timeout(120_000);
  let dir: string;
  let certsD: string;
  let plainTls: Registry;
  let mutualTls: Registry;
  const saved = process.env.DOCKER_SIGN_CERTS_D;

  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const certsFor = (base: string, reg: Registry, files: Record<string, string>) => {
    const d = join(base, reg.addr);
    mkdirSync(d, { recursive: true });
    for (const [name, from] of Object.entries(files)) copyFileSync(join(dir, from), join(d, name));
  };

  before(async () => {
    dir = tempDir('ds-tls-it-');
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=docker-sign test registry CA');
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.pem');
    writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=docker-sign test client');
    openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'client.ext', '-out', 'client.pem');
    const cert = join(dir, 'server.pem');
    const key = join(dir, 'server.key');
    plainTls = await startRegistry(undefined, undefined, { cert, key, curl: ['--cacert', join(dir, 'ca.pem')] });
    mutualTls = await startRegistry(undefined, undefined, {
      cert, key, clientCas: join(dir, 'ca.pem'), curl: ['--cacert', join(dir, 'ca.pem'), '--cert', join(dir, 'client.pem'), '--key', join(dir, 'client.key')],
    });
    certsD = join(dir, 'certs.d');
    certsFor(certsD, plainTls, { 'ca.crt': 'ca.pem' });
    certsFor(certsD, mutualTls, { 'ca.crt': 'ca.pem', 'client.cert': 'client.pem', 'client.key': 'client.key' });
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.DOCKER_SIGN_CERTS_D;
    else process.env.DOCKER_SIGN_CERTS_D = saved;
    await closeConnections();
  });
  after(async () => {
    await plainTls?.stop();
    await mutualTls?.stop();
    rmSync(dir, { recursive: true, force: true });
    for (const r of [plainTls, mutualTls]) if (r) rmSync(r.dir, { recursive: true, force: true });
  });

  it('the CA in certs.d/<host:port>/ca.crt makes a TLS registry usable, also on loopback (https, not http)', async () => {
    process.env.DOCKER_SIGN_CERTS_D = certsD;
    const repo = openRepository(`${plainTls.addr}/tls/app`);
    expect(repo.client.origin).to.equal(`https://${plainTls.addr}`);
    const d = await pushTestImage(plainTls.addr, 'tls/app');
    expect((await repo.fetchManifest('v1')).descriptor.digest).to.equal(d.digest);
  });

  it('without that CA: a NETWORK error whose hint says where ca.crt goes', async () => {
    const empty = join(dir, 'certs.d-empty');
    mkdirSync(join(empty, plainTls.addr), { recursive: true }); // the folder says "TLS", but trusts no private CA
    process.env.DOCKER_SIGN_CERTS_D = empty;
    const e = await openRepository(`${plainTls.addr}/tls/app`).fetchManifest('v1').catch((x: unknown) => x);
    expect(e).to.be.instanceOf(DockerSignError);
    expect(e).to.have.property('code', 'NETWORK');
    expect((e as DockerSignError).hint).to.include(`${plainTls.addr}/ca.crt`);
  });

  it('a registry that asks for a client certificate: refused without client.cert/client.key, served with them', async () => {
    const caOnly = join(dir, 'certs.d-ca-only');
    mkdirSync(join(caOnly, mutualTls.addr), { recursive: true });
    copyFileSync(join(dir, 'ca.pem'), join(caOnly, mutualTls.addr, 'ca.crt'));
    process.env.DOCKER_SIGN_CERTS_D = caOnly;
    const refused = await openRepository(`${mutualTls.addr}/mtls/app`).fetchManifest('v1').catch((x: unknown) => x);
    expect(refused).to.have.property('code', 'NETWORK');
    await closeConnections();
    process.env.DOCKER_SIGN_CERTS_D = certsD;
    const d = await pushTestImage(mutualTls.addr, 'mtls/app');
    expect((await openRepository(`${mutualTls.addr}/mtls/app`).fetchManifest('v1')).descriptor.digest).to.equal(d.digest);
  });

  it('a client certificate without its key is a config error that names the file', async () => {
    const broken = join(dir, 'certs.d-broken');
    mkdirSync(join(broken, plainTls.addr), { recursive: true });
    copyFileSync(join(dir, 'client.pem'), join(broken, plainTls.addr, 'client.cert'));
    process.env.DOCKER_SIGN_CERTS_D = broken;
    const e = await (async () => openRepository(`${plainTls.addr}/tls/app`).fetchManifest('v1'))().catch((x: unknown) => x);
    expect(e).to.have.property('code', 'REGISTRY_CERTS_INVALID');
    expect((e as Error).message).to.include('client.key');
  });

  it('the CLI signs and lists through certs.d as well', () => {
    const cfg = join(dir, 'cli-config');
    const env = { ...process.env, DOCKER_SIGN_CERTS_D: certsD };
    const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args, '--config-dir', cfg], { encoding: 'utf8', env, timeout: 60_000 });
    expect(run(['key', 'generate', 'tls', '--type', 'ec-p256']).status).to.equal(0);
    const signed = run(['--remote', '-o', 'json', `${plainTls.addr}/tls/app:v1`]);
    expect(signed.status, signed.stderr).to.equal(0);
    const listed = run(['ls', '-o', 'json', `${plainTls.addr}/tls/app:v1`]);
    expect(listed.status, listed.stderr).to.equal(0);
    expect(JSON.parse(listed.stdout).signatures.map((s: { digest: string }) => s.digest)).to.include(JSON.parse(signed.stdout).signature.digest);
  });

  describe('NODE_EXTRA_CA_CERTS through the installed plug-in shim (node does not load it at start-up; we add it per TLS connection)', () => {
    let dc: string;
    let shim: string;
    const cfg = () => join(dir, 'extra-ca-config');
    before(() => {
      dc = join(dir, 'docker-config');
      shim = install({ dockerConfig: dc }).plugins.find((p) => p.name === 'sign')!.path;
      const r = spawnSync(process.execPath, [BIN, 'key', 'generate', 'extra', '--type', 'ec-p256', '--config-dir', cfg()], { encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
    });
    // as docker runs the plug-in: its name first, then the user's words
    const viaShim = (args: string[], env: NodeJS.ProcessEnv) => spawnSync(shim, ['sign', ...args, '--config-dir', cfg()], {
      encoding: 'utf8', timeout: 60_000, env: { ...env, DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND: 'sign' },
    });
    // a certs.d folder for the registry that trusts no CA of its own: says "TLS" for this loopback address (else
    // plain HTTP would be used), so what is trusted is the roots + NODE_EXTRA_CA_CERTS
    const baseEnv = (): NodeJS.ProcessEnv => {
      const none = join(dir, 'certs.d-none');
      mkdirSync(join(none, plainTls.addr), { recursive: true });
      const e: NodeJS.ProcessEnv = { ...process.env, DOCKER_SIGN_CERTS_D: none };
      delete e.NODE_EXTRA_CA_CERTS;
      return e;
    };

    it('a registry whose CA is only in NODE_EXTRA_CA_CERTS: signed and listed (CA bundle + that CA in one file, as users set it)', async () => {
      process.env.DOCKER_SIGN_CERTS_D = certsD;
      await pushTestImage(plainTls.addr, 'tls/extra');
      const bundle = join(dir, 'extra-bundle.pem');
      writeFileSync(bundle, readFileSync(join(dir, 'ca.pem')));
      const env = { ...baseEnv(), NODE_EXTRA_CA_CERTS: bundle };
      const signed = viaShim(['--remote', '-o', 'json', `${plainTls.addr}/tls/extra:v1`], env);
      expect(signed.status, signed.stderr).to.equal(0);
      const listed = viaShim(['ls', '-o', 'json', `${plainTls.addr}/tls/extra:v1`], env);
      expect(listed.status, listed.stderr).to.equal(0);
      expect(JSON.parse(listed.stdout).signatures.map((s: { digest: string }) => s.digest)).to.include(JSON.parse(signed.stdout).signature.digest);
    });

    it('without it the same registry is refused (the CA really comes from the variable)', () => {
      const r = viaShim(['ls', `${plainTls.addr}/tls/app:v1`], baseEnv());
      expect(r.status).to.not.equal(0);
      expect(r.stderr).to.match(/certificate|TLS|ca\.crt/i);
    });

    it('an unreadable NODE_EXTRA_CA_CERTS file: warned about (as node does) and the registry refused', () => {
      const r = viaShim(['ls', `${plainTls.addr}/tls/app:v1`], { ...baseEnv(), NODE_EXTRA_CA_CERTS: join(dir, 'no-such.pem') });
      expect(r.status).to.not.equal(0);
      expect(r.stderr).to.include('Ignoring extra certs from');
    });

    it('processes we start get NODE_EXTRA_CA_CERTS back as the user set it (here: a credential helper)', () => {
      // a docker credential helper on PATH records the environment it was started with; the registry with
      // authentication asks for credentials, so the helper is run
      const binDir = join(dir, 'helper-bin');
      mkdirSync(binDir, { recursive: true });
      const seen = join(dir, 'helper-env.txt');
      writeFileSync(join(binDir, 'docker-credential-envcheck'), `#!/bin/sh\nprintf '%s|%s' "\${NODE_EXTRA_CA_CERTS-unset}" "\${DOCKER_SIGN_EXTRA_CA_CERTS-unset}" > '${seen}'\necho '{"ServerURL":"","Username":"","Secret":""}'\n`);
      chmodSync(join(binDir, 'docker-credential-envcheck'), 0o755);
      const dockerCfg = join(dir, 'helper-docker-config');
      mkdirSync(dockerCfg, { recursive: true });
      writeFileSync(join(dockerCfg, 'config.json'), JSON.stringify({ credsStore: 'envcheck' }));
      const bundle = join(dir, 'extra-bundle.pem');
      const env = { ...baseEnv(), NODE_EXTRA_CA_CERTS: bundle, DOCKER_CONFIG: dockerCfg, PATH: `${binDir}:${process.env.PATH}` };
      viaShim(['ls', `${requireEnv('DS_AUTH_REGISTRY')}/extra-ca/app:v1`], env);
      expect(readFileSync(seen, 'utf8')).to.equal(`${bundle}|unset`);
    });
  });
});
