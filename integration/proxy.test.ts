import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { closeConnections } from '../src/registry/index.js';
import { startRegistry, tempDir, type Registry } from './push.helpers.js';
import { pushTestImage, requireEnv, runCli } from './verify-helpers.js';
import { startProxy, type Proxy } from '../test/support/proxy.js';

/**
 * Registries reached through HTTPS_PROXY / HTTP_PROXY, as docker and notation reach them (Go's rules, see
 * src/registry/proxy.ts): the real CLI signs, lists and verifies through a real proxy.
 */
describe('integration: registries behind an HTTP(S) proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)', function () {
  this.timeout(120_000);
  let dir: string;
  let certsD: string;
  let tls: Registry;
  let proxy: Proxy;
  let cfg: string;
  let name: string; // registry.ds-proxy.test:<port>
  const saved = { ...process.env };

  before(async () => {
    dir = tempDir('ds-proxy-it-');
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=docker-sign proxy test CA');
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:registry.ds-proxy.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=registry.ds-proxy.test');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.pem');
    tls = await startRegistry(undefined, undefined, { cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), curl: ['--cacert', join(dir, 'ca.pem')] });
    name = `registry.ds-proxy.test:${tls.addr.split(':')[1]}`;
    certsD = join(dir, 'certs.d');
    mkdirSync(join(certsD, name), { recursive: true });
    copyFileSync(join(dir, 'ca.pem'), join(certsD, name, 'ca.crt'));
    proxy = await startProxy();
    cfg = join(dir, 'cfg');
    const k = await runCli(['key', 'generate', 'px', '--type', 'ec-p256', '--config-dir', cfg]);
    expect(k.code, k.stderr).to.equal(0);
    writeFileSync(join(cfg, 'trustpolicy.json'), JSON.stringify({
      version: '1.0',
      trustPolicies: [{ name: 'proxied', registryScopes: ['*'], signatureVerification: { level: 'strict' }, trustStores: ['ca:px'], trustedIdentities: ['*'] }],
    }));
  });
  beforeEach(() => {
    proxy.log.length = 0;
    proxy.auth = undefined;
  });
  afterEach(async () => {
    for (const k of ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'DOCKER_SIGN_CERTS_D', 'DOCKER_SIGN_INSECURE_REGISTRIES']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await closeConnections();
  });
  after(async () => {
    await proxy?.close();
    await tls?.stop();
    if (tls) rmSync(tls.dir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('HTTPS_PROXY: push (in process), docker sign, ls and verify reach a TLS registry through CONNECT, certs.d CA included', async () => {
    Object.assign(process.env, { HTTPS_PROXY: proxy.url, DOCKER_SIGN_CERTS_D: certsD });
    const subject = await pushTestImage(name, 'px/app');
    expect(proxy.log).to.include(`CONNECT ${name}`);
    const env = { HTTPS_PROXY: proxy.url, DOCKER_SIGN_CERTS_D: certsD };
    const ref = `${name}/px/app@${subject.digest}`;
    const signed = await runCli(['sign', ref, '--config-dir', cfg, '-o', 'json'], env);
    expect(signed.code, signed.stderr).to.equal(0);
    const ls = await runCli(['ls', ref, '--config-dir', cfg, '-o', 'json'], env);
    expect(ls.code, ls.stderr).to.equal(0);
    const sig = (JSON.parse(signed.stdout) as { signature: { digest: string } }).signature.digest;
    expect(sig).to.match(/^sha256:/);
    expect(ls.stdout).to.include(sig);
    const v = await runCli(['verify', ref, '--config-dir', cfg, '-o', 'json'], env);
    expect(v.code, v.stderr).to.equal(0);
    expect(JSON.parse(v.stdout).verified).to.equal(true);
    // every request of those processes went through the proxy: there is no other way to that name
    expect(proxy.log.every((l) => l === `CONNECT ${name}`), proxy.log.join('\n')).to.equal(true);
  });

  it('HTTP_PROXY: a plain-HTTP registry (listed insecure) is reached with absolute-form requests', async () => {
    const plain = requireEnv('DS_REGISTRY'); // Distribution 2.8 on 127.0.0.1:5000
    const fake = `plain.ds-proxy.test:${plain.split(':')[1]}`;
    Object.assign(process.env, { HTTP_PROXY: proxy.url, DOCKER_SIGN_INSECURE_REGISTRIES: fake });
    const subject = await pushTestImage(fake, 'px/plain');
    const r = await runCli(['sign', `${fake}/px/plain@${subject.digest}`, '--config-dir', cfg], { HTTP_PROXY: proxy.url, DOCKER_SIGN_INSECURE_REGISTRIES: fake });
    expect(r.code, r.stderr).to.equal(0);
    expect(proxy.log.some((l) => l.startsWith(`PUT http://${fake}/v2/px/plain/manifests/`)), proxy.log.join('\n')).to.equal(true);
    expect(proxy.log.every((l) => l.includes(`http://${fake}/v2/`)), proxy.log.join('\n')).to.equal(true);
  });

  it('proxy authentication: 407 without credentials (UNAUTHORIZED, with a hint), served with user:password in the URL', async () => {
    proxy.auth = 'ds:s3cret';
    const env = { HTTPS_PROXY: proxy.url, DOCKER_SIGN_CERTS_D: certsD };
    const ref = `${name}/px/app:v1`;
    const denied = await runCli(['ls', ref, '--config-dir', cfg], env);
    expect(denied.code).to.not.equal(0);
    expect(denied.stderr).to.match(/407/).and.to.include('HTTPS_PROXY=http://user:password@');
    const ok = await runCli(['ls', ref, '--config-dir', cfg], { ...env, HTTPS_PROXY: proxy.url.replace('http://', 'http://ds:s3cret@') });
    expect(ok.code, ok.stderr).to.equal(0);
  });

  it('NO_PROXY and loopback go direct; an unreachable proxy is named in the error', async () => {
    const env = { HTTPS_PROXY: proxy.url, DOCKER_SIGN_CERTS_D: certsD };
    // the fake name resolves only inside the proxy: going direct fails to resolve it
    const direct = await runCli(['ls', `${name}/px/app:v1`, '--config-dir', cfg], { ...env, NO_PROXY: '.ds-proxy.test' });
    expect(direct.code).to.not.equal(0);
    expect(direct.stderr).to.match(/ENOTFOUND|EAI_AGAIN/);
    // the TLS registry by its loopback address: never proxied
    const loop = await runCli(['ls', `${tls.addr}/px/app:v1`, '--config-dir', cfg], { ...env, DOCKER_SIGN_CERTS_D: join(dir, 'certs-loop') });
    expect(proxy.log).to.deep.equal([]);
    expect(loop.stderr).to.not.include('proxy');
    const down = await runCli(['ls', `${name}/px/app:v1`, '--config-dir', cfg], { ...env, HTTPS_PROXY: 'http://127.0.0.1:9' });
    expect(down.code).to.not.equal(0);
    expect(down.stderr).to.include('through the proxy http://127.0.0.1:9');
    const socks = await runCli(['ls', `${name}/px/app:v1`, '--config-dir', cfg], { ...env, HTTPS_PROXY: 'socks5://127.0.0.1:1080' });
    expect(socks.code).to.not.equal(0);
    expect(socks.stderr).to.include('socks5 proxies are not supported');
  });
});
