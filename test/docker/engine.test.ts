import { expect } from 'chai';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveEndpoint, resolveContextName, dockerodeOptions, inspectImage, DEFAULT_DOCKER_HOST } from '../../src/docker/engine.js';
import { parseSshHost, sshArgs } from '../../src/docker/ssh.js';
import { Agent } from 'node:http';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('docker/engine endpoint resolution', () => {
  let cfg: string;
  beforeEach(async () => { cfg = await mkdtemp(join(tmpdir(), 'ds-dockercfg-')); });
  afterEach(async () => { await rm(cfg, { recursive: true, force: true }); });

  async function addContext(name: string, host: string, tls?: { ca: string }, skip = false) {
    const d = join(cfg, 'contexts', 'meta', sha(name));
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: skip } } }));
    if (tls) {
      const t = join(cfg, 'contexts', 'tls', sha(name), 'docker');
      await mkdir(t, { recursive: true });
      await writeFile(join(t, 'ca.pem'), tls.ca);
    }
  }

  it('ssh:// hosts: the ssh command line docker runs (dial-stdio), an http agent for dockerode; bad forms refused', () => {
    expect(sshArgs(parseSshHost('ssh://deploy@build.example:2222'))).to.deep.equal(['-o', 'ConnectTimeout=30', '-T', '-l', 'deploy', '-p', '2222', '--', 'build.example', 'docker', 'system', 'dial-stdio']);
    expect(sshArgs(parseSshHost('ssh://build.example'))).to.deep.equal(['-o', 'ConnectTimeout=30', '-T', '--', 'build.example', 'docker', 'system', 'dial-stdio']);
    expect(parseSshHost('ssh://[::1]:22')).to.deep.equal({ host: '::1', port: '22' });
    // a host or user that would read as an ssh option is refused (and the host comes after "--" anyway)
    for (const bad of ['ssh://', 'ssh://u:pw@h', 'ssh://h/path', 'ssh://-oProxyCommand=x', 'ssh://-lroot@h']) expect(() => parseSshHost(bad), bad).to.throw().with.property('code', 'INVALID_DOCKER_HOST');
    const o = dockerodeOptions(resolveEndpoint({ DOCKER_CONFIG: cfg, DOCKER_HOST: 'ssh://u@h' })) as { agent?: unknown; protocol?: string };
    expect(o.protocol).to.equal('http');
    expect(o.agent).to.be.instanceOf(Agent);
  });

  it('defaults to /var/run/docker.sock without env or config', () => {
    const ep = resolveEndpoint({ DOCKER_CONFIG: cfg });
    expect(ep.host).to.equal(DEFAULT_DOCKER_HOST);
    expect(ep.source).to.equal('default');
    expect(dockerodeOptions(ep)).to.deep.equal({ socketPath: '/var/run/docker.sock' });
  });

  it('DOCKER_HOST wins over DOCKER_CONTEXT and currentContext', async () => {
    await addContext('other', 'unix:///ctx.sock');
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ currentContext: 'other' }));
    const ep = resolveEndpoint({ DOCKER_CONFIG: cfg, DOCKER_HOST: 'unix:///h.sock', DOCKER_CONTEXT: 'other' });
    expect(ep.host).to.equal('unix:///h.sock');
    expect(resolveContextName({ DOCKER_CONFIG: cfg, DOCKER_HOST: 'unix:///h.sock' })).to.equal(undefined);
  });

  it('DOCKER_CONTEXT wins over currentContext; currentContext is used from $DOCKER_CONFIG/config.json', async () => {
    await addContext('a', 'unix:///a.sock');
    await addContext('b', 'tcp://10.0.0.2:2375');
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ currentContext: 'b' }));
    expect(resolveEndpoint({ DOCKER_CONFIG: cfg, DOCKER_CONTEXT: 'a' }).host).to.equal('unix:///a.sock');
    const ep = resolveEndpoint({ DOCKER_CONFIG: cfg });
    expect(ep).to.deep.include({ host: 'tcp://10.0.0.2:2375', context: 'b', source: 'context b' });
    expect(dockerodeOptions(ep)).to.deep.include({ protocol: 'http', host: '10.0.0.2', port: '2375' });
    // "default" context = built-in endpoint
    expect(resolveEndpoint({ DOCKER_CONFIG: cfg, DOCKER_CONTEXT: 'default' }).host).to.equal(DEFAULT_DOCKER_HOST);
  });

  it('unknown context → CONTEXT_NOT_FOUND', () => {
    expect(() => resolveEndpoint({ DOCKER_CONFIG: cfg, DOCKER_CONTEXT: 'nope' })).to.throw().with.property('code', 'CONTEXT_NOT_FOUND');
  });

  it('context TLS files and DOCKER_TLS_VERIFY/DOCKER_CERT_PATH are used', async () => {
    await addContext('sec', 'tcp://d.example:2376', { ca: 'CA-PEM' });
    const ep = resolveEndpoint({ DOCKER_CONFIG: cfg, DOCKER_CONTEXT: 'sec' });
    expect(ep.tls?.verify).to.equal(true);
    expect(ep.tls?.ca?.toString()).to.equal('CA-PEM');
    expect(dockerodeOptions(ep)).to.deep.include({ protocol: 'https', host: 'd.example', port: '2376' });

    const certs = join(cfg, 'certs');
    await mkdir(certs);
    await writeFile(join(certs, 'ca.pem'), 'CA2');
    await writeFile(join(certs, 'cert.pem'), 'CERT2');
    await writeFile(join(certs, 'key.pem'), 'KEY2');
    const ep2 = resolveEndpoint({ DOCKER_CONFIG: cfg, DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs });
    expect(ep2.tls?.verify).to.equal(true);
    expect(ep2.tls?.cert?.toString()).to.equal('CERT2');
    const o = dockerodeOptions(ep2) as Record<string, unknown>;
    expect(o.protocol).to.equal('https');
    expect(String(o.key)).to.equal('KEY2');
    expect(o.rejectUnauthorized).to.equal(undefined);
    // plain tcp without TLS env
    expect(dockerodeOptions(resolveEndpoint({ DOCKER_CONFIG: cfg, DOCKER_HOST: 'tcp://h:2375' }))).to.deep.include({ protocol: 'http' });
  });

  it('an unreachable endpoint is ENGINE_UNREACHABLE with a hint naming it', async () => {
    let err: any;
    await inspectImage('x:1', { DOCKER_CONFIG: cfg, DOCKER_HOST: `unix://${cfg}/missing.sock` }).catch((e) => { err = e; });
    expect(err?.code).to.equal('ENGINE_UNREACHABLE');
    expect(err.hint).to.include(`${cfg}/missing.sock`);
    expect(err.exitCode).to.equal(3);
  });
});
