import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { closeConnections, openRepository } from '../src/registry/index.js';
import { DockerSignError } from '../src/errors.js';
import { startRegistry, tempDir, type Registry } from './push.helpers.js';
import { BIN, pushTestImage } from './verify-helpers.js';

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
});
